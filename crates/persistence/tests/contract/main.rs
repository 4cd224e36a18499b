//! The `UserRepository` contract, run against SQLite and PostgreSQL: every test body is
//! written once and runs on a fresh database of each backend.

#![expect(
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking; the test bodies are plain functions, which clippy's test allowances do not cover"
)]

mod admins;
mod audit;
mod caches;
mod credentials;
mod idempotency;
mod listing;
mod migrations;
mod outbox;
mod pool;
mod revocations;
mod sessions;
mod standing;
mod users;

use chrono::{Duration, SubsecRound as _};
use roster_domain::{
    Actor, ChangeRecord, Email, NewUser, Password, Role, Session, Status, TokenRevocation, User,
    UserChange, UserId, UserName, ports::Clock as _, ports::SystemClock,
};
use roster_persistence::{
    Backend, Database, DatabaseSettings, DieselUserRepository, testing::TestDatabase,
};

/// What a write records when the test is not about events: the system changed
/// nothing in particular.
pub(crate) fn record() -> ChangeRecord {
    ChangeRecord::new(
        &Actor::System,
        SystemClock.now(),
        vec![UserChange::Updated { fields: Vec::new() }],
    )
}

/// A migrated fresh database and a repository on it.
#[derive(Debug)]
pub(crate) struct Context {
    pub(crate) database: Database,
    pub(crate) users: DieselUserRepository,
    pub(crate) settings: DatabaseSettings,
    // Dropped last: removes the database once the pool is gone.
    _test_database: TestDatabase,
}

impl Context {
    /// `None` when the backend is PostgreSQL and it is unreachable outside CI.
    pub(crate) async fn new(backend: Backend) -> Option<Self> {
        Self::with_settings(backend, |_| {}).await
    }

    pub(crate) async fn with_settings(
        backend: Backend,
        adjust: impl FnOnce(&mut DatabaseSettings),
    ) -> Option<Self> {
        let test_database = TestDatabase::of(backend)?;
        let mut settings = test_database.settings();
        adjust(&mut settings);
        let database = Database::connect(&settings).await.expect("pool");
        database.run_migrations().await.expect("migrations");
        let users = DieselUserRepository::new(database.clone());
        Some(Self {
            database,
            users,
            settings,
            _test_database: test_database,
        })
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        self.database.close();
    }
}

pub(crate) fn user(email: &str) -> User {
    let new = NewUser {
        email: Email::parse(email).expect("email"),
        name: UserName::parse("Grace Hopper").expect("name"),
        role: Role::Member,
        status: Status::Active,
        password: Password::new("unused: the repository stores hashes"),
    };
    User::create(UserId::generate(), new, SystemClock.now())
}

/// Every token issued until now, kept for a 15-minute lifetime.
pub(crate) fn revocation() -> TokenRevocation {
    let now = SystemClock.now();
    TokenRevocation {
        before: now,
        until: now + Duration::minutes(15),
    }
}

/// A session of `user`'s (its token claiming admin), issued a minute ago.
pub(crate) fn session_of(user: &User) -> Session {
    let issued_at = SystemClock.now().trunc_subsecs(6) - Duration::minutes(1);
    Session {
        issued_at,
        expires_at: issued_at + Duration::minutes(15),
        ..Session::fake(user.id, Role::Admin)
    }
}
