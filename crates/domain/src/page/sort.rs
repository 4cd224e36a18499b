//! [`Sort`]: the orders a listing can have.

use std::str::FromStr;

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
}
