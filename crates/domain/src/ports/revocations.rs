//! [`RevocationStore`]: which tokens no longer count, durably.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{
    access::{Session, Standing, TokenId},
    events::ChangeRecord,
    ports::RepositoryError,
    user::UserId,
};

/// Revoked tokens, kept across restarts and shared by every replica.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait RevocationStore: Send + Sync {
    /// Revokes one token (logout) until it expires.
    async fn revoke_token(
        &self,
        token_id: TokenId,
        user_id: UserId,
        expires_at: DateTime<Utc>,
    ) -> Result<(), RepositoryError>;

    /// Revokes every token of the user issued at or before `before`, until
    /// `expires_at` (when every such token has expired). A later call with an earlier
    /// instant revokes nothing less, nor for less long. Stores the events of `record`
    /// with the user's current version, in the same transaction.
    async fn revoke_all(
        &self,
        user_id: UserId,
        before: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        record: &ChangeRecord,
    ) -> Result<(), RepositoryError>;

    /// Whether the session's token is revoked, alone or with all of its user's.
    async fn is_revoked(&self, session: &Session) -> Result<bool, RepositoryError>;

    /// Where the session stands now: its token unrevoked and its user present and
    /// active, with the user's current role; else `Void`. One read of the store, made
    /// on every authenticated request.
    async fn standing(&self, session: &Session) -> Result<Standing, RepositoryError>;

    /// Forgets what no longer matters at `now`: every revocation past its own expiry
    /// (which a later change of the token lifetime does not move). Returns the rows
    /// removed.
    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<usize, RepositoryError>;
}
