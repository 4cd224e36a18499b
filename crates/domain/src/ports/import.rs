//! [`UserTransfer`]: users in bulk, in and out of the store.

use async_trait::async_trait;

use crate::{
    import::ImportBatch,
    ports::RepositoryError,
    user::{Email, ExternalId, User, UserId},
};

/// Why [`UserTransfer::write_batch`] wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum ImportWriteError {
    /// The store changed since the batch was planned: a new user took one of its
    /// e-mail addresses or ids, or an updated user's version moved on. Planning the
    /// batch again sees the change.
    #[error("the users changed while the batch was planned")]
    Raced,
    #[error(transparent)]
    Repository(#[from] RepositoryError),
}

/// Bulk reads and writes of users, for imports, exports and copies.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait UserTransfer: Send + Sync {
    /// The stored users whose id is one of `ids`, whose e-mail address is one of
    /// `emails` (compared case-insensitively) or whose external id is one of
    /// `external_ids`, from the database.
    async fn matching(
        &self,
        ids: &[UserId],
        emails: &[Email],
        external_ids: &[ExternalId],
    ) -> Result<Vec<User>, RepositoryError>;

    /// Writes `batch` in one transaction, whole or not at all: its new users (with
    /// their `user.created` events; none may exist yet), its updated users (each only
    /// if its stored version is still the one it was read at, with its events and
    /// audit entry) and one audit entry with the batch's counts.
    async fn write_batch(&self, batch: &ImportBatch) -> Result<(), ImportWriteError>;

    /// Up to `limit` users in id order, starting strictly after `after`, with their
    /// password hashes: an export's page.
    async fn page(&self, after: Option<UserId>, limit: usize)
    -> Result<Vec<User>, RepositoryError>;
}
