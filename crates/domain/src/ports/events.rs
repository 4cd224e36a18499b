//! [`EventOutbox`] and [`EventPublisher`]: events are stored with the change that
//! caused them, then delivered by the relay.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{
    events::{EventId, UserEvent},
    ports::RepositoryError,
};

/// Events could not be published: the first `delivered` of the batch were (the broker
/// acknowledged them), the rest were not.
#[derive(Debug, thiserror::Error)]
#[error("could not publish the events after the first {delivered}")]
pub struct PublishError {
    pub delivered: usize,
    #[source]
    pub source: anyhow::Error,
}

/// Delivers stored events to whoever listens (a broker, or the log).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait EventPublisher: Send + Sync {
    /// Publishes the events in order, returning once the destination acknowledged
    /// all of them. Publishing an event twice is harmless: the destination drops a
    /// repeated id.
    async fn publish(&self, events: &[UserEvent]) -> Result<(), PublishError>;
}

/// The undelivered part of the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Backlog {
    pub events: u64,
    /// When the oldest undelivered event happened.
    pub oldest: Option<DateTime<Utc>>,
}

/// The events stored by writes (see
/// [`UserRepository`](crate::ports::UserRepository)), awaiting delivery.
///
/// Several instances share one outbox: the relay delivers only while it holds the
/// lease, so that one instance at a time publishes, in the order events were stored.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait EventOutbox: Send + Sync {
    /// Takes or renews the relay's lease for `holder` until `until`; `false` if
    /// another holder's lease runs at `now`.
    async fn lease(
        &self,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, RepositoryError>;

    /// Gives the lease up, if `holder` has it (a stopping instance).
    async fn release(&self, holder: &str) -> Result<(), RepositoryError>;

    /// Up to `limit` undelivered events, in the order they were stored (per user,
    /// version order).
    async fn pending(&self, limit: usize) -> Result<Vec<UserEvent>, RepositoryError>;

    /// Marks the events delivered at `at`.
    async fn delivered(&self, ids: &[EventId], at: DateTime<Utc>) -> Result<(), RepositoryError>;

    /// How many events await delivery, and since when.
    async fn backlog(&self) -> Result<Backlog, RepositoryError>;

    /// Forgets events delivered before `before`, the oldest first, at most a bounded
    /// number of them per call (call again until it returns 0); returns how many.
    async fn trim(&self, before: DateTime<Utc>) -> Result<usize, RepositoryError>;
}
