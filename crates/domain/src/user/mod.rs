//! The [`User`] entity and its value objects.

mod email;
mod external_id;
mod id;
mod name;
mod password;

use std::{fmt, str::FromStr};

use chrono::{DateTime, Utc};

pub use email::{Email, EmailError};
pub use external_id::{ExternalId, ExternalIdError};
pub use id::{UserId, UserIdError, UserIdGenerator};
pub use name::{UserName, UserNameError};
pub use password::{Password, PasswordHash, PasswordHashError, PasswordPolicy, PasswordRejection};

/// What a user may do: admins manage everyone, members themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Role {
    Admin,
    #[default]
    Member,
}

/// The text is not a [`Role`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be one of: admin, member")]
pub struct RoleError;

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Member => "member",
        }
    }
}

impl FromStr for Role {
    type Err = RoleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "admin" => Ok(Self::Admin),
            "member" => Ok(Self::Member),
            _ => Err(RoleError),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a user may use the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Status {
    #[default]
    Active,
    Disabled,
}

/// The text is not a [`Status`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be one of: active, disabled")]
pub struct StatusError;

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Disabled => "disabled",
        }
    }
}

impl FromStr for Status {
    type Err = StatusError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "active" => Ok(Self::Active),
            "disabled" => Ok(Self::Disabled),
            _ => Err(StatusError),
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What it takes to create a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    pub email: Email,
    pub name: UserName,
    pub role: Role,
    pub status: Status,
    /// Checked against the password policy and hashed by the use case.
    pub password: Password,
}

/// The replaceable part of a user (`PUT` semantics: every field is given).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserReplacement {
    pub email: Email,
    pub name: UserName,
    pub role: Role,
    pub status: Status,
}

/// A partial change (`PATCH` semantics): only the given fields change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserPatch {
    pub email: Option<Email>,
    pub name: Option<UserName>,
    pub role: Option<Role>,
    pub status: Option<Status>,
}

impl UserPatch {
    /// The replacement that this patch makes of `current`.
    pub fn applied_to(&self, current: &User) -> UserReplacement {
        UserReplacement {
            email: self.email.clone().unwrap_or_else(|| current.email.clone()),
            name: self.name.clone().unwrap_or_else(|| current.name.clone()),
            role: self.role.unwrap_or(current.role),
            status: self.status.unwrap_or(current.status),
        }
    }
}

/// A user of the service.
///
/// Every field is a parsed value object, so a `User` is valid by construction.
/// `version` starts at 1 and grows by one with every stored change; repositories use
/// it to refuse lost updates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    pub name: UserName,
    pub role: Role,
    pub status: Status,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
    /// `None` for users created before passwords existed: they cannot log in until
    /// one is set.
    pub password_hash: Option<PasswordHash>,
    pub password_changed_at: Option<DateTime<Utc>>,
    pub last_login_at: Option<DateTime<Utc>>,
    /// The user's id in the system they were imported from, if any.
    pub external_id: Option<ExternalId>,
}

impl User {
    /// An administrator who may act: what must always remain (the store refuses to
    /// demote, disable or delete the last one).
    pub fn is_active_admin(&self) -> bool {
        self.role == Role::Admin && self.status == Status::Active
    }

    /// A user about to be stored for the first time, with no password yet (see
    /// [`User::with_password`]).
    pub fn create(id: UserId, new: NewUser, now: DateTime<Utc>) -> Self {
        Self {
            id,
            email: new.email,
            name: new.name,
            role: new.role,
            status: new.status,
            created_at: now,
            updated_at: now,
            version: 1,
            password_hash: None,
            password_changed_at: None,
            last_login_at: None,
            external_id: None,
        }
    }

    /// This user with a new password hash, changed at `now`.
    #[must_use]
    pub fn with_password(self, hash: PasswordHash, now: DateTime<Utc>) -> Self {
        Self {
            password_hash: Some(hash),
            password_changed_at: Some(now),
            updated_at: now,
            ..self
        }
    }

    /// This user with every replaceable field taken from `replacement`.
    ///
    /// The version is left as read: the repository stores the result only if the
    /// stored version still matches, and then increments it.
    #[must_use]
    pub fn replaced(self, replacement: UserReplacement, now: DateTime<Utc>) -> Self {
        Self {
            email: replacement.email,
            name: replacement.name,
            role: replacement.role,
            status: replacement.status,
            updated_at: now,
            ..self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_and_statuses_round_trip_through_text() {
        for role in [Role::Admin, Role::Member] {
            assert_eq!(role.as_str().parse(), Ok(role));
        }
        for status in [Status::Active, Status::Disabled] {
            assert_eq!(status.as_str().parse(), Ok(status));
        }
        assert_eq!("Admin".parse::<Role>(), Err(RoleError));
        assert_eq!("".parse::<Status>(), Err(StatusError));
    }

    #[test]
    fn replacing_keeps_identity_creation_time_and_version() -> Result<(), Box<dyn std::error::Error>>
    {
        let created = DateTime::from_timestamp(1_700_000_000, 0).ok_or("time")?;
        let later = DateTime::from_timestamp(1_700_000_100, 0).ok_or("time")?;
        let new = NewUser {
            email: Email::parse("a@example.com")?,
            name: UserName::parse("A")?,
            role: Role::Member,
            status: Status::Active,
            password: Password::new("correct horse battery staple"),
        };
        let user = User::create(UserId::generate(), new, created);
        let replacement = UserReplacement {
            email: Email::parse("b@example.com")?,
            name: UserName::parse("B")?,
            role: Role::Admin,
            status: Status::Disabled,
        };
        let replaced = user.clone().replaced(replacement.clone(), later);
        assert_eq!(
            (replaced.id, replaced.created_at, replaced.version),
            (user.id, created, 1)
        );
        assert_eq!(replaced.updated_at, later);
        assert_eq!(
            (
                &replaced.email,
                &replaced.name,
                replaced.role,
                replaced.status
            ),
            (
                &replacement.email,
                &replacement.name,
                replacement.role,
                replacement.status
            )
        );
        Ok(())
    }
}
