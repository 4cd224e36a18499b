//! The `auth` section of the configuration, and turning it into signing keys.

use std::{path::PathBuf, time::Duration};

use anyhow::Context as _;
use roster_domain::SessionPolicy;
use roster_limits::ThrottleSettings;
use roster_security::{
    PasswordHashingSettings, SigningKeys, load_or_create_key_file, parse_private_key,
    parse_public_key,
};
use serde::{Deserialize, Serialize};

/// Where the key is kept when none is configured (relative to the working directory,
/// like the default SQLite database).
const DEFAULT_KEY_FILE: &str = "data/biscuit-private-key";

/// Authentication and authorisation settings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSettings {
    /// How long an access token is valid.
    #[serde(with = "humantime_serde")]
    pub token_lifetime: Duration,
    /// The Ed25519 root private key (`ed25519-private/<hex>`, from `roster keygen`).
    pub private_key: Option<String>,
    /// A file holding that key; used when `private_key` is not set.
    pub private_key_file: Option<PathBuf>,
    /// The id written into new tokens; give the new key a new id when rotating.
    pub key_id: u32,
    /// Public keys of earlier root keys, still accepted until their tokens expire.
    pub previous_public_keys: Vec<PreviousKey>,
    /// Shortest password accepted, in characters.
    pub password_min_length: usize,
    pub password_hashing: PasswordHashingSettings,
    pub throttle: ThrottleSettings,
    /// Whether `POST /api/v1/auth/register` creates members.
    pub allow_registration: bool,
    /// Creates this administrator at start when no user exists.
    pub bootstrap_admin: Option<BootstrapAdmin>,
    pub sessions: SessionSettings,
}

/// How long login sessions (and so their refresh tokens) last.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionSettings {
    /// A session not refreshed for this long is over.
    #[serde(with = "humantime_serde")]
    pub idle_timeout: Duration,
    /// No session outlives its login by more than this, however often refreshed.
    #[serde(with = "humantime_serde")]
    pub lifetime: Duration,
    /// Active sessions a user may hold; a login beyond it ends the oldest.
    pub max_per_user: usize,
}

impl Default for SessionSettings {
    fn default() -> Self {
        Self {
            idle_timeout: Duration::from_secs(7 * 24 * 3600),
            lifetime: Duration::from_secs(30 * 24 * 3600),
            max_per_user: 50,
        }
    }
}

impl SessionSettings {
    /// The application's policy; `validate` has checked the values.
    pub fn policy(&self) -> anyhow::Result<SessionPolicy> {
        Ok(SessionPolicy {
            idle_timeout: chrono::Duration::from_std(self.idle_timeout)?,
            lifetime: chrono::Duration::from_std(self.lifetime)?,
            max_per_user: self.max_per_user,
        })
    }

    fn validate(&self) -> Result<(), String> {
        if self.idle_timeout.is_zero() || self.lifetime.is_zero() {
            return Err(
                "auth.sessions.idle_timeout and lifetime must be greater than zero".to_owned(),
            );
        }
        if self.max_per_user == 0 {
            return Err("auth.sessions.max_per_user must be at least 1".to_owned());
        }
        self.policy()
            .map(drop)
            .map_err(|e| format!("auth.sessions: {e}"))
    }
}

/// A previous root public key and its id.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PreviousKey {
    pub id: u32,
    pub key: String,
}

/// The first administrator.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BootstrapAdmin {
    pub email: String,
    pub name: Option<String>,
    pub password: Option<String>,
    pub password_file: Option<PathBuf>,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            token_lifetime: Duration::from_secs(15 * 60),
            private_key: None,
            private_key_file: None,
            key_id: 1,
            previous_public_keys: Vec::new(),
            password_min_length: 8,
            password_hashing: PasswordHashingSettings::default(),
            throttle: ThrottleSettings::default(),
            allow_registration: false,
            bootstrap_admin: None,
            sessions: SessionSettings::default(),
        }
    }
}

impl AuthSettings {
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.token_lifetime.is_zero() {
            return Err("auth.token_lifetime must be greater than zero".to_owned());
        }
        if self.password_min_length == 0 {
            return Err("auth.password_min_length must be at least 1".to_owned());
        }
        self.password_hashing.validate("auth.password_hashing")?;
        self.sessions.validate()?;
        if let Some(key) = &self.private_key {
            parse_private_key(key).map_err(|e| format!("auth.private_key: {e:#}"))?;
        }
        for previous in &self.previous_public_keys {
            parse_public_key(&previous.key)
                .map_err(|e| format!("auth.previous_public_keys[{}]: {e:#}", previous.id))?;
            if previous.id == self.key_id {
                return Err(format!(
                    "auth.previous_public_keys: id {} is the current auth.key_id",
                    previous.id
                ));
            }
        }
        if let Some(admin) = &self.bootstrap_admin
            && admin.password.is_none()
            && admin.password_file.is_none()
        {
            return Err("auth.bootstrap_admin needs password or password_file".to_owned());
        }
        Ok(())
    }

    /// The settings with secrets replaced by `***`.
    #[must_use]
    pub(crate) fn redacted(&self) -> Self {
        let mut copy = self.clone();
        if copy.private_key.is_some() {
            copy.private_key = Some("***".to_owned());
        }
        if let Some(admin) = copy.bootstrap_admin.as_mut()
            && admin.password.is_some()
        {
            admin.password = Some("***".to_owned());
        }
        copy
    }

    /// The signing keys: `private_key`, else `private_key_file`, else a key generated
    /// into `data/biscuit-private-key` on first start (with a warning: replicas would
    /// each make their own).
    pub fn signing_keys(&self) -> anyhow::Result<SigningKeys> {
        let current = if let Some(key) = &self.private_key {
            parse_private_key(key).context("auth.private_key")?
        } else if let Some(path) = &self.private_key_file {
            let text = std::fs::read_to_string(path).with_context(|| {
                format!("auth.private_key_file: cannot read {}", path.display())
            })?;
            parse_private_key(&text)
                .with_context(|| format!("auth.private_key_file {}", path.display()))?
        } else {
            let path = PathBuf::from(DEFAULT_KEY_FILE);
            let (key, created) = load_or_create_key_file(&path)?;
            tracing::warn!(
                path = %path.display(),
                created,
                "no auth.private_key configured: using a generated key kept on local disk; \
                 production must configure one (every replica needs the same key)"
            );
            key
        };
        let previous = self
            .previous_public_keys
            .iter()
            .map(|p| parse_public_key(&p.key).map(|key| (p.id, key)))
            .collect::<anyhow::Result<_>>()
            .context("auth.previous_public_keys")?;
        Ok(SigningKeys {
            current,
            current_id: self.key_id,
            previous,
        })
    }
}

impl BootstrapAdmin {
    /// The configured password, read from its file if need be.
    pub fn password(&self) -> anyhow::Result<String> {
        match (&self.password, &self.password_file) {
            (Some(password), _) => Ok(password.clone()),
            (None, Some(path)) => Ok(std::fs::read_to_string(path)
                .with_context(|| {
                    format!(
                        "auth.bootstrap_admin.password_file: cannot read {}",
                        path.display()
                    )
                })?
                .trim_end_matches(['\n', '\r'])
                .to_owned()),
            (None, None) => anyhow::bail!("auth.bootstrap_admin needs password or password_file"),
        }
    }
}
