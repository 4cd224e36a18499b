//! [`BusinessMetrics`]: what the business counts, recorded where it happens (in the
//! use cases), whatever adapter delivered the request.

use crate::events::UserEventKind;

/// How a login attempt ended, when it got as far as a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginOutcome {
    Succeeded,
    /// Wrong e-mail address or password, or a disabled account.
    Failed,
    /// Refused by the throttle before the credentials were looked at.
    Throttled,
}

impl LoginOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Throttled => "throttled",
        }
    }
}

/// Which tokens a revocation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevocationScope {
    /// One token (a logout).
    Token,
    /// Every token of a user (a password change, disabling, deletion, an administrator).
    User,
    /// One login session and the access tokens minted from it (a logout, an ended
    /// session, a reused refresh token).
    Session,
}

impl RevocationScope {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Token => "token",
            Self::User => "user",
            Self::Session => "session",
        }
    }
}

/// Counts business events. Recording never fails and never blocks: an adapter that
/// cannot deliver drops the count.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait BusinessMetrics: Send + Sync {
    /// A login attempt was decided.
    fn login(&self, outcome: LoginOutcome);
    /// Tokens were revoked.
    fn tokens_revoked(&self, scope: RevocationScope);
    /// A user was created, changed or deleted (and the change stored).
    fn user_changed(&self, kind: UserEventKind);
}
