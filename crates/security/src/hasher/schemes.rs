//! The hash schemes a password may have been stored with elsewhere, verified once at
//! the user's first login and then replaced by an argon2id hash.
//!
//! Every scheme's cost is bounded before anything is computed: an imported hash names
//! its own cost, and an unbounded one (bcrypt cost 31, scrypt `ln=30`, argon2 with
//! gigabytes of memory) would let one login tie up a hashing thread or its memory.

use anyhow::anyhow;
use argon2::password_hash::{PasswordVerifier as _, phc::PasswordHash as Phc};
use roster_domain::{Password, PasswordHash, ports::HashRejection};

/// The largest argon2 memory cost verified, in KiB (256 MiB).
const MAX_ARGON2_MEMORY_KIB: u32 = 256 * 1024;
/// The most argon2 passes verified.
const MAX_ARGON2_ITERATIONS: u32 = 16;
/// The most argon2 lanes verified.
const MAX_ARGON2_PARALLELISM: u32 = 8;
/// The highest bcrypt cost verified (2^16 rounds: about 5 s on one core).
const MAX_BCRYPT_COST: u32 = 16;
/// The largest scrypt `ln` verified (N = 2^20 with r = 8: 1 GiB is too much; 2^17 is
/// 128 MiB).
const MAX_SCRYPT_LOG_N: u8 = 17;
/// The largest scrypt block size and parallelism verified.
const MAX_SCRYPT_R: u32 = 16;
const MAX_SCRYPT_P: u32 = 4;
/// The most PBKDF2-SHA256 rounds verified (about 2 s on one core).
const MAX_PBKDF2_ROUNDS: u32 = 5_000_000;

/// A scheme a stored hash may be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scheme {
    /// argon2id or argon2i, in PHC form: verified by the hasher itself.
    Argon2,
    /// bcrypt in modular-crypt form: `$2a$`, `$2b$`, `$2y$`.
    Bcrypt,
    /// scrypt in PHC form: `$scrypt$ln=…,r=…,p=…$salt$hash`.
    Scrypt,
    /// PBKDF2-HMAC-SHA256 in PHC form: `$pbkdf2-sha256$i=…,l=…$salt$hash`.
    Pbkdf2Sha256,
}

impl Scheme {
    /// The scheme of `hash`, judged by its prefix alone.
    pub(super) fn of(hash: &str) -> Option<Self> {
        let prefixed = |prefix: &str| hash.starts_with(prefix);
        if prefixed("$argon2id$") || prefixed("$argon2i$") {
            Some(Self::Argon2)
        } else if prefixed("$2a$") || prefixed("$2b$") || prefixed("$2y$") {
            Some(Self::Bcrypt)
        } else if prefixed("$scrypt$") {
            Some(Self::Scrypt)
        } else if prefixed("$pbkdf2-sha256$") {
            Some(Self::Pbkdf2Sha256)
        } else {
            None
        }
    }
}

/// The scheme of `hash`, if it is well-formed and its cost within bounds.
pub(super) fn accept(hash: &PasswordHash) -> Result<Scheme, HashRejection> {
    let text = hash.as_str();
    let scheme = Scheme::of(text).ok_or(HashRejection::Unsupported)?;
    match scheme {
        Scheme::Argon2 => {
            let phc = Phc::new(text).map_err(|_| HashRejection::Malformed)?;
            let params = argon2::Params::try_from(&phc).map_err(|_| HashRejection::Malformed)?;
            if phc.salt.is_none() || phc.hash.is_none() {
                return Err(HashRejection::Malformed);
            }
            within(
                params.m_cost() <= MAX_ARGON2_MEMORY_KIB
                    && params.t_cost() <= MAX_ARGON2_ITERATIONS
                    && params.p_cost() <= MAX_ARGON2_PARALLELISM,
            )?;
        }
        Scheme::Bcrypt => {
            let parts: bcrypt::HashParts = text.parse().map_err(|_| HashRejection::Malformed)?;
            within(parts.get_cost() <= MAX_BCRYPT_COST)?;
        }
        Scheme::Scrypt => {
            let phc = Phc::new(text).map_err(|_| HashRejection::Malformed)?;
            let params = scrypt::Params::try_from(&phc).map_err(|_| HashRejection::Malformed)?;
            within(
                params.log_n() <= MAX_SCRYPT_LOG_N
                    && params.r() <= MAX_SCRYPT_R
                    && params.p() <= MAX_SCRYPT_P,
            )?;
        }
        Scheme::Pbkdf2Sha256 => {
            let phc = Phc::new(text).map_err(|_| HashRejection::Malformed)?;
            let params = pbkdf2::Params::try_from(&phc).map_err(|_| HashRejection::Malformed)?;
            within(params.rounds() <= MAX_PBKDF2_ROUNDS)?;
        }
    }
    Ok(scheme)
}

fn within(bounded: bool) -> Result<(), HashRejection> {
    if bounded {
        Ok(())
    } else {
        Err(HashRejection::TooCostly)
    }
}

/// Checks `password` against a bcrypt, scrypt or PBKDF2 hash (argon2 is the hasher's
/// own). The caller has [`accept`]ed the hash.
pub(super) fn verify_foreign(
    password: &Password,
    hash: &PasswordHash,
    scheme: Scheme,
) -> anyhow::Result<bool> {
    let password = password.expose().as_bytes();
    let phc = || Phc::new(hash.as_str()).map_err(|e| anyhow!("stored hash is malformed: {e}"));
    let verified = match scheme {
        Scheme::Argon2 => return Err(anyhow!("argon2 hashes are verified by the hasher")),
        Scheme::Bcrypt => {
            return bcrypt::verify(password, hash.as_str())
                .map_err(|e| anyhow!("bcrypt verification failed: {e}"));
        }
        Scheme::Scrypt => scrypt::Scrypt::new().verify_password(password, &phc()?),
        Scheme::Pbkdf2Sha256 => pbkdf2::Pbkdf2::SHA256.verify_password(password, &phc()?),
    };
    match verified {
        Ok(()) => Ok(true),
        Err(argon2::password_hash::Error::PasswordInvalid) => Ok(false),
        Err(e) => Err(anyhow!("{scheme:?} verification failed: {e}")),
    }
}
