//! Liveness and readiness.

use reqwest::StatusCode;
use roster_persistence::Backend;
use serde_json::{Value, json};

use crate::helpers::TestApp;

roster_persistence::backend_tests!(
    health_and_ready_answer_200_on_a_migrated_database,
    ready_is_503_naming_pending_migrations
);

async fn health_and_ready_answer_200_on_a_migrated_database(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };

    let health = app.get("/health").await;
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(
        health.json::<Value>().await.expect("json"),
        json!({ "status": "ok" })
    );

    let ready = app.get("/ready").await;
    assert_eq!(ready.status(), StatusCode::OK);
    assert_eq!(
        ready.json::<Value>().await.expect("json"),
        json!({ "status": "ready", "checks": { "database": { "status": "up" }, "events": { "status": "up" }, "migrations": { "status": "up" } } })
    );
}

async fn ready_is_503_naming_pending_migrations(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |s| {
        s.database.auto_migrate = false;
        // No tables yet, so no administrator either.
        s.auth.bootstrap_admin = None;
    })
    .await
    else {
        return;
    };

    let ready = app.get("/ready").await;

    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let report: Value = ready.json().await.expect("json");
    assert_eq!(report["status"], "not_ready");
    assert_eq!(report["checks"]["database"]["status"], "up");
    assert_eq!(report["checks"]["migrations"]["status"], "down");
    // Which migration is missing is the log's business, not an anonymous caller's.
    assert_eq!(
        report["checks"]["migrations"]["error"], "failed (the cause is in the log)",
        "{report}"
    );
    // Liveness does not depend on the database.
    assert_eq!(app.get("/health").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn ready_is_503_when_postgres_is_unreachable() {
    let Some(app) = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.database = roster_persistence::DatabaseSettings {
            auto_migrate: false,
            create_timeout: std::time::Duration::from_secs(1),
            // Nothing listens on port 1.
            ..roster_persistence::DatabaseSettings::for_url(
                "postgres://postgres@127.0.0.1:1/roster",
            )
        };
        s.auth.bootstrap_admin = None;
    })
    .await
    else {
        return;
    };

    let ready = app.get("/ready").await;

    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let report: Value = ready.json().await.expect("json");
    assert_eq!(report["checks"]["database"]["status"], "down", "{report}");
    let error = report["checks"]["database"]["error"]
        .as_str()
        .unwrap_or_default();
    assert!(
        !error.contains("127.0.0.1") && !error.to_lowercase().contains("connect"),
        "the driver's message stays in the log: {report}"
    );
    // A valid token: checking its revocation needs the database.
    let token = app.mint(
        roster_domain::UserId::generate(),
        roster_domain::Role::Admin,
        chrono::Utc::now(),
    );
    let users = TestApp::client_with(&token)
        .get(app.url("/api/v1/users"))
        .send()
        .await
        .expect("request");
    assert_eq!(
        users.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "a down database is 503, not 500"
    );
    assert!(users.headers().contains_key("retry-after"));
}
