//! What authentication costs: one login's password verification at the default
//! (OWASP minimum) argon2id parameters, a token's first verification, one request's
//! token work (a token seen before), and refusing crafted tokens.
//! `just bench` runs it; numbers go in the closing notes, not in assertions.

#![expect(
    clippy::expect_used,
    reason = "a benchmark's set-up failing is a bug to see at once"
)]

use std::time::Duration;

use chrono::Utc;
use criterion::{Criterion, criterion_group, criterion_main};
use roster_domain::{
    AccessRequest, Actor, Operation, Password, Resource, Role, UserId,
    ports::{Authorizer as _, PasswordHasher as _, TokenAuthority as _},
};
use roster_security::{Argon2Hasher, BiscuitAuthority, PasswordHashingSettings, SigningKeys};

fn password_hashing(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let hasher = Argon2Hasher::new(&PasswordHashingSettings::default()).expect("hasher");
    let password = Password::new("correct horse battery staple");
    let hash = runtime.block_on(hasher.hash(&password)).expect("hash");

    let mut group = c.benchmark_group("argon2id m=19456 t=2 p=1");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(10));
    group.bench_function("verify (one login)", |b| {
        b.iter(|| {
            runtime
                .block_on(hasher.verify(&password, &hash))
                .expect("verify")
        });
    });
    group.bench_function("hash (create, password change)", |b| {
        b.iter(|| runtime.block_on(hasher.hash(&password)).expect("hash"));
    });
    group.finish();
}

/// One private key for the benchmarks that build authorities afresh.
fn authority_key_for_bench() -> biscuit_auth::PrivateKey {
    biscuit_auth::KeyPair::new().private()
}

fn token_verification(c: &mut Criterion) {
    let keys = SigningKeys {
        current: biscuit_auth::KeyPair::new(),
        current_id: 1,
        previous: vec![],
    };
    let authority = BiscuitAuthority::new(keys, Duration::from_secs(900)).expect("authority");
    let user = UserId::generate();
    let token = authority
        .issue(user, Role::Member, Utc::now())
        .expect("issue")
        .token;

    let private = authority_key_for_bench();
    c.bench_function(
        "token: first authentication of a token (parse, checks, signature)",
        |b| {
            b.iter_batched(
                || {
                    let keys = SigningKeys {
                        current: biscuit_auth::KeyPair::from(&private),
                        current_id: 1,
                        previous: vec![],
                    };
                    let fresh =
                        BiscuitAuthority::new(keys, Duration::from_secs(900)).expect("authority");
                    let token = fresh
                        .issue(user, Role::Member, Utc::now())
                        .expect("issue")
                        .token;
                    (fresh, token)
                },
                |(fresh, token)| {
                    fresh
                        .authenticate(&token, Utc::now())
                        .expect("authenticate")
                },
                criterion::BatchSize::SmallInput,
            );
        },
    );

    c.bench_function("token: authenticate + authorize (one request)", |b| {
        b.iter(|| {
            let now = Utc::now();
            let session = authority.authenticate(&token, now).expect("authenticate");
            let request = AccessRequest {
                operation: Operation::Read,
                resource: Resource::User(user),
                at: now,
            };
            authority
                .authorize(&Actor::User(session), &request)
                .expect("authorize");
        });
    });
}

/// What refusing a token built to be expensive costs: the rule that once held a worker
/// for 19.7 s, and a token of 100 KiB.
fn crafted_tokens(c: &mut Criterion) {
    let key = biscuit_auth::KeyPair::new();
    let public = key.public();
    let keys = SigningKeys {
        current: key,
        current_id: 1,
        previous: vec![],
    };
    let authority = BiscuitAuthority::new(keys, Duration::from_secs(900)).expect("authority");
    let token = authority
        .issue(UserId::generate(), Role::Admin, Utc::now())
        .expect("issue")
        .token;
    let facts = (0..30)
        .map(|i| format!("f({i});"))
        .collect::<Vec<_>>()
        .concat();
    let rule = "g(1) <- f($a), f($b), f($c), f($d), f($e), f($f), $a == -1;";
    let block = biscuit_auth::BlockBuilder::new()
        .code(format!("{facts}{rule}"))
        .expect("datalog");
    let cartesian = biscuit_auth::Biscuit::from_base64(&token, public)
        .and_then(|t| t.append(block))
        .and_then(|t| t.to_base64())
        .expect("crafted");
    let oversized = format!("{token}{}", "A".repeat(100 * 1024));

    c.bench_function("token: refuse a Cartesian rule of six variables", |b| {
        b.iter(|| assert!(authority.authenticate(&cartesian, Utc::now()).is_err()));
    });
    c.bench_function("token: refuse a 100 KiB token", |b| {
        b.iter(|| assert!(authority.authenticate(&oversized, Utc::now()).is_err()));
    });
}

criterion_group!(
    benches,
    password_hashing,
    token_verification,
    crafted_tokens
);
criterion_main!(benches);
