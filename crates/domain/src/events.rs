//! Domain events: what happened to a user, for the [`EventPublisher`](crate::ports::EventPublisher).

use chrono::{DateTime, Utc};

use crate::{actor::Actor, user::UserId};

/// What kind of change a [`UserEvent`] records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserEventKind {
    Created,
    Updated,
    Deleted,
}

impl UserEventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "user.created",
            Self::Updated => "user.updated",
            Self::Deleted => "user.deleted",
        }
    }
}

/// A change to a user, published after it was stored.
///
/// Carries identifiers only: subscribers that need the user's data read it, so no
/// personal data travels in events or the logs of the logging publisher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserEvent {
    pub kind: UserEventKind,
    pub user_id: UserId,
    pub actor: Actor,
    pub occurred_at: DateTime<Utc>,
}
