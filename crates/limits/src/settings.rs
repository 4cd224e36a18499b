//! Settings of the shared store and of the per-caller rate limits.

use std::time::Duration;

use roster_domain::ports::Quota;
use serde::{Deserialize, Serialize};

/// Where counters are shared. With no `url`, every instance counts in its own memory.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedisSettings {
    /// `redis://[user:password@]host:port[/db]` or `rediss://…` for TLS; none keeps the
    /// counters in each instance's memory.
    pub url: Option<String>,
    /// Prefix of every key, so that several deployments can share one Redis.
    pub key_prefix: String,
    /// How long one counting operation (connecting included) may take before the
    /// instance counts in memory instead. A login waits for it, so keep it short.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// After a failure, how long the instance counts in memory before it tries Redis
    /// again (so that an outage costs one timeout per interval, not one per request).
    #[serde(with = "humantime_serde")]
    pub retry_interval: Duration,
}

impl Default for RedisSettings {
    fn default() -> Self {
        Self {
            url: None,
            key_prefix: "roster".to_owned(),
            timeout: Duration::from_millis(250),
            retry_interval: Duration::from_secs(5),
        }
    }
}

/// A quota as configured: `requests` per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaSettings {
    pub requests: u32,
    #[serde(with = "humantime_serde")]
    pub window: Duration,
}

impl From<QuotaSettings> for Quota {
    fn from(settings: QuotaSettings) -> Self {
        Self {
            requests: settings.requests,
            window: settings.window,
        }
    }
}

/// Per-caller quotas by route class: per user for a request with a valid token, per
/// client address otherwise. A class without a quota is not limited, and none has one
/// by default: the limits a deployment needs depend on its clients. Probes and
/// `/metrics` are never limited.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitSettings {
    pub auth: Option<QuotaSettings>,
    pub read: Option<QuotaSettings>,
    pub write: Option<QuotaSettings>,
    /// Callers counted at most in one instance's memory (when Redis is not configured
    /// or not reachable); past it the least active are forgotten first.
    pub max_tracked_callers: u64,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        Self {
            auth: None,
            read: None,
            write: None,
            max_tracked_callers: 100_000,
        }
    }
}

impl RateLimitSettings {
    /// Whether any class is limited.
    pub fn enabled(&self) -> bool {
        self.auth.is_some() || self.read.is_some() || self.write.is_some()
    }

    /// The longest window of any quota: how long a counter can matter.
    pub fn longest_window(&self) -> Duration {
        [self.auth, self.read, self.write]
            .into_iter()
            .flatten()
            .map(|quota| quota.window)
            .max()
            .unwrap_or(Duration::from_secs(1))
    }

    /// Refuses quotas that could never admit a request or never end.
    pub fn validate(&self) -> anyhow::Result<()> {
        for (name, quota) in [
            ("auth", self.auth),
            ("read", self.read),
            ("write", self.write),
        ] {
            if let Some(quota) = quota {
                anyhow::ensure!(
                    quota.requests > 0,
                    "limits.rate.{name}.requests must be at least 1"
                );
                anyhow::ensure!(
                    quota.window >= Duration::from_secs(1)
                        && quota.window <= Duration::from_secs(24 * 3600),
                    "limits.rate.{name}.window must be between 1s and 24h"
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotas_that_cannot_work_are_refused() {
        let mut settings = RateLimitSettings::default();
        assert!(!settings.enabled());
        settings.read = Some(QuotaSettings {
            requests: 0,
            window: Duration::from_secs(60),
        });
        assert!(settings.validate().is_err());
        settings.read = Some(QuotaSettings {
            requests: 10,
            window: Duration::from_millis(10),
        });
        assert!(settings.validate().is_err());
        settings.read = Some(QuotaSettings {
            requests: 10,
            window: Duration::from_secs(60),
        });
        assert!(settings.validate().is_ok());
        assert!(settings.enabled());
        assert_eq!(settings.longest_window(), Duration::from_secs(60));
    }
}
