//! [`TokenAuthority`] issues and verifies access tokens; [`Authorizer`] decides requests.

use chrono::{DateTime, Utc};

use crate::{
    access::{AccessRequest, IssuedToken, Session, TokenId},
    actor::Actor,
    sessions::{RefreshDigest, SessionId},
    user::{Role, UserId},
};

/// Why a presented token is not accepted (HTTP 401).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthenticationError {
    #[error("the token is malformed")]
    Malformed,
    /// Tampered with, or signed by a key this service does not accept.
    #[error("the token signature is invalid or its key is unknown")]
    InvalidSignature,
    #[error("the token has expired")]
    Expired,
    #[error("the token has been revoked")]
    Revoked,
}

/// The token could not be made.
#[derive(Debug, thiserror::Error)]
#[error("cannot issue a token")]
pub struct IssueError(#[from] pub anyhow::Error);

/// Issues and verifies access tokens.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait TokenAuthority: Send + Sync {
    /// A new token for this user and role, valid from `now` for the configured lifetime.
    fn issue(
        &self,
        user_id: UserId,
        role: Role,
        now: DateTime<Utc>,
    ) -> Result<IssuedToken, IssueError> {
        self.issue_as(TokenId::generate(), user_id, role, now)
    }

    /// As [`TokenAuthority::issue`], with an identifier chosen (and recorded) first.
    fn issue_as(
        &self,
        token_id: TokenId,
        user_id: UserId,
        role: Role,
        now: DateTime<Utc>,
    ) -> Result<IssuedToken, IssueError>;

    /// A new refresh token for the session: the text for the client (the session's id
    /// and a secret), and its digest, which is all that is stored.
    fn mint_refresh(&self, session: SessionId) -> (String, RefreshDigest);

    /// The session a presented refresh token names and the token's digest; `None` when
    /// the text cannot be a refresh token (checked before any hashing, so its cost is
    /// bounded). Whether the token is current is the session store's to say.
    fn read_refresh(&self, presented: &str) -> Option<(SessionId, RefreshDigest)>;

    /// The session a token grants, if its signature is valid and it has not expired.
    /// A token also expires once it is older than the configured lifetime, so that
    /// lowering the lifetime shortens the tokens already out. Revocation is checked by
    /// the caller, against the revocation store.
    fn authenticate(&self, token: &str, now: DateTime<Utc>)
    -> Result<Session, AuthenticationError>;

    /// How long the tokens it issues live: no token it accepts outlives its issue by
    /// more than this.
    fn lifetime(&self) -> chrono::Duration;
}

/// Why a request is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessDenied {
    /// No credentials: the caller must authenticate (HTTP 401).
    #[error("authentication required")]
    Unauthenticated,
    /// Authenticated, but not allowed (HTTP 403).
    #[error("not allowed")]
    Forbidden,
}

/// Decides whether an actor may make a request.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait Authorizer: Send + Sync {
    fn authorize(&self, actor: &Actor, request: &AccessRequest) -> Result<(), AccessDenied>;
}
