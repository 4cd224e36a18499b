//! Test support (feature `testing`): a fresh, empty database per test, removed when the
//! test ends.
//!
//! PostgreSQL is reached at `ROSTER_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`), a role that may create databases.
//! When it cannot be reached, [`TestDatabase::postgres`] fails the test if `CI` is set,
//! and otherwise returns `None` after printing a loud notice: never a silent skip.

#![expect(
    clippy::missing_panics_doc,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr,
    reason = "test support: a set-up failure must fail the test loudly, a skip must be seen"
)]

use diesel::{Connection as _, PgConnection, RunQueryDsl as _};

use crate::{backend::Backend, settings::DatabaseSettings};

const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A database that exists for one test.
#[derive(Debug)]
pub struct TestDatabase {
    url: String,
    backend: Backend,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    /// The SQLite file lives in this folder, removed on drop.
    Folder(#[expect(dead_code, reason = "held for its Drop")] tempfile::TempDir),
    /// Drop this database through the admin URL.
    PostgresDatabase { admin_url: String, name: String },
}

impl TestDatabase {
    /// A SQLite file in a fresh temporary folder.
    pub fn sqlite() -> Self {
        let folder = tempfile::tempdir().expect("cannot create a temporary folder");
        let url = format!("sqlite://{}", folder.path().join("roster.db").display());
        Self {
            url,
            backend: Backend::Sqlite,
            cleanup: Cleanup::Folder(folder),
        }
    }

    /// A new PostgreSQL database, or `None` (with a loud notice) when PostgreSQL cannot
    /// be reached and `CI` is not set.
    pub fn postgres() -> Option<Self> {
        let admin_url = std::env::var("ROSTER_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned());
        let mut admin = match PgConnection::establish(&admin_url) {
            Ok(connection) => connection,
            Err(error) => {
                let message = format!(
                    "PostgreSQL is unreachable at ROSTER_TEST_POSTGRES_URL ({}): {error}",
                    redact(&admin_url)
                );
                assert!(
                    std::env::var_os("CI").is_none(),
                    "{message}; CI is set, so PostgreSQL tests must run"
                );
                eprintln!(
                    "\n!!!!! SKIPPED PostgreSQL test: {message}. Start it with `just db-up`. !!!!!\n"
                );
                return None;
            }
        };
        let name = format!(
            "roster_test_{}",
            ulid::Ulid::generate().to_string().to_lowercase()
        );
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .unwrap_or_else(|e| panic!("cannot create the test database {name}: {e}"));
        let mut url = url::Url::parse(&admin_url).expect("ROSTER_TEST_POSTGRES_URL is not a URL");
        url.set_path(&name);
        Some(Self {
            url: url.to_string(),
            backend: Backend::Postgres,
            cleanup: Cleanup::PostgresDatabase { admin_url, name },
        })
    }

    /// A fresh database of this backend (`None` as for [`TestDatabase::postgres`]).
    pub fn of(backend: Backend) -> Option<Self> {
        match backend {
            Backend::Sqlite => Some(Self::sqlite()),
            Backend::Postgres => Self::postgres(),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Default settings on this database.
    pub fn settings(&self) -> DatabaseSettings {
        DatabaseSettings::for_url(&self.url)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Cleanup::PostgresDatabase { admin_url, name } = &self.cleanup {
            // WITH (FORCE) ends the pool's connections that are still open.
            let dropped = PgConnection::establish(admin_url)
                .map_err(|e| e.to_string())
                .and_then(|mut c| {
                    diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut c)
                        .map_err(|e| e.to_string())
                });
            if let Err(error) = dropped {
                eprintln!("warning: could not drop the test database {name}: {error}");
            }
        }
    }
}

fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

/// Expands each listed `async fn name(backend: Backend)` into two tests,
/// `sqlite::name` and `postgres::name`, so that one test body runs on both backends.
/// Use it in a module whose parent defines the functions.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                super::$name($crate::Backend::Sqlite).await;
            })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                super::$name($crate::Backend::Postgres).await;
            })*
        }
    };
}

impl crate::Database {
    /// Ends every cache listener's connection to this database (PostgreSQL), as a
    /// network failure or a restart would; the listeners reconnect on their own.
    pub async fn terminate_cache_listeners(
        &self,
    ) -> Result<usize, roster_domain::ports::RepositoryError> {
        self.query("SELECT", "pg_stat_activity", |conn| {
            let crate::connection::DbConnection::Postgres(pg) = conn else {
                return Ok(0);
            };
            diesel::sql_query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE application_name = $1 AND datname = current_database()",
            )
            .bind::<diesel::sql_types::Text, _>(crate::cache::listener::APPLICATION_NAME)
            .execute(pg)
        })
        .await
    }
}
