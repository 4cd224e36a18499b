//! Security adapter: implements the domain's
//! [`PasswordHasher`](roster_domain::ports::PasswordHasher) with argon2id, on a bounded
//! pool of blocking threads.

mod hasher;

pub use hasher::{Argon2Hasher, PasswordHashingSettings};
