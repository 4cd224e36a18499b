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

/// The outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordCheck {
    Mismatch,
    /// The password is right; `outdated` when the hash was made with other parameters
    /// than the current ones, so the caller should store a fresh hash.
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

    /// Checks `password` against `hash`.
    async fn verify(
        &self,
        password: &Password,
        hash: &PasswordHash,
    ) -> Result<PasswordCheck, HashError>;

    /// Takes as long as [`PasswordHasher::verify`] against a current hash, and matches
    /// nothing: for unknown accounts, so that timing does not reveal which exist.
    async fn verify_dummy(&self, password: &Password) -> Result<(), HashError>;
}
