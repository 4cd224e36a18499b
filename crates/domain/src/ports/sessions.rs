//! [`SessionStore`]: login sessions and their refresh tokens, durably.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{
    TokenId,
    audit::AuditNote,
    ports::RepositoryError,
    sessions::{RefreshDigest, RefreshGrant, Refreshed, SessionEnd, SessionId, UserSession},
    user::UserId,
};

/// Sessions, shared by every replica: each operation is one transaction, so that two
/// instances refreshing the same token at once cannot both succeed.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Stores a new session with its first refresh token; when the user then holds
    /// more than `max_per_user` active sessions, the oldest end as superseded.
    async fn start(
        &self,
        session: &UserSession,
        first: &RefreshGrant,
        max_per_user: usize,
    ) -> Result<(), RepositoryError>;

    /// Spends the presented refresh token and stores `next` in its place, if the token
    /// is current and its session active at `now` (used since `idle_cutoff`, before its
    /// end, its user active and not revoked since the login). A spent token ends its
    /// session and revokes the session's access tokens.
    /// A reused token's ending is recorded in the audit log with `from`, in the same
    /// transaction.
    async fn refresh(
        &self,
        presented: &RefreshDigest,
        next: &RefreshGrant,
        now: DateTime<Utc>,
        idle_cutoff: DateTime<Utc>,
        from: &AuditNote,
    ) -> Result<Refreshed, RepositoryError>;

    /// The user's active sessions at `now`, newest first.
    async fn list(
        &self,
        user_id: UserId,
        now: DateTime<Utc>,
        idle_cutoff: DateTime<Utc>,
    ) -> Result<Vec<UserSession>, RepositoryError>;

    /// Ends one of the user's sessions and revokes the access tokens minted from it
    /// that are still alive at `now`. `false` when the user has no such active session.
    /// A logout or an ending on request is recorded in the audit log with `by`, in the
    /// same transaction.
    async fn end(
        &self,
        user_id: UserId,
        session: SessionId,
        reason: SessionEnd,
        now: DateTime<Utc>,
        by: &AuditNote,
    ) -> Result<bool, RepositoryError>;

    /// The session an access token was minted for, if any (tokens from before
    /// sessions existed have none).
    async fn session_of(&self, token_id: TokenId) -> Result<Option<SessionId>, RepositoryError>;

    /// Forgets sessions that ended or expired before `before`, with their refresh
    /// tokens. Returns the sessions removed.
    async fn purge(&self, before: DateTime<Utc>) -> Result<usize, RepositoryError>;
}
