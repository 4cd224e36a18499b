//! Login sessions: what a login starts, what refresh tokens renew, and what users and
//! administrators can see and end.
//!
//! A session pairs short access tokens with a rotating refresh token. Each refresh
//! spends the presented refresh token and hands out a new one; presenting a spent one
//! again means two parties hold it (the owner and a thief, in some order), so the whole
//! session ends and the access tokens minted from it are revoked.

use std::{fmt, net::IpAddr, str::FromStr};

use chrono::{DateTime, Duration, Utc};
use ulid::Ulid;

use crate::{TokenId, audit::AuditAction, user::UserId};

/// A session's identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SessionId(Ulid);

impl SessionId {
    pub fn generate() -> Self {
        Self(Ulid::generate())
    }

    pub fn parse(text: &str) -> Option<Self> {
        Ulid::from_string(text).ok().map(Self)
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// How a session ended before it expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEnd {
    /// Its holder logged out.
    LoggedOut,
    /// Ended through `DELETE /users/{id}/sessions/{session_id}`.
    Ended,
    /// Every token of its user was revoked: a password change, disabling, deletion,
    /// or an administrator's revoke-tokens.
    Revoked,
    /// A spent refresh token was presented again.
    RefreshTokenReused,
    /// Its user's newer sessions pushed it out (`auth.sessions.max_per_user`).
    Superseded,
}

impl SessionEnd {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LoggedOut => "logged_out",
            Self::Ended => "ended",
            Self::Revoked => "revoked",
            Self::RefreshTokenReused => "refresh_token_reused",
            Self::Superseded => "superseded",
        }
    }

    /// The action the audit log records for a session ended this way; none for the
    /// endings another entry already explains (a revocation of every token, recorded
    /// as `user.tokens_revoked`, and a login that supersedes an older session).
    pub fn audited_as(self) -> Option<AuditAction> {
        match self {
            Self::LoggedOut => Some(AuditAction::LoggedOut),
            Self::Ended => Some(AuditAction::SessionEnded),
            Self::RefreshTokenReused => Some(AuditAction::RefreshTokenReused),
            Self::Revoked | Self::Superseded => None,
        }
    }
}

impl FromStr for SessionEnd {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        [
            Self::LoggedOut,
            Self::Ended,
            Self::Revoked,
            Self::RefreshTokenReused,
            Self::Superseded,
        ]
        .into_iter()
        .find(|end| end.as_str() == text)
        .ok_or_else(|| format!("unknown session end {text:?}"))
    }
}

/// How long sessions last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// A session not refreshed for this long is over.
    pub idle_timeout: Duration,
    /// No session lasts longer than this from its login, however often refreshed.
    pub lifetime: Duration,
    /// Active sessions a user may hold; a login beyond it ends the oldest.
    pub max_per_user: usize,
}

impl SessionPolicy {
    /// The last-use instant before which a session counts as idle at `now`.
    pub fn idle_cutoff(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now - self.idle_timeout
    }

    /// When a session last used at `last_used_at` and ending at `expires_at` stops
    /// accepting its refresh token, unless it is used first.
    pub fn refresh_expires_at(
        &self,
        last_used_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> DateTime<Utc> {
        (last_used_at + self.idle_timeout).min(expires_at)
    }
}

/// A session as its user and administrators see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSession {
    pub id: SessionId,
    pub user_id: UserId,
    pub created_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
    /// The absolute end, whatever the use.
    pub expires_at: DateTime<Utc>,
    /// The client's address and user agent as seen at login.
    pub client_address: IpAddr,
    pub user_agent: Option<String>,
}

/// The digest of a refresh token: all that is stored of it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RefreshDigest(String);

impl RefreshDigest {
    pub fn new(digest: String) -> Self {
        Self(digest)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A refresh token handed to a client, and the access token issued with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshGrant {
    pub digest: RefreshDigest,
    pub issued_at: DateTime<Utc>,
    /// Recorded so that ending the session revokes the access token too.
    pub access_token_id: TokenId,
    pub access_expires_at: DateTime<Utc>,
}

/// What presenting a refresh token came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refreshed {
    /// The token was current: it is spent, the next one is stored, and the session
    /// was used now. The access token is to be issued for this user.
    Rotated {
        session: UserSession,
        role: crate::Role,
    },
    /// The token was already spent: the session has ended, its access tokens are
    /// revoked.
    Reused { session: SessionId, user_id: UserId },
    /// Unknown, or its session is over (ended, idle, past its lifetime, its user
    /// disabled, deleted or revoked since).
    Invalid,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ends_round_trip_through_their_names() {
        for end in [
            SessionEnd::LoggedOut,
            SessionEnd::Ended,
            SessionEnd::Revoked,
            SessionEnd::RefreshTokenReused,
            SessionEnd::Superseded,
        ] {
            assert_eq!(end.as_str().parse::<SessionEnd>(), Ok(end));
        }
        assert!("expired".parse::<SessionEnd>().is_err());
    }

    #[test]
    fn a_refresh_token_expires_when_idle_or_at_the_session_end_whichever_is_first() {
        let policy = SessionPolicy {
            idle_timeout: Duration::hours(1),
            lifetime: Duration::days(1),
            max_per_user: 10,
        };
        let t = DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        assert_eq!(
            policy.refresh_expires_at(t, t + Duration::days(1)),
            t + Duration::hours(1)
        );
        assert_eq!(
            policy.refresh_expires_at(t, t + Duration::minutes(5)),
            t + Duration::minutes(5)
        );
        assert_eq!(policy.idle_cutoff(t), t - Duration::hours(1));
    }
}
