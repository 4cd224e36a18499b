//! `roster db copy`: a populated SQLite database copied into a fresh PostgreSQL
//! database, where every user logs in as before; and the copy's refusals.

use reqwest::StatusCode;
use roster_persistence::{Backend, testing::TestDatabase};
use serde_json::{Value, json};

use crate::{
    helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, PASSWORD, TestApp},
    transfer::{roster, text},
};

/// Each user's id and version as `/users/me` shows them after a login.
async fn me(app: &TestApp, email: &str, password: &str) -> (Value, Value) {
    let me = app.me_as(email, password).await;
    (me["id"].clone(), me["version"].clone())
}

/// A SQLite database with users at several versions, sessions, an idempotency
/// record, events and audit entries.
async fn populated() -> TestApp {
    let app = TestApp::spawn(Backend::Sqlite)
        .await
        .expect("SQLite is always there");
    let ada = app.created_user("ada@example.com", "Ada").await;
    let id = ada["id"].as_str().expect("id");
    let renamed = app
        .client
        .patch(app.url(&format!("/api/v1/users/{id}")))
        .header("content-type", "application/merge-patch+json")
        .json(&json!({ "name": "Ada Lovelace" }))
        .send()
        .await
        .expect("patch");
    assert_eq!(renamed.status(), StatusCode::OK);
    let keyed = app
        .client
        .post(app.url("/api/v1/users"))
        .header("idempotency-key", "copy-test-key")
        .json(&json!({ "email": "grace@example.com", "name": "Grace", "password": PASSWORD }))
        .send()
        .await
        .expect("create");
    assert_eq!(keyed.status(), StatusCode::CREATED);
    app.login("grace@example.com", PASSWORD).await;
    app
}

/// Copies `from` into `to` with the binary, which reports each table verified; a second
/// copy into the now populated target is refused and changes nothing.
fn copy_then_refuse(app: &TestApp, from: &str, to: &str) {
    let output = roster(app, &["db", "copy", "--from", from, "--to", to], None);
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert!(output.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("copied and verified 10 tables"), "{stdout}");
    for table in [
        "users",
        "sessions",
        "refresh_tokens",
        "outbox",
        "audit_log",
        "idempotency_keys",
    ] {
        assert!(
            stderr.contains(&format!("{table}: ")) && stderr.contains("verified"),
            "{table} is reported: {stderr}"
        );
    }
    assert!(stderr.contains("users: 3 rows copied"), "{stderr}");
    let again = roster(app, &["db", "copy", "--from", from, "--to", to], None);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        text(&again.stderr).contains("--replace"),
        "{}",
        text(&again.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_database_copied_to_postgres_serves_the_same_users() {
    let source = populated().await;
    let Some(target) = TestDatabase::postgres() else {
        return;
    };
    let before = [
        (ADMIN_EMAIL, me(&source, ADMIN_EMAIL, ADMIN_PASSWORD).await),
        (
            "ada@example.com",
            me(&source, "ada@example.com", PASSWORD).await,
        ),
        (
            "grace@example.com",
            me(&source, "grace@example.com", PASSWORD).await,
        ),
    ];
    let from = source.database.url().to_owned();
    let key = source.settings.auth.private_key.clone();
    // Writes stop: the runbook's first step. Then the copy, and a second one that is
    // refused.
    copy_then_refuse(&source, &from, target.url());

    let copy = TestApp::spawn_on(target, |settings| {
        settings.auth.private_key.clone_from(&key);
    })
    .await;
    for (email, (id, version)) in before {
        let password = if email == ADMIN_EMAIL {
            ADMIN_PASSWORD
        } else {
            PASSWORD
        };
        let (copied_id, copied_version) = me(&copy, email, password).await;
        assert_eq!((copied_id, copied_version), (id, version), "{email}");
    }
    // The idempotency record came along: the same key replays the same creation.
    let replay = copy
        .client
        .post(copy.url("/api/v1/users"))
        .header("idempotency-key", "copy-test-key")
        .json(&json!({ "email": "grace@example.com", "name": "Grace", "password": PASSWORD }))
        .send()
        .await
        .expect("replay");
    assert_eq!(
        replay.status(),
        StatusCode::CREATED,
        "replayed, not a conflict"
    );
    // New events number after the copied ones.
    copy.created_user("new@example.com", "New").await;
    copy.stop().await.expect("stops");
    source.stop().await.expect("stops");
}
