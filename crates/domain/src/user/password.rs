//! Passwords: [`Password`] as typed, the [`PasswordPolicy`] it must meet, and the
//! [`PasswordHash`] that is stored instead of it.

use std::{collections::HashSet, fmt, sync::LazyLock};

use super::Email;

/// A password as the user typed it. Never trimmed, never shown: `Debug` redacts it.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// The longest password accepted, in characters (at most 512 bytes of UTF-8):
    /// argon2 hashes any length, but an unbounded input is a denial-of-service lever.
    /// Characters rather than bytes, so that API schemas can state the rule.
    pub const MAX_CHARS: usize = 128;

    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// The text, for the hasher only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// A password hash in PHC string format (`$argon2id$v=19$m=…`). Never shown.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

/// The text is not a PHC string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a PHC password hash string")]
pub struct PasswordHashError;

impl PasswordHash {
    pub fn from_phc(text: impl Into<String>) -> Result<Self, PasswordHashError> {
        let text = text.into();
        if text.starts_with('$') && text.len() > 1 && !text.chars().any(char::is_whitespace) {
            Ok(Self(text))
        } else {
            Err(PasswordHashError)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

/// Why a password is refused; [`PasswordRejection::rule`] names the rule for clients.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordRejection {
    #[error("must be at least {min} characters")]
    TooShort { min: usize },
    #[error("must be at most {max} characters", max = Password::MAX_CHARS)]
    TooLong,
    #[error("must not be the e-mail address")]
    SameAsEmail,
    #[error("is one of the most common passwords")]
    Common,
}

impl PasswordRejection {
    /// A stable, machine-readable name of the rule.
    pub fn rule(&self) -> &'static str {
        match self {
            Self::TooShort { .. } => "min_length",
            Self::TooLong => "max_length",
            Self::SameAsEmail => "not_email",
            Self::Common => "not_common",
        }
    }
}

/// The rules a new password must meet (NIST SP 800-63B: length, and not a known
/// breached password; no composition rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPolicy {
    min_chars: usize,
}

static COMMON_PASSWORDS: LazyLock<HashSet<String>> = LazyLock::new(|| {
    include_str!("../../data/common-passwords.txt")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_ascii_lowercase)
        .collect()
});

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self { min_chars: 8 }
    }
}

impl PasswordPolicy {
    /// At least `min_chars` characters (never fewer than 1).
    pub fn new(min_chars: usize) -> Self {
        Self {
            min_chars: min_chars.max(1),
        }
    }

    pub fn min_chars(&self) -> usize {
        self.min_chars
    }

    /// The common passwords refused, in lower case (comparison ignores case), sorted.
    pub fn common_passwords() -> Vec<&'static str> {
        let mut common: Vec<&'static str> = COMMON_PASSWORDS.iter().map(String::as_str).collect();
        common.sort_unstable();
        common
    }

    /// The first rule `password` breaks, for the user with this e-mail address.
    pub fn check(&self, password: &Password, email: &Email) -> Result<(), PasswordRejection> {
        let text = password.expose();
        if text.chars().count() > Password::MAX_CHARS {
            return Err(PasswordRejection::TooLong);
        }
        if text.chars().count() < self.min_chars {
            return Err(PasswordRejection::TooShort {
                min: self.min_chars,
            });
        }
        if text.to_lowercase() == email.as_str().to_lowercase() {
            return Err(PasswordRejection::SameAsEmail);
        }
        // ASCII case only: the list is ASCII, and the published schema spells each
        // letter as `[aA]`; full Unicode folding would also refuse, say, a Kelvin sign
        // for a `k`, which the schema allows.
        if COMMON_PASSWORDS.contains(&text.to_ascii_lowercase()) {
            return Err(PasswordRejection::Common);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn email() -> Email {
        Email::parse("ada@example.com").expect("email")
    }

    #[test]
    fn each_rule_is_named() {
        let policy = PasswordPolicy::default();
        let check = |text: &str| {
            policy
                .check(&Password::new(text), &email())
                .map_err(|e| e.rule())
        };
        assert_eq!(check("short"), Err("min_length"));
        assert_eq!(check(&"x".repeat(129)), Err("max_length"));
        assert_eq!(check("ADA@example.com"), Err("not_email"));
        assert_eq!(check("Password123"), Err("not_common"));
        assert_eq!(check("correct horse battery staple"), Ok(()));
    }

    #[test]
    fn both_limits_count_characters() {
        let policy = PasswordPolicy::new(8);
        assert!(
            policy.check(&Password::new("éééééééé"), &email()).is_ok(),
            "8 characters, 16 bytes"
        );
        assert!(
            policy
                .check(&Password::new("é".repeat(128)), &email())
                .is_ok(),
            "128 characters, 256 bytes"
        );
        assert_eq!(
            policy.check(&Password::new("é".repeat(129)), &email()),
            Err(PasswordRejection::TooLong),
        );
        assert_eq!(
            PasswordPolicy::new(12).check(&Password::new("elevenchars"), &email()),
            Err(PasswordRejection::TooShort { min: 12 })
        );
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        assert_eq!(
            format!("{:?}", Password::new("hunter2hunter2")),
            "Password(<redacted>)"
        );
        let hash =
            PasswordHash::from_phc("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA").expect("phc");
        assert_eq!(format!("{hash:?}"), "PasswordHash(<redacted>)");
        assert_eq!(PasswordHash::from_phc("plain"), Err(PasswordHashError));
    }

    #[test]
    fn the_bundled_list_is_loaded() {
        assert!(COMMON_PASSWORDS.len() > 100);
        assert!(COMMON_PASSWORDS.contains("qwertyuiop"));
    }

    proptest! {
        #[test]
        fn accepted_passwords_satisfy_every_rule(text in "\\PC{0,140}") {
            let policy = PasswordPolicy::default();
            if policy.check(&Password::new(text.clone()), &email()).is_ok() {
                prop_assert!(text.chars().count() >= 8);
                prop_assert!(text.chars().count() <= Password::MAX_CHARS);
                prop_assert!(!COMMON_PASSWORDS.contains(&text.to_ascii_lowercase()));
            }
        }
    }
}
