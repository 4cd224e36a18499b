//! [`RateLimiter`]: how many requests a caller may make in a window, counted where
//! every instance sees the same count when the deployment shares one store.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// A limit: at most `requests` in each `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub requests: u32,
    pub window: Duration,
}

/// What counting one request decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateDecision {
    /// Whether the request is within its quota.
    pub allowed: bool,
    /// Requests left in the current window after this one.
    pub remaining: u32,
    /// Time until the current window ends and the quota is whole again.
    pub reset: Duration,
}

impl RateDecision {
    /// The decision for the `count`-th request of a window that ends in `reset`.
    pub fn of_count(count: u64, quota: Quota, reset: Duration) -> Self {
        let limit = u64::from(quota.requests);
        Self {
            allowed: count <= limit,
            remaining: u32::try_from(limit.saturating_sub(count)).unwrap_or(0),
            reset,
        }
    }
}

/// Fixed-window request counters, per key.
///
/// Windows are aligned on the Unix epoch (a minute window runs from one whole minute
/// to the next), so that instances counting the same key agree on the window without
/// talking to each other. Counting never fails: a store that cannot be reached is the
/// adapter's to handle.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait RateLimiter: Send + Sync {
    /// Counts one request for `key` at `now` against `quota`.
    async fn hit(&self, key: &str, quota: Quota, now: DateTime<Utc>) -> RateDecision;
}

/// The window of `quota` that `now` falls in: its index since the epoch and the time
/// left until it ends. A zero window counts as one millisecond.
pub fn window_of(quota: Quota, now: DateTime<Utc>) -> (i64, Duration) {
    let width = i64::try_from(quota.window.as_millis())
        .unwrap_or(i64::MAX)
        .max(1);
    let at = now.timestamp_millis();
    let index = at.div_euclid(width);
    let left = width - at.rem_euclid(width);
    (index, Duration::from_millis(left.unsigned_abs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Quota = Quota {
        requests: 3,
        window: Duration::from_secs(60),
    };

    #[test]
    fn windows_are_aligned_on_the_epoch() {
        let now = DateTime::from_timestamp(1_800_000_042, 500_000_000).unwrap();
        let (index, left) = window_of(MINUTE, now);
        assert_eq!(index, 1_800_000_042 / 60);
        assert_eq!(left, Duration::from_millis(17_500));
    }

    #[test]
    fn a_decision_counts_down_to_zero_then_refuses() {
        let reset = Duration::from_secs(5);
        let remaining: Vec<_> = (1..=4)
            .map(|count| RateDecision::of_count(count, MINUTE, reset))
            .map(|d| (d.allowed, d.remaining))
            .collect();
        assert_eq!(remaining, [(true, 2), (true, 1), (true, 0), (false, 0)]);
    }
}
