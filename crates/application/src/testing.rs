//! Mocks of every port, with permissive defaults each test narrows.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use roster_domain::{
    ChangeRecord, Email, NewUser, Password, PasswordHash, RefreshDigest, Role, SessionPolicy,
    Status, TokenRevocation, User, UserChange, UserEventKind, UserId, UserName,
    ports::{
        LoginOutcome, MockAuditLog, MockAuthorizer, MockBusinessMetrics, MockClock,
        MockLoginThrottle, MockPasswordHasher, MockRevocationStore, MockSessionStore,
        MockTokenAuthority, MockUserRepository, RevocationScope, ThrottleKey,
    },
};

use crate::Ports;

pub(crate) fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000 + seconds, 0).unwrap_or_default()
}

/// "Now" in every test.
pub(crate) const NOW: i64 = 60;
/// The client address of every request in tests.
pub(crate) const CLIENT: std::net::IpAddr =
    std::net::IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 7));
/// The token lifetime the mocked authority reports.
pub(crate) const TOKEN_LIFETIME_MINUTES: i64 = 15;

/// Sessions in tests: idle after an hour, over after a day, three per user.
pub(crate) const SESSIONS: SessionPolicy = SessionPolicy {
    idle_timeout: chrono::Duration::hours(1),
    lifetime: chrono::Duration::days(1),
    max_per_user: 3,
};

pub(crate) fn hash(text: &str) -> PasswordHash {
    PasswordHash::from_phc(format!("$argon2id$v=19$m=19456,t=2,p=1${text}")).expect("phc")
}

pub(crate) fn new_user(email: &str) -> NewUser {
    NewUser {
        email: Email::parse(email).expect("email"),
        name: UserName::parse("Ada Lovelace").expect("name"),
        role: Role::Member,
        status: Status::Active,
        password: Password::new("correct horse battery staple"),
    }
}

pub(crate) fn stored_user(email: &str, version: u64) -> User {
    let mut user = User::create(UserId::generate(), new_user(email), at(0))
        .with_password(hash("stored"), at(0));
    user.version = version;
    user
}

/// The mocks; `ports()` hands them to a service.
pub(crate) struct Mocks {
    pub users: MockUserRepository,
    pub authorizer: MockAuthorizer,
    pub hasher: MockPasswordHasher,
    pub revocations: MockRevocationStore,
    pub sessions: MockSessionStore,
    pub tokens: MockTokenAuthority,
    pub throttle: MockLoginThrottle,
    pub metrics: MockBusinessMetrics,
    pub audit: MockAuditLog,
    /// What the use cases counted, in order.
    pub counted: Arc<Mutex<Vec<Counted>>>,
}

/// One call of the `BusinessMetrics` port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Counted {
    Login(LoginOutcome),
    Revoked(RevocationScope),
    User(UserEventKind),
}

impl Mocks {
    /// Everything allowed, events recorded, hashing instant; repositories, revocations,
    /// tokens and throttling expect nothing unless a test says so.
    pub(crate) fn new() -> Self {
        let mut authorizer = MockAuthorizer::new();
        authorizer.expect_authorize().returning(|_, _| Ok(()));
        let mut hasher = MockPasswordHasher::new();
        hasher
            .expect_hash()
            .returning(|password| Ok(hash(&format!("of-{}", password.expose().len()))));
        let counted = Arc::new(Mutex::new(Vec::new()));
        let mut metrics = MockBusinessMetrics::new();
        let sink = Arc::clone(&counted);
        metrics
            .expect_login()
            .returning(move |outcome| sink.lock().expect("lock").push(Counted::Login(outcome)));
        let sink = Arc::clone(&counted);
        metrics
            .expect_tokens_revoked()
            .returning(move |scope| sink.lock().expect("lock").push(Counted::Revoked(scope)));
        let sink = Arc::clone(&counted);
        metrics
            .expect_user_changed()
            .returning(move |kind| sink.lock().expect("lock").push(Counted::User(kind)));
        let mut tokens = MockTokenAuthority::new();
        tokens
            .expect_lifetime()
            .return_const(chrono::Duration::minutes(TOKEN_LIFETIME_MINUTES));
        tokens.expect_mint_refresh().returning(|session| {
            (
                format!("refresh-{session}"),
                RefreshDigest::new(format!("digest-{session}")),
            )
        });
        Self {
            users: MockUserRepository::new(),
            authorizer,
            hasher,
            revocations: MockRevocationStore::new(),
            sessions: MockSessionStore::new(),
            tokens,
            throttle: MockLoginThrottle::new(),
            metrics,
            audit: MockAuditLog::new(),
            counted,
        }
    }

    /// Expects every token of `id` to be revoked once, as of [`NOW`], for the token
    /// lifetime, recorded as one `TokensRevoked` event.
    pub(crate) fn revoking_all_once(&mut self, id: UserId) {
        self.revocations
            .expect_revoke_all()
            .with(
                mockall::predicate::eq(id),
                mockall::predicate::eq(at(NOW)),
                mockall::predicate::eq(at(NOW) + chrono::Duration::minutes(TOKEN_LIFETIME_MINUTES)),
                mockall::predicate::function(|record: &ChangeRecord| {
                    record.changes == [UserChange::TokensRevoked]
                        && record.at == at(NOW)
                        && record.provenance.request_id.as_deref() == Some(REQUEST_ID)
                }),
            )
            .times(1)
            .returning(|_, _, _, _| Ok(()));
    }

    /// The revocation of every token issued until [`NOW`], as a write carries it.
    pub(crate) fn revocation_now() -> TokenRevocation {
        TokenRevocation {
            before: at(NOW),
            until: at(NOW) + chrono::Duration::minutes(TOKEN_LIFETIME_MINUTES),
        }
    }

    /// Expects one password hash to be admitted against [`CLIENT`]'s budget.
    pub(crate) fn admitting_one_hash(&mut self) {
        self.throttle
            .expect_admit()
            .withf(|keys, _| keys == [ThrottleKey::Hashes(CLIENT)])
            .times(1)
            .returning(|_, _| Ok(()));
    }

    /// The repository finds `user`, whatever id it is asked for.
    pub(crate) fn finding(&mut self, user: &User) {
        let found = user.clone();
        self.users
            .expect_find()
            .returning(move |_| Ok(Some(found.clone())));
    }

    /// The repository finds `user`, whatever e-mail address it is asked for.
    pub(crate) fn finding_by_email(&mut self, user: &User) {
        let found = user.clone();
        self.users
            .expect_find_by_email()
            .returning(move |_| Ok(Some(found.clone())));
    }

    pub(crate) fn ports(self) -> Ports {
        let mut clock = MockClock::new();
        clock.expect_now().return_const(at(NOW));
        Ports {
            users: Arc::new(self.users),
            clock: Arc::new(clock),
            authorizer: Arc::new(self.authorizer),
            hasher: Arc::new(self.hasher),
            revocations: Arc::new(self.revocations),
            sessions: Arc::new(self.sessions),
            tokens: Arc::new(self.tokens),
            throttle: Arc::new(self.throttle),
            metrics: Arc::new(self.metrics),
            audit: Arc::new(self.audit),
            context: Arc::new(InRequest),
        }
    }
}

/// The request id every use case in tests serves.
pub(crate) const REQUEST_ID: &str = "01TESTREQUEST";

/// Every use case in tests runs in request [`REQUEST_ID`], trace `0af7…`.
struct InRequest;

impl roster_domain::ports::RequestContext for InRequest {
    fn provenance(&self) -> roster_domain::Provenance {
        roster_domain::Provenance {
            request_id: Some(REQUEST_ID.to_owned()),
            trace_id: Some("0af7651916cd43dd8448eb211c80319c".to_owned()),
        }
    }
}
