//! [`Argon2Hasher`]: argon2id off the async executor, with bounded concurrency and a
//! bounded queue.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use anyhow::{Context as _, anyhow};
use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, Version};
use async_trait::async_trait;
use roster_domain::{
    Password, PasswordHash,
    ports::{HashError, PasswordCheck, PasswordHasher},
};
use serde::{Deserialize, Serialize};
use tokio::sync::{OnceCell, Semaphore};

/// The argon2id cost and how much hashing may run at once.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordHashingSettings {
    /// Memory per hash, in KiB (OWASP's minimum for argon2id: 19456, i.e. 19 MiB).
    pub memory_kib: u32,
    /// Passes over the memory.
    pub iterations: u32,
    /// Lanes per hash.
    pub parallelism: u32,
    /// Hashes computed at once; the number of CPUs when absent.
    pub max_concurrent: Option<usize>,
    /// Hash jobs allowed to wait for a slot; past that, requests get 503 at once.
    pub max_waiting: usize,
}

impl Default for PasswordHashingSettings {
    fn default() -> Self {
        Self {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
            max_concurrent: None,
            max_waiting: 32,
        }
    }
}

impl PasswordHashingSettings {
    fn params(&self) -> anyhow::Result<Params> {
        Params::new(self.memory_kib, self.iterations, self.parallelism, None)
            .map_err(|e| anyhow!("invalid argon2 parameters: {e}"))
    }

    /// Checks what deserialisation cannot; each message names its key.
    pub fn validate(&self, prefix: &str) -> Result<(), String> {
        self.params().map_err(|e| format!("{prefix}: {e:#}"))?;
        if self.max_concurrent == Some(0) {
            return Err(format!("{prefix}.max_concurrent must be at least 1"));
        }
        Ok(())
    }
}

/// Argon2id password hashing. Each hash runs on tokio's blocking pool, at most
/// `max_concurrent` at a time; at most `max_waiting` more wait, and the next ones are
/// refused with [`HashError::Busy`].
#[derive(Debug, Clone)]
pub struct Argon2Hasher {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    params: Params,
    slots: Semaphore,
    waiting: AtomicUsize,
    max_waiting: usize,
    /// A hash of a random password with the current parameters, for `verify_dummy`.
    dummy: OnceCell<PasswordHash>,
}

impl Argon2Hasher {
    pub fn new(settings: &PasswordHashingSettings) -> anyhow::Result<Self> {
        let params = settings.params()?;
        let concurrency = settings.max_concurrent.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
        });
        Ok(Self {
            inner: Arc::new(Inner {
                params,
                slots: Semaphore::new(concurrency),
                waiting: AtomicUsize::new(0),
                max_waiting: settings.max_waiting,
                dummy: OnceCell::new(),
            }),
        })
    }

    fn argon2(params: Params) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
    }

    /// Runs `job` on the blocking pool once a slot is free, or refuses at once when
    /// too many jobs already wait.
    async fn run<R: Send + 'static>(
        &self,
        job: impl FnOnce(Params) -> anyhow::Result<R> + Send + 'static,
    ) -> Result<R, HashError> {
        let inner = &self.inner;
        let queued = inner.waiting.fetch_add(1, Ordering::SeqCst);
        // A free slot means no waiting: only count as waiting when all slots are busy.
        if queued >= inner.max_waiting && inner.slots.available_permits() == 0 {
            inner.waiting.fetch_sub(1, Ordering::SeqCst);
            tracing::warn!(
                waiting = queued,
                "password hashing saturated: request refused"
            );
            return Err(HashError::Busy);
        }
        let permit = inner.slots.acquire().await;
        inner.waiting.fetch_sub(1, Ordering::SeqCst);
        let _permit = permit.context("the hashing pool is closed")?;
        let params = inner.params.clone();
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || span.in_scope(|| job(params)))
            .await
            .context("a password hash job panicked")?
            .map_err(HashError::Unexpected)
    }

    async fn dummy(&self) -> Result<&PasswordHash, HashError> {
        self.inner
            .dummy
            .get_or_try_init(|| async {
                // Its value is irrelevant: it stands in for an account that does not
                // exist, whose login fails whatever the password.
                self.hash(&Password::new("roster dummy password")).await
            })
            .await
    }
}

#[async_trait]
impl PasswordHasher for Argon2Hasher {
    #[tracing::instrument(name = "password.hash", skip_all)]
    async fn hash(&self, password: &Password) -> Result<PasswordHash, HashError> {
        let password = password.clone();
        self.run(move |params| {
            let phc = Self::argon2(params)
                .hash_password(password.expose().as_bytes())
                .map_err(|e| anyhow!("argon2 hashing failed: {e}"))?;
            PasswordHash::from_phc(phc.to_string()).map_err(|e| anyhow!("{e}"))
        })
        .await
    }

    #[tracing::instrument(name = "password.verify", skip_all)]
    async fn verify(
        &self,
        password: &Password,
        hash: &PasswordHash,
    ) -> Result<PasswordCheck, HashError> {
        let password = password.clone();
        let hash = hash.clone();
        self.run(move |current| verify(&password, &hash, &current))
            .await
    }

    #[tracing::instrument(name = "password.verify", skip_all)]
    async fn verify_dummy(&self, password: &Password) -> Result<(), HashError> {
        let dummy = self.dummy().await?.clone();
        self.verify(password, &dummy).await.map(|_| ())
    }
}

/// Verifies with the parameters stored in the hash, and reports whether they differ
/// from the current ones.
fn verify(
    password: &Password,
    hash: &PasswordHash,
    current: &Params,
) -> anyhow::Result<PasswordCheck> {
    let parsed = argon2::password_hash::phc::PasswordHash::new(hash.as_str())
        .map_err(|e| anyhow!("stored password hash is malformed: {e}"))?;
    let stored =
        Params::try_from(&parsed).map_err(|e| anyhow!("stored password hash parameters: {e}"))?;
    let algorithm = Algorithm::try_from(parsed.algorithm.as_str())
        .map_err(|e| anyhow!("stored hash algorithm: {e}"))?;
    let version = parsed
        .version
        .map_or(Ok(Version::V0x13), Version::try_from)
        .map_err(|e| anyhow!("{e}"))?;
    let verifier = Argon2::new(algorithm, version, stored.clone());
    match argon2::PasswordVerifier::verify_password(
        &verifier,
        password.expose().as_bytes(),
        &parsed,
    ) {
        Ok(()) => {
            let outdated = algorithm != Algorithm::Argon2id
                || version != Version::V0x13
                || stored.m_cost() != current.m_cost()
                || stored.t_cost() != current.t_cost()
                || stored.p_cost() != current.p_cost();
            Ok(PasswordCheck::Match { outdated })
        }
        Err(argon2::password_hash::Error::PasswordInvalid) => Ok(PasswordCheck::Mismatch),
        Err(e) => Err(anyhow!("password verification failed: {e}")),
    }
}

#[cfg(test)]
mod tests {
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
}
