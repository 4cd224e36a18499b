//! The tables, once per dialect: the two differ only in their timestamp types.

pub(crate) mod sqlite {
    /// This dialect's timestamp type, for hand-written SQL fragments.
    pub(crate) type Instant = diesel::sql_types::TimestamptzSqlite;

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
            email_domain -> Text,
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
    diesel::table! {
        idempotency_keys (scope, key) {
            scope -> Text,
            key -> Text,
            fingerprint -> Text,
            status -> Nullable<Integer>,
            headers -> Nullable<Text>,
            body -> Nullable<Binary>,
            created_at -> TimestamptzSqlite,
            expires_at -> TimestamptzSqlite,
        }
    }
}

pub(crate) mod postgres {
    /// This dialect's timestamp type, for hand-written SQL fragments.
    pub(crate) type Instant = diesel::sql_types::Timestamptz;

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
            email_domain -> Text,
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
    diesel::table! {
        idempotency_keys (scope, key) {
            scope -> Text,
            key -> Text,
            fingerprint -> Text,
            status -> Nullable<Integer>,
            headers -> Nullable<Text>,
            body -> Nullable<Binary>,
            created_at -> Timestamptz,
            expires_at -> Timestamptz,
        }
    }
}
