//! [`NatsPublisher`]: CloudEvents into a NATS JetStream stream, one subject per type,
//! the event id as `Nats-Msg-Id` so that a repeated publication is dropped.

use std::time::Duration;

use anyhow::{Context as _, anyhow};
use async_nats::jetstream::{self, context::PublishAckFuture, stream};
use async_trait::async_trait;
use roster_domain::{
    UserEvent,
    ports::{EventPublisher, PublishError},
};
use serde::{Deserialize, Serialize};
use tokio::sync::OnceCell;

use crate::cloudevent::CloudEvent;

/// `events.nats` in the configuration (docs/configuration.md).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct NatsSettings {
    /// The server, `nats://host:4222`; none: no broker (events go to the log).
    pub url: Option<String>,
    /// The stream, created with `subjects` `<subject_prefix>.>` if missing.
    pub stream: String,
    /// Events are published on `<subject_prefix>.user.created` and so on.
    pub subject_prefix: String,
    /// How long a publication waits for the stream's acknowledgement.
    #[serde(with = "humantime_serde")]
    pub ack_timeout: Duration,
    /// The stream's de-duplication window, when Roster creates it: a repeated event id
    /// is dropped within it. Longer than the relay's lease, so that an event published
    /// again by the instance that takes over is still recognised.
    #[serde(with = "humantime_serde")]
    pub duplicate_window: Duration,
}

impl Default for NatsSettings {
    fn default() -> Self {
        Self {
            url: None,
            stream: "ROSTER_EVENTS".to_owned(),
            subject_prefix: "roster.events".to_owned(),
            ack_timeout: Duration::from_secs(5),
            duplicate_window: Duration::from_secs(10 * 60),
        }
    }
}

/// Publishes to JetStream.
#[derive(Debug)]
pub struct NatsPublisher {
    context: jetstream::Context,
    settings: NatsSettings,
    source: String,
    /// Set once the stream is known to exist.
    stream_ready: OnceCell<()>,
}

impl NatsPublisher {
    /// A publisher for the server at `settings.url`. Does not wait for the server:
    /// the client connects (and reconnects) in the background, and publications fail
    /// until it is up, so that a broker outage never stops the service.
    pub async fn connect(settings: NatsSettings, source: String) -> anyhow::Result<Self> {
        let url = settings.url.clone().unwrap_or_default();
        let client = async_nats::ConnectOptions::new()
            .name("roster")
            .retry_on_initial_connect()
            .connection_timeout(settings.ack_timeout)
            .connect(url.as_str())
            .await
            .with_context(|| format!("invalid NATS address {url:?}"))?;
        let context = jetstream::ContextBuilder::new()
            .timeout(settings.ack_timeout)
            .ack_timeout(settings.ack_timeout)
            .build(client);
        Ok(Self {
            context,
            settings,
            source,
            stream_ready: OnceCell::new(),
        })
    }

    async fn ensure_stream(&self) -> anyhow::Result<()> {
        self.stream_ready
            .get_or_try_init(|| async {
                self.context
                    .get_or_create_stream(stream::Config {
                        name: self.settings.stream.clone(),
                        subjects: vec![format!("{}.>", self.settings.subject_prefix)],
                        duplicate_window: self.settings.duplicate_window,
                        ..stream::Config::default()
                    })
                    .await
                    .map(drop)
                    .map_err(|e| anyhow!(e).context("could not find or create the stream"))
            })
            .await
            .map(drop)
    }
}

#[async_trait]
impl EventPublisher for NatsPublisher {
    async fn publish(&self, events: &[UserEvent]) -> Result<(), PublishError> {
        let failed = |delivered, source| PublishError { delivered, source };
        self.ensure_stream().await.map_err(|e| failed(0, e))?;
        // Everything is sent before any acknowledgement is awaited (one round trip
        // per batch, not per event); the stream stores them in the order sent.
        let mut acks: Vec<PublishAckFuture> = Vec::with_capacity(events.len());
        let mut send_error = None;
        for event in events {
            let subject = format!("{}.{}", self.settings.subject_prefix, event.change.name());
            let message = jetstream::message::PublishMessage::build()
                .payload(CloudEvent::of(event, &self.source).to_bytes().into())
                .message_id(event.id.to_string());
            match self.context.send_publish(subject, message).await {
                Ok(ack) => acks.push(ack),
                Err(e) => {
                    send_error = Some(anyhow!(e).context("could not send an event"));
                    break;
                }
            }
        }
        let sent = acks.len();
        for (delivered, ack) in acks.into_iter().enumerate() {
            if let Err(e) = ack.await {
                return Err(failed(
                    delivered,
                    anyhow!(e).context("the stream did not acknowledge an event"),
                ));
            }
        }
        match send_error {
            None => Ok(()),
            Some(e) => Err(failed(sent, e)),
        }
    }
}
