//! The fields of a user in a file, and the file's format.

use std::{fmt, str::FromStr};

use roster_application::{RawUser, RowError};
use roster_domain::User;
use serde::{Deserialize, Serialize};

/// The longest row accepted, in bytes: a user's fields with a long hash fit in a
/// fraction of it.
pub const MAX_ROW_BYTES: usize = 16 * 1024;

/// A file format of users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Ndjson,
    Csv,
}

/// The text is not a [`Format`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be one of: ndjson, csv")]
pub struct FormatError;

impl FromStr for Format {
    type Err = FormatError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "ndjson" | "jsonl" => Ok(Self::Ndjson),
            "csv" => Ok(Self::Csv),
            _ => Err(FormatError),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Ndjson => "ndjson",
            Self::Csv => "csv",
        })
    }
}

impl Format {
    /// The format a file's name suggests (`.csv`, else NDJSON).
    pub fn of_path(path: &std::path::Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some(ext) if ext.eq_ignore_ascii_case("csv") => Self::Csv,
            _ => Self::Ndjson,
        }
    }
}

/// The fields of a row, as both formats name them. Unknown fields are refused, so a
/// misspelt `pasword_hash` is reported rather than silently importing a user who
/// cannot log in.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct UserRecord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(default, skip_serializing)]
    pub password: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_hash: Option<String>,
}

impl UserRecord {
    pub(crate) fn into_raw(self, line: u64) -> RawUser {
        RawUser {
            line,
            id: self.id,
            email: self.email,
            name: self.name,
            role: self.role,
            status: self.status,
            external_id: self.external_id,
            created_at: self.created_at,
            password: self.password,
            password_hash: self.password_hash,
        }
    }

    /// `user` as an export writes it; its hash only when `with_hash`.
    pub fn of_user(user: &User, with_hash: bool) -> Self {
        Self {
            id: Some(user.id.to_string()),
            email: Some(user.email.as_str().to_owned()),
            name: Some(user.name.as_str().to_owned()),
            role: Some(user.role.as_str().to_owned()),
            status: Some(user.status.as_str().to_owned()),
            external_id: user.external_id.as_ref().map(|id| id.as_str().to_owned()),
            created_at: Some(
                user.created_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            ),
            password: None,
            password_hash: with_hash
                .then(|| user.password_hash.as_ref().map(|h| h.as_str().to_owned()))
                .flatten(),
        }
    }
}

/// A row that could not be read as a record: reported with its line, like an invalid
/// field.
pub(crate) fn unreadable(message: impl Into<String>) -> RowError {
    RowError::new("row", "format", message)
}
