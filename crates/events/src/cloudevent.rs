//! [`CloudEvent`]: a [`UserEvent`] in the CloudEvents 1.0 JSON format, as
//! docs/events/ describes each type.

use chrono::SecondsFormat;
use roster_domain::{UserChange, UserEvent};
use serde::Serialize;
use serde_json::{Map, Value, json};

/// The namespace of every event type: `dev.roster.user.created.v1`.
const TYPE_NAMESPACE: &str = "dev.roster";
/// The version of every event type's data; a change that is not backwards compatible
/// gets a new type (`.v2`) beside the old one.
const TYPE_VERSION: &str = "v1";

/// A CloudEvents 1.0 event in the structured JSON format.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CloudEvent {
    pub specversion: &'static str,
    pub id: String,
    pub source: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub subject: String,
    pub time: String,
    pub datacontenttype: &'static str,
    pub data: Value,
}

/// The CloudEvents type of a change: `dev.roster.user.created.v1`.
pub fn event_type(change: &UserChange) -> String {
    format!("{TYPE_NAMESPACE}.{}.{TYPE_VERSION}", change.name())
}

impl CloudEvent {
    /// The event as published by `source` (a URI reference naming this deployment).
    pub fn of(event: &UserEvent, source: &str) -> Self {
        let mut data = Map::new();
        data.insert("user_id".to_owned(), json!(event.user_id.to_string()));
        data.insert("version".to_owned(), json!(event.version));
        data.insert("actor".to_owned(), json!(event.actor));
        match &event.change {
            UserChange::Updated { fields } => {
                let names: Vec<&str> = fields.iter().map(|field| field.as_str()).collect();
                data.insert("fields".to_owned(), json!(names));
            }
            UserChange::RoleChanged { from, to } => {
                data.insert("from".to_owned(), json!(from.as_str()));
                data.insert("to".to_owned(), json!(to.as_str()));
            }
            UserChange::StatusChanged { from, to } => {
                data.insert("from".to_owned(), json!(from.as_str()));
                data.insert("to".to_owned(), json!(to.as_str()));
            }
            UserChange::Created
            | UserChange::PasswordChanged
            | UserChange::TokensRevoked
            | UserChange::Deleted => {}
        }
        Self {
            specversion: "1.0",
            id: event.id.to_string(),
            source: source.to_owned(),
            kind: event_type(&event.change),
            subject: event.user_id.to_string(),
            time: event
                .occurred_at
                .to_rfc3339_opts(SecondsFormat::Micros, true),
            datacontenttype: "application/json",
            data: Value::Object(data),
        }
    }

    /// The event as JSON bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        // A struct of strings and a JSON value always serialises.
        serde_json::to_vec(self).unwrap_or_default()
    }
}
