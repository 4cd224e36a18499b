//! What the persistence adapter keeps in memory, and how it stays true when another
//! process changes the database.
//!
//! Three bounded moka caches, read on the hot path: users by id (`find`), each user's
//! standing (role, status, the instant before which their tokens are revoked), and
//! whether a token is revoked alone. Every write that changes what they hold
//! invalidates its entries here once committed, and, on PostgreSQL, sends a `NOTIFY`
//! in its own transaction, which every other instance's listener turns into the same
//! invalidation (see [`listener`]).
//!
//! Consistency: on one instance, a write is seen by the next read. Across instances on
//! PostgreSQL, the caches are trusted only while the listener has confirmed its
//! connection within [`TRUST_WINDOW`]; past that (a lost, slow or partitioned
//! connection) every read goes to the database, and a reconnection flushes
//! everything, since notifications may have been missed. On SQLite (one server
//! process per file) an entry lives at most one second, which bounds what a second
//! process on the same file (the command line) can leave stale.
//!
//! A read that fills a cache records the invalidation epoch before it reads the
//! database, and drops what it inserted if any invalidation happened since: a fill
//! racing with a write can never leave the older value behind.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use moka::sync::Cache;
use roster_domain::{Role, Status, User};
use serde::{Deserialize, Serialize};

use crate::backend::Backend;

pub(crate) mod listener;

/// How long a confirmed listener connection keeps the caches trusted.
pub(crate) const TRUST_WINDOW: Duration = Duration::from_millis(750);

/// How long an entry lives on SQLite, where no other process announces its writes.
const SQLITE_TIME_TO_LIVE: Duration = Duration::from_secs(1);

/// The `database.cache` section of the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct CacheSettings {
    /// Serve users, standings and revocations from memory where that is safe.
    pub enabled: bool,
    /// Most entries in each of the three caches.
    pub max_entries: u64,
    /// Longest an entry lives, however quiet the database (PostgreSQL; SQLite's
    /// entries live one second).
    #[serde(with = "humantime_serde")]
    pub time_to_live: Duration,
}

impl Default for CacheSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            max_entries: 10_000,
            time_to_live: Duration::from_secs(60),
        }
    }
}

/// A user's standing as stored: what decides whether their tokens still count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Principal {
    pub(crate) role: Role,
    pub(crate) status: Status,
    pub(crate) revoked_before: Option<DateTime<Utc>>,
}

/// The caches, shared by every clone of a `Database`; or nothing when disabled.
#[derive(Clone, Default)]
pub(crate) struct Caches(Option<Arc<Inner>>);

struct Inner {
    users: Cache<String, User>,
    principals: Cache<String, Principal>,
    revoked_tokens: Cache<String, bool>,
    /// Bumped by every invalidation.
    epoch: AtomicU64,
    /// Trusted until this many milliseconds after `started`; `u64::MAX` on SQLite.
    trusted_until: AtomicU64,
    started: Instant,
}

/// The epoch a fill started at; `None` when the caches are not to be used.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fill(Option<u64>);

impl Caches {
    pub(crate) fn new(settings: &CacheSettings, backend: Backend) -> Self {
        if !settings.enabled {
            return Self(None);
        }
        let time_to_live = match backend {
            Backend::Sqlite => SQLITE_TIME_TO_LIVE,
            Backend::Postgres => settings.time_to_live,
        };
        let entries = settings.max_entries;
        let trusted_until = match backend {
            Backend::Sqlite => u64::MAX,
            // Untrusted until the listener is connected.
            Backend::Postgres => 0,
        };
        Self(Some(Arc::new(Inner {
            users: bounded(entries, time_to_live),
            principals: bounded(entries, time_to_live),
            revoked_tokens: bounded(entries, time_to_live),
            epoch: AtomicU64::new(0),
            trusted_until: AtomicU64::new(trusted_until),
            started: Instant::now(),
        })))
    }

    /// The caches, if enabled and trusted now.
    fn trusted(&self) -> Option<&Inner> {
        let inner = self.0.as_deref()?;
        let now = millis(inner.started.elapsed());
        (now < inner.trusted_until.load(Ordering::SeqCst)).then_some(inner)
    }

    pub(crate) fn user(&self, id: &str) -> Option<User> {
        self.trusted()?.users.get(id)
    }

    pub(crate) fn standing(&self, user_id: &str, token_id: &str) -> Option<(Principal, bool)> {
        let inner = self.trusted()?;
        Some((
            inner.principals.get(user_id)?,
            inner.revoked_tokens.get(token_id)?,
        ))
    }

    /// Call before reading what is to be cached.
    pub(crate) fn begin_fill(&self) -> Fill {
        Fill(
            self.trusted()
                .map(|inner| inner.epoch.load(Ordering::SeqCst)),
        )
    }

    pub(crate) fn fill_user(&self, fill: Fill, user: &User) {
        let id = user.id.to_string();
        self.fill(
            fill,
            |inner| inner.users.insert(id.clone(), user.clone()),
            |inner| {
                inner.users.invalidate(&id);
            },
        );
    }

    pub(crate) fn fill_standing(
        &self,
        fill: Fill,
        user_id: &str,
        principal: Principal,
        token_id: &str,
        revoked: bool,
    ) {
        self.fill(
            fill,
            |inner| {
                inner.principals.insert(user_id.to_owned(), principal);
                inner.revoked_tokens.insert(token_id.to_owned(), revoked);
            },
            |inner| {
                inner.principals.invalidate(user_id);
                inner.revoked_tokens.invalidate(token_id);
            },
        );
    }

    fn fill(&self, fill: Fill, insert: impl FnOnce(&Inner), undo: impl FnOnce(&Inner)) {
        let (Some(epoch), Some(inner)) = (fill.0, self.0.as_deref()) else {
            return;
        };
        insert(inner);
        // Invalidated since the read began: what was read may be older than the write.
        if inner.epoch.load(Ordering::SeqCst) != epoch || self.trusted().is_none() {
            undo(inner);
        }
    }

    /// The user changed (or went): forget them and their standing.
    pub(crate) fn user_changed(&self, id: &str) {
        if let Some(inner) = self.0.as_deref() {
            inner.epoch.fetch_add(1, Ordering::SeqCst);
            inner.users.invalidate(id);
            inner.principals.invalidate(id);
        }
    }

    /// The token was revoked alone.
    pub(crate) fn token_revoked(&self, token_id: &str) {
        if let Some(inner) = self.0.as_deref() {
            inner.epoch.fetch_add(1, Ordering::SeqCst);
            inner.revoked_tokens.invalidate(token_id);
        }
    }

    /// Forgets everything (notifications may have been missed).
    pub(crate) fn flush(&self) {
        if let Some(inner) = self.0.as_deref() {
            inner.epoch.fetch_add(1, Ordering::SeqCst);
            inner.users.invalidate_all();
            inner.principals.invalidate_all();
            inner.revoked_tokens.invalidate_all();
        }
    }

    /// The listener confirmed its connection at `at`: trust the caches until
    /// [`TRUST_WINDOW`] after it.
    pub(crate) fn confirm(&self, at: Instant) {
        if let Some(inner) = self.0.as_deref() {
            let until = millis(at.saturating_duration_since(inner.started) + TRUST_WINDOW);
            inner.trusted_until.fetch_max(until, Ordering::SeqCst);
        }
    }

    /// The listener lost its connection: trust nothing from now on.
    pub(crate) fn distrust(&self) {
        if let Some(inner) = self.0.as_deref() {
            inner.trusted_until.store(0, Ordering::SeqCst);
            self.flush();
        }
    }

    /// Applies a change another instance announced (the payload of a notification).
    pub(crate) fn apply(&self, payload: &str) {
        match payload.split_once(':') {
            Some(("u", id)) => self.user_changed(id),
            Some(("t", id)) => self.token_revoked(id),
            _ => self.flush(),
        }
    }

    pub(crate) fn is_enabled(&self) -> bool {
        self.0.is_some()
    }
}

fn bounded<V: Clone + Send + Sync + 'static>(
    entries: u64,
    time_to_live: Duration,
) -> Cache<String, V> {
    Cache::builder()
        .max_capacity(entries)
        .time_to_live(time_to_live)
        .build()
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// The payload announcing that the user with this id changed.
pub(crate) fn user_payload(id: &str) -> String {
    format!("u:{id}")
}

/// The payload announcing that this token was revoked.
pub(crate) fn token_payload(id: &str) -> String {
    format!("t:{id}")
}

#[cfg(test)]
mod tests {
    use roster_domain::{Email, NewUser, Password, UserId, UserName};

    use super::*;

    fn ada() -> User {
        let new = NewUser {
            email: Email::parse("ada@example.com").expect("email"),
            name: UserName::parse("Ada").expect("name"),
            role: Role::Member,
            status: Status::Active,
            password: Password::new("unused here"),
        };
        User::create(UserId::generate(), new, Utc::now())
    }

    fn caches(backend: Backend) -> Caches {
        Caches::new(&CacheSettings::default(), backend)
    }

    #[test]
    fn a_fill_that_raced_an_invalidation_leaves_nothing_behind() {
        let caches = caches(Backend::Sqlite);
        let user = ada();
        let id = user.id.to_string();

        let fill = caches.begin_fill();
        // The write commits and invalidates while the read is under way.
        caches.user_changed(&id);
        caches.fill_user(fill, &user);
        assert_eq!(caches.user(&id), None);

        let fill = caches.begin_fill();
        caches.fill_user(fill, &user);
        assert_eq!(caches.user(&id), Some(user));
    }

    #[test]
    fn postgres_caches_serve_only_while_the_listener_confirms() {
        let caches = caches(Backend::Postgres);
        let user = ada();
        let id = user.id.to_string();

        caches.fill_user(caches.begin_fill(), &user);
        assert_eq!(caches.user(&id), None, "no listener yet: nothing kept");

        caches.confirm(Instant::now());
        caches.fill_user(caches.begin_fill(), &user);
        assert_eq!(caches.user(&id), Some(user.clone()));

        caches.distrust();
        assert_eq!(caches.user(&id), None, "lost: nothing served");
        caches.confirm(Instant::now());
        assert_eq!(caches.user(&id), None, "and nothing kept across the gap");

        caches.fill_user(caches.begin_fill(), &user);
        let long_ago = Instant::now()
            .checked_sub(TRUST_WINDOW * 4)
            .expect("an earlier instant");
        caches.distrust();
        caches.confirm(long_ago);
        assert_eq!(caches.user(&id), None, "a confirmation too old to trust");
    }

    #[test]
    fn announcements_invalidate_what_they_name() {
        let caches = caches(Backend::Sqlite);
        let user = ada();
        let id = user.id.to_string();
        let principal = Principal {
            role: Role::Member,
            status: Status::Active,
            revoked_before: None,
        };
        caches.fill_user(caches.begin_fill(), &user);
        caches.fill_standing(caches.begin_fill(), &id, principal, "token", false);
        assert!(caches.standing(&id, "token").is_some());

        caches.apply(&token_payload("token"));
        assert!(caches.standing(&id, "token").is_none());
        assert!(caches.user(&id).is_some(), "only the token was named");

        caches.apply(&user_payload(&id));
        assert!(caches.user(&id).is_none());
        caches.fill_user(caches.begin_fill(), &user);
        caches.apply("something unknown");
        assert!(
            caches.user(&id).is_none(),
            "unknown news flushes everything"
        );
    }
}
