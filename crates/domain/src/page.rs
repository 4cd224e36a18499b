//! Keyset pagination over users, ordered by id.

use std::fmt;

use crate::user::UserId;

/// How many users one page holds: 1 to [`PageSize::MAX`], [`PageSize::DEFAULT`] when not given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct PageSize(u16);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be between 1 and {max}", max = PageSize::MAX)]
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

/// A request for the users whose id sorts after `after` (from the start when `None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PageRequest {
    pub size: PageSize,
    pub after: Option<UserId>,
}

#[cfg(test)]
mod tests {
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
}
