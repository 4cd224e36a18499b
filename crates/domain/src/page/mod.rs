//! Listing users: filters, sort orders, and keyset pagination that stays correct for
//! every order.

mod cursor;
mod filter;
mod sort;

use std::{fmt, str::FromStr};

pub use cursor::{Cursor, CursorError, SortKey};
pub use filter::{
    EmailDomain, EmailDomainError, EmailLookup, EmailLookupError, NameFragment, NameFragmentError,
    UserFilter,
};
pub use sort::{Sort, SortError, SortField};

/// How many users one page holds: 1 to [`PageSize::MAX`], [`PageSize::DEFAULT`] when not given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct PageSize(u16);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be an integer from 1 to {max}", max = PageSize::MAX)]
pub struct PageSizeError;

impl PageSize {
    pub const DEFAULT: Self = Self(50);
    pub const MAX: u16 = 200;

    pub fn new(value: u64) -> Result<Self, PageSizeError> {
        u16::try_from(value)
            .ok()
            .filter(|v| (1..=Self::MAX).contains(v))
            .map(Self)
            .ok_or(PageSizeError)
    }

    pub fn get(self) -> usize {
        usize::from(self.0)
    }
}

/// A page size as written in a query string: decimal digits only.
impl FromStr for PageSize {
    type Err = PageSizeError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        text.parse::<u64>()
            .map_err(|_| PageSizeError)
            .and_then(Self::new)
    }
}

impl Default for PageSize {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl fmt::Display for PageSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// One listing request: which users, in which order, how many, from where.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserQuery {
    pub filter: UserFilter,
    pub sort: Sort,
    pub size: PageSize,
    /// Continue after this position; it must have been issued for `sort`.
    pub after: Option<Cursor>,
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn accepts_the_bounds_and_rejects_outside_them() {
        assert_eq!(PageSize::new(1).map(PageSize::get), Ok(1));
        assert_eq!(PageSize::new(200).map(PageSize::get), Ok(200));
        assert_eq!(PageSize::new(0), Err(PageSizeError));
        assert_eq!(PageSize::new(201), Err(PageSizeError));
        assert_eq!(PageSize::new(u64::MAX), Err(PageSizeError));
        assert_eq!(PageSize::default().get(), 50);
    }

    #[test]
    fn parses_decimal_text_only() {
        assert_eq!("7".parse::<PageSize>().map(PageSize::get), Ok(7));
        for bad in [
            "",
            "0",
            "201",
            "-1",
            "1.0",
            " 5",
            "five",
            "99999999999999999999999",
        ] {
            assert_eq!(bad.parse::<PageSize>(), Err(PageSizeError), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn text_parses_exactly_when_it_is_a_number_in_range(text in "[0-9+-]{0,5}|\\PC{0,6}") {
            let expected = text.parse::<usize>().ok().filter(|n| (1..=200).contains(n));
            prop_assert_eq!(text.parse::<PageSize>().ok().map(PageSize::get), expected);
        }
    }
}
