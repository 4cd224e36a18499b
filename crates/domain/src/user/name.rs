//! [`UserName`]: a display name, trimmed, 1 to 100 characters, no control characters.

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
    /// Counted in Unicode scalar values, as most clients count "characters".
    pub const MAX_CHARS: usize = 100;

    pub fn parse(text: &str) -> Result<Self, UserNameError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(UserNameError::Empty);
        }
        if text.chars().count() > Self::MAX_CHARS {
            return Err(UserNameError::TooLong);
        }
        if text.chars().any(char::is_control) {
            return Err(UserNameError::ControlCharacter);
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
            UserName::parse("  Ada Lovelace\t").map(|n| n.0),
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
    fn rejects_empty_and_control_characters() {
        assert_eq!(UserName::parse(""), Err(UserNameError::Empty));
        assert_eq!(UserName::parse(" \n\t "), Err(UserNameError::Empty));
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
