//! [`EventPublisher`]: where domain events go once a change is stored.

use async_trait::async_trait;

use crate::events::UserEvent;

/// The event could not be published.
#[derive(Debug, thiserror::Error)]
#[error("could not publish the event")]
pub struct PublishError(#[from] pub anyhow::Error);

/// Publishes domain events to whoever listens.
///
/// Delivery is at most once for now: the change is already stored when the event is
/// published, and a failed publication is logged, not retried. A durable outbox will
/// make it at least once.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait EventPublisher: Send + Sync {
    async fn publish(&self, event: &UserEvent) -> Result<(), PublishError>;
}
