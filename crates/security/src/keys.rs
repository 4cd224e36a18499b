//! Ed25519 root keys for biscuit tokens: parsing, generating, and the key file the
//! embedded defaults create on first start.

use std::{io::Write as _, os::unix::fs::OpenOptionsExt as _, path::Path};

use anyhow::{Context as _, anyhow};
use biscuit_auth::{KeyPair, PrivateKey, PublicKey, builder::Algorithm};

/// The keys tokens are signed with and verified against.
#[derive(Debug)]
pub struct SigningKeys {
    /// Signs new tokens; its id is written into them.
    pub current: KeyPair,
    pub current_id: u32,
    /// Public keys of earlier signing keys, still accepted until their tokens expire.
    pub previous: Vec<(u32, PublicKey)>,
}

/// A private key as `ed25519-private/<hex>` (what `roster keygen` prints) or bare hex.
pub fn parse_private_key(text: &str) -> anyhow::Result<KeyPair> {
    let text = text.trim();
    let key = if text.contains('/') {
        text.parse::<PrivateKey>()
            .map_err(|e| anyhow!("not a biscuit private key: {e}"))?
    } else {
        PrivateKey::from_bytes_hex(text, Algorithm::Ed25519)
            .map_err(|e| anyhow!("not an Ed25519 private key: {e}"))?
    };
    Ok(KeyPair::from(&key))
}

/// A public key as `ed25519/<hex>` or bare hex.
pub fn parse_public_key(text: &str) -> anyhow::Result<PublicKey> {
    let text = text.trim();
    if text.contains('/') {
        text.parse::<PublicKey>()
            .map_err(|e| anyhow!("not a biscuit public key: {e}"))
    } else {
        PublicKey::from_bytes_hex(text, Algorithm::Ed25519)
            .map_err(|e| anyhow!("not an Ed25519 public key: {e}"))
    }
}

/// A new key pair, as (private, public) in their prefixed text forms.
pub fn generate_key_pair() -> (String, String) {
    let pair = KeyPair::new();
    (
        pair.private().to_prefixed_string(),
        pair.public().to_string(),
    )
}

/// Reads the private key kept in `path`, or creates it (mode 0600, folder included) if
/// the file does not exist. Returns whether it was created.
pub fn load_or_create_key_file(path: &Path) -> anyhow::Result<(KeyPair, bool)> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let pair = parse_private_key(&text)
                .with_context(|| format!("in the key file {}", path.display()))?;
            Ok((pair, false))
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(folder)
                    .with_context(|| format!("cannot create {}", folder.display()))?;
            }
            let pair = KeyPair::new();
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .with_context(|| format!("cannot create the key file {}", path.display()))?;
            writeln!(file, "{}", pair.private().to_prefixed_string())?;
            Ok((pair, true))
        }
        Err(error) => {
            Err(error).with_context(|| format!("cannot read the key file {}", path.display()))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    #[test]
    fn generated_keys_parse_back_in_both_forms() {
        let (private, public) = generate_key_pair();
        assert!(private.starts_with("ed25519-private/"), "{private}");
        let pair = parse_private_key(&private).expect("private");
        assert_eq!(pair.public().to_string(), public);
        let bare = private.trim_start_matches("ed25519-private/");
        assert_eq!(
            parse_private_key(bare).expect("bare hex").public(),
            pair.public()
        );
        assert_eq!(parse_public_key(&public).expect("public"), pair.public());
        assert!(parse_private_key("not a key").is_err());
    }

    #[test]
    fn the_key_file_is_created_private_once_and_then_reused() {
        let folder = tempfile::tempdir().expect("folder");
        let path = folder.path().join("keys/biscuit-private-key");

        let (created, was_created) = load_or_create_key_file(&path).expect("create");
        let (loaded, again) = load_or_create_key_file(&path).expect("load");

        assert!(was_created && !again);
        assert_eq!(created.public(), loaded.public());
        let mode = std::fs::metadata(&path)
            .expect("metadata")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
