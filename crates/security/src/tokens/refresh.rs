//! Refresh tokens: the session's id, a dot, and 256 random bits in base64url without
//! padding (26 + 1 + 43 characters), stored only as their SHA-256 digest. The id is no
//! secret: it lets refreshes be counted per session before the store is asked. A plain hash is enough: nobody can guess 256 random
//! bits, so there is nothing for a slow hash or a key to protect against, and any
//! instance can compute the digest without a shared secret.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use roster_domain::{RefreshDigest, SessionId};
use sha2::{Digest as _, Sha256};

/// The length of the secret part of every refresh token.
const SECRET_LENGTH: usize = 43;
/// The length of a whole refresh token.
const LENGTH: usize = 26 + 1 + SECRET_LENGTH;

/// A new refresh token for the session, and its digest.
pub(crate) fn mint(session: SessionId) -> (String, RefreshDigest) {
    let mut secret = [0_u8; 32];
    // The operating system's generator; failing it, nothing can be trusted to be secret.
    #[expect(
        clippy::expect_used,
        reason = "without an entropy source no secret can be made; every token would be guessable"
    )]
    getrandom::fill(&mut secret).expect("the operating system's random number generator");
    let token = format!("{session}.{}", URL_SAFE_NO_PAD.encode(secret));
    let digest = digest_of(&token);
    (token, digest)
}

/// The session a presented token names and its digest, if it has the shape of a
/// token: checked before it is hashed, so a client's megabyte of text costs nothing.
pub(crate) fn read(presented: &str) -> Option<(SessionId, RefreshDigest)> {
    if presented.len() != LENGTH {
        return None;
    }
    let (session, secret) = presented.split_once('.')?;
    let session = SessionId::parse(session)?;
    (secret.len() == SECRET_LENGTH
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
    .then(|| (session, digest_of(presented)))
}

fn digest_of(token: &str) -> RefreshDigest {
    let hash = Sha256::digest(token.as_bytes());
    RefreshDigest::new(format!("{hash:x}"))
}

#[cfg(test)]
mod tests {
    use roster_domain::SessionId;

    use super::{mint, read};

    #[test]
    fn minted_tokens_are_distinct_name_their_session_and_their_digest_is_recomputed() {
        let session = SessionId::generate();
        let (first, first_digest) = mint(session);
        let (second, second_digest) = mint(session);
        assert_ne!(first, second);
        assert_ne!(first_digest, second_digest);
        assert_eq!(first.len(), 70);
        assert!(first.starts_with(&format!("{session}.")));
        assert_eq!(read(&first), Some((session, first_digest.clone())));
        assert_eq!(first_digest.as_str().len(), 64);
        assert!(!first_digest.as_str().contains(&first[27..]));
    }

    #[test]
    fn text_that_cannot_be_a_token_is_not_read() {
        let session = SessionId::generate();
        let (token, _) = mint(session);
        for bad in [
            String::new(),
            token[..69].to_owned(),
            format!("{token}A"),
            format!("{}=", &token[..69]),
            token.replacen('.', "_", 1),
            format!("{}.{}", "!".repeat(26), &token[27..]),
            format!("{}.{}", "é".repeat(13), &token[27..]),
            "x".repeat(1 << 20),
        ] {
            assert_eq!(read(&bad), None, "{bad:.80}");
        }
    }
}
