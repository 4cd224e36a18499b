//! [`Cursor`]: where a page ends. Cursors come back from clients, so one can only be
//! built with a sort key that fits its order.

use chrono::{DateTime, Utc};

use super::sort::{Sort, SortField};
use crate::user::{Email, User, UserId};

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
    sort: Sort,
    key: SortKey,
    id: UserId,
}

/// Why a cursor cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CursorError {
    /// The key is not of the sort field's kind (a timestamp for `created_at`, text
    /// otherwise), or is text that no address or name can be (a control character, or
    /// longer than the longest address).
    #[error("the position does not fit sort={}", .0.as_str())]
    KeyMismatch(Sort),
    /// The cursor was issued for another order than the one asked for.
    #[error("issued for sort={}; repeat that sort, or start without a cursor", .0.as_str())]
    OtherSort(Sort),
}

impl Cursor {
    /// The position (`key`, `id`) in `sort`, when the key fits the sort field.
    pub fn new(sort: Sort, key: SortKey, id: UserId) -> Result<Self, CursorError> {
        let fits = match (sort.field, &key) {
            (SortField::CreatedAt, SortKey::Instant(_)) => true,
            (SortField::Email | SortField::Name, SortKey::Text(text)) => {
                text.chars().count() <= Email::MAX_LEN && !text.chars().any(char::is_control)
            }
            _ => false,
        };
        if fits {
            Ok(Self { sort, key, id })
        } else {
            Err(CursorError::KeyMismatch(sort))
        }
    }

    /// The position of `user` in the order `sort`, for the next page's cursor.
    pub fn of_user(sort: Sort, user: &User) -> Self {
        let key = match sort.field {
            SortField::CreatedAt => SortKey::Instant(user.created_at),
            SortField::Email => SortKey::Text(user.email.as_str().to_owned()),
            SortField::Name => SortKey::Text(user.name.as_str().to_owned()),
        };
        Self {
            sort,
            key,
            id: user.id,
        }
    }

    /// This cursor, when it was issued for `sort`: a page continues in its own order.
    pub fn continuing(self, sort: Sort) -> Result<Self, CursorError> {
        if self.sort == sort {
            Ok(self)
        } else {
            Err(CursorError::OtherSort(self.sort))
        }
    }

    pub fn sort(&self) -> Sort {
        self.sort
    }

    pub fn key(&self) -> &SortKey {
        &self.key
    }

    pub fn id(&self) -> UserId {
        self.id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_key_must_fit_its_sort_field() {
        let id = UserId::generate();
        let instant = SortKey::Instant(Utc::now());
        let text = SortKey::Text("ada".to_owned());
        for name in Sort::NAMES {
            let sort: Sort = name.parse().unwrap_or_default();
            let (fitting, other) = if sort.field == SortField::CreatedAt {
                (&instant, &text)
            } else {
                (&text, &instant)
            };
            let cursor = Cursor::new(sort, fitting.clone(), id);
            assert_eq!(cursor.as_ref().map(Cursor::sort), Ok(sort), "{name}");
            assert_eq!(cursor.as_ref().map(Cursor::key), Ok(fitting), "{name}");
            assert_eq!(cursor.as_ref().map(Cursor::id), Ok(id), "{name}");
            let other_sort = Sort {
                descending: !sort.descending,
                ..sort
            };
            assert_eq!(
                cursor.clone().and_then(|c| c.continuing(other_sort)),
                Err(CursorError::OtherSort(sort)),
                "{name}"
            );
            assert_eq!(
                cursor.clone().and_then(|c| c.continuing(sort)),
                cursor,
                "{name}"
            );
            assert_eq!(
                Cursor::new(sort, other.clone(), id),
                Err(CursorError::KeyMismatch(sort)),
                "{name}"
            );
        }
    }
}
