//! What an import reports: each row's outcome, and the counts.

use roster_domain::{ImportCounts, OnConflict, UserId};

use super::row::RowError;

/// How an import treats its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ImportOptions {
    pub on_conflict: OnConflict,
    /// Validate and plan every row against the stored users, and write nothing.
    pub dry_run: bool,
}

/// How one row of an import ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowOutcome {
    Created(UserId),
    Updated(UserId),
    /// The stored user already matched the row (`update`).
    Unchanged(UserId),
    /// The user exists and was left alone (`skip`).
    Skipped(UserId),
    /// The user exists (`fail`), or the row would take the last rights of an active
    /// administrator away; the stored user was left alone.
    Conflict {
        id: UserId,
        reason: &'static str,
    },
    Invalid(RowError),
}

/// A row's line and outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowReport {
    pub line: u64,
    pub outcome: RowOutcome,
}

/// The rows of a batch, in input order, and their counts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BatchReport {
    pub rows: Vec<RowReport>,
    pub counts: ImportCounts,
}

impl BatchReport {
    pub(super) fn push(&mut self, line: u64, outcome: RowOutcome) {
        let counts = &mut self.counts;
        match &outcome {
            RowOutcome::Created(_) => counts.created += 1,
            RowOutcome::Updated(_) => counts.updated += 1,
            RowOutcome::Unchanged(_) => counts.unchanged += 1,
            RowOutcome::Skipped(_) => counts.skipped += 1,
            RowOutcome::Conflict { .. } => counts.conflicts += 1,
            RowOutcome::Invalid(_) => counts.invalid += 1,
        }
        self.rows.push(RowReport { line, outcome });
    }

    /// Adds rows that could not even be read (their line and why) as invalid ones, and
    /// puts every row back in line order.
    pub fn add_unreadable(&mut self, rows: impl IntoIterator<Item = (u64, RowError)>) {
        for (line, error) in rows {
            self.push(line, RowOutcome::Invalid(error));
        }
        self.rows.sort_by_key(|row| row.line);
    }

    pub(super) fn extend(&mut self, other: Self) {
        self.counts.add(&other.counts);
        self.rows.extend(other.rows);
    }
}
