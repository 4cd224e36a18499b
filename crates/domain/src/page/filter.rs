//! [`UserFilter`] and the value objects a listing filters by. Each parses client text
//! once, so the repository receives only conditions that can be evaluated.

use std::fmt;

use chrono::{DateTime, Utc};

use crate::user::{Email, ExternalId, Role, Status, UserName};

/// Which users a listing shows; every condition given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserFilter {
    /// This address, compared case-insensitively.
    pub email: Option<EmailLookup>,
    /// Addresses at this domain.
    pub email_domain: Option<EmailDomain>,
    /// Names containing this text, compared case-insensitively.
    pub name_contains: Option<NameFragment>,
    pub role: Option<Role>,
    pub status: Option<Status>,
    /// Created strictly after this instant.
    pub created_after: Option<DateTime<Utc>>,
    /// Created strictly before this instant.
    pub created_before: Option<DateTime<Utc>>,
    /// The user with this id in the system they were imported from.
    pub external_id: Option<ExternalId>,
}

/// An address to look up: text up to [`Email::MAX_LEN`] characters without control
/// characters (addresses have none, and PostgreSQL refuses a NUL in text), trimmed and
/// in lower case. It need not be a valid address: one that cannot exist matches nobody.
#[derive(Clone, PartialEq, Eq)]
pub struct EmailLookup(String);

/// Why a text is not an [`EmailLookup`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailLookupError {
    #[error("at most {max} characters", max = Email::MAX_LEN)]
    TooLong,
    #[error("must not contain control characters (addresses have none)")]
    ControlCharacter,
}

impl EmailLookup {
    pub fn parse(text: &str) -> Result<Self, EmailLookupError> {
        if text.chars().count() > Email::MAX_LEN {
            return Err(EmailLookupError::TooLong);
        }
        if text.chars().any(char::is_control) {
            return Err(EmailLookupError::ControlCharacter);
        }
        Ok(Self(text.trim().to_lowercase()))
    }

    /// The address in lower case.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Addresses are personal data: `Debug` hides them.
impl fmt::Debug for EmailLookup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EmailLookup(<redacted>)")
    }
}

/// A domain to filter addresses by: dot-separated labels of ASCII letters, digits and
/// `-`, each 1 to 63 characters, 253 in all; kept in lower case. (An internationalised
/// domain is looked for in its `xn--` form.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailDomain(String);

/// Why a text is not an [`EmailDomain`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be a domain name, such as example.com")]
pub struct EmailDomainError;

impl EmailDomain {
    /// The longest domain name (RFC 1035), in bytes.
    pub const MAX_LEN: usize = 253;
    /// The longest label, in bytes.
    pub const MAX_LABEL_LEN: usize = 63;

    pub fn parse(text: &str) -> Result<Self, EmailDomainError> {
        let valid = text.len() <= Self::MAX_LEN
            && text.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= Self::MAX_LABEL_LEN
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if valid {
            Ok(Self(text.to_lowercase()))
        } else {
            Err(EmailDomainError)
        }
    }

    /// The domain in lower case.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Text to look for inside names: at most [`UserName::MAX_CHARS`] characters (no
/// longer text can be inside a name) and no control characters (names have none).
/// Kept as given: `%` and `_` are literal characters, not patterns.
#[derive(Clone, PartialEq, Eq)]
pub struct NameFragment(String);

/// Why a text is not a [`NameFragment`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameFragmentError {
    #[error("at most {max} characters", max = UserName::MAX_CHARS)]
    TooLong,
    #[error("must not contain control characters (names have none)")]
    ControlCharacter,
}

impl NameFragment {
    pub fn parse(text: &str) -> Result<Self, NameFragmentError> {
        if text.chars().count() > UserName::MAX_CHARS {
            Err(NameFragmentError::TooLong)
        } else if text.chars().any(char::is_control) {
            Err(NameFragmentError::ControlCharacter)
        } else {
            Ok(Self(text.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Names are personal data: `Debug` hides them.
impl fmt::Debug for NameFragment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NameFragment(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn an_email_lookup_is_trimmed_and_lower_case_and_need_not_be_valid() {
        assert_eq!(
            EmailLookup::parse("  Ada@Example.COM ").map(|e| e.0),
            Ok("ada@example.com".to_owned())
        );
        assert_eq!(
            EmailLookup::parse("not an address").map(|e| e.0),
            Ok("not an address".to_owned())
        );
        assert!(EmailLookup::parse(&"é".repeat(Email::MAX_LEN)).is_ok());
        assert_eq!(
            EmailLookup::parse(&"é".repeat(Email::MAX_LEN + 1)),
            Err(EmailLookupError::TooLong)
        );
        for bad in [
            "ada\u{0}@example.com",
            "\tada@example.com",
            "ada@example.com\u{85}",
        ] {
            assert_eq!(
                EmailLookup::parse(bad),
                Err(EmailLookupError::ControlCharacter),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn an_email_domain_is_a_host_name_in_lower_case() {
        assert_eq!(
            EmailDomain::parse("Mixed.Example.NET").map(|d| d.0),
            Ok("mixed.example.net".to_owned())
        );
        assert!(EmailDomain::parse("localhost").is_ok());
        assert!(EmailDomain::parse("xn--bcher-kva.example").is_ok());
        assert_eq!(EmailDomain::parse("bücher.example"), Err(EmailDomainError));
        for bad in [
            "",
            ".",
            "example..com",
            ".example.com",
            "example.com.",
            "ex ample.com",
            "a@b.c",
            "ex_ample.com",
        ] {
            assert_eq!(EmailDomain::parse(bad), Err(EmailDomainError), "{bad:?}");
        }
        let label = "a".repeat(EmailDomain::MAX_LABEL_LEN);
        assert!(EmailDomain::parse(&format!("{label}.com")).is_ok());
        assert_eq!(
            EmailDomain::parse(&format!("a{label}.com")),
            Err(EmailDomainError)
        );
        let longest = [label.as_str(), &label, &label, &"a".repeat(61)].join(".");
        assert_eq!(longest.len(), EmailDomain::MAX_LEN);
        assert!(EmailDomain::parse(&longest).is_ok());
        assert_eq!(
            EmailDomain::parse(&format!("a{longest}")),
            Err(EmailDomainError)
        );
    }

    #[test]
    fn a_name_fragment_is_literal_text_without_control_characters() {
        assert_eq!(
            NameFragment::parse("t%s_").map(|f| f.0),
            Ok("t%s_".to_owned())
        );
        assert_eq!(NameFragment::parse("").map(|f| f.0), Ok(String::new()));
        assert!(NameFragment::parse(&"é".repeat(UserName::MAX_CHARS)).is_ok());
        assert_eq!(
            NameFragment::parse(&"é".repeat(UserName::MAX_CHARS + 1)),
            Err(NameFragmentError::TooLong)
        );
        for bad in ["a\nb", "\u{0}", "\u{7f}", "\u{9f}"] {
            assert_eq!(
                NameFragment::parse(bad),
                Err(NameFragmentError::ControlCharacter),
                "{bad:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn every_name_is_a_fragment_of_itself(text in "\\PC{1,100}") {
            if let Ok(name) = UserName::parse(&text) {
                let fragment = NameFragment::parse(name.as_str());
                prop_assert_eq!(fragment.map(|f| f.0), Ok(name.as_str().to_owned()));
            }
        }

        #[test]
        fn accepted_domains_satisfy_every_rule(text in "[a-zA-Z0-9.-]{0,70}|\\PC{0,70}") {
            if let Ok(domain) = EmailDomain::parse(&text) {
                let s = domain.as_str();
                prop_assert!(s.len() <= EmailDomain::MAX_LEN);
                prop_assert_eq!(s, text.to_lowercase());
                prop_assert!(s.split('.').all(|l| (1..=EmailDomain::MAX_LABEL_LEN).contains(&l.len())));
                prop_assert_eq!(EmailDomain::parse(s), Ok(domain.clone()));
            }
        }

        #[test]
        fn the_domain_of_every_address_is_an_email_domain(text in "[a-z0-9]{1,20}@[a-z0-9]{1,20}\\.[a-z]{2,6}") {
            if let Ok(email) = Email::parse(&text) {
                prop_assert!(EmailDomain::parse(email.domain()).is_ok());
            }
        }

        #[test]
        fn email_lookups_never_fail_within_the_limit(text in "\\PC{0,254}") {
            let lookup = EmailLookup::parse(&text);
            prop_assert_eq!(lookup.map(|l| l.0), Ok(text.trim().to_lowercase()));
        }
    }
}
