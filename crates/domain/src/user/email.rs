//! [`Email`]: an address that parsed, trimmed, with its domain in lower case.
//!
//! The rule is one regular expression, [`Email::pattern`], which the published schema
//! states as it is, so that the two cannot disagree.

use std::{fmt, fmt::Write as _, sync::LazyLock};

use regex::Regex;

use super::UserName;

/// A syntactically valid e-mail address.
///
/// What is accepted: at most 254 characters as sent, no control character anywhere,
/// surrounding white space (which is removed), then a dot-atom local part (RFC 5322's
/// `atext`, widened by RFC 6531 to every other character outside ASCII that is neither
/// white space nor a control), an `@`, and a host name of at least two labels of
/// letters, digits and inner hyphens, each at most 63 characters (an international
/// domain is sent in its `xn--` form). Quoted local parts, domain literals and display
/// names are refused: no user types them, and every consumer of the stored address
/// would have to handle them.
///
/// Parsing lower-cases the domain (domains are case-insensitive) and keeps the local
/// part as written (RFC 5321 lets a mail server treat it as case-sensitive).
/// Uniqueness among users is decided case-insensitively by the repository.
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
    Invalid(&'static str),
}

/// Code points that no part of an address may hold: the control characters.
const CONTROL: &str = r"\u0000-\u001f\u007f-\u009f";

/// The pattern, spelled with code points only: engines disagree on `\s` and `\w`.
static PATTERN: LazyLock<String> = LazyLock::new(|| {
    let space = UserName::SPACE_CHARACTERS
        .chars()
        .fold(String::new(), |mut class, c| {
            let _ = write!(class, "\\u{:04x}", u32::from(c));
            class
        });
    // ASCII's specials and the dot are not `atext`; outside ASCII, everything but
    // white space and controls is (RFC 6531).
    let atom = format!(r#"[^{CONTROL}{space}"(),.:;<>@\[\\\]]+"#);
    let label = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
    format!(r"^[{space}]*{atom}(?:\.{atom})*@{label}(?:\.{label})+[{space}]*$")
});

#[expect(
    clippy::panic,
    reason = "the pattern is built from constants, and every test that parses compiles it"
)]
static ADDRESS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&PATTERN).unwrap_or_else(|e| panic!("{e}")));

impl Email {
    /// The longest address SMTP can carry (RFC 5321, forward-path less the brackets),
    /// counted in characters as sent.
    pub const MAX_LEN: usize = 254;

    /// The regular expression an address matches, surrounding white space included;
    /// with [`Email::MAX_LEN`], the whole rule.
    pub fn pattern() -> &'static str {
        &PATTERN
    }

    pub fn parse(text: &str) -> Result<Self, EmailError> {
        if text.trim().is_empty() {
            return Err(EmailError::Empty);
        }
        if text.chars().count() > Self::MAX_LEN {
            return Err(EmailError::TooLong);
        }
        if !ADDRESS.is_match(text) {
            return Err(EmailError::Invalid(Self::fault(text)));
        }
        let (local, domain) = text.trim().rsplit_once('@').unwrap_or_default();
        Ok(Self(format!("{local}@{}", domain.to_ascii_lowercase())))
    }

    /// Which part of a refused address is wrong, for the problem's detail.
    fn fault(text: &str) -> &'static str {
        if text.chars().any(char::is_control) {
            return "control character";
        }
        match text.trim().rsplit_once('@') {
            None => "no @",
            Some(("", _)) => "nothing before the @",
            Some((local, _)) if local.contains('@') => "more than one @",
            Some((_, domain)) if !domain.contains('.') => "the domain needs a dot",
            Some((_, domain)) if !domain.is_ascii() => {
                "a domain outside ASCII must be sent in its xn-- form"
            }
            Some((_, domain))
                if !domain.split('.').all(|label| {
                    (1..=63).contains(&label.len())
                        && label
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                        && !label.starts_with('-')
                        && !label.ends_with('-')
                }) =>
            {
                "the domain must be labels of letters, digits and inner hyphens"
            }
            Some(_) => "the local part must be dot-separated words without spaces or quotes",
        }
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
    fn the_domain_is_what_follows_the_at() -> Result<(), EmailError> {
        assert_eq!(Email::parse("Ada@Example.COM")?.domain(), "example.com");
        assert_eq!(
            Email::parse("a.b+c@xn--bcher-kva.example")?.domain(),
            "xn--bcher-kva.example"
        );
        Ok(())
    }

    #[test]
    fn trims_and_lowercases_the_domain_only() {
        let email =
            Email::parse(" \u{3000}Jane.Doe@Example.COM \u{a0}").map(|e| e.as_str().to_owned());
        assert_eq!(email.as_deref(), Ok("Jane.Doe@example.com"));
    }

    #[test]
    fn local_parts_outside_ascii_are_kept_as_written() {
        for text in ["Ölaf@Example.com", "用户@例子.example", "δοκιμή@example.gr"] {
            let parsed = Email::parse(text).map(|e| e.as_str().to_owned());
            if text.contains('例') {
                assert_eq!(
                    parsed,
                    Err(EmailError::Invalid(
                        "a domain outside ASCII must be sent in its xn-- form"
                    ))
                );
            } else {
                assert_eq!(
                    parsed.as_deref().map(|e| e.split('@').next()),
                    Ok(text.split('@').next())
                );
            }
        }
    }

    #[test]
    fn rejects_what_is_not_an_address() {
        for (text, fault) in [
            ("plainaddress", "no @"),
            ("@example.com", "nothing before the @"),
            ("jane@", "the domain needs a dot"),
            ("jane@@example.com", "more than one @"),
            ("jane@localhost", "the domain needs a dot"),
            (
                "jane@[127.0.0.1]",
                "the domain must be labels of letters, digits and inner hyphens",
            ),
            (
                "jane@-example.com",
                "the domain must be labels of letters, digits and inner hyphens",
            ),
            (
                "jane@exa_mple.com",
                "the domain must be labels of letters, digits and inner hyphens",
            ),
            (
                "jane@exa mple.com",
                "the domain must be labels of letters, digits and inner hyphens",
            ),
            (
                "Jane <jane@example.com>",
                "the domain must be labels of letters, digits and inner hyphens",
            ),
            (
                "jane doe@example.com",
                "the local part must be dot-separated words without spaces or quotes",
            ),
            ("\"a@b\"@example.org", "more than one @"),
            (
                "\"jane\"@example.org",
                "the local part must be dot-separated words without spaces or quotes",
            ),
            (
                "jane.@example.com",
                "the local part must be dot-separated words without spaces or quotes",
            ),
            (
                "jane..doe@example.com",
                "the local part must be dot-separated words without spaces or quotes",
            ),
            ("jane\u{85}@example.com", "control character"),
            ("\tjane@example.com", "control character"),
            ("jane@example.com\n", "control character"),
        ] {
            assert_eq!(
                Email::parse(text),
                Err(EmailError::Invalid(fault)),
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
            pad in "[ \u{a0}\u{3000}]{0,3}",
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
