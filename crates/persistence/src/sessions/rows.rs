//! [`SessionRow`]: a session as the `sessions` table stores it.

use std::net::IpAddr;

use anyhow::anyhow;
use chrono::{DateTime, Utc};
use diesel::Queryable;
use roster_domain::{SessionId, UserId, UserSession, ports::RepositoryError};

/// A session as stored: every column (`sessions::all_columns`), in order.
#[derive(Queryable)]
pub(super) struct SessionRow {
    id: String,
    user_id: String,
    created_at: DateTime<Utc>,
    last_used_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    client_address: String,
    user_agent: Option<String>,
    // Only active sessions are read back.
    _ended_at: Option<DateTime<Utc>>,
    _end_reason: Option<String>,
}

impl SessionRow {
    pub(super) fn into_domain(self) -> Result<UserSession, RepositoryError> {
        let invalid = |field: &str| {
            RepositoryError::Unexpected(anyhow!(
                "stored session {} has an invalid {field}",
                self.id
            ))
        };
        Ok(UserSession {
            id: SessionId::parse(&self.id).ok_or_else(|| invalid("id"))?,
            user_id: UserId::parse(&self.user_id).map_err(|_| invalid("user id"))?,
            created_at: self.created_at,
            last_used_at: self.last_used_at,
            expires_at: self.expires_at,
            client_address: self
                .client_address
                .parse::<IpAddr>()
                .map_err(|_| invalid("client address"))?,
            user_agent: self.user_agent,
        })
    }
}
