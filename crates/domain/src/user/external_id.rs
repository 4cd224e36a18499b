//! [`ExternalId`]: the id a user has in the system they came from.

use std::fmt;

/// A user's id elsewhere (an import's source): 1 to 255 characters, kept exactly as
/// given, no control characters. Unique among users when present.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ExternalId(String);

/// Why a text is not an [`ExternalId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExternalIdError {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most {max} characters", max = ExternalId::MAX_CHARS)]
    TooLong,
    #[error("must not contain control characters")]
    ControlCharacter,
}

impl ExternalIdError {
    /// A stable, machine-readable name of the rule.
    pub fn rule(&self) -> &'static str {
        match self {
            Self::Empty => "required",
            Self::TooLong => "max_length",
            Self::ControlCharacter => "no_control_characters",
        }
    }
}

impl ExternalId {
    pub const MAX_CHARS: usize = 255;

    /// Kept exactly as given (another system's ids are compared as they are).
    pub fn parse(text: &str) -> Result<Self, ExternalIdError> {
        if text.chars().any(char::is_control) {
            return Err(ExternalIdError::ControlCharacter);
        }
        if text.chars().count() > Self::MAX_CHARS {
            return Err(ExternalIdError::TooLong);
        }
        if text.is_empty() {
            return Err(ExternalIdError::Empty);
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ExternalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ExternalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ExternalId").field(&self.0).finish()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn kept_exactly_within_its_rules() {
        assert_eq!(
            ExternalId::parse(" crm-42 ").map(|id| id.as_str().to_owned()),
            Ok(" crm-42 ".to_owned())
        );
        assert_eq!(ExternalId::parse(""), Err(ExternalIdError::Empty));
        assert_eq!(
            ExternalId::parse("a\u{0}b"),
            Err(ExternalIdError::ControlCharacter)
        );
        assert_eq!(
            ExternalId::parse(&"é".repeat(256)),
            Err(ExternalIdError::TooLong)
        );
        assert!(ExternalId::parse(&"é".repeat(255)).is_ok());
    }

    proptest! {
        #[test]
        fn any_text_parses_or_names_its_rule(text in ".{0,300}") {
            match ExternalId::parse(&text) {
                Ok(id) => prop_assert_eq!(id.as_str(), text.as_str()),
                Err(e) => prop_assert!(!e.rule().is_empty()),
            }
        }
    }
}
