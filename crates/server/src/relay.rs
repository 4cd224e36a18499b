//! The event relay's task: delivers the outbox while the service runs, reports its
//! state to `/ready` and its backlog as metrics.

use std::{
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use async_trait::async_trait;
use opentelemetry::metrics::Meter;
use roster_application::{EventRelay, RelaySettings, RelayStep};
use roster_domain::ports::{
    Backlog, Clock as _, EventPublisher, HealthCheck, HealthCheckError, SystemClock,
};
use roster_events::{LoggingEventPublisher, NatsPublisher, NatsSettings};
use roster_persistence::{Database, DieselEventOutbox};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

/// `events` in the configuration (docs/configuration.md).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct EventsSettings {
    /// The CloudEvents `source` of every event: a URI reference naming the deployment.
    pub source: String,
    pub nats: NatsSettings,
    pub relay: RelayConfig,
}

impl Default for EventsSettings {
    fn default() -> Self {
        Self {
            source: "/roster".to_owned(),
            nats: NatsSettings::default(),
            relay: RelayConfig::default(),
        }
    }
}

/// `events.relay`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RelayConfig {
    /// Events per publication.
    pub batch: usize,
    /// How often an idle relay looks for new events.
    #[serde(with = "humantime_serde")]
    pub poll_interval: Duration,
    /// How long the relay's lease lasts unless renewed: when an instance stops, another
    /// takes over within this long.
    #[serde(with = "humantime_serde")]
    pub lease: Duration,
    /// How long delivered events are kept before they are trimmed.
    #[serde(with = "humantime_serde")]
    pub retention: Duration,
    /// The longest pause after a failed delivery (it doubles from `poll_interval`).
    #[serde(with = "humantime_serde")]
    pub max_backoff: Duration,
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self {
            batch: 500,
            poll_interval: Duration::from_millis(200),
            lease: Duration::from_secs(15),
            retention: Duration::from_secs(24 * 60 * 60),
            max_backoff: Duration::from_secs(10),
        }
    }
}

impl EventsSettings {
    pub(crate) fn validate(&self) -> Result<(), String> {
        let relay = &self.relay;
        if !(1..=10_000).contains(&relay.batch) {
            return Err("events.relay.batch must be between 1 and 10000".to_owned());
        }
        if relay.poll_interval.is_zero() || relay.max_backoff < relay.poll_interval {
            return Err(
                "events.relay.poll_interval must be positive and at most events.relay.max_backoff"
                    .to_owned(),
            );
        }
        if relay.lease < self.nats.ack_timeout * 2 {
            return Err(
                "events.relay.lease must be at least twice events.nats.ack_timeout".to_owned(),
            );
        }
        if self.nats.url.is_some() && self.nats.duplicate_window <= relay.lease {
            return Err(
                "events.nats.duplicate_window must be longer than events.relay.lease".to_owned(),
            );
        }
        if self.source.is_empty() {
            return Err("events.source must not be empty".to_owned());
        }
        Ok(())
    }
}

/// What the relay last saw, shared by its task, `/ready` and the metrics.
#[derive(Debug, Default)]
struct RelayState {
    /// This instance's last delivery failed (it holds the lease).
    failure: Option<String>,
    backlog: Backlog,
    /// An undelivered event older than this means delivery is stuck, whichever
    /// instance holds the lease: twice the lease, so a takeover does not count.
    stale_after: chrono::Duration,
}

/// `/ready`'s check of the relay: down while this instance's deliveries fail, or while
/// the oldest undelivered event is stale (so that instances on standby report a stuck
/// holder too); never critical.
#[derive(Debug, Clone)]
pub(crate) struct RelayHealth(Arc<Mutex<RelayState>>);

#[async_trait]
impl HealthCheck for RelayHealth {
    fn name(&self) -> &'static str {
        "events"
    }

    fn critical(&self) -> bool {
        false
    }

    async fn check(&self) -> Result<(), HealthCheckError> {
        let state = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let overdue = state
            .backlog
            .oldest
            .is_some_and(|oldest| SystemClock.now() - oldest > state.stale_after);
        match (&state.failure, overdue) {
            (None, false) => Ok(()),
            (failure, _) => Err(HealthCheckError(format!(
                "{}; {} events await delivery",
                failure
                    .as_deref()
                    .unwrap_or("the oldest event waits too long"),
                state.backlog.events
            ))),
        }
    }
}

/// The relay, ready to run.
pub(crate) struct Relay {
    delivery: EventRelay,
    config: RelayConfig,
    state: Arc<Mutex<RelayState>>,
}

impl Relay {
    /// The relay over `database`'s outbox, publishing to NATS when `events.nats.url`
    /// is set and to the log otherwise; its backlog instruments on `meter`.
    pub(crate) async fn build(
        settings: &EventsSettings,
        database: &Database,
        meter: &Meter,
    ) -> anyhow::Result<Self> {
        let publisher: Arc<dyn EventPublisher> = if settings.nats.url.is_none() {
            Arc::new(LoggingEventPublisher)
        } else {
            tracing::info!(stream = %settings.nats.stream, "publishing events to NATS JetStream");
            Arc::new(NatsPublisher::connect(settings.nats.clone(), settings.source.clone()).await?)
        };
        let holder = format!("{}-{}", std::process::id(), ulid::Ulid::generate());
        let relay = EventRelay::new(
            Arc::new(DieselEventOutbox::new(database.clone())),
            publisher,
            Arc::new(SystemClock),
            RelaySettings {
                holder,
                lease: chrono::Duration::from_std(settings.relay.lease)?,
                batch: settings.relay.batch,
                retention: chrono::Duration::from_std(settings.relay.retention)?,
            },
        );
        let state = Arc::new(Mutex::new(RelayState {
            stale_after: chrono::Duration::from_std(settings.relay.lease * 2)?,
            ..RelayState::default()
        }));
        instrument(meter, &state);
        Ok(Self {
            delivery: relay,
            config: settings.relay.clone(),
            state,
        })
    }

    pub(crate) fn health(&self) -> RelayHealth {
        RelayHealth(Arc::clone(&self.state))
    }

    /// Delivers until `stop` turns true, then gives the lease up. What is not
    /// delivered stays in the outbox for the next holder.
    pub(crate) async fn run(self, mut stopped: watch::Receiver<bool>) {
        let mut pause = Duration::ZERO;
        let mut last_trim = tokio::time::Instant::now();
        let mut last_backlog = None;
        loop {
            tokio::select! {
                _ = stopped.wait_for(|stop| *stop) => break,
                () = tokio::time::sleep(pause) => {}
            }
            pause = match self.delivery.step().await {
                Ok(RelayStep::Delivered { more: true, .. }) => {
                    self.recovered();
                    Duration::ZERO
                }
                // Another instance delivers: this one's earlier failure no longer
                // says anything (a stuck holder shows as a stale backlog instead).
                Ok(RelayStep::Standby | RelayStep::Idle | RelayStep::Delivered { .. }) => {
                    self.recovered();
                    self.config.poll_interval
                }
                Err(error) => {
                    let error = anyhow::Error::from(error);
                    tracing::warn!(
                        error = format!("{error:#}"),
                        "event delivery failed; retrying"
                    );
                    self.failed("delivery failed".to_owned());
                    (pause * 2).clamp(self.config.poll_interval, self.config.max_backoff)
                }
            };
            if last_backlog
                .is_none_or(|at: tokio::time::Instant| at.elapsed() >= Duration::from_secs(1))
            {
                last_backlog = Some(tokio::time::Instant::now());
                match self.delivery.backlog().await {
                    Ok(backlog) => self.lock().backlog = backlog,
                    Err(error) => tracing::warn!(%error, "cannot measure the outbox backlog"),
                }
            }
            if last_trim.elapsed() >= Duration::from_secs(60) {
                last_trim = tokio::time::Instant::now();
                match self.delivery.trim().await {
                    Ok(0) => {}
                    Ok(trimmed) => tracing::info!(trimmed, "delivered events trimmed"),
                    Err(error) => tracing::warn!(%error, "cannot trim delivered events"),
                }
            }
        }
        if let Err(error) = self.delivery.stop().await {
            tracing::warn!(%error, "cannot release the relay's lease");
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, RelayState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn recovered(&self) {
        let mut state = self.lock();
        if state.failure.take().is_some() {
            tracing::info!("event delivery recovered");
        }
    }

    fn failed(&self, failure: String) {
        self.lock().failure = Some(failure);
    }
}

/// `roster_outbox_backlog` and `roster_outbox_oldest_age_seconds`, read off the last
/// measurement (every instance measures the shared outbox, so any one's value holds).
fn instrument(meter: &Meter, state: &Arc<Mutex<RelayState>>) {
    let observed = Arc::clone(state);
    meter
        .i64_observable_gauge("roster.outbox.backlog")
        .with_unit("{event}")
        .with_description("Events stored and not yet delivered")
        .with_callback(move |observer| {
            let backlog = observed
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .backlog;
            observer.observe(i64::try_from(backlog.events).unwrap_or(i64::MAX), &[]);
        })
        .build();
    let observed = Arc::clone(state);
    meter
        .f64_observable_gauge("roster.outbox.oldest_age")
        .with_unit("s")
        .with_description("Age of the oldest undelivered event (0 when none waits)")
        .with_callback(move |observer| {
            let oldest = observed
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .backlog
                .oldest;
            let age = oldest.map_or(0.0, |oldest| {
                (SystemClock.now() - oldest)
                    .to_std()
                    .unwrap_or_default()
                    .as_secs_f64()
            });
            observer.observe(age, &[]);
        })
        .build();
}
