//! Listing users: filters, sort orders, and keyset pagination that stays correct for
//! every order.

use std::{fmt, str::FromStr};

use chrono::{DateTime, Utc};

use crate::user::{Role, Status, User, UserId};

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

/// Which users a listing shows; every condition given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserFilter {
    /// This address, in lower case (compared case-insensitively).
    pub email: Option<String>,
    /// Addresses at this domain (lower case).
    pub email_domain: Option<String>,
    /// Names containing this text, compared case-insensitively.
    pub name_contains: Option<String>,
    pub role: Option<Role>,
    pub status: Option<Status>,
    /// Created strictly after this instant.
    pub created_after: Option<DateTime<Utc>>,
    /// Created strictly before this instant.
    pub created_before: Option<DateTime<Utc>>,
}

/// What a listing is ordered by; ties are broken by id, in the same direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortField {
    #[default]
    CreatedAt,
    Email,
    Name,
}

/// A sort order: a field, ascending or descending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sort {
    pub field: SortField,
    pub descending: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be one of {}", Sort::NAMES.join(", "))]
pub struct SortError;

impl Sort {
    /// Every order, as written in a query string.
    pub const NAMES: [&'static str; 6] = [
        "created_at",
        "-created_at",
        "email",
        "-email",
        "name",
        "-name",
    ];

    pub fn as_str(self) -> &'static str {
        match (self.field, self.descending) {
            (SortField::CreatedAt, false) => "created_at",
            (SortField::CreatedAt, true) => "-created_at",
            (SortField::Email, false) => "email",
            (SortField::Email, true) => "-email",
            (SortField::Name, false) => "name",
            (SortField::Name, true) => "-name",
        }
    }

    /// The position of `user` in this order, for the next page's cursor.
    pub fn position_of(self, user: &User) -> Cursor {
        let key = match self.field {
            SortField::CreatedAt => SortKey::Instant(user.created_at),
            SortField::Email => SortKey::Text(user.email.as_str().to_owned()),
            SortField::Name => SortKey::Text(user.name.as_str().to_owned()),
        };
        Cursor {
            sort: self,
            key,
            id: user.id,
        }
    }
}

impl FromStr for Sort {
    type Err = SortError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (descending, name) = match text.strip_prefix('-') {
            Some(name) => (true, name),
            None => (false, text),
        };
        let field = match name {
            "created_at" => SortField::CreatedAt,
            "email" => SortField::Email,
            "name" => SortField::Name,
            _ => return Err(SortError),
        };
        Ok(Self { field, descending })
    }
}

/// The sort field's value at a position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SortKey {
    Instant(DateTime<Utc>),
    Text(String),
}

/// Where a page ends: the last user's sort key and id, in the order it was issued
/// for. The next page holds the users strictly after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub sort: Sort,
    pub key: SortKey,
    pub id: UserId,
}

impl Cursor {
    /// Whether the key fits the sort field (a timestamp for `created_at`, text
    /// otherwise): cursors are decoded from client input.
    pub fn fits(&self) -> bool {
        matches!(
            (self.sort.field, &self.key),
            (SortField::CreatedAt, SortKey::Instant(_))
                | (SortField::Email | SortField::Name, SortKey::Text(_))
        )
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
    use super::*;

    #[test]
    fn sort_orders_round_trip_through_text() {
        for name in Sort::NAMES {
            assert_eq!(name.parse::<Sort>().map(Sort::as_str), Ok(name));
        }
        assert_eq!("".parse::<Sort>(), Err(SortError));
        assert_eq!("--name".parse::<Sort>(), Err(SortError));
        assert_eq!("id".parse::<Sort>(), Err(SortError));
        assert_eq!(Sort::default().as_str(), "created_at");
    }

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
