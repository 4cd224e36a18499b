//! [`Argon2Hasher`]: argon2id on a fixed set of threads that reuse their memory, with
//! bounded concurrency and a bounded, cancellation-safe queue.

use std::sync::Arc;

use anyhow::anyhow;
use argon2::{
    Algorithm, Argon2, Params, Version,
    password_hash::phc::{Output, ParamsString, PasswordHash as Phc, Salt},
};
use async_trait::async_trait;
use opentelemetry::metrics::Meter;
use roster_domain::{
    Password, PasswordHash,
    ports::{HashError, HashRejection, PasswordCheck, PasswordHasher},
};
use serde::{Deserialize, Serialize};
use tokio::sync::OnceCell;

use self::{
    schemes::Scheme,
    workers::{Memory, Workers},
};

mod schemes;
mod workers;

fn count(value: usize) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

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
    /// Hashes computed at once (each on a thread of its own, keeping its memory); half
    /// the CPUs, at least one, when absent.
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

/// Argon2id password hashing on `max_concurrent` threads of its own, each reusing its
/// memory (see [`workers`]); at most `max_waiting` more jobs wait, and the next ones
/// are refused with [`HashError::Busy`].
#[derive(Debug, Clone)]
pub struct Argon2Hasher {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    params: Params,
    workers: Workers,
    /// A hash of a random password with the current parameters, for `verify_dummy`.
    dummy: OnceCell<PasswordHash>,
}

impl Argon2Hasher {
    pub fn new(settings: &PasswordHashingSettings) -> anyhow::Result<Self> {
        let params = settings.params()?;
        let concurrency = settings.max_concurrent.unwrap_or_else(default_concurrency);
        let workers = Workers::start(concurrency, settings.max_waiting, &params)?;
        Ok(Self {
            inner: Arc::new(Inner {
                params,
                workers,
                dummy: OnceCell::new(),
            }),
        })
    }

    /// Registers the hashing pool's metrics on `meter`:
    /// `roster.password_hashing.busy` (threads hashing now, out of
    /// `roster.password_hashing.threads`), `roster.password_hashing.waiting` (callers
    /// queued for one) and `roster.password_hashing.rejections` (callers refused with
    /// 503 because the queue was full).
    pub fn instrument(&self, meter: &Meter) {
        let inner = Arc::clone(&self.inner);
        meter
            .i64_observable_gauge("roster.password_hashing.busy")
            .with_unit("{thread}")
            .with_description("Hashing threads computing a hash now")
            .with_callback(move |observer| observer.observe(count(inner.workers.busy()), &[]))
            .build();
        let inner = Arc::clone(&self.inner);
        meter
            .i64_observable_gauge("roster.password_hashing.threads")
            .with_unit("{thread}")
            .with_description("Hashing threads (auth.password_hashing.max_concurrent)")
            .with_callback(move |observer| {
                observer.observe(count(inner.workers.concurrency()), &[]);
            })
            .build();
        let inner = Arc::clone(&self.inner);
        meter
            .i64_observable_gauge("roster.password_hashing.waiting")
            .with_unit("{request}")
            .with_description("Callers waiting for a hashing thread")
            .with_callback(move |observer| observer.observe(count(inner.workers.waiting()), &[]))
            .build();
        self.inner.workers.count_rejections(
            meter
                .u64_counter("roster.password_hashing.rejections")
                .with_unit("{request}")
                .with_description(
                    "Callers refused (503) because auth.password_hashing.max_waiting already waited",
                )
                .build(),
        );
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

/// Half the CPUs, at least one: a storm of logins leaves the other half to requests
/// that need no hash.
fn default_concurrency() -> usize {
    let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    cpus.div_ceil(2)
}

#[async_trait]
impl PasswordHasher for Argon2Hasher {
    #[tracing::instrument(name = "password.hash", skip_all)]
    async fn hash(&self, password: &Password) -> Result<PasswordHash, HashError> {
        let password = password.clone();
        let params = self.inner.params.clone();
        self.inner
            .workers
            .run(move |memory| hash(&password, &params, memory))
            .await
    }

    fn accepts(&self, hash: &PasswordHash) -> Result<(), HashRejection> {
        schemes::accept(hash).map(|_| ())
    }

    #[tracing::instrument(name = "password.verify", skip_all)]
    async fn verify(
        &self,
        password: &Password,
        hash: &PasswordHash,
    ) -> Result<PasswordCheck, HashError> {
        let password = password.clone();
        let hash = hash.clone();
        let current = self.inner.params.clone();
        self.inner
            .workers
            .run(move |memory| verify(&password, &hash, &current, memory))
            .await
    }

    #[tracing::instrument(name = "password.verify", skip_all)]
    async fn verify_dummy(&self, password: &Password) -> Result<(), HashError> {
        let dummy = self.dummy().await?.clone();
        self.verify(password, &dummy).await.map(|_| ())
    }
}

/// A new argon2id hash of `password` with a fresh salt, in PHC form.
fn hash(password: &Password, params: &Params, memory: &mut Memory) -> anyhow::Result<PasswordHash> {
    let salt = Salt::generate();
    let mut output = vec![0_u8; params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN)];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(
            password.expose().as_bytes(),
            salt.as_ref(),
            &mut output,
            memory.blocks(params),
        )
        .map_err(|e| anyhow!("argon2 hashing failed: {e}"))?;
    let phc = Phc {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).map_err(|e| anyhow!("argon2 parameters: {e}"))?,
        salt: Some(salt),
        hash: Some(Output::new(&output).map_err(|e| anyhow!("argon2 output: {e}"))?),
    };
    PasswordHash::from_phc(phc.to_string()).map_err(|e| anyhow!("{e}"))
}

/// Verifies with the scheme and parameters stored in the hash, and reports whether they
/// differ from the current ones. A hash of another scheme than argon2 (imported) is
/// always outdated.
fn verify(
    password: &Password,
    hash: &PasswordHash,
    current: &Params,
    memory: &mut Memory,
) -> anyhow::Result<PasswordCheck> {
    match Scheme::of(hash.as_str()) {
        Some(Scheme::Argon2) => {}
        Some(_) => {
            let scheme = schemes::accept(hash).map_err(|e| anyhow!("stored password hash {e}"))?;
            return Ok(if schemes::verify_foreign(password, hash, scheme)? {
                PasswordCheck::Match { outdated: true }
            } else {
                PasswordCheck::Mismatch
            });
        }
        None => return Err(anyhow!("stored password hash is of an unknown scheme")),
    }
    let parsed =
        Phc::new(hash.as_str()).map_err(|e| anyhow!("stored password hash is malformed: {e}"))?;
    let stored =
        Params::try_from(&parsed).map_err(|e| anyhow!("stored password hash parameters: {e}"))?;
    let algorithm = Algorithm::try_from(parsed.algorithm.as_str())
        .map_err(|e| anyhow!("stored hash algorithm: {e}"))?;
    let version = parsed
        .version
        .map_or(Ok(Version::V0x13), Version::try_from)
        .map_err(|e| anyhow!("{e}"))?;
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return Err(anyhow!("stored password hash has no salt or no output"));
    };
    let mut output = vec![0_u8; expected.len()];
    Argon2::new(algorithm, version, stored.clone())
        .hash_password_into_with_memory(
            password.expose().as_bytes(),
            salt.as_ref(),
            &mut output,
            memory.blocks(&stored),
        )
        .map_err(|e| anyhow!("password verification failed: {e}"))?;
    // `Output`'s equality is constant-time.
    let computed = Output::new(&output).map_err(|e| anyhow!("argon2 output: {e}"))?;
    if computed != *expected {
        return Ok(PasswordCheck::Mismatch);
    }
    let outdated = algorithm != Algorithm::Argon2id
        || version != Version::V0x13
        || stored.m_cost() != current.m_cost()
        || stored.t_cost() != current.t_cost()
        || stored.p_cost() != current.p_cost();
    Ok(PasswordCheck::Match { outdated })
}

#[cfg(test)]
mod tests;
