//! [`UserWriter`]: an export, one user at a time.

use std::{fmt, io::Write};

use roster_domain::User;

use crate::record::{Format, UserRecord};

/// The columns of a CSV export, in order.
const CSV_HEADER: [&str; 8] = [
    "id",
    "email",
    "name",
    "role",
    "status",
    "external_id",
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
                    record.external_id.unwrap_or_default(),
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
