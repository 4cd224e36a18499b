//! The Redis adapters against the machine's Redis (keys under a prefix of each test's
//! own): the same answers as the in-memory throttle, shared by every instance, and
//! atomic under concurrency.

#![expect(
    clippy::expect_used,
    reason = "a test fails by panicking; helpers are plain functions, which clippy's test allowances do not cover"
)]

use std::{
    net::{IpAddr, Ipv4Addr, TcpStream},
    sync::Arc,
    time::Duration,
};

use chrono::{DateTime, Utc};
use roster_domain::ports::{LoginThrottle, Quota, RateLimiter, ThrottleKey, Throttled};
use roster_limits::{
    InMemoryRateLimiter, RedisLoginThrottle, RedisRateLimiter, RedisSettings, RedisStore,
    ThrottleSettings,
};

const CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
const OTHER: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 9));

/// Settings on the machine's Redis with a fresh prefix; `None` (loudly) when it is not
/// running, except under `CI=true`.
fn shared() -> Option<RedisSettings> {
    if TcpStream::connect_timeout(
        &"127.0.0.1:6379".parse().expect("address"),
        Duration::from_secs(1),
    )
    .is_err()
    {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "Redis is not running on 127.0.0.1:6379"
        );
        eprintln!("SKIPPED: Redis is not running on 127.0.0.1:6379");
        return None;
    }
    Some(RedisSettings {
        url: Some("redis://127.0.0.1:6379".to_owned()),
        key_prefix: format!("test-{}", ulid::Ulid::generate()),
        timeout: Duration::from_secs(2),
        ..RedisSettings::default()
    })
}

fn store(settings: &RedisSettings) -> RedisStore {
    RedisStore::new(settings, &opentelemetry::global::meter("test"))
        .expect("a store")
        .expect("configured")
}

/// Two instances' throttles on one Redis.
fn two_throttles(settings: &RedisSettings) -> (RedisLoginThrottle, RedisLoginThrottle) {
    let limits = ThrottleSettings {
        window: Duration::from_secs(60),
        max_failures_per_client: 4,
        max_failures_per_account_from_client: 2,
        max_failures_per_account: 3,
        max_hashes_per_client: 6,
        max_refreshes_per_session: 3,
        max_tracked_keys: 1_000,
    };
    let throttle = || RedisLoginThrottle::new(store(settings), limits.clone()).expect("throttle");
    (throttle(), throttle())
}

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + seconds, 0).expect("time")
}

fn login(account: &str, client: IpAddr) -> Vec<ThrottleKey> {
    vec![
        ThrottleKey::Client(client),
        ThrottleKey::AccountFromClient(account.to_owned(), client),
        ThrottleKey::Account(account.to_owned()),
        ThrottleKey::Hashes(client),
    ]
}

fn waits(seconds: u64) -> Result<(), Throttled> {
    Err(Throttled {
        retry_after: Duration::from_secs(seconds),
    })
}

#[tokio::test]
async fn an_account_is_throttled_on_every_instance_until_the_window_slides_on() {
    let Some(settings) = shared() else { return };
    let (one, two) = two_throttles(&settings);
    let keys = login("ada@example.com", CLIENT);
    assert_eq!(one.admit(&keys, at(0)).await, Ok(()));
    assert_eq!(two.admit(&keys, at(10)).await, Ok(()));
    assert_eq!(one.admit(&keys, at(11)).await, waits(49));
    assert_eq!(two.admit(&keys, at(59)).await, waits(1));
    assert_eq!(two.admit(&keys, at(60)).await, Ok(()), "the first left");
    assert_eq!(
        one.admit(&login("ada@example.com", OTHER), at(61)).await,
        Ok(()),
        "the owner, from elsewhere, still gets in"
    );
}

#[tokio::test]
async fn a_success_takes_its_attempt_back_on_every_instance_but_hashes_count() {
    let Some(settings) = shared() else { return };
    let (one, two) = two_throttles(&settings);
    let keys = login("ada@example.com", CLIENT);
    for second in 0..6 {
        let (admitting, settling) = if second % 2 == 0 {
            (&one, &two)
        } else {
            (&two, &one)
        };
        assert_eq!(admitting.admit(&keys, at(second)).await, Ok(()));
        settling.succeeded(&keys, at(second)).await;
    }
    // Six hashes within the window: the seventh waits, success or not.
    assert_eq!(one.admit(&keys, at(6)).await, waits(54));
}

#[tokio::test]
async fn a_success_keeps_the_failures_from_elsewhere() {
    let Some(settings) = shared() else { return };
    let (one, two) = two_throttles(&settings);
    for (i, last) in [1_u8, 2].into_iter().enumerate() {
        let attacker = IpAddr::V4(Ipv4Addr::new(203, 0, 113, last));
        let when = at(i64::try_from(i).expect("small"));
        assert_eq!(
            one.admit(&login("ada@example.com", attacker), when).await,
            Ok(())
        );
    }
    let owner = login("ada@example.com", OTHER);
    assert_eq!(two.admit(&owner, at(3)).await, Ok(()));
    two.succeeded(&owner, at(3)).await;
    let third = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 3));
    assert_eq!(
        one.admit(&login("ada@example.com", third), at(4)).await,
        Ok(())
    );
    assert_eq!(
        two.admit(&login("ada@example.com", CLIENT), at(5)).await,
        waits(55),
        "three failures from elsewhere reach the account-wide limit"
    );
}

/// Many attempts at once, half on each instance: exactly the limit gets through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_attempts_on_two_instances_cannot_overrun_the_limit() {
    let Some(settings) = shared() else { return };
    let (one, two) = two_throttles(&settings);
    let (one, two) = (Arc::new(one), Arc::new(two));
    let attempts: Vec<_> = (0..32)
        .map(|i| {
            let throttle = if i % 2 == 0 {
                Arc::clone(&one)
            } else {
                Arc::clone(&two)
            };
            tokio::spawn(async move {
                throttle
                    .admit(&login("ada@example.com", CLIENT), at(0))
                    .await
                    .is_ok()
            })
        })
        .collect();
    let mut admitted = 0;
    for attempt in attempts {
        admitted += usize::from(attempt.await.expect("joined"));
    }
    assert_eq!(admitted, 2);
}

#[tokio::test]
async fn a_rate_limit_is_counted_once_for_every_instance() {
    let Some(settings) = shared() else { return };
    let limiter = || {
        RedisRateLimiter::new(
            store(&settings),
            InMemoryRateLimiter::new(100, Duration::from_secs(60)),
        )
    };
    let (one, two) = (limiter(), limiter());
    let quota = Quota {
        requests: 3,
        window: Duration::from_secs(60),
    };
    let now = at(30);
    let mut seen = Vec::new();
    for (i, limiter) in [&one, &two, &one, &two].into_iter().enumerate() {
        let decision = limiter.hit("read:user:a", quota, now).await;
        seen.push((decision.allowed, decision.remaining));
        assert_eq!(decision.reset, Duration::from_secs(30), "{i}");
    }
    assert_eq!(seen, [(true, 2), (true, 1), (true, 0), (false, 0)]);
    assert!(two.hit("read:user:b", quota, now).await.allowed);
    assert!(
        one.hit("read:user:a", quota, at(60)).await.allowed,
        "a new window"
    );
}
