//! The audit log: who did what to whom, when, from which request, and how it ended.
//!
//! Entries are written by the stores in the transaction of the action they record
//! (a [`ChangeRecord`](crate::ChangeRecord) carries what they need), except failed
//! logins, which change nothing and are counted per account and client in one entry
//! per window instead of one per attempt.

use std::{fmt, str::FromStr};

use chrono::{DateTime, Utc};
use ulid::Ulid;

use crate::{actor::Actor, page::PageSize, user::UserId};

/// Where an action came from: the request's id and its trace id, when it came over
/// HTTP; neither for the command line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Provenance {
    pub request_id: Option<String>,
    pub trace_id: Option<String>,
}

/// What was done. Administrative actions are the changes to users; logins are the
/// security-relevant events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditAction {
    UserCreated,
    UserUpdated,
    UserPasswordChanged,
    UserTokensRevoked,
    UserDeleted,
    LoginSucceeded,
    /// Failed logins of one account (or of unknown accounts) from one client,
    /// aggregated: the entry's `attempts` grows until its window has passed.
    LoginFailed,
    /// A user logged out: their session ended.
    LoggedOut,
    /// A session ended through `DELETE /users/{id}/sessions/{session_id}`.
    SessionEnded,
    /// A spent refresh token was presented again (a stolen token, or a client that
    /// kept an old one): the session ended.
    RefreshTokenReused,
    /// One batch of a bulk import was written; its fields hold the batch's counts.
    UsersImported,
}

impl AuditAction {
    pub const ALL: [Self; 11] = [
        Self::UserCreated,
        Self::UserUpdated,
        Self::UserPasswordChanged,
        Self::UserTokensRevoked,
        Self::UserDeleted,
        Self::LoginSucceeded,
        Self::LoginFailed,
        Self::LoggedOut,
        Self::SessionEnded,
        Self::RefreshTokenReused,
        Self::UsersImported,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::UserCreated => "user.created",
            Self::UserUpdated => "user.updated",
            Self::UserPasswordChanged => "user.password_changed",
            Self::UserTokensRevoked => "user.tokens_revoked",
            Self::UserDeleted => "user.deleted",
            Self::LoginSucceeded => "auth.login_succeeded",
            Self::LoginFailed => "auth.login_failed",
            Self::LoggedOut => "auth.logged_out",
            Self::SessionEnded => "auth.session_ended",
            Self::RefreshTokenReused => "auth.refresh_token_reused",
            Self::UsersImported => "users.imported",
        }
    }
}

/// Not an action the audit log records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "must be one of user.created, user.updated, user.password_changed, user.tokens_revoked, user.deleted, auth.login_succeeded, auth.login_failed, auth.logged_out, auth.session_ended, auth.refresh_token_reused"
)]
pub struct UnknownAuditAction;

impl FromStr for AuditAction {
    type Err = UnknownAuditAction;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|action| action.as_str() == text)
            .ok_or(UnknownAuditAction)
    }
}

/// How the action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditOutcome {
    Success,
    Failure,
}

impl AuditOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
        }
    }
}

impl FromStr for AuditOutcome {
    type Err = UnknownAuditAction;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        [Self::Success, Self::Failure]
            .into_iter()
            .find(|outcome| outcome.as_str() == text)
            .ok_or(UnknownAuditAction)
    }
}

/// Who acted, as the audit log names them: `system` (the command line, start-up),
/// `anonymous` (no credentials: logins, registrations), or `user:<id>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Principal(String);

/// Not `system`, `anonymous` or `user:<id>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be system, anonymous or user:<user id>")]
pub struct PrincipalError;

impl Principal {
    pub fn user(id: UserId) -> Self {
        Self(format!("user:{id}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&Actor> for Principal {
    fn from(actor: &Actor) -> Self {
        Self(actor.label())
    }
}

impl FromStr for Principal {
    type Err = PrincipalError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "system" | "anonymous" => Ok(Self(text.to_owned())),
            _ => text
                .strip_prefix("user:")
                .and_then(|id| UserId::parse(id).ok())
                .map(Self::user)
                .ok_or(PrincipalError),
        }
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An entry's id: a ULID made from its time, so that id order is time order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AuditId(Ulid);

impl AuditId {
    pub fn at(at: DateTime<Utc>) -> Self {
        Self(Ulid::from_datetime(at.into()))
    }

    /// The least id an entry at `at` or later can have: ids order like their times to
    /// the millisecond, so a time range is also a range of ids, which an index on
    /// `(column, id)` can seek. Times before 1970 give the least id of all.
    pub fn least_at(at: DateTime<Utc>) -> Self {
        // A ULID's time is 48 bits of milliseconds.
        const MAX_MILLIS: u64 = (1 << 48) - 1;
        let millis = u64::try_from(at.timestamp_millis()).unwrap_or(0);
        Self(Ulid::from_parts(millis.min(MAX_MILLIS), 0))
    }
}

/// Not an audit entry's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be the id of an audit entry (a ULID)")]
pub struct AuditIdError;

impl FromStr for AuditId {
    type Err = AuditIdError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ulid::from_string(text)
            .ok()
            .filter(|id| id.to_string().eq_ignore_ascii_case(text))
            .map(Self)
            .ok_or(AuditIdError)
    }
}

impl fmt::Display for AuditId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub id: AuditId,
    /// When it happened (for aggregated failed logins, the first attempt).
    pub at: DateTime<Utc>,
    /// The last attempt of an aggregated entry; `at` otherwise.
    pub last_at: DateTime<Utc>,
    /// Attempts the entry stands for (1 but for failed logins).
    pub attempts: u32,
    pub actor: Principal,
    pub action: AuditAction,
    /// The user acted upon; none for failed logins of an account that does not exist.
    pub target: Option<UserId>,
    /// The client's address, for logins.
    pub client: Option<String>,
    pub outcome: AuditOutcome,
    pub provenance: Provenance,
    /// The names of the fields an update changed (never their values).
    pub fields: Vec<String>,
}

/// Which entries to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub actor: Option<Principal>,
    pub target: Option<UserId>,
    pub action: Option<AuditAction>,
    /// At or after this instant.
    pub since: Option<DateTime<Utc>>,
    /// Strictly before this instant.
    pub until: Option<DateTime<Utc>>,
}

/// A page of the audit log, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    pub filter: AuditFilter,
    pub size: PageSize,
    /// Entries older than this one (the last of the previous page).
    pub before: Option<AuditId>,
}

/// Who does an action that is not a change of a user (ending a session), from which
/// client and request: what its store writes in the audit log with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditNote {
    pub actor: Principal,
    pub client: Option<String>,
    pub provenance: Provenance,
}

/// A login, as the audit log records it: a success in the login's own transaction, a
/// failure counted in its account's and client's open entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginAttempt {
    /// The account, when the address belongs to a user.
    pub account: Option<UserId>,
    pub client: String,
    pub at: DateTime<Utc>,
    pub provenance: Provenance,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_and_outcomes_read_back_what_they_write() {
        for action in AuditAction::ALL {
            assert_eq!(action.as_str().parse(), Ok(action));
        }
        assert_eq!(
            "user.exploded".parse::<AuditAction>(),
            Err(UnknownAuditAction)
        );
        for outcome in [AuditOutcome::Success, AuditOutcome::Failure] {
            assert_eq!(outcome.as_str().parse(), Ok(outcome));
        }
    }

    #[test]
    fn principals_are_system_anonymous_or_a_user() {
        let id = UserId::generate();
        assert_eq!(
            format!("user:{id}").parse::<Principal>(),
            Ok(Principal::user(id))
        );
        assert_eq!(
            "system".parse::<Principal>().map(|p| p.to_string()),
            Ok("system".to_owned())
        );
        for bad in ["", "user:", "user:nope", "root", "USER:x", "System"] {
            assert_eq!(bad.parse::<Principal>(), Err(PrincipalError), "{bad:?}");
        }
    }

    #[test]
    fn ids_follow_time() {
        let earlier = AuditId::at(DateTime::from_timestamp(1_800_000_000, 0).unwrap());
        let later = AuditId::at(DateTime::from_timestamp(1_800_000_001, 0).unwrap());
        assert!(earlier < later);
        assert_eq!(later.to_string().parse(), Ok(later));
        let at = DateTime::from_timestamp(1_800_000_000, 999_999_999).unwrap();
        assert!(AuditId::least_at(at) <= AuditId::at(at));
        assert!(AuditId::at(at) < AuditId::least_at(at + chrono::Duration::milliseconds(1)));
        assert_eq!(
            AuditId::least_at(DateTime::<Utc>::MIN_UTC),
            AuditId(Ulid::from_parts(0, 0))
        );
    }
}
