//! The users use cases: create, get, list, replace, delete, and credentials.

mod credentials;

use anyhow::anyhow;
use chrono::{DateTime, Utc};
use roster_domain::{
    AccessRequest, Actor, ChangeRecord, Cursor, NewUser, Operation, PasswordPolicy,
    PasswordRejection, Resource, SessionId, Status, TokenRevocation, User, UserChange,
    UserEventKind, UserId, UserPatch, UserQuery, UserReplacement,
    ports::{
        AccessDenied, DeleteUserError, HashError, InsertUserError, RepositoryError,
        RevocationScope, Throttled, UpdateUserError,
    },
};

use crate::ports::Ports;

/// Why a users use case failed.
#[derive(Debug, thiserror::Error)]
pub enum UsersError {
    #[error("no user with id {0}")]
    NotFound(UserId),
    /// The user has no active session with this id.
    #[error("no active session with id {0}")]
    SessionNotFound(SessionId),
    #[error("another user already has this e-mail address")]
    EmailTaken,
    /// The user kept changing under a replacement; the caller may retry.
    #[error("the user was changed concurrently; retry")]
    Conflict,
    /// The caller's precondition (an expected version) does not hold: the version of
    /// user `id` is `current`.
    #[error("the user's version is {current}, not the expected one")]
    PreconditionFailed { id: UserId, current: u64 },
    /// Too many recent attempts (password hashes, or wrong current passwords) from
    /// this client or against this account.
    #[error("too many attempts; retry in {retry_after:?}")]
    Throttled { retry_after: std::time::Duration },
    /// The change would leave no active administrator; nothing changed.
    #[error("the last active administrator cannot be demoted, disabled or deleted")]
    LastAdmin,
    #[error("authentication required")]
    Unauthenticated,
    #[error("not allowed")]
    Forbidden,
    /// A field breaks a rule the use case checks (a password rule, the current
    /// password); `rule` names it for clients.
    #[error("{field} {message}")]
    InvalidField {
        field: &'static str,
        message: String,
        rule: &'static str,
    },
    /// A dependency could not serve the request in time; the caller may retry later.
    #[error("the service is temporarily unavailable")]
    Unavailable(#[source] anyhow::Error),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<Throttled> for UsersError {
    fn from(throttled: Throttled) -> Self {
        Self::Throttled {
            retry_after: throttled.retry_after,
        }
    }
}

impl From<RepositoryError> for UsersError {
    fn from(error: RepositoryError) -> Self {
        match error {
            RepositoryError::Unavailable(e) => Self::Unavailable(e),
            RepositoryError::Unexpected(e) => Self::Unexpected(e),
        }
    }
}

impl From<AccessDenied> for UsersError {
    fn from(denied: AccessDenied) -> Self {
        match denied {
            AccessDenied::Unauthenticated => Self::Unauthenticated,
            AccessDenied::Forbidden => Self::Forbidden,
        }
    }
}

impl From<HashError> for UsersError {
    fn from(error: HashError) -> Self {
        match error {
            HashError::Busy => Self::Unavailable(anyhow!("password hashing is saturated")),
            HashError::Unexpected(e) => Self::Unexpected(e),
        }
    }
}

impl UsersError {
    fn weak_password(field: &'static str, rejection: &PasswordRejection) -> Self {
        Self::InvalidField {
            field,
            message: rejection.to_string(),
            rule: rejection.rule(),
        }
    }
}

/// One page of users, the cursor of the next page if there is one, and the number of
/// users that pass the filter when it was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPage {
    pub items: Vec<User>,
    /// Pass as `UserQuery::after` to get the next page.
    pub next: Option<Cursor>,
    pub total: Option<u64>,
}

/// How often a replacement re-reads and retries when the user changed between its
/// read and its write, before it reports [`UsersError::Conflict`].
const REPLACE_ATTEMPTS: usize = 3;

/// The users use cases. Each one first asks the [`Authorizer`](roster_domain::ports::Authorizer)
/// whether the acting principal may do it.
#[derive(Debug, Clone)]
pub struct UserService {
    pub(crate) ports: Ports,
    policy: PasswordPolicy,
}

impl UserService {
    pub fn new(ports: Ports, policy: PasswordPolicy) -> Self {
        Self { ports, policy }
    }

    pub(crate) fn authorize(
        &self,
        actor: &Actor,
        operation: Operation,
        resource: Resource,
    ) -> Result<(), UsersError> {
        let request = AccessRequest {
            operation,
            resource,
            at: self.ports.clock.now(),
        };
        Ok(self.ports.authorizer.authorize(actor, &request)?)
    }

    /// Creates a user (admins only); `EmailTaken` if the address is in use, and
    /// `InvalidField` if the password breaks the policy.
    #[tracing::instrument(name = "users.create", skip_all, fields(actor = %actor.label(), user.id))]
    pub async fn create(&self, actor: &Actor, new: NewUser) -> Result<User, UsersError> {
        self.authorize(actor, Operation::Write, Resource::Users)?;
        self.policy
            .check(&new.password, &new.email)
            .map_err(|e| UsersError::weak_password("password", &e))?;
        let hash = self.ports.hasher.hash(&new.password).await?;
        let now = self.ports.clock.now();
        let user = User::create(UserId::generate(), new, now).with_password(hash, now);
        tracing::Span::current().record("user.id", tracing::field::display(user.id));
        let record = self.ports.record(actor, now, vec![UserChange::Created]);
        self.ports
            .users
            .insert(&user, &record)
            .await
            .map_err(|e| match e {
                InsertUserError::EmailTaken => UsersError::EmailTaken,
                InsertUserError::Repository(e) => e.into(),
            })?;
        self.ports.metrics.user_changed(UserEventKind::Created);
        Ok(user)
    }

    /// The user with this id; `NotFound` if there is none.
    #[tracing::instrument(name = "users.get", skip_all, fields(actor = %actor.label(), user.id = %id))]
    pub async fn get(&self, actor: &Actor, id: UserId) -> Result<User, UsersError> {
        self.authorize(actor, Operation::Read, Resource::User(id))?;
        self.ports
            .users
            .find_recent(id)
            .await?
            .ok_or(UsersError::NotFound(id))
    }

    /// The acting user.
    #[tracing::instrument(name = "users.me", skip_all, fields(actor = %actor.label()))]
    pub async fn me(&self, actor: &Actor) -> Result<User, UsersError> {
        let id = actor.user_id().ok_or(UsersError::Unauthenticated)?;
        self.get(actor, id).await
    }

    /// A page of the users that pass the filter, in the query's order (admins only);
    /// with `include_total`, also how many pass it (a second, costlier query).
    #[tracing::instrument(name = "users.list", skip_all, fields(actor = %actor.label(), page.size = i64::try_from(query.size.get()).unwrap_or_default(), sort = query.sort.as_str()))]
    pub async fn list(
        &self,
        actor: &Actor,
        query: &UserQuery,
        include_total: bool,
    ) -> Result<UserPage, UsersError> {
        self.authorize(actor, Operation::Read, Resource::Users)?;
        if query
            .after
            .as_ref()
            .is_some_and(|after| after.sort() != query.sort)
        {
            return Err(UsersError::Unexpected(anyhow!(
                "a cursor for another sort order reached the use case"
            )));
        }
        let size = query.size.get();
        // One row more than shown tells whether a next page exists without a count.
        let mut items = self.ports.users.list(query, size + 1).await?;
        let next = if items.len() > size {
            items.truncate(size);
            items.last().map(|user| Cursor::of_user(query.sort, user))
        } else {
            None
        };
        let total = if include_total {
            Some(self.ports.users.count(&query.filter).await?)
        } else {
            None
        };
        Ok(UserPage { items, next, total })
    }

    /// Replaces the user's e-mail, name, role and status. Changing the role or the
    /// status needs the `admin` operation; disabling revokes the user's tokens.
    ///
    /// Without `if_version`, re-reads and retries when another writer got in between
    /// (last writer wins, but no write is lost half-way), and `Conflict` if that keeps
    /// happening. With it (the versions `If-Match` names), the change applies only to
    /// one of those versions: `PreconditionFailed` otherwise, so no update is lost.
    #[tracing::instrument(name = "users.replace", skip_all, fields(actor = %actor.label(), user.id = %id))]
    pub async fn replace(
        &self,
        actor: &Actor,
        id: UserId,
        replacement: UserReplacement,
        if_version: Option<Vec<u64>>,
    ) -> Result<User, UsersError> {
        self.change(actor, id, if_version, |_| replacement.clone())
            .await
    }

    /// Changes the given fields only (a JSON merge patch), with the rules of
    /// [`replace`](Self::replace) for each changed field.
    #[tracing::instrument(name = "users.patch", skip_all, fields(actor = %actor.label(), user.id = %id))]
    pub async fn patch(
        &self,
        actor: &Actor,
        id: UserId,
        patch: UserPatch,
        if_version: Option<Vec<u64>>,
    ) -> Result<User, UsersError> {
        self.change(actor, id, if_version, |current| patch.applied_to(current))
            .await
    }

    async fn change(
        &self,
        actor: &Actor,
        id: UserId,
        if_version: Option<Vec<u64>>,
        replacement: impl Fn(&User) -> UserReplacement,
    ) -> Result<User, UsersError> {
        self.authorize(actor, Operation::Write, Resource::User(id))?;
        for _ in 0..REPLACE_ATTEMPTS {
            let current = self
                .ports
                .users
                .find(id)
                .await?
                .ok_or(UsersError::NotFound(id))?;
            if if_version
                .as_ref()
                .is_some_and(|accepted| !accepted.contains(&current.version))
            {
                return Err(UsersError::PreconditionFailed {
                    id,
                    current: current.version,
                });
            }
            let replacement = replacement(&current);
            if replacement.role != current.role || replacement.status != current.status {
                self.authorize(actor, Operation::Admin, Resource::User(id))?;
            }
            let now = self.ports.clock.now();
            let (revoke, record) = self.replacement_record(actor, &current, &replacement, now);
            let was_active_admin = current.is_active_admin();
            let changed = current.replaced(replacement, now);
            let written = if was_active_admin && !changed.is_active_admin() {
                self.ports
                    .users
                    .update_keeping_an_admin(&changed, revoke, &record)
                    .await
            } else {
                self.ports.users.update(&changed, revoke, &record).await
            };
            match written {
                Ok(stored) => {
                    if revoke.is_some() {
                        self.ports.metrics.tokens_revoked(RevocationScope::User);
                    }
                    self.ports.metrics.user_changed(UserEventKind::Updated);
                    return Ok(stored);
                }
                Err(UpdateUserError::VersionConflict) if if_version.is_some() => {
                    // Changed between the read and the write: the precondition no
                    // longer holds. Report the version now stored.
                    let current = self.ports.users.find(id).await?;
                    return Err(current.map_or(UsersError::NotFound(id), |user| {
                        UsersError::PreconditionFailed {
                            id,
                            current: user.version,
                        }
                    }));
                }
                Err(UpdateUserError::VersionConflict) => {
                    tracing::debug!("user changed concurrently; retrying");
                }
                Err(UpdateUserError::NotFound) => return Err(UsersError::NotFound(id)),
                Err(UpdateUserError::EmailTaken) => return Err(UsersError::EmailTaken),
                Err(UpdateUserError::LastAdmin) => return Err(UsersError::LastAdmin),
                Err(UpdateUserError::Repository(e)) => return Err(e.into()),
            }
        }
        Err(UsersError::Conflict)
    }

    /// Deletes the user and revokes their tokens (in one transaction); `NotFound` if there is none, and
    /// `PreconditionFailed` if `if_version` is given and does not hold the stored version.
    #[tracing::instrument(name = "users.delete", skip_all, fields(actor = %actor.label(), user.id = %id))]
    pub async fn delete(
        &self,
        actor: &Actor,
        id: UserId,
        if_version: Option<Vec<u64>>,
    ) -> Result<(), UsersError> {
        self.authorize(actor, Operation::Delete, Resource::User(id))?;
        let now = self.ports.clock.now();
        let revoke = self.revocation(now);
        let record = self.ports.record(actor, now, vec![UserChange::Deleted]);
        self.ports
            .users
            .delete(id, if_version, revoke, &record)
            .await
            .map_err(|e| match e {
                DeleteUserError::NotFound => UsersError::NotFound(id),
                DeleteUserError::VersionConflict { current } => {
                    UsersError::PreconditionFailed { id, current }
                }
                DeleteUserError::LastAdmin => UsersError::LastAdmin,
                DeleteUserError::Repository(e) => e.into(),
            })?;
        self.ports.metrics.tokens_revoked(RevocationScope::User);
        self.ports.metrics.user_changed(UserEventKind::Deleted);
        Ok(())
    }

    /// Revokes every token of the user issued before `before` (recording it as
    /// `actor`'s), and counts it.
    async fn revoke_all(
        &self,
        actor: &Actor,
        id: UserId,
        before: DateTime<Utc>,
    ) -> Result<(), RepositoryError> {
        let revocation = self.revocation(before);
        let record = self
            .ports
            .record(actor, before, vec![UserChange::TokensRevoked]);
        self.ports
            .revocations
            .revoke_all(id, revocation.before, revocation.until, &record)
            .await?;
        self.ports.metrics.tokens_revoked(RevocationScope::User);
        Ok(())
    }

    /// Every token issued until `before`: none outlives its issue by more than the
    /// lifetime, so the revocation is kept that long.
    /// What replacing `current` revokes (disabling revokes the user's tokens, in the
    /// same transaction) and its record: what changed, and the revocation if any.
    fn replacement_record(
        &self,
        actor: &Actor,
        current: &User,
        replacement: &UserReplacement,
        now: DateTime<Utc>,
    ) -> (Option<TokenRevocation>, ChangeRecord) {
        let revoke = (current.status != Status::Disabled && replacement.status == Status::Disabled)
            .then(|| self.revocation(now));
        let mut changes = UserChange::of_replacement(current, replacement);
        if revoke.is_some() {
            changes.push(UserChange::TokensRevoked);
        }
        (revoke, self.ports.record(actor, now, changes))
    }

    fn revocation(&self, before: DateTime<Utc>) -> TokenRevocation {
        TokenRevocation {
            before,
            until: before + self.ports.tokens.lifetime(),
        }
    }
}

#[cfg(test)]
mod tests;
