//! The `limits` settings (where counters are kept, and the per-caller quotas) and the
//! adapters they choose.

use std::sync::Arc;

use opentelemetry::metrics::Meter;
use roster_domain::ports::{HealthCheck, LoginThrottle, RateLimiter};
use roster_http::RateLimits;
use roster_limits::{
    InMemoryLoginThrottle, InMemoryRateLimiter, RateLimitSettings, RedisLoginThrottle,
    RedisRateLimiter, RedisSettings, RedisStore, ThrottleSettings,
};
use serde::{Deserialize, Serialize};

use crate::redact::redact_url;

/// Where the login throttle and the rate limits count, and the quotas.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsSettings {
    /// Counters shared by every instance. Without a URL, each counts in its memory.
    pub redis: RedisSettings,
    /// Per-caller quotas by route class; none by default.
    pub rate: RateLimitSettings,
}

impl LimitsSettings {
    pub(crate) fn validate(&self) -> Result<(), String> {
        self.rate.validate().map_err(|e| e.to_string())?;
        if self.redis.timeout.is_zero() || self.redis.retry_interval.is_zero() {
            return Err("limits.redis.timeout and retry_interval must be above zero".to_owned());
        }
        if self.redis.key_prefix.is_empty()
            || self
                .redis
                .key_prefix
                .contains(|c: char| c.is_whitespace() || c == '{' || c == '}')
        {
            return Err(
                "limits.redis.key_prefix must be a non-empty word (no spaces or braces)".to_owned(),
            );
        }
        Ok(())
    }
}

/// The adapters the settings chose.
pub(crate) struct Limits {
    pub(crate) throttle: Arc<dyn LoginThrottle>,
    /// The per-caller quotas, when any route class has one.
    pub(crate) quotas: Option<RateLimits>,
    /// The `limits` readiness check, when Redis is configured.
    pub(crate) health: Option<Arc<dyn HealthCheck>>,
}

impl Limits {
    pub(crate) fn build(
        settings: &LimitsSettings,
        throttle: &ThrottleSettings,
        meter: &Meter,
    ) -> anyhow::Result<Self> {
        let rate = &settings.rate;
        let memory = || InMemoryRateLimiter::new(rate.max_tracked_callers, rate.longest_window());
        let store = RedisStore::new(&settings.redis, meter)?;
        let (throttle, limiter, health): (Arc<dyn LoginThrottle>, Arc<dyn RateLimiter>, _) =
            match store {
                Some(store) => {
                    tracing::info!(
                        url = settings.redis.url.as_deref().map(redact_url),
                        "limits are shared through Redis"
                    );
                    let health: Arc<dyn HealthCheck> = Arc::new(store.health());
                    (
                        Arc::new(RedisLoginThrottle::new(store.clone(), throttle.clone())?),
                        Arc::new(RedisRateLimiter::new(store, memory())),
                        Some(health),
                    )
                }
                None => (
                    Arc::new(InMemoryLoginThrottle::new(throttle.clone())?),
                    Arc::new(memory()),
                    None,
                ),
            };
        let quotas = rate.enabled().then(|| RateLimits {
            limiter,
            auth: rate.auth.map(Into::into),
            read: rate.read.map(Into::into),
            write: rate.write.map(Into::into),
        });
        Ok(Self {
            throttle,
            quotas,
            health,
        })
    }
}
