//! [`PasswordHasher`]: turns passwords into hashes and checks them.

use async_trait::async_trait;

use crate::user::{Password, PasswordHash};

/// Why hashing or verifying failed.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// Too many hash jobs are already waiting: refused at once so that a flood of
    /// logins cannot starve other requests or exhaust memory. Retrying later may work.
    #[error("too many password hash jobs are waiting")]
    Busy,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Why a hash made elsewhere (an import) is not taken; [`HashRejection::rule`] names
/// the rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HashRejection {
    #[error(
        "is not a hash of a supported scheme (argon2id, argon2i, bcrypt, scrypt, pbkdf2-sha256)"
    )]
    Unsupported,
    #[error("is not a well-formed hash of its scheme")]
    Malformed,
    /// Its cost parameters are beyond what this service verifies: one login would tie
    /// up a hashing thread, or its memory, for too long.
    #[error("has cost parameters beyond what this service verifies")]
    TooCostly,
}

impl HashRejection {
    /// A stable, machine-readable name of the rule.
    pub fn rule(&self) -> &'static str {
        match self {
            Self::Unsupported => "hash_scheme",
            Self::Malformed => "hash_format",
            Self::TooCostly => "hash_cost",
        }
    }
}

/// The outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordCheck {
    Mismatch,
    /// The password is right; `outdated` when the hash was made with another scheme or
    /// other parameters than the current ones, so the caller should store a fresh hash.
    Match {
        outdated: bool,
    },
}

/// Password hashing. Implementations keep the (deliberately slow) work off the async
/// executor and bound how much of it may run or wait at once.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait PasswordHasher: Send + Sync {
    /// A new hash of `password`, with a fresh salt and the current parameters.
    async fn hash(&self, password: &Password) -> Result<PasswordHash, HashError>;

    /// Whether `hash`, made elsewhere, is one this hasher can verify at a bounded cost:
    /// cheap (it parses, it does not hash).
    fn accepts(&self, hash: &PasswordHash) -> Result<(), HashRejection>;

    /// Checks `password` against `hash`: a hash of the current scheme, or of any scheme
    /// [`PasswordHasher::accepts`].
    async fn verify(
        &self,
        password: &Password,
        hash: &PasswordHash,
    ) -> Result<PasswordCheck, HashError>;

    /// Takes as long as [`PasswordHasher::verify`] against a current hash, and matches
    /// nothing: for unknown accounts, so that timing does not reveal which exist.
    async fn verify_dummy(&self, password: &Password) -> Result<(), HashError>;
}
