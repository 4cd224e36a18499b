//! [`AuditLog`]: reading the audit log, counting failed logins, trimming; and
//! [`RequestContext`]: which request the current use case serves.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{
    audit::{AuditEntry, AuditQuery, LoginAttempt, Provenance},
    ports::RepositoryError,
};

/// The audit log's store. Entries for changes and successful logins are written by
/// the stores of those actions, in their transactions; this port adds what has no
/// transaction of its own (failed logins) and reads.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait AuditLog: Send + Sync {
    /// Counts a failed login in the entry of its account (or of unknown accounts) and
    /// client whose first attempt is less than `window` old, or opens a new one: a
    /// brute-force run adds one entry per account, client and window, not one per
    /// attempt.
    async fn failed_login(
        &self,
        attempt: &LoginAttempt,
        window: Duration,
    ) -> Result<(), RepositoryError>;

    /// Up to `limit` entries that pass `query.filter`, newest first, older than
    /// `query.before`.
    async fn list(
        &self,
        query: &AuditQuery,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, RepositoryError>;

    /// Removes entries older than `before`, in bounded steps; how many.
    async fn trim(&self, before: DateTime<Utc>) -> Result<usize, RepositoryError>;
}

/// The request the running use case serves: its id and trace id, for the audit log.
/// Outside a request (the command line, start-up), the default: neither.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait RequestContext: Send + Sync {
    fn provenance(&self) -> Provenance;
}

/// No request: the command line and start-up tasks.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoRequest;

impl RequestContext for NoRequest {
    fn provenance(&self) -> Provenance {
        Provenance::default()
    }
}
