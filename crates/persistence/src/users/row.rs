//! [`UserRow`]: a user as the `users` table stores it.

use anyhow::{Context as _, anyhow};
use chrono::{DateTime, Utc};
use diesel::Queryable;
use roster_domain::{
    Email, ExternalId, PasswordHash, User, UserId, UserName, ports::RepositoryError,
};

/// A row as stored: text and integers, mapped to domain types by [`UserRow::into_domain`].
#[derive(Queryable)]
pub(super) struct UserRow {
    pub(super) id: String,
    pub(super) email: String,
    pub(super) name: String,
    pub(super) role: String,
    pub(super) status: String,
    pub(super) created_at: DateTime<Utc>,
    pub(super) updated_at: DateTime<Utc>,
    pub(super) version: i64,
    pub(super) password_hash: Option<String>,
    pub(super) password_changed_at: Option<DateTime<Utc>>,
    pub(super) last_login_at: Option<DateTime<Utc>>,
    /// Derived from `email`, for the domain filter; written with it.
    pub(super) email_domain: String,
    pub(super) external_id: Option<String>,
}

impl UserRow {
    pub(super) fn from_domain(user: &User) -> Result<Self, RepositoryError> {
        Ok(Self {
            id: user.id.to_string(),
            email: user.email.as_str().to_owned(),
            name: user.name.as_str().to_owned(),
            role: user.role.as_str().to_owned(),
            status: user.status.as_str().to_owned(),
            created_at: user.created_at,
            updated_at: user.updated_at,
            version: i64::try_from(user.version).context("user version out of range")?,
            password_hash: user
                .password_hash
                .as_ref()
                .map(|hash| hash.as_str().to_owned()),
            password_changed_at: user.password_changed_at,
            last_login_at: user.last_login_at,
            email_domain: user.email.domain().to_owned(),
            external_id: user.external_id.as_ref().map(|id| id.as_str().to_owned()),
        })
    }

    /// Stored data is re-parsed: a row that no longer satisfies the domain's rules is
    /// reported, never passed on.
    pub(super) fn into_domain(self) -> Result<User, RepositoryError> {
        let invalid = |field: &str, error: &dyn std::fmt::Display| {
            RepositoryError::Unexpected(anyhow!(
                "stored user {} has an invalid {field}: {error}",
                self.id
            ))
        };
        Ok(User {
            id: UserId::parse(&self.id).map_err(|e| invalid("id", &e))?,
            email: Email::parse(&self.email).map_err(|e| invalid("email", &e))?,
            name: UserName::parse(&self.name).map_err(|e| invalid("name", &e))?,
            role: self.role.parse().map_err(|e| invalid("role", &e))?,
            status: self.status.parse().map_err(|e| invalid("status", &e))?,
            created_at: self.created_at,
            updated_at: self.updated_at,
            version: u64::try_from(self.version).map_err(|e| invalid("version", &e))?,
            password_hash: self
                .password_hash
                .map(PasswordHash::from_phc)
                .transpose()
                .map_err(|e| invalid("password_hash", &e))?,
            password_changed_at: self.password_changed_at,
            last_login_at: self.last_login_at,
            external_id: self
                .external_id
                .as_deref()
                .map(ExternalId::parse)
                .transpose()
                .map_err(|e| invalid("external_id", &e))?,
        })
    }
}
