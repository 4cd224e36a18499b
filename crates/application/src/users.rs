//! The users use cases: create, get, list, replace, delete.

use std::sync::Arc;

use roster_domain::{
    Actor, NewUser, PageRequest, User, UserEvent, UserEventKind, UserId, UserReplacement,
    ports::{
        Clock, DeleteUserError, EventPublisher, InsertUserError, RepositoryError, UpdateUserError,
        UserRepository,
    },
};

/// Why a users use case failed.
#[derive(Debug, thiserror::Error)]
pub enum UsersError {
    #[error("no user with id {0}")]
    NotFound(UserId),
    #[error("another user already has this e-mail address")]
    EmailTaken,
    /// The user kept changing under a replacement; the caller may retry.
    #[error("the user was changed concurrently; retry")]
    Conflict,
    /// A dependency could not serve the request in time; the caller may retry later.
    #[error("the service is temporarily unavailable")]
    Unavailable(#[source] anyhow::Error),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<RepositoryError> for UsersError {
    fn from(error: RepositoryError) -> Self {
        match error {
            RepositoryError::Unavailable(e) => Self::Unavailable(e),
            RepositoryError::Unexpected(e) => Self::Unexpected(e),
        }
    }
}

/// One page of users, and the cursor of the next page if there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPage {
    pub items: Vec<User>,
    /// Pass as `PageRequest::after` to get the next page.
    pub next: Option<UserId>,
}

/// How often a replacement re-reads and retries when the user changed between its
/// read and its write, before it reports [`UsersError::Conflict`].
const REPLACE_ATTEMPTS: usize = 3;

/// The users use cases.
///
/// Every method takes the acting principal: authorisation decisions belong here and
/// will be made from it, and published events record it.
#[derive(Clone)]
pub struct UserService {
    users: Arc<dyn UserRepository>,
    events: Arc<dyn EventPublisher>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for UserService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserService").finish_non_exhaustive()
    }
}

impl UserService {
    pub fn new(
        users: Arc<dyn UserRepository>,
        events: Arc<dyn EventPublisher>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            users,
            events,
            clock,
        }
    }

    /// Creates a user with a fresh id; `EmailTaken` if the address is in use.
    #[tracing::instrument(name = "users.create", skip_all, fields(actor = %actor.label(), user.id))]
    pub async fn create(&self, actor: &Actor, new: NewUser) -> Result<User, UsersError> {
        let user = User::create(UserId::generate(), new, self.clock.now());
        tracing::Span::current().record("user.id", tracing::field::display(user.id));
        self.users.insert(&user).await.map_err(|e| match e {
            InsertUserError::EmailTaken => UsersError::EmailTaken,
            InsertUserError::Repository(e) => e.into(),
        })?;
        self.publish(actor, UserEventKind::Created, user.id).await;
        Ok(user)
    }

    /// The user with this id; `NotFound` if there is none.
    #[tracing::instrument(name = "users.get", skip_all, fields(actor = %actor.label(), user.id = %id))]
    pub async fn get(&self, actor: &Actor, id: UserId) -> Result<User, UsersError> {
        self.users.find(id).await?.ok_or(UsersError::NotFound(id))
    }

    /// A page of users in id order.
    #[tracing::instrument(name = "users.list", skip_all, fields(actor = %actor.label(), page.size = %page.size))]
    pub async fn list(&self, actor: &Actor, page: PageRequest) -> Result<UserPage, UsersError> {
        let size = page.size.get();
        // One row more than shown tells whether a next page exists without a count.
        let mut items = self.users.list(page, size + 1).await?;
        let next = if items.len() > size {
            items.truncate(size);
            items.last().map(|user| user.id)
        } else {
            None
        };
        Ok(UserPage { items, next })
    }

    /// Replaces the user's e-mail, name, role and status.
    ///
    /// Re-reads and retries when another writer got in between (last writer wins, but
    /// no write is lost half-way); `Conflict` if that keeps happening.
    #[tracing::instrument(name = "users.replace", skip_all, fields(actor = %actor.label(), user.id = %id))]
    pub async fn replace(
        &self,
        actor: &Actor,
        id: UserId,
        replacement: UserReplacement,
    ) -> Result<User, UsersError> {
        for _ in 0..REPLACE_ATTEMPTS {
            let current = self.get(actor, id).await?;
            let changed = current.replaced(replacement.clone(), self.clock.now());
            match self.users.update(&changed).await {
                Ok(stored) => {
                    self.publish(actor, UserEventKind::Updated, id).await;
                    return Ok(stored);
                }
                Err(UpdateUserError::VersionConflict) => {
                    tracing::debug!("user changed concurrently; retrying");
                }
                Err(UpdateUserError::NotFound) => return Err(UsersError::NotFound(id)),
                Err(UpdateUserError::EmailTaken) => return Err(UsersError::EmailTaken),
                Err(UpdateUserError::Repository(e)) => return Err(e.into()),
            }
        }
        Err(UsersError::Conflict)
    }

    /// Deletes the user; `NotFound` if there is none.
    #[tracing::instrument(name = "users.delete", skip_all, fields(actor = %actor.label(), user.id = %id))]
    pub async fn delete(&self, actor: &Actor, id: UserId) -> Result<(), UsersError> {
        self.users.delete(id).await.map_err(|e| match e {
            DeleteUserError::NotFound => UsersError::NotFound(id),
            DeleteUserError::Repository(e) => e.into(),
        })?;
        self.publish(actor, UserEventKind::Deleted, id).await;
        Ok(())
    }

    /// Publishes after the change is stored; a failure is logged, not returned, because
    /// the change itself succeeded (see [`EventPublisher`] on delivery guarantees).
    async fn publish(&self, actor: &Actor, kind: UserEventKind, user_id: UserId) {
        let event = UserEvent {
            kind,
            user_id,
            actor: actor.clone(),
            occurred_at: self.clock.now(),
        };
        if let Err(error) = self.events.publish(&event).await {
            tracing::warn!(
                error = %error,
                event.kind = kind.as_str(),
                user.id = %user_id,
                "domain event not published"
            );
        }
    }
}

#[cfg(test)]
mod tests;
