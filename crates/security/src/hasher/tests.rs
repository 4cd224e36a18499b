//! Hashing and verifying, the cost defaults, and the admission queue.

use super::*;

/// Cheap parameters: these tests are about behaviour, not cost.
fn settings() -> PasswordHashingSettings {
    PasswordHashingSettings {
        memory_kib: 1024,
        iterations: 1,
        ..PasswordHashingSettings::default()
    }
}

#[tokio::test]
async fn a_hash_verifies_its_password_only() {
    let hasher = Argon2Hasher::new(&settings()).expect("hasher");
    let password = Password::new("correct horse battery staple");

    let hash = hasher.hash(&password).await.expect("hash");

    assert!(
        hash.as_str().starts_with("$argon2id$v=19$m=1024,t=1,p=1$"),
        "{}",
        hash.as_str()
    );
    assert_eq!(
        hasher.verify(&password, &hash).await.expect("verify"),
        PasswordCheck::Match { outdated: false }
    );
    let wrong = Password::new("correct horse battery stable");
    assert_eq!(
        hasher.verify(&wrong, &hash).await.expect("verify"),
        PasswordCheck::Mismatch
    );
    assert_ne!(
        hasher.hash(&password).await.expect("hash"),
        hash,
        "every hash has its own salt"
    );
}

#[tokio::test]
async fn hashes_made_with_other_parameters_are_reported_outdated() {
    let old = Argon2Hasher::new(&settings()).expect("hasher");
    let password = Password::new("correct horse battery staple");
    let old_hash = old.hash(&password).await.expect("hash");

    let current = Argon2Hasher::new(&PasswordHashingSettings {
        iterations: 2,
        ..settings()
    })
    .expect("hasher");

    assert_eq!(
        current.verify(&password, &old_hash).await.expect("verify"),
        PasswordCheck::Match { outdated: true }
    );
    let wrong = Password::new("nope nope nope");
    assert_eq!(
        current.verify(&wrong, &old_hash).await.expect("verify"),
        PasswordCheck::Mismatch
    );
}

#[tokio::test]
async fn the_default_cost_is_owasps_minimum() {
    let hasher = Argon2Hasher::new(&PasswordHashingSettings::default()).expect("hasher");
    let hash = hasher
        .hash(&Password::new("correct horse battery staple"))
        .await
        .expect("hash");
    assert!(
        hash.as_str().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{}",
        hash.as_str()
    );
}

#[tokio::test]
async fn work_beyond_the_queue_is_refused_at_once() {
    let hasher = Argon2Hasher::new(&PasswordHashingSettings {
        max_concurrent: Some(1),
        max_waiting: 1,
        ..settings()
    })
    .expect("hasher");
    let password = Password::new("correct horse battery staple");

    // Polled in order: the first takes the only slot, the second waits, the third
    // finds the queue full.
    let (first, second, third) = tokio::join!(
        hasher.hash(&password),
        hasher.hash(&password),
        hasher.hash(&password)
    );

    assert!(first.is_ok() && second.is_ok(), "{first:?} {second:?}");
    assert!(matches!(third, Err(HashError::Busy)), "{third:?}");
    assert!(
        hasher.hash(&password).await.is_ok(),
        "capacity is back once the queue drained"
    );
}

#[tokio::test]
async fn dummy_verification_matches_nothing_and_malformed_hashes_are_errors() {
    let hasher = Argon2Hasher::new(&settings()).expect("hasher");
    hasher
        .verify_dummy(&Password::new("anything at all"))
        .await
        .expect("dummy");

    let garbage = PasswordHash::from_phc("$argon2id$garbage").expect("phc-shaped");
    let result = hasher.verify(&Password::new("x"), &garbage).await;
    assert!(
        matches!(result, Err(HashError::Unexpected(_))),
        "{result:?}"
    );
}

#[test]
fn invalid_parameters_are_reported_with_their_key() {
    let settings = PasswordHashingSettings {
        memory_kib: 1,
        ..PasswordHashingSettings::default()
    };
    let error = settings
        .validate("auth.password_hashing")
        .expect_err("too little memory");
    assert!(error.starts_with("auth.password_hashing"), "{error}");
}

/// Hashes computed in reused memory are the argon2 crate's own, both ways.
#[tokio::test]
async fn hashes_agree_with_the_argon2_crates_own() {
    use argon2::{PasswordHasher as _, PasswordVerifier as _};

    let hasher = Argon2Hasher::new(&settings()).expect("hasher");
    let password = Password::new("correct horse battery staple");
    let library = Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        settings().params().expect("params"),
    );

    let ours = hasher.hash(&password).await.expect("hash");
    let parsed = Phc::new(ours.as_str()).expect("phc");
    assert!(
        library
            .verify_password(b"correct horse battery staple", &parsed)
            .is_ok()
    );
    assert!(
        library
            .verify_password(b"something else entirely", &parsed)
            .is_err()
    );

    let theirs = library
        .hash_password(b"correct horse battery staple")
        .expect("hash");
    let theirs = PasswordHash::from_phc(theirs.to_string()).expect("phc");
    assert_eq!(
        hasher.verify(&password, &theirs).await.expect("verify"),
        PasswordCheck::Match { outdated: false }
    );
}

/// Hashes of "imported password 1" made by other implementations (Python's hashlib and
/// the `bcrypt` package), with cheap costs.
const FOREIGN_HASHES: [&str; 4] = [
    "$2b$04$A64jTB/v/xj.WOq768SAduKqUXsT.xCkfeYfKtTa4kQznh.LdO962",
    "$2a$04$q8a9g9RLIVWs7T23aeYeney/QLNentLmy45EUVCvRCnxtySwDTfWi",
    "$scrypt$ln=10,r=8,p=1$cm9zdGVyLXRlc3Qtc2FsdA$9k7OppdvLxlqP8xhGrRqVqjYHpQUqjA8oozto6QVMbg",
    "$pbkdf2-sha256$i=1000,l=32$cm9zdGVyLXRlc3Qtc2FsdA$6S1iQ35rU7HCmur/JJg4pfNC5mEzJmXMHvsyIRjSufc",
];

#[tokio::test]
async fn foreign_hashes_verify_their_password_only_and_are_always_outdated() {
    let hasher = Argon2Hasher::new(&settings()).expect("hasher");
    let password = Password::new("imported password 1");
    let wrong = Password::new("imported password 2");
    for text in FOREIGN_HASHES {
        let hash = PasswordHash::from_phc(text).expect("hash");
        assert_eq!(hasher.accepts(&hash), Ok(()), "{text}");
        assert_eq!(
            hasher.verify(&password, &hash).await.expect("verify"),
            PasswordCheck::Match { outdated: true },
            "{text}"
        );
        assert_eq!(
            hasher.verify(&wrong, &hash).await.expect("verify"),
            PasswordCheck::Mismatch,
            "{text}"
        );
    }
}

#[tokio::test]
async fn argon2i_hashes_are_accepted_and_outdated() {
    let hasher = Argon2Hasher::new(&settings()).expect("hasher");
    let password = Password::new("imported password 1");
    let params = Params::new(1024, 1, 1, None).expect("params");
    let argon2i = Argon2::new(Algorithm::Argon2i, Version::V0x13, params);
    let hash = argon2::password_hash::PasswordHasher::hash_password(
        &argon2i,
        password.expose().as_bytes(),
    )
    .expect("argon2i");
    let hash = PasswordHash::from_phc(hash.to_string()).expect("hash");
    assert!(hash.as_str().starts_with("$argon2i$"));
    assert_eq!(hasher.accepts(&hash), Ok(()));
    assert_eq!(
        hasher.verify(&password, &hash).await.expect("verify"),
        PasswordCheck::Match { outdated: true }
    );
}

#[test]
fn unknown_malformed_and_too_costly_hashes_are_refused_before_any_hashing() {
    let hasher = Argon2Hasher::new(&settings()).expect("hasher");
    let refused = |text: &str| {
        hasher
            .accepts(&PasswordHash::from_phc(text).expect("hash"))
            .map_err(|e| e.rule())
    };
    assert_eq!(refused("$1$salt$md5crypt"), Err("hash_scheme"));
    assert_eq!(
        refused("$pbkdf2-sha1$i=1000$c2FsdA$aGFzaA"),
        Err("hash_scheme")
    );
    assert_eq!(refused("$argon2id$v=19$m=1024"), Err("hash_format"));
    assert_eq!(refused("$2b$04$tooShort"), Err("hash_format"));
    assert_eq!(refused("$scrypt$ln=10$c2FsdA$aGFzaA"), Err("hash_format"));
    assert_eq!(
        refused("$2b$31$A64jTB/v/xj.WOq768SAduKqUXsT.xCkfeYfKtTa4kQznh.LdO962"),
        Err("hash_cost")
    );
    assert_eq!(
        refused(
            "$argon2id$v=19$m=4194304,t=1,p=1$cm9zdGVyLXRlc3Qtc2FsdA$9k7OppdvLxlqP8xhGrRqVqjYHpQUqjA8oozto6QVMbg"
        ),
        Err("hash_cost")
    );
    assert_eq!(
        refused(
            "$scrypt$ln=30,r=8,p=1$cm9zdGVyLXRlc3Qtc2FsdA$9k7OppdvLxlqP8xhGrRqVqjYHpQUqjA8oozto6QVMbg"
        ),
        Err("hash_cost")
    );
    assert_eq!(
        refused(
            "$pbkdf2-sha256$i=100000000,l=32$cm9zdGVyLXRlc3Qtc2FsdA$6S1iQ35rU7HCmur/JJg4pfNC5mEzJmXMHvsyIRjSufc"
        ),
        Err("hash_cost")
    );
}
