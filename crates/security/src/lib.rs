//! Security adapter: argon2id password hashing on a bounded blocking pool
//! ([`Argon2Hasher`]), and biscuit access tokens with a datalog authorisation policy
//! ([`BiscuitAuthority`]).

mod hasher;
mod keys;
mod tokens;

pub use hasher::{Argon2Hasher, PasswordHashingSettings};
pub use keys::{
    SigningKeys, generate_key_pair, load_or_create_key_file, parse_private_key, parse_public_key,
};
pub use tokens::BiscuitAuthority;
