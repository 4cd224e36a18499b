//! [`InMemoryLoginThrottle`]: failed logins per client and per account, in a sliding
//! window, in this process's memory.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Mutex, PoisonError},
    time::Duration,
};

use chrono::{DateTime, Utc};
use roster_domain::ports::{LoginThrottle, ThrottleKey, Throttled};
use serde::{Deserialize, Serialize};

/// Thresholds for failed logins.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ThrottleSettings {
    /// How far back failures count.
    #[serde(with = "humantime_serde")]
    pub window: Duration,
    /// Failures from one client address within the window before it gets 429.
    pub max_failures_per_client: usize,
    /// Failures against one account within the window before it gets 429.
    pub max_failures_per_account: usize,
}

impl Default for ThrottleSettings {
    fn default() -> Self {
        Self {
            window: Duration::from_secs(15 * 60),
            max_failures_per_client: 20,
            max_failures_per_account: 5,
        }
    }
}

/// Above this many keys, keys whose failures have all left the window are dropped.
const SWEEP_ABOVE: usize = 10_000;

/// The failures of each key, newest last, at most as many as its limit.
#[derive(Debug)]
pub struct InMemoryLoginThrottle {
    settings: ThrottleSettings,
    window: chrono::Duration,
    failures: Mutex<HashMap<ThrottleKey, VecDeque<DateTime<Utc>>>>,
}

impl InMemoryLoginThrottle {
    pub fn new(settings: ThrottleSettings) -> anyhow::Result<Self> {
        let window = chrono::Duration::from_std(settings.window)?;
        Ok(Self {
            settings,
            window,
            failures: Mutex::new(HashMap::new()),
        })
    }

    fn limit(&self, key: &ThrottleKey) -> usize {
        match key {
            ThrottleKey::Client(_) => self.settings.max_failures_per_client,
            ThrottleKey::Account(_) => self.settings.max_failures_per_account,
        }
        .max(1)
    }
}

impl LoginThrottle for InMemoryLoginThrottle {
    fn check(&self, keys: &[ThrottleKey], now: DateTime<Utc>) -> Result<(), Throttled> {
        let failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        let horizon = now - self.window;
        let wait = keys
            .iter()
            .filter_map(|key| {
                let times = failures.get(key)?;
                let recent: Vec<_> = times.iter().filter(|t| **t > horizon).collect();
                // Throttled until the oldest failure that keeps the count at the limit
                // leaves the window.
                (recent.len() >= self.limit(key))
                    .then(|| *recent[recent.len() - self.limit(key)] + self.window - now)
            })
            .max();
        match wait {
            Some(wait) => Err(Throttled {
                retry_after: wait
                    .to_std()
                    .unwrap_or(Duration::from_secs(1))
                    .max(Duration::from_secs(1)),
            }),
            None => Ok(()),
        }
    }

    fn record_failure(&self, keys: &[ThrottleKey], now: DateTime<Utc>) {
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        for key in keys {
            let limit = self.limit(key);
            let times = failures.entry(key.clone()).or_default();
            times.push_back(now);
            while times.len() > limit {
                times.pop_front();
            }
        }
        if failures.len() > SWEEP_ABOVE {
            let horizon = now - self.window;
            failures.retain(|_, times| times.back().is_some_and(|t| *t > horizon));
        }
    }

    fn record_success(&self, account: &ThrottleKey) {
        self.failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(account);
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use super::*;

    fn throttle() -> InMemoryLoginThrottle {
        InMemoryLoginThrottle::new(ThrottleSettings {
            window: Duration::from_secs(60),
            max_failures_per_client: 4,
            max_failures_per_account: 2,
        })
        .expect("throttle")
    }

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).expect("time")
    }

    const CLIENT: ThrottleKey = ThrottleKey::Client(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)));

    fn account(name: &str) -> ThrottleKey {
        ThrottleKey::Account(name.to_owned())
    }

    #[test]
    fn an_account_is_throttled_at_its_limit_until_the_window_slides_on() {
        let throttle = throttle();
        let keys = [CLIENT, account("ada@example.com")];
        throttle.record_failure(&keys, at(0));
        assert_eq!(throttle.check(&keys, at(1)), Ok(()));
        throttle.record_failure(&keys, at(10));

        assert_eq!(
            throttle.check(&keys, at(11)),
            Err(Throttled {
                retry_after: Duration::from_secs(49)
            })
        );
        assert_eq!(
            throttle.check(&keys, at(59)),
            Err(Throttled {
                retry_after: Duration::from_secs(1)
            })
        );
        assert_eq!(
            throttle.check(&keys, at(60)),
            Ok(()),
            "the first failure left the window"
        );
        let other_account = [CLIENT, account("grace@example.com")];
        assert_eq!(
            throttle.check(&other_account, at(11)),
            Ok(()),
            "the client is below its own limit"
        );
    }

    #[test]
    fn a_client_guessing_many_accounts_is_throttled() {
        let throttle = throttle();
        for (i, name) in ["a", "b", "c", "d"].iter().enumerate() {
            throttle.record_failure(
                &[CLIENT, account(name)],
                at(i64::try_from(i).expect("small")),
            );
        }
        let result = throttle.check(&[CLIENT, account("e")], at(5));
        assert_eq!(
            result,
            Err(Throttled {
                retry_after: Duration::from_secs(55)
            })
        );
    }

    #[test]
    fn success_clears_the_account_but_not_the_client() {
        let throttle = throttle();
        let ada = account("ada@example.com");
        for i in 0..3 {
            throttle.record_failure(&[CLIENT, ada.clone()], at(i));
        }
        throttle.record_success(&ada);
        assert_eq!(throttle.check(std::slice::from_ref(&ada), at(4)), Ok(()));
        throttle.record_failure(&[CLIENT], at(5));
        assert!(
            throttle.check(&[CLIENT], at(6)).is_err(),
            "the client still has its failures"
        );
    }
}
