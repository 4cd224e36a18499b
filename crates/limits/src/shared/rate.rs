//! [`RedisRateLimiter`]: fixed-window counters in Redis, one key per caller and window,
//! counted by one script.

use std::sync::LazyLock;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use redis::Script;
use roster_domain::ports::{Quota, RateDecision, RateLimiter, window_of};

use super::store::RedisStore;
use crate::rate::InMemoryRateLimiter;

/// KEYS: the window's counter. ARGV: how long it must live (ms). Returns the count.
static HIT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return count
",
    )
});

/// The rate limiter with its counts in Redis; while Redis cannot be reached, in this
/// instance's memory.
#[derive(Debug)]
pub struct RedisRateLimiter {
    store: RedisStore,
    fallback: InMemoryRateLimiter,
}

impl RedisRateLimiter {
    pub fn new(store: RedisStore, fallback: InMemoryRateLimiter) -> Self {
        Self { store, fallback }
    }
}

#[async_trait]
impl RateLimiter for RedisRateLimiter {
    async fn hit(&self, key: &str, quota: Quota, now: DateTime<Utc>) -> RateDecision {
        let (window, reset) = window_of(quota, now);
        let counter = self.store.key(&format!("rate:{key}:{window}"));
        // A second past the window's end, so that clocks a little apart agree.
        let lifetime = u64::try_from(reset.as_millis())
            .unwrap_or(u64::MAX)
            .saturating_add(1_000);
        let count = self
            .store
            .run("rate", |mut connection| async move {
                HIT.key(counter)
                    .arg(lifetime)
                    .invoke_async::<u64>(&mut connection)
                    .await
            })
            .await;
        match count {
            Some(count) => RateDecision::of_count(count, quota, reset),
            None => self.fallback.count(key, quota, now),
        }
    }
}
