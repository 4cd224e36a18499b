//! [`RedisLoginThrottle`]: the sliding windows of the login throttle as Redis sorted
//! sets (one member per attempt, scored by its time), checked and counted by one
//! script, so that concurrent attempts on any instance cannot overrun a limit.

use std::{sync::LazyLock, time::Duration};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use redis::Script;
use roster_domain::ports::{LoginThrottle, ThrottleKey, Throttled};
use sha2::{Digest as _, Sha256};
use ulid::Ulid;

use super::store::RedisStore;
use crate::throttle::{InMemoryLoginThrottle, ThrottleSettings};

/// KEYS: the attempt's keys. ARGV: now (ms), window (ms), a unique member, then the
/// limit of each key. Returns 0 when the attempt is admitted (and counted against every
/// key), else how many milliseconds until every key is below its limit.
static ADMIT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local wait = 0
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[3 + i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local count = redis.call('ZCARD', key)
  if count >= limit then
    local keeping = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
    local until_free = tonumber(keeping[2]) + window - now
    if until_free > wait then wait = until_free end
  end
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[3 + i])
  redis.call('ZADD', key, now, ARGV[3])
  redis.call('ZREMRANGEBYRANK', key, 0, -(limit + 1))
  redis.call('PEXPIRE', key, window)
end
return 0
",
    )
});

/// KEYS: first the keys an attempt is taken back from, then the keys to clear. ARGV:
/// the attempt's time (ms) and how many keys are of the first kind.
static SETTLE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local taken_back = tonumber(ARGV[2])
for i, key in ipairs(KEYS) do
  if i <= taken_back then
    local attempt = redis.call('ZRANGEBYSCORE', key, ARGV[1], ARGV[1], 'LIMIT', 0, 1)
    if attempt[1] then redis.call('ZREM', key, attempt[1]) end
  else
    redis.call('DEL', key)
  end
end
return 0
",
    )
});

/// The login throttle with its counts in Redis; while Redis cannot be reached, in this
/// instance's memory (which starts empty: an outage forgets the shared counts for its
/// duration, and each instance allows the configured attempts on its own).
#[derive(Debug)]
pub struct RedisLoginThrottle {
    store: RedisStore,
    settings: ThrottleSettings,
    fallback: InMemoryLoginThrottle,
}

impl RedisLoginThrottle {
    pub fn new(store: RedisStore, settings: ThrottleSettings) -> anyhow::Result<Self> {
        Ok(Self {
            fallback: InMemoryLoginThrottle::new(settings.clone())?,
            store,
            settings,
        })
    }

    /// The Redis key of `key`. Accounts are hashed: e-mail addresses stay out of Redis.
    fn key(&self, key: &ThrottleKey) -> String {
        let account = |account: &str| {
            let digest = Sha256::digest(account.as_bytes());
            let mut half = [0_u8; 16];
            half.copy_from_slice(&digest[..16]);
            format!("{:032x}", u128::from_be_bytes(half))
        };
        self.store.key(&match key {
            ThrottleKey::Client(client) => format!("throttle:client:{client}"),
            ThrottleKey::AccountFromClient(name, client) => {
                format!("throttle:account-client:{}:{client}", account(name))
            }
            ThrottleKey::Account(name) => format!("throttle:account:{}", account(name)),
            ThrottleKey::Hashes(client) => format!("throttle:hashes:{client}"),
            ThrottleKey::Refreshes(session) => format!("throttle:refreshes:{session}"),
        })
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

#[async_trait]
impl LoginThrottle for RedisLoginThrottle {
    async fn admit(&self, keys: &[ThrottleKey], now: DateTime<Utc>) -> Result<(), Throttled> {
        let mut invocation = ADMIT.prepare_invoke();
        invocation
            .arg(now.timestamp_millis())
            .arg(millis(self.settings.window))
            .arg(Ulid::generate().to_string());
        for key in keys {
            invocation.key(self.key(key));
        }
        for key in keys {
            invocation.arg(self.settings.limit(key));
        }
        let wait = self
            .store
            .run("throttle", |mut connection| async move {
                invocation.invoke_async::<u64>(&mut connection).await
            })
            .await;
        match wait {
            Some(0) => Ok(()),
            Some(wait) => Err(Throttled {
                retry_after: Duration::from_millis(wait).max(Duration::from_secs(1)),
            }),
            None => self.fallback.try_admit(keys, now),
        }
    }

    async fn succeeded(&self, keys: &[ThrottleKey], admitted_at: DateTime<Utc>) {
        let taken_back: Vec<_> = keys
            .iter()
            .filter(|key| matches!(key, ThrottleKey::Client(_) | ThrottleKey::Account(_)))
            .collect();
        let cleared = keys
            .iter()
            .filter(|key| matches!(key, ThrottleKey::AccountFromClient(..)));
        let mut invocation = SETTLE.prepare_invoke();
        invocation
            .arg(admitted_at.timestamp_millis())
            .arg(taken_back.len());
        for key in taken_back.iter().copied().chain(cleared) {
            invocation.key(self.key(key));
        }
        let settled = self
            .store
            .run("throttle", |mut connection| async move {
                invocation.invoke_async::<u64>(&mut connection).await
            })
            .await;
        if settled.is_none() {
            self.fallback.settle(keys, admitted_at);
        }
    }
}
