//! Users as files: NDJSON (one JSON object per line) or CSV with a header row.
//!
//! [`Rows`] reads an import's rows into [`RawUser`]s, each with its line, bounding
//! every line so that a hostile or broken file costs bounded memory; [`UserWriter`]
//! writes an export in the same fields, which [`Rows`] reads back.

use std::{
    fmt,
    io::{BufRead, Write},
    str::FromStr,
};

use roster_application::{RawUser, RowError};
use roster_domain::User;
use serde::{Deserialize, Serialize};

mod rows;

pub use rows::Rows;

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
    pub created_at: Option<String>,
    #[serde(default, skip_serializing)]
    pub password: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_hash: Option<String>,
}

impl UserRecord {
    fn into_raw(self, line: u64) -> RawUser {
        RawUser {
            line,
            id: self.id,
            email: self.email,
            name: self.name,
            role: self.role,
            status: self.status,
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

/// The columns of a CSV export, in order.
const CSV_HEADER: [&str; 7] = [
    "id",
    "email",
    "name",
    "role",
    "status",
    "created_at",
    "password_hash",
];

/// Writes users in a format, one at a time.
pub struct UserWriter<W: Write> {
    inner: Inner<W>,
    with_hashes: bool,
}

enum Inner<W: Write> {
    Ndjson(W),
    Csv(Box<csv::Writer<W>>),
}

/// Writing an export failed.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    #[error(transparent)]
    Csv(#[from] csv::Error),
}

impl<W: Write> fmt::Debug for UserWriter<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserWriter")
            .field("with_hashes", &self.with_hashes)
            .finish_non_exhaustive()
    }
}

impl<W: Write> UserWriter<W> {
    pub fn new(format: Format, output: W, with_hashes: bool) -> Result<Self, WriteError> {
        let inner = match format {
            Format::Ndjson => Inner::Ndjson(output),
            Format::Csv => {
                let mut writer = csv::Writer::from_writer(output);
                if with_hashes {
                    writer.write_record(CSV_HEADER)?;
                } else {
                    writer.write_record(&CSV_HEADER[..CSV_HEADER.len() - 1])?;
                }
                Inner::Csv(Box::new(writer))
            }
        };
        Ok(Self { inner, with_hashes })
    }

    pub fn write(&mut self, user: &User) -> Result<(), WriteError> {
        let record = UserRecord::of_user(user, self.with_hashes);
        match &mut self.inner {
            Inner::Ndjson(out) => {
                serde_json::to_writer(&mut *out, &record)?;
                out.write_all(b"\n")?;
            }
            Inner::Csv(writer) => {
                let mut fields = vec![
                    record.id.unwrap_or_default(),
                    record.email.unwrap_or_default(),
                    record.name.unwrap_or_default(),
                    record.role.unwrap_or_default(),
                    record.status.unwrap_or_default(),
                    record.created_at.unwrap_or_default(),
                ];
                if self.with_hashes {
                    fields.push(record.password_hash.unwrap_or_default());
                }
                writer.write_record(&fields)?;
            }
        }
        Ok(())
    }

    /// Flushes and returns the output.
    pub fn finish(self) -> Result<W, WriteError> {
        match self.inner {
            Inner::Ndjson(mut out) => {
                out.flush()?;
                Ok(out)
            }
            Inner::Csv(writer) => writer
                .into_inner()
                .map_err(|e| WriteError::Io(e.into_error())),
        }
    }
}

/// A row that could not be read as a record: reported with its line, like an invalid
/// field.
fn unreadable(message: impl Into<String>) -> RowError {
    RowError::new("row", "format", message)
}

/// Reads rows of `format` from `input`.
pub fn rows<R: BufRead>(format: Format, input: R) -> Result<Rows<R>, RowError> {
    Rows::new(format, input)
}

#[cfg(test)]
mod tests;
