//! API tests: the real application on port 0, a fresh database per test, HTTP from
//! the outside. Every test runs on SQLite and on PostgreSQL.

#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::missing_panics_doc,
    reason = "a test fails by panicking; helpers are plain functions, which clippy's test allowances do not cover"
)]

mod auth;
mod authz;
mod cli;
mod errors;
mod helpers;
mod probes;
mod shutdown;
mod users;

/// Expands each listed `async fn name(backend: Backend)` into `sqlite::name` and
/// `postgres::name`.
#[macro_export]
macro_rules! api_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                super::$name(roster_persistence::Backend::Sqlite).await;
            })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                super::$name(roster_persistence::Backend::Postgres).await;
            })*
        }
    };
}
