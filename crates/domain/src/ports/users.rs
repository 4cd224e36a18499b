//! [`UserRepository`]: where users are kept.

use async_trait::async_trait;

use crate::{
    access::TokenRevocation,
    audit::LoginAttempt,
    events::ChangeRecord,
    page::{UserFilter, UserQuery},
    user::{Email, PasswordHash, User, UserId},
};

/// A failure of the store itself, common to every operation.
#[derive(Debug, thiserror::Error)]
pub enum RepositoryError {
    /// The store could not serve the call in time (no connection free within the
    /// wait timeout, database unreachable). Retrying later may succeed.
    #[error("the user store is unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// Anything else: a bug, corrupt data, a broken invariant.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Why [`UserRepository::insert`] failed.
#[derive(Debug, thiserror::Error)]
pub enum InsertUserError {
    /// Another user already has this e-mail address (compared case-insensitively).
    #[error("the e-mail address is taken")]
    EmailTaken,
    #[error(transparent)]
    Repository(#[from] RepositoryError),
}

/// Why [`UserRepository::update`] failed.
#[derive(Debug, thiserror::Error)]
pub enum UpdateUserError {
    #[error("no such user")]
    NotFound,
    /// Another user already has the new e-mail address.
    #[error("the e-mail address is taken")]
    EmailTaken,
    /// The stored user changed since it was read: its version is no longer the one
    /// the update was based on.
    #[error("the user was changed concurrently")]
    VersionConflict,
    /// No other active administrator would remain; nothing was changed.
    #[error("the last active administrator cannot stop being one")]
    LastAdmin,
    #[error(transparent)]
    Repository(#[from] RepositoryError),
}

/// Why [`UserRepository::delete`] failed.
#[derive(Debug, thiserror::Error)]
pub enum DeleteUserError {
    #[error("no such user")]
    NotFound,
    /// The stored version is not an accepted one; nothing was deleted.
    #[error("the user's version is {current}, not the expected one")]
    VersionConflict { current: u64 },
    /// The user is the last active administrator; nothing was deleted.
    #[error("the last active administrator cannot be deleted")]
    LastAdmin,
    #[error(transparent)]
    Repository(#[from] RepositoryError),
}

/// The users' store. Implementations are safe to call concurrently, and each call is
/// atomic: it either happens whole or not at all.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait UserRepository: Send + Sync {
    /// Stores a new user exactly as given (its version is 1), and the events of
    /// `record` in the same transaction.
    async fn insert(&self, user: &User, record: &ChangeRecord) -> Result<(), InsertUserError>;

    /// The user with this id as stored now, or `None`: what a write is based on.
    async fn find(&self, id: UserId) -> Result<Option<User>, RepositoryError>;

    /// The user with this id for a read that ends in a response, or `None`. An adapter
    /// may answer from memory: a change made through it is seen at once, one made by
    /// another instance within about a second (see docs/architecture.md). A write never
    /// starts from this copy: it would be refused as based on an older version.
    async fn find_recent(&self, id: UserId) -> Result<Option<User>, RepositoryError>;

    /// The user with this e-mail address, compared case-insensitively, or `None`.
    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, RepositoryError>;

    /// Whether any user exists (the first administrator is created when none does).
    async fn has_users(&self) -> Result<bool, RepositoryError>;

    /// Records the successful `login` of user `id` (its time, and its entry in the
    /// audit log, in one transaction), and stores `rehashed` (a fresh hash of the same
    /// password) if given. Neither is a change of the user: the version stays.
    async fn record_login(
        &self,
        id: UserId,
        login: &LoginAttempt,
        rehashed: Option<PasswordHash>,
    ) -> Result<(), RepositoryError>;

    /// Up to `limit` users that pass `query.filter`, in `query.sort` order (ties by
    /// id), starting strictly after `query.after`.
    ///
    /// `limit` is separate from `query.size` so that callers can ask for one more row
    /// than they show, to learn whether another page follows.
    async fn list(&self, query: &UserQuery, limit: usize) -> Result<Vec<User>, RepositoryError>;

    /// How many users pass `filter`.
    async fn count(&self, filter: &UserFilter) -> Result<u64, RepositoryError>;

    /// Stores `user` over the stored user with the same id, if the stored version is
    /// still `user.version`; returns the stored user, whose version is one higher.
    /// With `revoke`, revokes the user's tokens as
    /// [`RevocationStore::revoke_all`](crate::ports::RevocationStore::revoke_all)
    /// does, in the same transaction: both happen or neither. The events of `record`
    /// are stored in that transaction too, with the new version.
    async fn update(
        &self,
        user: &User,
        revoke: Option<TokenRevocation>,
        record: &ChangeRecord,
    ) -> Result<User, UpdateUserError>;

    /// [`UserRepository::update`] for a change that makes an active administrator
    /// something else (a member, or disabled): refused with `LastAdmin` when no other
    /// active administrator would remain, decided atomically with the write, so that
    /// two administrators demoting each other at once cannot both succeed.
    async fn update_keeping_an_admin(
        &self,
        user: &User,
        revoke: Option<TokenRevocation>,
        record: &ChangeRecord,
    ) -> Result<User, UpdateUserError>;

    /// Removes the user with this id; with `accepted_versions`, only if the stored
    /// version is one of them; never the last active administrator (`LastAdmin`).
    /// Revokes the user's tokens in the same transaction, so that none comes back
    /// should the id ever be restored; stores the events of `record` with the last
    /// version.
    async fn delete(
        &self,
        id: UserId,
        accepted_versions: Option<Vec<u64>>,
        revoke: TokenRevocation,
        record: &ChangeRecord,
    ) -> Result<(), DeleteUserError>;
}
