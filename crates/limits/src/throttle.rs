//! [`InMemoryLoginThrottle`]: attempts per client, per account (from one client and
//! from all), and password hashes per client, in a sliding window, in this process's
//! memory, for at most a bounded number of keys. It is the embedded default, and what an
//! instance falls back to while Redis cannot be reached.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use moka::sync::Cache;
use roster_domain::ports::{LoginThrottle, ThrottleKey, Throttled};
use serde::{Deserialize, Serialize};

/// Thresholds for attempts.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ThrottleSettings {
    /// How far back attempts count.
    #[serde(with = "humantime_serde")]
    pub window: Duration,
    /// Failed logins from one client (an IPv6 /64) within the window before it gets 429.
    pub max_failures_per_client: usize,
    /// Failed logins against one account from one client before that client gets 429
    /// for that account (its owner elsewhere is not locked out).
    pub max_failures_per_account_from_client: usize,
    /// Failed logins against one account from all clients before it gets 429 (guessing
    /// spread over many addresses).
    pub max_failures_per_account: usize,
    /// Password hashes (logins, registrations, password changes) one client may ask for.
    pub max_hashes_per_client: usize,
    /// Refreshes of one session within the window, successful or not.
    pub max_refreshes_per_session: usize,
    /// Keys tracked at most; past it the least useful are forgotten first (moka's
    /// `TinyLFU`), so flooding new keys cannot grow memory or evict busy ones cheaply.
    pub max_tracked_keys: u64,
}

impl ThrottleSettings {
    /// The attempts `key` may make within the window (at least one).
    pub fn limit(&self, key: &ThrottleKey) -> usize {
        match key {
            ThrottleKey::Client(_) => self.max_failures_per_client,
            ThrottleKey::AccountFromClient(..) => self.max_failures_per_account_from_client,
            ThrottleKey::Account(_) => self.max_failures_per_account,
            ThrottleKey::Hashes(_) => self.max_hashes_per_client,
            ThrottleKey::Refreshes(_) => self.max_refreshes_per_session,
        }
        .max(1)
    }
}

impl Default for ThrottleSettings {
    fn default() -> Self {
        Self {
            window: Duration::from_secs(15 * 60),
            max_failures_per_client: 20,
            max_failures_per_account_from_client: 5,
            max_failures_per_account: 50,
            max_hashes_per_client: 100,
            max_refreshes_per_session: 30,
            max_tracked_keys: 100_000,
        }
    }
}

/// The attempts of one key, newest last, at most as many as its limit.
type Attempts = Arc<Mutex<VecDeque<DateTime<Utc>>>>;

/// The attempts of each key.
pub struct InMemoryLoginThrottle {
    settings: ThrottleSettings,
    window: chrono::Duration,
    attempts: Cache<ThrottleKey, Attempts>,
    /// Held while admitting or settling, so that checking every key and counting the
    /// attempt against each is one step.
    admission: Mutex<()>,
}

impl std::fmt::Debug for InMemoryLoginThrottle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InMemoryLoginThrottle")
            .field("settings", &self.settings)
            .field("tracked", &self.attempts.entry_count())
            .finish_non_exhaustive()
    }
}

impl InMemoryLoginThrottle {
    pub fn new(settings: ThrottleSettings) -> anyhow::Result<Self> {
        let window = chrono::Duration::from_std(settings.window)?;
        let attempts = Cache::builder()
            .max_capacity(settings.max_tracked_keys.max(1))
            // A key untouched for a whole window holds nothing that still counts.
            .time_to_idle(settings.window)
            .build();
        Ok(Self {
            settings,
            window,
            attempts,
            admission: Mutex::new(()),
        })
    }

    fn limit(&self, key: &ThrottleKey) -> usize {
        self.settings.limit(key)
    }

    /// How long until `key` is below its limit at `now`; `None` when it is already.
    fn wait(&self, key: &ThrottleKey, now: DateTime<Utc>) -> Option<chrono::Duration> {
        let attempts = self.attempts.get(key)?;
        let times = attempts.lock().unwrap_or_else(PoisonError::into_inner);
        let horizon = now - self.window;
        let recent: Vec<_> = times.iter().filter(|t| **t > horizon).collect();
        let limit = self.limit(key);
        // Throttled until the oldest attempt that keeps the count at the limit leaves
        // the window.
        (recent.len() >= limit).then(|| *recent[recent.len() - limit] + self.window - now)
    }
}

#[async_trait]
impl LoginThrottle for InMemoryLoginThrottle {
    async fn admit(&self, keys: &[ThrottleKey], now: DateTime<Utc>) -> Result<(), Throttled> {
        self.try_admit(keys, now)
    }

    async fn succeeded(&self, keys: &[ThrottleKey], admitted_at: DateTime<Utc>) {
        self.settle(keys, admitted_at);
    }
}

impl InMemoryLoginThrottle {
    /// [`LoginThrottle::admit`], without waiting for anything.
    pub fn try_admit(&self, keys: &[ThrottleKey], now: DateTime<Utc>) -> Result<(), Throttled> {
        let _admission = self
            .admission
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(wait) = keys.iter().filter_map(|key| self.wait(key, now)).max() {
            return Err(Throttled {
                retry_after: wait
                    .to_std()
                    .unwrap_or(Duration::from_secs(1))
                    .max(Duration::from_secs(1)),
            });
        }
        for key in keys {
            let limit = self.limit(key);
            let attempts = self.attempts.get_with(key.clone(), Attempts::default);
            let mut times = attempts.lock().unwrap_or_else(PoisonError::into_inner);
            times.push_back(now);
            while times.len() > limit {
                times.pop_front();
            }
        }
        Ok(())
    }

    /// [`LoginThrottle::succeeded`], without waiting for anything.
    pub fn settle(&self, keys: &[ThrottleKey], admitted_at: DateTime<Utc>) {
        let _admission = self
            .admission
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for key in keys {
            match key {
                ThrottleKey::Hashes(_) | ThrottleKey::Refreshes(_) => {}
                // The owner's own address starts afresh for the account; the
                // account-wide count keeps the other addresses' failures (an owner's
                // login must not wipe a spread-out attack's tally).
                ThrottleKey::AccountFromClient(..) => self.attempts.invalidate(key),
                ThrottleKey::Client(_) | ThrottleKey::Account(_) => {
                    if let Some(attempts) = self.attempts.get(key) {
                        let mut times = attempts.lock().unwrap_or_else(PoisonError::into_inner);
                        if let Some(at) = times.iter().rposition(|t| *t == admitted_at) {
                            times.remove(at);
                        }
                    }
                }
            }
        }
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
            max_failures_per_account_from_client: 2,
            max_failures_per_account: 3,
            max_hashes_per_client: 6,
            max_refreshes_per_session: 3,
            max_tracked_keys: 1_000,
        })
        .expect("throttle")
    }

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).expect("time")
    }

    const CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    const OTHER: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 9));

    /// The keys of a login to `account` from `client`.
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

    #[test]
    fn every_refresh_of_a_session_counts_even_when_it_succeeds() {
        let throttle = throttle();
        let one = [ThrottleKey::Refreshes("01SESSIONA".to_owned())];
        let other = [ThrottleKey::Refreshes("01SESSIONB".to_owned())];
        for second in 0..3 {
            throttle.try_admit(&one, at(second)).expect("admitted");
            throttle.settle(&one, at(second));
        }
        assert!(throttle.try_admit(&one, at(3)).is_err());
        throttle
            .try_admit(&other, at(3))
            .expect("another session has its own budget");
        throttle
            .try_admit(&one, at(61))
            .expect("the window moved on");
    }

    #[test]
    fn an_account_is_throttled_for_one_client_until_the_window_slides_on() {
        let throttle = throttle();
        let keys = login("ada@example.com", CLIENT);
        assert_eq!(throttle.try_admit(&keys, at(0)), Ok(()));
        assert_eq!(throttle.try_admit(&keys, at(10)), Ok(()));

        assert_eq!(throttle.try_admit(&keys, at(11)), waits(49));
        assert_eq!(throttle.try_admit(&keys, at(59)), waits(1));
        assert_eq!(
            throttle.try_admit(&keys, at(60)),
            Ok(()),
            "the first left the window"
        );
        // The owner, from elsewhere, still gets in.
        assert_eq!(
            throttle.try_admit(&login("ada@example.com", OTHER), at(61)),
            Ok(())
        );
    }

    #[test]
    fn an_account_guessed_from_many_clients_is_throttled_for_all() {
        let throttle = throttle();
        for (i, last) in [1_u8, 2, 3].into_iter().enumerate() {
            let client = IpAddr::V4(Ipv4Addr::new(203, 0, 113, last));
            let when = at(i64::try_from(i).expect("small"));
            assert_eq!(
                throttle.try_admit(&login("ada@example.com", client), when),
                Ok(())
            );
        }
        assert_eq!(
            throttle.try_admit(&login("ada@example.com", OTHER), at(5)),
            waits(55)
        );
    }

    #[test]
    fn a_client_guessing_many_accounts_is_throttled() {
        let throttle = throttle();
        for (i, name) in ["a", "b", "c", "d"].iter().enumerate() {
            let when = at(i64::try_from(i).expect("small"));
            assert_eq!(throttle.try_admit(&login(name, CLIENT), when), Ok(()));
        }
        assert_eq!(throttle.try_admit(&login("e", CLIENT), at(5)), waits(55));
    }

    #[test]
    fn success_takes_its_attempt_back_and_clears_the_account_but_hashes_still_count() {
        let throttle = throttle();
        let keys = login("ada@example.com", CLIENT);
        assert_eq!(throttle.try_admit(&keys, at(0)), Ok(()));
        throttle.settle(&keys, at(0));
        for second in 1..=5 {
            assert_eq!(throttle.try_admit(&keys, at(second)), Ok(()), "{second}");
            throttle.settle(&keys, at(second));
        }
        // Six hashes within the window: the seventh waits, success or not.
        assert_eq!(throttle.try_admit(&keys, at(6)), waits(54));
    }

    /// The owner's success clears their own address's failures for the account, not the
    /// account-wide tally of failures from elsewhere.
    #[test]
    fn a_success_keeps_the_failures_from_elsewhere() {
        let throttle = throttle();
        let attackers = [1_u8, 2].map(|last| IpAddr::V4(Ipv4Addr::new(203, 0, 113, last)));
        for (i, attacker) in attackers.iter().enumerate() {
            let when = at(i64::try_from(i).expect("small"));
            assert_eq!(
                throttle.try_admit(&login("ada@example.com", *attacker), when),
                Ok(())
            );
        }
        let owner = login("ada@example.com", OTHER);
        assert_eq!(throttle.try_admit(&owner, at(3)), Ok(()));
        throttle.settle(&owner, at(3));
        let third = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 3));
        assert_eq!(
            throttle.try_admit(&login("ada@example.com", third), at(4)),
            Ok(())
        );
        assert_eq!(
            throttle.try_admit(&login("ada@example.com", CLIENT), at(5)),
            waits(55),
            "three failures from elsewhere reach the account-wide limit"
        );
    }

    /// Concurrent attempts are counted as they are admitted: of many at once, only as
    /// many as the limit get through, not all of them before any fails.
    #[test]
    fn concurrent_attempts_cannot_overrun_the_limit() {
        let throttle = Arc::new(throttle());
        let admitted: usize = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..32)
                .map(|_| {
                    let throttle = Arc::clone(&throttle);
                    scope.spawn(move || {
                        usize::from(
                            throttle
                                .try_admit(&login("ada@example.com", CLIENT), at(0))
                                .is_ok(),
                        )
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
        });
        assert_eq!(admitted, 2);
    }

    /// A flood of distinct keys does not grow the table past its bound.
    #[test]
    fn the_number_of_keys_is_bounded() {
        let throttle = throttle();
        for i in 0..5_000_u32 {
            let account = format!("guess-{i}@example.com");
            let client = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i));
            let _ = throttle.try_admit(&login(&account, client), at(0));
        }
        throttle.attempts.run_pending_tasks();
        assert!(
            throttle.attempts.entry_count() <= 1_000,
            "{}",
            throttle.attempts.entry_count()
        );
    }
}
