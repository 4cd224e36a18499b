//! [`Email`]: an address that parsed, trimmed, with its domain in lower case.

use std::fmt;

use email_address::{EmailAddress, Options};

/// A syntactically valid e-mail address.
///
/// Parsing trims surrounding white space, lower-cases the domain (domains are
/// case-insensitive) and keeps the local part as written (RFC 5321 lets a mail server
/// treat it as case-sensitive). Uniqueness among users is decided case-insensitively
/// by the repository.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

/// Why a text is not an [`Email`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most {max} characters", max = Email::MAX_LEN)]
    TooLong,
    #[error("is not a valid e-mail address ({0})")]
    Invalid(String),
}

impl Email {
    /// The longest address SMTP can carry (RFC 5321, forward-path less the brackets).
    pub const MAX_LEN: usize = 254;

    pub fn parse(text: &str) -> Result<Self, EmailError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(EmailError::Empty);
        }
        if text.chars().count() > Self::MAX_LEN {
            return Err(EmailError::TooLong);
        }
        let options = Options {
            // "user@localhost" is a valid address but never a real user's one.
            minimum_sub_domains: 2,
            allow_domain_literal: false,
            allow_display_text: false,
        };
        let parsed = EmailAddress::parse_with_options(text, options)
            .map_err(|e| EmailError::Invalid(e.to_string()))?;
        Ok(Self(format!(
            "{}@{}",
            parsed.local_part(),
            parsed.domain().to_lowercase()
        )))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The domain, in lower case: what follows the last `@`.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, domain)| domain)
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Addresses are personal data: `Debug` (and so any `{:?}` in a log line) hides them.
impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Email(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn the_domain_is_what_follows_the_last_at() -> Result<(), EmailError> {
        assert_eq!(Email::parse("Ada@Example.COM")?.domain(), "example.com");
        assert_eq!(Email::parse("\"a@b\"@example.org")?.domain(), "example.org");
        Ok(())
    }

    #[test]
    fn trims_and_lowercases_the_domain_only() {
        let email = Email::parse("  Jane.Doe@Example.COM \n").map(|e| e.as_str().to_owned());
        assert_eq!(email.as_deref(), Ok("Jane.Doe@example.com"));
    }

    #[test]
    fn rejects_what_is_not_an_address() {
        for text in [
            "plainaddress",
            "@example.com",
            "jane@",
            "jane@@example.com",
            "jane@localhost",
            "jane@[127.0.0.1]",
            "Jane <jane@example.com>",
            "jane doe@example.com",
            "jane@exa mple.com",
        ] {
            assert!(
                matches!(Email::parse(text), Err(EmailError::Invalid(_))),
                "{text:?}"
            );
        }
        assert_eq!(Email::parse("   "), Err(EmailError::Empty));
    }

    #[test]
    fn rejects_addresses_longer_than_smtp_allows() {
        let long = format!("{}@{}.com", "a".repeat(64), "b".repeat(200));
        assert_eq!(Email::parse(&long), Err(EmailError::TooLong));
    }

    #[test]
    fn debug_output_hides_the_address() {
        let email = Email::parse("jane@example.com").map(|e| format!("{e:?}"));
        assert_eq!(email.as_deref(), Ok("Email(<redacted>)"));
    }

    proptest! {
        #[test]
        fn well_formed_addresses_parse_and_normalise(
            local in "[a-z0-9][a-z0-9._+-]{0,20}[a-z0-9]",
            domain in "[a-zA-Z][a-zA-Z0-9-]{0,20}[a-zA-Z0-9]",
            tld in "[a-zA-Z]{2,6}",
            pad in "[ \t]{0,3}",
        ) {
            prop_assume!(!local.contains(".."));
            let text = format!("{pad}{local}@{domain}.{tld}{pad}");
            let email = Email::parse(&text);
            let expected = format!("{local}@{}.{}", domain.to_lowercase(), tld.to_lowercase());
            prop_assert_eq!(email.map(|e| e.as_str().to_owned()), Ok(expected));
        }

        #[test]
        fn parsing_is_idempotent_and_never_panics(text in "\\PC{0,300}") {
            if let Ok(email) = Email::parse(&text) {
                prop_assert_eq!(Email::parse(email.as_str()), Ok(email.clone()));
                prop_assert!(email.as_str().chars().count() <= Email::MAX_LEN);
            }
        }

        #[test]
        fn text_without_an_at_sign_is_rejected(text in "[^@]{0,80}") {
            prop_assert!(Email::parse(&text).is_err());
        }
    }
}
