//! [`OutboxRow`]: an event as the `outbox` table stores it, and the `data` column's
//! JSON for each kind of change.

use anyhow::anyhow;
use chrono::{DateTime, Utc};
use diesel::Queryable;
use roster_domain::{
    EventId, Role, Status, UserChange, UserEvent, UserField, UserId, ports::RepositoryError,
};
use serde_json::{Value, json};

/// An event as stored: every column (`outbox::all_columns`), in order.
#[derive(Queryable)]
pub(super) struct OutboxRow {
    _seq: i64,
    id: String,
    user_id: String,
    user_version: i64,
    kind: String,
    data: String,
    actor: String,
    occurred_at: DateTime<Utc>,
    _delivered_at: Option<DateTime<Utc>>,
}

/// The `kind` and `data` columns of a change.
pub(super) fn columns(change: &UserChange) -> (&'static str, String) {
    let data = match change {
        UserChange::Updated { fields } => {
            json!({ "fields": fields.iter().map(|f| f.as_str()).collect::<Vec<_>>() })
        }
        UserChange::RoleChanged { from, to } => {
            json!({ "from": from.as_str(), "to": to.as_str() })
        }
        UserChange::StatusChanged { from, to } => {
            json!({ "from": from.as_str(), "to": to.as_str() })
        }
        UserChange::Created
        | UserChange::PasswordChanged
        | UserChange::TokensRevoked
        | UserChange::Deleted => json!({}),
    };
    (change.name(), data.to_string())
}

impl OutboxRow {
    pub(super) fn into_domain(self) -> Result<UserEvent, RepositoryError> {
        let invalid = |what: &str| {
            RepositoryError::Unexpected(anyhow!("stored event {} has an invalid {what}", self.id))
        };
        let data: Value = serde_json::from_str(&self.data).map_err(|_| invalid("data"))?;
        let text = |key: &str| data.get(key).and_then(Value::as_str).unwrap_or_default();
        let change = match self.kind.as_str() {
            "user.created" => UserChange::Created,
            "user.updated" => UserChange::Updated {
                fields: data
                    .get("fields")
                    .and_then(Value::as_array)
                    .ok_or_else(|| invalid("field list"))?
                    .iter()
                    .map(|field| field.as_str().unwrap_or_default().parse::<UserField>())
                    .collect::<Result<_, _>>()
                    .map_err(|_| invalid("field"))?,
            },
            "user.role_changed" => UserChange::RoleChanged {
                from: text("from").parse::<Role>().map_err(|_| invalid("role"))?,
                to: text("to").parse::<Role>().map_err(|_| invalid("role"))?,
            },
            "user.status_changed" => UserChange::StatusChanged {
                from: text("from")
                    .parse::<Status>()
                    .map_err(|_| invalid("status"))?,
                to: text("to")
                    .parse::<Status>()
                    .map_err(|_| invalid("status"))?,
            },
            "user.password_changed" => UserChange::PasswordChanged,
            "user.tokens_revoked" => UserChange::TokensRevoked,
            "user.deleted" => UserChange::Deleted,
            _ => return Err(invalid("kind")),
        };
        Ok(UserEvent {
            id: self.id.parse::<EventId>().map_err(|_| invalid("id"))?,
            user_id: UserId::parse(&self.user_id).map_err(|_| invalid("user id"))?,
            version: u64::try_from(self.user_version).map_err(|_| invalid("version"))?,
            change,
            actor: self.actor,
            occurred_at: self.occurred_at,
        })
    }
}
