//! Nothing secret or personal reaches the logs or the spans: every authentication and
//! users endpoint is driven with known secrets while the production log format writes,
//! at TRACE level, into a buffer, and every span is recorded as it would be exported;
//! both are then searched for them.

#![expect(
    clippy::expect_used,
    reason = "a test fails by panicking; helpers are plain functions, which clippy's test allowances do not cover"
)]

#[path = "../api/helpers.rs"]
#[expect(dead_code, reason = "shared with the API tests, which use all of it")]
mod helpers;

use std::{
    io::Write,
    sync::{Arc, Mutex, OnceLock},
};

use helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use reqwest::StatusCode;
use roster_persistence::Backend;
use roster_telemetry::LogFormat;
use serde_json::{Value, json};
use tracing_subscriber::EnvFilter;

/// Everything every test of this binary logged.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("lock")).into_owned()
    }
}

/// The process-wide subscriber: production's JSON format, everything of ours at TRACE,
/// and every span recorded as it would be exported.
fn captured() -> (Captured, InMemorySpanExporter) {
    static CAPTURED: OnceLock<(Captured, InMemorySpanExporter)> = OnceLock::new();
    CAPTURED
        .get_or_init(|| {
            let captured = Captured::default();
            let sink = captured.clone();
            let filter =
                EnvFilter::new("trace,hyper=off,hyper_util=off,h2=off,reqwest=off,mio=off");
            let spans = InMemorySpanExporter::default();
            let tracer_provider = SdkTracerProvider::builder()
                .with_simple_exporter(spans.clone())
                .build();
            let subscriber = roster_telemetry::subscriber(
                LogFormat::Json,
                false,
                filter,
                move || sink.clone(),
                &tracer_provider,
            );
            tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");
            (captured, spans)
        })
        .clone()
}

roster_persistence::backend_tests!(no_secret_or_address_is_ever_logged);

const EMAIL: &str = "secret.person@example.com";
const RENAMED: &str = "renamed.secret@example.com";
const REGISTRANT: &str = "registrant.secret@example.com";
const PASSWORD: &str = "first very secret words";
const NEW_PASSWORD: &str = "second very secret words";
const WRONG: &str = "wrong secret guess";

async fn no_secret_or_address_is_ever_logged(backend: Backend) {
    let (logs, spans) = captured();
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };

    let (id, mut tokens) = drive_as_the_user(&app).await;
    tokens.push(drive_as_an_admin(&app, &id).await);

    let text = logs.text();
    assert!(
        text.contains("request completed") && text.contains(&id),
        "the capture works and ids are logged"
    );
    let access_lines: Vec<Value> = text
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["fields"]["message"] == "request completed")
        .collect();
    assert!(access_lines.len() > 10);
    for line in &access_lines {
        assert!(
            line["trace_id"].as_str().is_some_and(|id| id.len() == 32)
                && line["span_id"].as_str().is_some_and(|id| id.len() == 16)
                && line["spans"][0]["request_id"].is_string(),
            "every request's line carries its ids: {line}"
        );
    }
    let exported = format!("{:?}", spans.get_finished_spans().expect("spans"));
    assert!(
        exported.contains("users.create") && exported.contains(&id),
        "the span capture works"
    );
    let secrets = [
        EMAIL,
        RENAMED,
        REGISTRANT,
        ADMIN_EMAIL,
        PASSWORD,
        NEW_PASSWORD,
        WRONG,
        ADMIN_PASSWORD,
    ];
    for secret in secrets
        .iter()
        .copied()
        .chain(tokens.iter().map(String::as_str))
        .chain(["$argon2id$", "ed25519-private"])
    {
        assert!(!text.contains(secret), "the logs contain {secret:?}");
        assert!(!exported.contains(secret), "a span contains {secret:?}");
    }
}

/// Creation, a duplicate, a failed and a good login, `me`, a replacement, a password
/// change, a revoked token, logout and registration. Returns the user's id and tokens.
async fn drive_as_the_user(app: &TestApp) -> (String, Vec<String>) {
    let id = create_the_user(app).await;
    let token = app.login(EMAIL, PASSWORD).await;
    let member = TestApp::client_with(&token);
    let me = member
        .get(app.url("/api/v1/users/me"))
        .send()
        .await
        .expect("me");
    assert_eq!(me.status(), StatusCode::OK);
    let body = json!({ "email": RENAMED, "name": "Renamed", "role": "member", "status": "active" });
    let put = member
        .put(app.url(&format!("/api/v1/users/{id}")))
        .json(&body)
        .send()
        .await
        .expect("put");
    assert_eq!(put.status(), StatusCode::OK);
    let change = json!({ "current_password": PASSWORD, "new_password": NEW_PASSWORD });
    let path = format!("/api/v1/users/{id}/password");
    let changed = member
        .put(app.url(&path))
        .json(&change)
        .send()
        .await
        .expect("password");
    assert_eq!(changed.status(), StatusCode::NO_CONTENT);
    let stale = member
        .get(app.url("/api/v1/users/me"))
        .send()
        .await
        .expect("me");
    assert_eq!(stale.status(), StatusCode::UNAUTHORIZED);
    let fresh = app.login(RENAMED, NEW_PASSWORD).await;
    let out = TestApp::client_with(&fresh)
        .post(app.url("/api/v1/auth/revoke"))
        .send()
        .await
        .expect("logout");
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    let register = json!({ "email": REGISTRANT, "name": "Registrant", "password": PASSWORD });
    let registered = app
        .anonymous
        .post(app.url("/api/v1/auth/register"))
        .json(&register)
        .send()
        .await
        .expect("reg");
    assert_eq!(registered.status(), StatusCode::FORBIDDEN);
    (id, vec![token, fresh])
}

/// Creation, a duplicate and a failed login. Returns the user's id.
async fn create_the_user(app: &TestApp) -> String {
    let created = app
        .create_user(&json!({ "email": EMAIL, "name": "Secret Person", "password": PASSWORD }))
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let id = created.json::<Value>().await.expect("json")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let duplicate = app
        .create_user(&json!({ "email": EMAIL, "name": "Again", "password": PASSWORD }))
        .await;
    assert_eq!(duplicate.status(), StatusCode::CONFLICT);
    assert_eq!(
        app.try_login(EMAIL, WRONG).await.status(),
        StatusCode::UNAUTHORIZED
    );
    id
}

/// Listing, revoking the user's tokens and deleting them. Returns the admin's token.
async fn drive_as_an_admin(app: &TestApp, id: &str) -> String {
    let admin_token = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let list = app
        .client
        .get(app.url("/api/v1/users"))
        .send()
        .await
        .expect("list");
    assert_eq!(list.status(), StatusCode::OK);
    let path = format!("/api/v1/users/{id}/revoke-tokens");
    assert_eq!(
        app.client
            .post(app.url(&path))
            .send()
            .await
            .expect("revoke")
            .status(),
        StatusCode::NO_CONTENT
    );
    let deleted = app
        .client
        .delete(app.url(&format!("/api/v1/users/{id}")))
        .send()
        .await
        .expect("delete");
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    admin_token
}
