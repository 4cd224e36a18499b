//! Who may do what: sessions from verified tokens, and the requests an
//! [`Authorizer`](crate::ports::Authorizer) decides on.

use std::{any::Any, fmt, sync::Arc};

use chrono::{DateTime, Utc};
use ulid::Ulid;

use crate::user::{Role, UserId};

/// A token's identifier, used to revoke it alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TokenId(Ulid);

impl TokenId {
    pub fn generate() -> Self {
        Self(Ulid::generate())
    }

    pub fn parse(text: &str) -> Option<Self> {
        Ulid::from_string(text).ok().map(Self)
    }
}

impl fmt::Display for TokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The verified token itself, opaque to everyone but the adapter that made it (which
/// needs it again to evaluate the token's own checks at authorisation time).
#[derive(Clone)]
pub struct TokenHandle(Arc<dyn Any + Send + Sync>);

impl TokenHandle {
    pub fn new(token: impl Any + Send + Sync) -> Self {
        Self(Arc::new(token))
    }

    pub fn downcast<T: Any>(&self) -> Option<&T> {
        self.0.downcast_ref()
    }
}

impl fmt::Debug for TokenHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenHandle(<opaque>)")
    }
}

/// Two handles are equal when they hold the very same token.
impl PartialEq for TokenHandle {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for TokenHandle {}

/// Where a verified token's session stands now, by the store's current state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// The token is not revoked and its user exists and is active, with this role now
    /// (which authorisation uses, whatever role the token was issued with).
    Current(Role),
    /// The token, or every token of its user, is revoked; or the user is disabled
    /// or gone.
    Void,
}

/// Every token of a user issued at or before `before` stops counting, and the record
/// of it is kept until `until` (by when every such token has expired).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenRevocation {
    pub before: DateTime<Utc>,
    pub until: DateTime<Utc>,
}

/// An authenticated caller: the claims of a verified, unexpired token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub user_id: UserId,
    pub role: Role,
    pub token_id: TokenId,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub token: TokenHandle,
}

#[cfg(any(test, feature = "mocks"))]
impl Session {
    /// A session for tests, with a token handle that holds nothing.
    pub fn fake(user_id: UserId, role: Role) -> Self {
        let now = Utc::now();
        Self {
            user_id,
            role,
            token_id: TokenId::generate(),
            issued_at: now,
            expires_at: now + chrono::Duration::minutes(15),
            token: TokenHandle::new(()),
        }
    }
}

/// What an access request wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Read,
    Write,
    Delete,
    /// Change what only administrators may: roles, statuses, other users' tokens.
    Admin,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Delete => "delete",
            Self::Admin => "admin",
        }
    }
}

/// What an access request is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    /// The users collection (listing, creating).
    Users,
    /// One user, who owns their own record.
    User(UserId),
    /// The audit log (administrators only).
    Audit,
}

/// One decision to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessRequest {
    pub operation: Operation,
    pub resource: Resource,
    pub at: DateTime<Utc>,
}

/// A token as handed to its holder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    /// The serialised token, for `Authorization: Bearer`.
    pub token: String,
    pub token_id: TokenId,
    pub expires_at: DateTime<Utc>,
}
