//! The tables, declared once for both backends: timestamps are [`Instant`]s.

diesel::table! {
    use diesel::sql_types::{BigInt, Nullable, Text};
    use crate::instant::Instant;

    users (id) {
        id -> Text,
        email -> Text,
        name -> Text,
        role -> Text,
        status -> Text,
        created_at -> Instant,
        updated_at -> Instant,
        version -> BigInt,
        password_hash -> Nullable<Text>,
        password_changed_at -> Nullable<Instant>,
        last_login_at -> Nullable<Instant>,
        email_domain -> Text,
        external_id -> Nullable<Text>,
    }
}

diesel::table! {
    use diesel::sql_types::Text;
    use crate::instant::Instant;

    revoked_tokens (token_id) {
        token_id -> Text,
        user_id -> Text,
        expires_at -> Instant,
    }
}

diesel::table! {
    use diesel::sql_types::Text;
    use crate::instant::Instant;

    token_revocations (user_id) {
        user_id -> Text,
        revoked_before -> Instant,
        expires_at -> Instant,
    }
}

diesel::table! {
    use diesel::sql_types::{Binary, Integer, Nullable, Text};
    use crate::instant::Instant;

    idempotency_keys (scope, key) {
        scope -> Text,
        key -> Text,
        fingerprint -> Text,
        status -> Nullable<Integer>,
        headers -> Nullable<Text>,
        body -> Nullable<Binary>,
        created_at -> Instant,
        expires_at -> Instant,
    }
}

diesel::table! {
    use diesel::sql_types::{Binary, SmallInt};

    idempotency_secret (id) {
        id -> SmallInt,
        secret -> Binary,
    }
}

diesel::table! {
    use diesel::sql_types::{Nullable, Text};
    use crate::instant::Instant;

    sessions (id) {
        id -> Text,
        user_id -> Text,
        created_at -> Instant,
        last_used_at -> Instant,
        expires_at -> Instant,
        client_address -> Text,
        user_agent -> Nullable<Text>,
        ended_at -> Nullable<Instant>,
        end_reason -> Nullable<Text>,
    }
}

diesel::table! {
    use diesel::sql_types::{Nullable, Text};
    use crate::instant::Instant;

    refresh_tokens (digest) {
        digest -> Text,
        session_id -> Text,
        issued_at -> Instant,
        spent_at -> Nullable<Instant>,
        access_token_id -> Text,
        access_expires_at -> Instant,
    }
}

diesel::table! {
    use diesel::sql_types::{BigInt, Nullable, Text};
    use crate::instant::Instant;

    outbox (seq) {
        seq -> BigInt,
        id -> Text,
        user_id -> Text,
        user_version -> BigInt,
        kind -> Text,
        data -> Text,
        actor -> Text,
        occurred_at -> Instant,
        delivered_at -> Nullable<Instant>,
    }
}

diesel::table! {
    use diesel::sql_types::{Nullable, Text};
    use crate::instant::Instant;

    outbox_lease (name) {
        name -> Text,
        holder -> Nullable<Text>,
        expires_at -> Instant,
    }
}

diesel::table! {
    use diesel::sql_types::{BigInt, Nullable, Text};
    use crate::instant::Instant;

    audit_log (id) {
        id -> Text,
        at -> Instant,
        last_at -> Instant,
        attempts -> BigInt,
        actor -> Text,
        action -> Text,
        target -> Nullable<Text>,
        client -> Nullable<Text>,
        outcome -> Text,
        request_id -> Nullable<Text>,
        trace_id -> Nullable<Text>,
        fields -> Text,
    }
}

diesel::define_sql_function! {
    /// SQL's `lower`, as in the unique index `users_email_unique`, which it lets
    /// look-ups by e-mail use. SQLite's own folds ASCII only; every SQLite connection
    /// replaces it with Rust's Unicode lower case (see `connection.rs`), which is what
    /// the domain folds with, and what PostgreSQL's does under a UTF-8 locale.
    fn lower(text: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

// A token's standing reads a user and both revocation tables in one statement; a
// refresh reads a session, its refresh token, its user and the user's revocation.
diesel::allow_tables_to_appear_in_same_query!(
    users,
    revoked_tokens,
    token_revocations,
    sessions,
    refresh_tokens
);
