//! [`Rows`]: an import's rows, read one bounded line at a time.

use std::io::{self, BufRead};

use roster_application::{RawUser, RowError};

use crate::record::{Format, MAX_ROW_BYTES, UserRecord, unreadable};

/// The rows of an input, as [`RawUser`]s or the reason a row cannot be read; an I/O
/// error ends the iteration with that error.
///
/// Both formats hold one record per line (CSV's quoted fields may hold commas and
/// quotes, not line breaks: no field of a user may hold one). A line longer than
/// [`crate::MAX_ROW_BYTES`] is skipped unread and reported.
pub struct Rows<R> {
    input: R,
    format: Format,
    /// CSV: the field each column fills.
    columns: Vec<Column>,
    line: u64,
    bytes: u64,
    buffer: Vec<u8>,
}

#[derive(Debug, Clone, Copy)]
enum Column {
    Id,
    Email,
    Name,
    Role,
    Status,
    ExternalId,
    CreatedAt,
    Password,
    PasswordHash,
}

impl Column {
    fn named(name: &str) -> Option<Self> {
        Some(match name.trim() {
            "id" => Self::Id,
            "email" => Self::Email,
            "name" => Self::Name,
            "role" => Self::Role,
            "status" => Self::Status,
            "external_id" => Self::ExternalId,
            "created_at" => Self::CreatedAt,
            "password" => Self::Password,
            "password_hash" => Self::PasswordHash,
            _ => return None,
        })
    }
}

/// One line read: its bytes (without the line break), or how long it was if too long.
enum Line {
    Text,
    TooLong,
}

impl<R> std::fmt::Debug for Rows<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rows")
            .field("format", &self.format)
            .field("line", &self.line)
            .finish_non_exhaustive()
    }
}

impl<R: BufRead> Rows<R> {
    /// For CSV, reads the header row first: an unknown or missing column is an error
    /// of the whole input (reported as line 1).
    pub(crate) fn new(format: Format, input: R) -> Result<Self, RowError> {
        let mut rows = Self {
            input,
            format,
            columns: Vec::new(),
            line: 0,
            bytes: 0,
            buffer: Vec::new(),
        };
        if format == Format::Csv {
            let header = match rows.next_line() {
                Ok(Some(Line::Text)) => rows.csv_fields()?,
                Ok(Some(Line::TooLong)) => return Err(unreadable("the header row is too long")),
                Ok(None) => Vec::new(),
                Err(e) => return Err(unreadable(format!("cannot read the header row: {e}"))),
            };
            for name in header {
                let column = Column::named(&name).ok_or_else(|| {
                    RowError::new(name.clone(), "unknown_column", "is not a column of users")
                })?;
                rows.columns.push(column);
            }
            if !rows.columns.iter().any(|c| matches!(c, Column::Email)) {
                return Err(RowError::new(
                    "email",
                    "required",
                    "the header has no email column",
                ));
            }
        }
        Ok(rows)
    }

    /// The bytes read so far: progress through a file of known size.
    pub fn bytes_read(&self) -> u64 {
        self.bytes
    }

    /// Reads the next line into `buffer`, at most [`MAX_ROW_BYTES`] of it.
    fn next_line(&mut self) -> io::Result<Option<Line>> {
        self.buffer.clear();
        let mut too_long = false;
        let mut any = false;
        loop {
            let available = match self.input.fill_buf() {
                Ok(bytes) => bytes,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                break;
            }
            any = true;
            let (chunk, done) = match available.iter().position(|&b| b == b'\n') {
                Some(end) => (&available[..end], Some(end + 1)),
                None => (available, None),
            };
            if !too_long && self.buffer.len() + chunk.len() <= MAX_ROW_BYTES {
                self.buffer.extend_from_slice(chunk);
            } else {
                too_long = true;
                self.buffer.clear();
            }
            let consumed = done.unwrap_or(available.len());
            self.input.consume(consumed);
            self.bytes += consumed as u64;
            if done.is_some() {
                break;
            }
        }
        if !any {
            return Ok(None);
        }
        self.line += 1;
        if self.buffer.last() == Some(&b'\r') {
            self.buffer.pop();
        }
        Ok(Some(if too_long { Line::TooLong } else { Line::Text }))
    }

    fn csv_fields(&self) -> Result<Vec<String>, RowError> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(self.buffer.as_slice());
        let mut record = csv::StringRecord::new();
        match reader.read_record(&mut record) {
            Ok(true) => Ok(record.iter().map(str::to_owned).collect()),
            Ok(false) => Ok(Vec::new()),
            Err(e) => Err(unreadable(format!("is not a CSV record: {e}"))),
        }
    }

    fn record(&self) -> Result<UserRecord, RowError> {
        match self.format {
            Format::Ndjson => serde_json::from_slice(&self.buffer)
                .map_err(|e| unreadable(format!("is not a JSON object of a user: {e}"))),
            Format::Csv => {
                let fields = self.csv_fields()?;
                if fields.len() != self.columns.len() {
                    return Err(unreadable(format!(
                        "has {} fields, the header {}",
                        fields.len(),
                        self.columns.len()
                    )));
                }
                let mut record = UserRecord::default();
                for (column, value) in self.columns.iter().zip(fields) {
                    let value = Some(value).filter(|v| !v.is_empty());
                    let slot = match column {
                        Column::Id => &mut record.id,
                        Column::Email => &mut record.email,
                        Column::Name => &mut record.name,
                        Column::Role => &mut record.role,
                        Column::Status => &mut record.status,
                        Column::ExternalId => &mut record.external_id,
                        Column::CreatedAt => &mut record.created_at,
                        Column::Password => &mut record.password,
                        Column::PasswordHash => &mut record.password_hash,
                    };
                    *slot = value;
                }
                Ok(record)
            }
        }
    }
}

impl<R: BufRead> Iterator for Rows<R> {
    type Item = io::Result<Result<RawUser, (u64, RowError)>>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let line = match self.next_line() {
                Ok(Some(line)) => line,
                Ok(None) => return None,
                Err(e) => return Some(Err(e)),
            };
            let number = self.line;
            if let Line::TooLong = line {
                return Some(Ok(Err((
                    number,
                    unreadable(format!("is longer than {MAX_ROW_BYTES} bytes")),
                ))));
            }
            if self.buffer.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            return Some(Ok(self
                .record()
                .map(|record| record.into_raw(number))
                .map_err(|error| (number, error))));
        }
    }
}
