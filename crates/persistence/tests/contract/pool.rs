//! The pool's limits: waiting for a connection ends, never hangs.

use std::time::{Duration, Instant};

use roster_domain::ports::{RepositoryError, UserRepository};
use roster_persistence::{Backend, Database, DatabaseSettings, DieselUserRepository};

use crate::Context;

roster_persistence::backend_tests!(an_exhausted_pool_reports_unavailable_after_the_wait_timeout);

async fn an_exhausted_pool_reports_unavailable_after_the_wait_timeout(backend: Backend) {
    let Some(ctx) = Context::with_settings(backend, |s| {
        s.max_connections = 1;
        s.wait_timeout = Duration::from_millis(200);
    })
    .await
    else {
        return;
    };
    // Hold the only connection.
    let _held = ctx.database.hold_connection().await.expect("connection");

    let started = Instant::now();
    let result = ctx.users.find(roster_domain::UserId::generate()).await;

    assert!(
        matches!(result, Err(RepositoryError::Unavailable(_))),
        "{result:?}"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(200),
        "it waited for the timeout"
    );
}

#[tokio::test]
async fn an_unreachable_postgres_reports_unavailable() {
    // Nothing listens on port 1.
    let settings = DatabaseSettings {
        create_timeout: Duration::from_secs(2),
        ..DatabaseSettings::for_url("postgres://postgres@127.0.0.1:1/roster")
    };
    let users = DieselUserRepository::new(Database::connect(&settings).await.expect("pool"));

    let result = users.find(roster_domain::UserId::generate()).await;

    assert!(
        matches!(result, Err(RepositoryError::Unavailable(_))),
        "{result:?}"
    );
}

#[test]
fn backends_are_chosen_from_the_url() {
    for (url, backend, target) in [
        ("postgres://u@h/db", Backend::Postgres, "postgres://u@h/db"),
        (
            "postgresql://u@h/db",
            Backend::Postgres,
            "postgresql://u@h/db",
        ),
        ("sqlite://data/roster.db", Backend::Sqlite, "data/roster.db"),
        (
            "sqlite:///var/lib/roster.db",
            Backend::Sqlite,
            "/var/lib/roster.db",
        ),
        ("sqlite:roster.db", Backend::Sqlite, "roster.db"),
        ("./roster.db", Backend::Sqlite, "./roster.db"),
    ] {
        assert_eq!(Backend::from_url(url), (backend, target), "{url}");
    }
}

#[tokio::test]
async fn in_memory_sqlite_is_refused_with_a_reason() {
    let error = Database::connect(&DatabaseSettings::for_url("sqlite::memory:"))
        .await
        .expect_err("refused");
    assert!(error.to_string().contains("in-memory"), "{error}");
}
