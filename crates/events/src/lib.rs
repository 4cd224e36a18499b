//! Event-publishing adapters for the domain's
//! [`EventPublisher`](roster_domain::ports::EventPublisher) port: CloudEvents into NATS
//! JetStream ([`NatsPublisher`]), or lines in the log ([`LoggingEventPublisher`], the
//! embedded default). The outbox they are fed from is the persistence crate's.

mod cloudevent;
mod nats;

use async_trait::async_trait;
use roster_domain::{
    UserEvent,
    ports::{EventPublisher, PublishError},
};

pub use cloudevent::{CloudEvent, event_type};
pub use nats::{NatsPublisher, NatsSettings};

/// Publishes each event as one structured log line (target `roster::events`): its id,
/// type, user, version and actor, never personal data. The embedded default, for a
/// deployment without a broker.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoggingEventPublisher;

#[async_trait]
impl EventPublisher for LoggingEventPublisher {
    async fn publish(&self, events: &[UserEvent]) -> Result<(), PublishError> {
        for event in events {
            tracing::info!(
                target: "roster::events",
                event_id = %event.id,
                event_type = %event_type(&event.change),
                user.id = %event.user_id,
                user.version = i64::try_from(event.version).unwrap_or(i64::MAX),
                actor = %event.actor,
                occurred_at = %event.occurred_at.to_rfc3339(),
                "domain event"
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
