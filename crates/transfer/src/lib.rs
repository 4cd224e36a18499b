//! Users as files: NDJSON (one JSON object per line) or CSV with a header row.
//!
//! [`Rows`] reads an import's rows into [`RawUser`]s, each with its line, bounding
//! every line so that a hostile or broken file costs bounded memory; [`UserWriter`]
//! writes an export in the same fields, which [`Rows`] reads back.

use std::io::BufRead;

use roster_application::RowError;

mod record;
mod rows;
mod writer;

pub use record::{Format, FormatError, MAX_ROW_BYTES, UserRecord};
pub use rows::Rows;
pub use writer::{UserWriter, WriteError};

/// Reads rows of `format` from `input`.
pub fn rows<R: BufRead>(format: Format, input: R) -> Result<Rows<R>, RowError> {
    Rows::new(format, input)
}

#[cfg(test)]
mod tests;
