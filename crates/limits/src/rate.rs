//! [`InMemoryRateLimiter`]: fixed-window request counters in this process's memory,
//! for at most a bounded number of callers.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use moka::sync::Cache;
use roster_domain::ports::{Quota, RateDecision, RateLimiter, window_of};

/// The count of each key's current window.
pub struct InMemoryRateLimiter {
    /// Keyed by the caller's key and the window's index, so that a new window starts
    /// from zero without anything being reset.
    counts: Cache<(String, i64), Arc<AtomicU64>>,
}

impl std::fmt::Debug for InMemoryRateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InMemoryRateLimiter")
            .field("tracked", &self.counts.entry_count())
            .finish()
    }
}

impl InMemoryRateLimiter {
    /// Counts for at most `max_keys` keys, each kept for `longest_window` (after which
    /// its window has ended). Moka's `TinyLFU` admission keeps busy keys when a flood of
    /// new ones arrives, so that flooding cannot reset a busy caller's count cheaply.
    pub fn new(max_keys: u64, longest_window: Duration) -> Self {
        Self {
            counts: Cache::builder()
                .max_capacity(max_keys.max(1))
                .time_to_live(longest_window.max(Duration::from_secs(1)))
                .build(),
        }
    }

    /// [`RateLimiter::hit`], without waiting for anything.
    pub fn count(&self, key: &str, quota: Quota, now: DateTime<Utc>) -> RateDecision {
        let (window, reset) = window_of(quota, now);
        let count = self
            .counts
            .get_with((key.to_owned(), window), Arc::default)
            .fetch_add(1, Ordering::Relaxed)
            + 1;
        RateDecision::of_count(count, quota, reset)
    }
}

#[async_trait]
impl RateLimiter for InMemoryRateLimiter {
    async fn hit(&self, key: &str, quota: Quota, now: DateTime<Utc>) -> RateDecision {
        self.count(key, quota, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUOTA: Quota = Quota {
        requests: 2,
        window: Duration::from_secs(60),
    };

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).expect("time")
    }

    #[test]
    fn a_key_gets_its_quota_per_window_and_others_their_own() {
        let limiter = InMemoryRateLimiter::new(100, QUOTA.window);
        let first = limiter.count("read:user:a", QUOTA, at(0));
        assert!(first.allowed);
        assert_eq!(first.remaining, 1);
        assert_eq!(first.reset, Duration::from_secs(60));
        assert!(limiter.count("read:user:a", QUOTA, at(10)).allowed);
        let third = limiter.count("read:user:a", QUOTA, at(20));
        assert!(!third.allowed);
        assert_eq!((third.remaining, third.reset), (0, Duration::from_secs(40)));
        assert!(limiter.count("read:user:b", QUOTA, at(20)).allowed);
        // The next window starts whole.
        assert!(limiter.count("read:user:a", QUOTA, at(60)).allowed);
    }

    #[test]
    fn the_number_of_keys_is_bounded() {
        let limiter = InMemoryRateLimiter::new(500, QUOTA.window);
        for i in 0..5_000 {
            limiter.count(&format!("read:client:{i}"), QUOTA, at(0));
        }
        limiter.counts.run_pending_tasks();
        assert!(limiter.counts.entry_count() <= 500);
    }
}
