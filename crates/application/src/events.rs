//! The event relay: delivers what writes stored in the outbox to the publisher, in
//! order, one instance at a time.

use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Duration, Utc};
use roster_domain::{
    EventId,
    ports::{Backlog, Clock, EventOutbox, EventPublisher, PublishError, RepositoryError},
};

/// How the relay works; see `events.relay` in docs/configuration.md.
#[derive(Debug, Clone)]
pub struct RelaySettings {
    /// Who this instance is, in the lease (unique per process).
    pub holder: String,
    /// How long a lease lasts unless renewed: another instance takes over this long
    /// after the holder stops renewing it.
    pub lease: Duration,
    /// Events per publication.
    pub batch: usize,
    /// How long delivered events are kept.
    pub retention: Duration,
}

/// What one [`EventRelay::step`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayStep {
    /// Another instance holds the lease.
    Standby,
    /// Nothing awaited delivery.
    Idle,
    /// Delivered this many events; `more` when the batch was full (others may wait).
    Delivered { events: usize, more: bool },
}

/// Why a step failed; the events not delivered stay in the outbox for the next one.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("the outbox is unavailable")]
    Outbox(#[from] RepositoryError),
    #[error("the events could not be published")]
    Publish(#[from] PublishError),
}

/// Delivers the outbox.
pub struct EventRelay {
    outbox: Arc<dyn EventOutbox>,
    publisher: Arc<dyn EventPublisher>,
    clock: Arc<dyn Clock>,
    settings: RelaySettings,
    /// Until when this relay holds the lease, as far as it knows.
    held_until: Mutex<Option<DateTime<Utc>>>,
}

impl std::fmt::Debug for EventRelay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventRelay")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl EventRelay {
    pub fn new(
        outbox: Arc<dyn EventOutbox>,
        publisher: Arc<dyn EventPublisher>,
        clock: Arc<dyn Clock>,
        settings: RelaySettings,
    ) -> Self {
        Self {
            outbox,
            publisher,
            clock,
            settings,
            held_until: Mutex::new(None),
        }
    }

    pub fn settings(&self) -> &RelaySettings {
        &self.settings
    }

    /// Takes the lease, or renews it once half of it has run (an idle holder writes
    /// nothing more often: on SQLite every write takes the one write lock), then
    /// publishes one batch of the oldest undelivered events and marks them delivered. A failed publication marks the acknowledged
    /// prefix only: the rest is published again by a later step (the publisher's
    /// destination drops repeated ids).
    #[tracing::instrument(name = "events.relay", skip_all, fields(events))]
    pub async fn step(&self) -> Result<RelayStep, RelayError> {
        if !self.hold_lease().await? {
            return Ok(RelayStep::Standby);
        }
        let events = self.outbox.pending(self.settings.batch).await?;
        if events.is_empty() {
            return Ok(RelayStep::Idle);
        }
        tracing::Span::current().record("events", events.len());
        let ids: Vec<EventId> = events.iter().map(|event| event.id).collect();
        match self.publisher.publish(&events).await {
            Ok(()) => {
                self.outbox.delivered(&ids, self.clock.now()).await?;
                Ok(RelayStep::Delivered {
                    events: ids.len(),
                    more: ids.len() >= self.settings.batch,
                })
            }
            Err(error) => {
                let acknowledged = ids.get(..error.delivered).unwrap_or_default();
                if !acknowledged.is_empty() {
                    self.outbox
                        .delivered(acknowledged, self.clock.now())
                        .await?;
                }
                Err(error.into())
            }
        }
    }

    /// Whether this relay holds the lease now, taking or renewing it when less than
    /// half of it remains.
    async fn hold_lease(&self) -> Result<bool, RepositoryError> {
        let now = self.clock.now();
        let held = *self
            .held_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if held.is_some_and(|until| until - now > self.settings.lease / 2) {
            return Ok(true);
        }
        let until = now + self.settings.lease;
        let taken = self.outbox.lease(&self.settings.holder, now, until).await?;
        *self
            .held_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = taken.then_some(until);
        Ok(taken)
    }

    /// Forgets events delivered longer than the retention ago, a bounded number per
    /// statement so that writes go on in between; returns how many.
    pub async fn trim(&self) -> Result<usize, RepositoryError> {
        let before: DateTime<Utc> = self.clock.now() - self.settings.retention;
        let mut trimmed = 0;
        loop {
            match self.outbox.trim(before).await? {
                0 => return Ok(trimmed),
                some => trimmed += some,
            }
        }
    }

    /// How many events await delivery, and since when.
    pub async fn backlog(&self) -> Result<Backlog, RepositoryError> {
        self.outbox.backlog().await
    }

    /// Gives the lease up so that another instance takes over at once.
    pub async fn stop(&self) -> Result<(), RepositoryError> {
        *self
            .held_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = None;
        self.outbox.release(&self.settings.holder).await
    }
}

#[cfg(test)]
mod tests;
