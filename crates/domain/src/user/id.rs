//! [`UserId`]: a ULID, so ids sort by creation time and keyset pagination is stable.

use std::{fmt, str::FromStr};

use ulid::Ulid;

/// A user's identifier: a ULID, written as 26 Crockford base32 characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UserId(Ulid);

/// The text is not a ULID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("is not a valid user id (expected a 26-character ULID)")]
pub struct UserIdError;

impl UserId {
    /// A new id from the current time and fresh randomness.
    pub fn generate() -> Self {
        Self(Ulid::generate())
    }

    /// A new id from the time `at` and fresh randomness: for users created elsewhere at
    /// `at` (an import), so that ids keep sorting by creation time.
    pub fn generate_at(at: chrono::DateTime<chrono::Utc>) -> Self {
        Self(Ulid::from_datetime(at.into()))
    }

    /// Parses the canonical 26-character form (case-insensitive, as ULIDs are).
    /// Text that decodes but does not write back the same, such as a first character
    /// past `7` (which overflows 128 bits), names no id.
    pub fn parse(text: &str) -> Result<Self, UserIdError> {
        Ulid::from_string(text)
            .ok()
            .filter(|id| id.to_string().eq_ignore_ascii_case(text))
            .map(Self)
            .ok_or(UserIdError)
    }
}

/// Ids for many users created at once (an import): within one millisecond each is
/// the one before plus one, so that a batch's ids are neighbours in every index that
/// orders by id (a random ULID per user scatters a batch's rows over the whole index,
/// and its writes over as many pages). An id's time is always the time it is made for.
#[derive(Debug, Default)]
pub struct UserIdGenerator {
    previous: Option<Ulid>,
}

impl UserIdGenerator {
    pub fn new() -> Self {
        Self::default()
    }

    /// An id from the time `at`: the previous one plus one when that was made for the
    /// same millisecond (and does not overflow it), else a fresh random one.
    pub fn next_at(&mut self, at: chrono::DateTime<chrono::Utc>) -> UserId {
        let fresh = Ulid::from_datetime(at.into());
        let next = self
            .previous
            .filter(|previous| previous.timestamp_ms() == fresh.timestamp_ms())
            .and_then(|previous| previous.increment().ok())
            .unwrap_or(fresh);
        self.previous = Some(next);
        UserId(next)
    }
}

impl FromStr for UserId {
    type Err = UserIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn a_generator_counts_up_within_a_millisecond_and_keeps_each_ids_time() {
        let at = chrono::DateTime::from_timestamp_millis(1_700_000_000_123).expect("time");
        let earlier = chrono::DateTime::from_timestamp_millis(1_600_000_000_000).expect("time");
        let mut ids = UserIdGenerator::new();
        let (first, second) = (ids.next_at(at), ids.next_at(at));
        assert_eq!(second.0, first.0.increment().expect("room"), "neighbours");
        let back = ids.next_at(earlier);
        assert_eq!(
            back.0.timestamp_ms(),
            1_600_000_000_000,
            "never a later time"
        );
        assert_eq!(ids.next_at(at).0.timestamp_ms(), first.0.timestamp_ms());
    }

    #[test]
    fn generated_ids_sort_by_creation() {
        let first = UserId::generate();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second = UserId::generate();
        assert!(first < second);
        assert!(
            first.to_string() < second.to_string(),
            "text order must match id order"
        );
    }

    #[test]
    fn rejects_what_is_not_a_ulid() {
        for text in [
            "",
            "42",
            "not-a-ulid",
            "01ARZ3NDEKTSV4RRFFQ69G5FA",
            "01ARZ3NDEKTSV4RRFFQ69G5FAVV",
            // Past 2^128: decodes, but would name another id.
            "8ZZZZZZZZZZZZZZZZZZZZZZZZZ",
            "AAA0000000000A0A00A00A00AA",
            // Crockford's aliases for 1 and 0 are not the canonical form.
            "0IARZ3NDEKTSV4RRFFQ69G5FAV",
            "01ARZ3NDEKTSV4RRFFQ69G5FAO",
        ] {
            assert_eq!(UserId::parse(text), Err(UserIdError), "{text:?}");
        }
    }

    proptest! {
        #[test]
        fn display_then_parse_round_trips(bits in any::<u128>()) {
            let id = UserId(Ulid(bits));
            prop_assert_eq!(UserId::parse(&id.to_string()), Ok(id));
        }
    }
}
