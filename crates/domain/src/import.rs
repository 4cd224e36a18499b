//! Bulk import: users kept elsewhere until now, with the credential they had there.

use std::{fmt, str::FromStr};

use chrono::{DateTime, Utc};

use crate::{
    access::TokenRevocation,
    audit::Provenance,
    events::UserChange,
    user::{Email, ExternalId, Password, PasswordHash, Role, Status, User, UserId, UserName},
};

/// How a user arrives with their password: as typed (hashed on import), or as the
/// hash another system stored (verified at the first login, then replaced).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportedCredential {
    Password(Password),
    Hash(PasswordHash),
}

/// One valid row of an import: every field a parsed value object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedUser {
    /// Where the row was in its input (1-based), for the report.
    pub line: u64,
    /// The id the user had, kept when given (an export of Roster's).
    pub id: Option<UserId>,
    pub email: Email,
    pub name: UserName,
    pub role: Role,
    pub status: Status,
    /// The user's id in the system the row comes from: kept, unique, a second way to
    /// recognise an existing user.
    pub external_id: Option<ExternalId>,
    pub created_at: Option<DateTime<Utc>>,
    /// `None` for a user exported without a password hash: they cannot log in until
    /// one is set.
    pub credential: Option<ImportedCredential>,
}

/// What to do with a row whose user already exists (same e-mail address or id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnConflict {
    /// Leave the stored user as it is (the default: a re-run finishes an import).
    #[default]
    Skip,
    /// Make the stored user what the row says (a change only if it differs).
    Update,
    /// Report the row as failed and leave the stored user.
    Fail,
}

/// The text is not an [`OnConflict`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be one of: skip, update, fail")]
pub struct OnConflictError;

impl OnConflict {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Skip => "skip",
            Self::Update => "update",
            Self::Fail => "fail",
        }
    }
}

impl FromStr for OnConflict {
    type Err = OnConflictError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        [Self::Skip, Self::Update, Self::Fail]
            .into_iter()
            .find(|policy| policy.as_str() == text)
            .ok_or(OnConflictError)
    }
}

impl fmt::Display for OnConflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How many rows of an import (or of one batch) ended each way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ImportCounts {
    pub created: u64,
    pub updated: u64,
    /// Existing users the row already matched exactly (`update`).
    pub unchanged: u64,
    /// Existing users left alone (`skip`).
    pub skipped: u64,
    /// Existing users that failed their row (`fail`).
    pub conflicts: u64,
    pub invalid: u64,
}

impl ImportCounts {
    /// Every row counted.
    pub fn rows(&self) -> u64 {
        self.created + self.updated + self.unchanged + self.skipped + self.conflicts + self.invalid
    }

    /// Adds `other`'s counts to these.
    pub fn add(&mut self, other: &Self) {
        self.created += other.created;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
        self.skipped += other.skipped;
        self.conflicts += other.conflicts;
        self.invalid += other.invalid;
    }

    /// The counts as `name=value` pairs, in a fixed order (the audit log's fields).
    pub fn pairs(&self) -> [(&'static str, u64); 6] {
        [
            ("created", self.created),
            ("updated", self.updated),
            ("unchanged", self.unchanged),
            ("skipped", self.skipped),
            ("conflicts", self.conflicts),
            ("invalid", self.invalid),
        ]
    }
}

/// A stored user that an import row changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedUpdate {
    /// The user as it should be stored, with the version it was read at: the store
    /// writes it only if that version is still the stored one.
    pub user: User,
    /// The events the change makes (as a write through the API would).
    pub changes: Vec<UserChange>,
    /// Set when the password changed or the user was disabled: their tokens stop
    /// counting.
    pub revoke: Option<TokenRevocation>,
}

/// One batch of an import, written in one transaction: new users (each with a
/// `user.created` event), changed users (each with its events and audit entry), and
/// one audit entry for the batch with its counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportBatch {
    pub created: Vec<User>,
    pub updated: Vec<ImportedUpdate>,
    /// [`Actor::label`](crate::Actor::label) of who imports.
    pub actor: String,
    pub at: DateTime<Utc>,
    pub provenance: Provenance,
    /// The batch's rows, for its audit entry (invalid and skipped rows included).
    pub counts: ImportCounts,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflict_policies_round_trip_through_text() {
        for policy in [OnConflict::Skip, OnConflict::Update, OnConflict::Fail] {
            assert_eq!(policy.as_str().parse(), Ok(policy));
        }
        assert_eq!("Skip".parse::<OnConflict>(), Err(OnConflictError));
    }

    #[test]
    fn counts_add_up() {
        let mut total = ImportCounts {
            created: 2,
            invalid: 1,
            ..ImportCounts::default()
        };
        total.add(&ImportCounts {
            created: 1,
            updated: 1,
            unchanged: 1,
            skipped: 1,
            conflicts: 1,
            invalid: 1,
        });
        assert_eq!(total.rows(), 9);
        assert_eq!(total.pairs()[0], ("created", 3));
        assert_eq!(total.pairs()[5], ("invalid", 2));
    }
}
