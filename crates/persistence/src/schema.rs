//! The tables, once per dialect: the two differ only in their timestamp types.

pub(crate) mod sqlite {
    diesel::table! {
        users (id) {
            id -> Text,
            email -> Text,
            name -> Text,
            role -> Text,
            status -> Text,
            created_at -> TimestamptzSqlite,
            updated_at -> TimestamptzSqlite,
            version -> BigInt,
        }
    }
}

pub(crate) mod postgres {
    diesel::table! {
        users (id) {
            id -> Text,
            email -> Text,
            name -> Text,
            role -> Text,
            status -> Text,
            created_at -> Timestamptz,
            updated_at -> Timestamptz,
            version -> BigInt,
        }
    }
}
