//! The connection to Redis and its circuit breaker, shared by the throttle and the
//! rate limiter.

use std::{
    future::Future,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use anyhow::Context as _;
use async_trait::async_trait;
use opentelemetry::{
    KeyValue,
    metrics::{Counter, Meter},
};
use redis::{
    RedisResult,
    aio::{ConnectionManager, ConnectionManagerConfig},
};
use roster_domain::ports::{HealthCheck, HealthCheckError};
use tokio::time::Instant;

use crate::settings::RedisSettings;

/// A connection to Redis (made lazily and remade after a failure by the client crate's
/// connection manager), and the state of the breaker.
///
/// Every operation is bounded by `timeout`. One that fails or times out opens the
/// breaker for `retry_interval`: meanwhile operations are not sent, the caller counts
/// in memory, and `roster_limits_fallbacks_total` counts each one. `/ready` reports the
/// `limits` check as degraded, never as not ready: limits per instance are weaker, not
/// broken.
#[derive(Clone)]
pub struct RedisStore {
    inner: Arc<Inner>,
}

struct Inner {
    connection: ConnectionManager,
    prefix: String,
    timeout: Duration,
    retry_interval: Duration,
    /// While open: until when operations go to memory, and why.
    breaker: Mutex<Option<(Instant, String)>>,
    fallbacks: Counter<u64>,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.inner.prefix)
            .field("timeout", &self.inner.timeout)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// The store of `settings.url`, if one is set. Nothing is connected yet, so an
    /// unreachable Redis never stops the service from starting.
    pub fn new(settings: &RedisSettings, meter: &Meter) -> anyhow::Result<Option<Self>> {
        let Some(url) = settings.url.as_deref() else {
            return Ok(None);
        };
        let client = redis::Client::open(url).context("limits.redis.url is not a Redis URL")?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(settings.timeout))
            .set_response_timeout(Some(settings.timeout))
            .set_number_of_retries(1)
            .set_max_delay(settings.retry_interval);
        let connection = ConnectionManager::new_lazy_with_config(client, config)
            .context("cannot create the Redis connection manager")?;
        let fallbacks = meter
            .u64_counter("roster.limits.fallbacks")
            .with_unit("{operation}")
            .with_description(
                "Limit operations counted in the instance's memory because Redis could not be reached",
            )
            .build();
        Ok(Some(Self {
            inner: Arc::new(Inner {
                connection,
                prefix: settings.key_prefix.clone(),
                timeout: settings.timeout,
                retry_interval: settings.retry_interval,
                breaker: Mutex::new(None),
                fallbacks,
            }),
        }))
    }

    /// A key under the configured prefix. The prefix is a hash tag (`{roster}`), so
    /// that the keys one script touches share a Redis Cluster slot.
    pub(super) fn key(&self, rest: &str) -> String {
        format!("{{{}}}:{rest}", self.inner.prefix)
    }

    /// Runs `operation` on the connection, unless the breaker is open; `None` when it
    /// is, or when the operation fails or times out (which opens it). Each `None`
    /// counts as a fallback of `kind`.
    pub(super) async fn run<T, F, Fut>(&self, kind: &'static str, operation: F) -> Option<T>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        let outcome = self.attempt(operation).await;
        if outcome.is_none() {
            self.inner
                .fallbacks
                .add(1, &[KeyValue::new("operation", kind)]);
        }
        outcome
    }

    async fn attempt<T, F, Fut>(&self, operation: F) -> Option<T>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        if self.open() {
            return None;
        }
        let connection = self.inner.connection.clone();
        match tokio::time::timeout(self.inner.timeout, operation(connection)).await {
            Ok(Ok(value)) => {
                self.close();
                Some(value)
            }
            Ok(Err(error)) => {
                self.trip(format!("Redis failed: {error}"));
                None
            }
            Err(_) => {
                self.trip(format!(
                    "Redis did not answer within {:?}",
                    self.inner.timeout
                ));
                None
            }
        }
    }

    /// Whether the breaker is open now.
    fn open(&self) -> bool {
        self.failure().is_some()
    }

    fn trip(&self, reason: String) {
        let mut breaker = self
            .inner
            .breaker
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if breaker.is_none() {
            tracing::warn!(
                reason,
                retry_in = ?self.inner.retry_interval,
                "Redis unreachable: limits are counted in this instance's memory until it returns"
            );
        }
        *breaker = Some((Instant::now() + self.inner.retry_interval, reason));
    }

    fn close(&self) {
        let mut breaker = self
            .inner
            .breaker
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if breaker.take().is_some() {
            tracing::info!("Redis reachable again: limits are shared by every instance");
        }
    }

    /// Why the breaker is open, if it is.
    fn failure(&self) -> Option<String> {
        let breaker = self
            .inner
            .breaker
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        breaker
            .as_ref()
            .filter(|(until, _)| Instant::now() < *until)
            .map(|(_, reason)| reason.clone())
    }

    pub fn health(&self) -> LimitsHealth {
        LimitsHealth(self.clone())
    }
}

/// The `limits` readiness check: Redis answers a `PING` (unless the breaker is open).
/// Not critical: while it fails, limits are per instance and the service is ready.
#[derive(Debug, Clone)]
pub struct LimitsHealth(RedisStore);

#[async_trait]
impl HealthCheck for LimitsHealth {
    fn name(&self) -> &'static str {
        "limits"
    }

    fn critical(&self) -> bool {
        false
    }

    async fn check(&self) -> Result<(), HealthCheckError> {
        let store = &self.0;
        let pong = store
            .attempt(|mut connection| async move {
                redis::cmd("PING")
                    .query_async::<String>(&mut connection)
                    .await
            })
            .await;
        match (pong, store.failure()) {
            (Some(_), _) => Ok(()),
            (None, reason) => Err(HealthCheckError(format!(
                "{}; limits are counted per instance",
                reason.unwrap_or_else(|| "Redis unreachable".to_owned())
            ))),
        }
    }
}
