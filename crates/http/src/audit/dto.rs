//! The audit log's response bodies.

use chrono::{DateTime, Utc};
use roster_domain::AuditEntry;
use serde::Serialize;
use utoipa::ToSchema;

use crate::components::{AuditActionName, AuditOutcomeName};

/// One entry of the audit log. Never a secret: changed fields are named, not shown.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = AuditEntry)]
pub(super) struct AuditEntryResponse {
    /// A ULID made from the entry's time: newer entries have greater ids.
    #[schema(example = "01JD4ZK3M2Q8V6W1T9X5Y7B0CE")]
    id: String,
    /// When it happened; for aggregated failed logins, the first attempt.
    at: DateTime<Utc>,
    /// The last attempt an aggregated entry counts; `at` otherwise.
    last_at: DateTime<Utc>,
    /// The attempts the entry stands for: 1, but for failed logins, which are counted
    /// per account (or unknown account) and client in one entry an hour.
    #[schema(minimum = 1)]
    attempts: u32,
    /// `system` (the command line), `anonymous` (logins, registrations) or
    /// `user:<id>`.
    #[schema(example = "user:01JD4ZK3M2Q8V6W1T9X5Y7B0CE")]
    actor: String,
    #[schema(value_type = AuditActionName)]
    action: &'static str,
    /// The user acted upon; null for failed logins of an unknown address.
    target: Option<String>,
    /// The client's address, for logins.
    client: Option<String>,
    #[schema(value_type = AuditOutcomeName)]
    outcome: &'static str,
    /// The `X-Request-Id` of the request that acted; null for the command line.
    request_id: Option<String>,
    /// The W3C trace id of that request, to find its trace.
    trace_id: Option<String>,
    /// The names of the fields a change set (never their values).
    fields: Vec<String>,
}

impl From<AuditEntry> for AuditEntryResponse {
    fn from(entry: AuditEntry) -> Self {
        Self {
            id: entry.id.to_string(),
            at: entry.at,
            last_at: entry.last_at,
            attempts: entry.attempts,
            actor: entry.actor.to_string(),
            action: entry.action.as_str(),
            target: entry.target.map(|id| id.to_string()),
            client: entry.client,
            outcome: entry.outcome.as_str(),
            request_id: entry.provenance.request_id,
            trace_id: entry.provenance.trace_id,
            fields: entry.fields,
        }
    }
}

/// A page of the audit log, newest first.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = AuditList)]
pub(super) struct AuditListResponse {
    pub(super) items: Vec<AuditEntryResponse>,
    /// Where the next page starts (the `cursor` parameter); null on the last page.
    pub(super) next_cursor: Option<String>,
}
