//! [`UserName`]: a display name: at most 100 characters as sent, no control characters
//! anywhere, not only white space; surrounding white space is removed.

use std::fmt;

/// A user's display name.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct UserName(String);

/// Why a text is not a [`UserName`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserNameError {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most {max} characters", max = UserName::MAX_CHARS)]
    TooLong,
    #[error("must not contain control characters")]
    ControlCharacter,
}

impl UserName {
    /// Counted in Unicode scalar values, as most clients (and JSON Schema) count
    /// "characters", on the text as sent.
    pub const MAX_CHARS: usize = 100;

    /// The white space that surrounds a name and is removed: Unicode's `White_Space`
    /// less the control characters (which a name may not contain at all). Spelled out
    /// because regular-expression engines disagree on what `\s` means.
    pub const SPACE_CHARACTERS: &'static str = "\u{20}\u{a0}\u{1680}\u{2000}\u{2001}\u{2002}\u{2003}\u{2004}\u{2005}\u{2006}\u{2007}\u{2008}\u{2009}\u{200a}\u{2028}\u{2029}\u{202f}\u{205f}\u{3000}";

    /// The checks run on the text as sent, so that they say exactly what the published
    /// schema says; only then is surrounding white space removed.
    pub fn parse(text: &str) -> Result<Self, UserNameError> {
        if text.chars().any(char::is_control) {
            return Err(UserNameError::ControlCharacter);
        }
        if text.chars().count() > Self::MAX_CHARS {
            return Err(UserNameError::TooLong);
        }
        let text = text.trim();
        if text.is_empty() {
            return Err(UserNameError::Empty);
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Names are personal data: `Debug` hides them.
impl fmt::Debug for UserName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("UserName(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn trims_surrounding_white_space() {
        assert_eq!(
            UserName::parse("  Ada Lovelace\u{3000}").map(|n| n.0),
            Ok("Ada Lovelace".into())
        );
    }

    #[test]
    fn counts_characters_not_bytes() {
        assert!(UserName::parse(&"é".repeat(100)).is_ok());
        assert_eq!(
            UserName::parse(&"é".repeat(101)),
            Err(UserNameError::TooLong)
        );
    }

    #[test]
    fn white_space_is_what_unicode_says_less_the_control_characters() {
        let listed: Vec<char> = UserName::SPACE_CHARACTERS.chars().collect();
        let unicode: Vec<char> = (0..=0x10_ffff_u32)
            .filter_map(char::from_u32)
            .filter(|c| c.is_whitespace() && !c.is_control())
            .collect();
        assert_eq!(listed, unicode);
    }

    #[test]
    fn control_characters_are_refused_even_around_the_name() {
        for text in ["\nAda", "Ada\t", "\u{85}Ada", "\n\u{d0c9e}\u{c5}1"] {
            assert_eq!(
                UserName::parse(text),
                Err(UserNameError::ControlCharacter),
                "{text:?}"
            );
        }
    }

    #[test]
    fn the_length_limit_applies_to_the_text_as_sent() {
        let padded = format!(" {} ", "a".repeat(UserName::MAX_CHARS - 2));
        assert!(UserName::parse(&padded).is_ok());
        let longer = format!(" {} ", "a".repeat(UserName::MAX_CHARS - 1));
        assert_eq!(UserName::parse(&longer), Err(UserNameError::TooLong));
    }

    #[test]
    fn rejects_empty_and_control_characters() {
        assert_eq!(UserName::parse(""), Err(UserNameError::Empty));
        assert_eq!(UserName::parse(" \u{3000} "), Err(UserNameError::Empty));
        assert_eq!(
            UserName::parse(" \n\t "),
            Err(UserNameError::ControlCharacter)
        );
        assert_eq!(
            UserName::parse("Ada\u{0}"),
            Err(UserNameError::ControlCharacter)
        );
        assert_eq!(
            UserName::parse("Ada\nLovelace"),
            Err(UserNameError::ControlCharacter)
        );
        assert_eq!(
            UserName::parse("Ada\u{7f}"),
            Err(UserNameError::ControlCharacter)
        );
    }

    proptest! {
        #[test]
        fn accepted_names_satisfy_every_rule(text in "\\PC{0,120}|.{0,120}") {
            if let Ok(name) = UserName::parse(&text) {
                let s = name.as_str();
                prop_assert_eq!(s, s.trim());
                prop_assert!((1..=UserName::MAX_CHARS).contains(&s.chars().count()));
                prop_assert!(!s.chars().any(char::is_control));
                prop_assert_eq!(UserName::parse(s), Ok(name.clone()));
            }
        }

        #[test]
        fn printable_names_within_the_limit_are_accepted(text in "[\\p{L}\\p{N}][\\p{L}\\p{N} .'-]{0,98}") {
            let name = UserName::parse(&text);
            prop_assert_eq!(name.map(|n| n.0), Ok(text.trim().to_owned()));
        }
    }
}
