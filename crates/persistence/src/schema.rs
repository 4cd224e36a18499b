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
            password_hash -> Nullable<Text>,
            password_changed_at -> Nullable<TimestamptzSqlite>,
            last_login_at -> Nullable<TimestamptzSqlite>,
        }
    }

    diesel::table! {
        revoked_tokens (token_id) {
            token_id -> Text,
            user_id -> Text,
            expires_at -> TimestamptzSqlite,
        }
    }

    diesel::table! {
        token_revocations (user_id) {
            user_id -> Text,
            revoked_before -> TimestamptzSqlite,
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
            password_hash -> Nullable<Text>,
            password_changed_at -> Nullable<Timestamptz>,
            last_login_at -> Nullable<Timestamptz>,
        }
    }

    diesel::table! {
        revoked_tokens (token_id) {
            token_id -> Text,
            user_id -> Text,
            expires_at -> Timestamptz,
        }
    }

    diesel::table! {
        token_revocations (user_id) {
            user_id -> Text,
            revoked_before -> Timestamptz,
        }
    }
}
