//! The OpenAPI description: served, committed, and complete.

use reqwest::StatusCode;
use roster_domain::PasswordPolicy;
use roster_persistence::Backend;
use roster_server::Settings;
use serde_json::Value;

use crate::helpers::TestApp;

/// The description the default configuration serves.
fn generated() -> String {
    let policy = PasswordPolicy::new(Settings::default().auth.password_min_length);
    roster_http::openapi_text(policy)
}

#[test]
fn the_committed_copy_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated(),
        "docs/openapi.json is stale: run `just openapi` (or `cargo run -p roster-server -- openapi > docs/openapi.json`) and commit it"
    );
}

/// Every operation the service has.
const OPERATIONS: [&str; 20] = [
    "POST /api/v1/auth/token",
    "POST /api/v1/auth/revoke",
    "POST /api/v1/auth/register",
    "GET /api/v1/users",
    "POST /api/v1/users",
    "POST /api/v1/users/import",
    "GET /api/v1/users/me",
    "GET /api/v1/users/{id}",
    "PUT /api/v1/users/{id}",
    "PATCH /api/v1/users/{id}",
    "DELETE /api/v1/users/{id}",
    "PUT /api/v1/users/{id}/password",
    "POST /api/v1/users/{id}/revoke-tokens",
    "GET /api/v1/users/{id}/sessions",
    "DELETE /api/v1/users/{id}/sessions/{session_id}",
    "GET /api/v1/audit",
    "GET /health",
    "GET /ready",
    "GET /metrics",
    "GET /api-docs/openapi.json",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_served_description_is_the_generated_one_and_lists_every_operation() {
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let response = app
        .anonymous
        .get(app.url("/api-docs/openapi.json"))
        .send()
        .await
        .expect("get");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    let served: Value = response.json().await.expect("json");
    let expected: Value = serde_json::from_str(&generated()).expect("json");
    assert_eq!(served, expected);
    assert_eq!(served["openapi"], "3.1.0");

    let operations: Vec<String> = served["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .expect("item")
                .keys()
                .map(move |method| format!("{} {path}", method.to_uppercase()))
        })
        .collect();
    for expected in OPERATIONS {
        assert!(
            operations.contains(&expected.to_owned()),
            "{expected} is not described: {operations:?}"
        );
    }
    assert_eq!(operations.len(), OPERATIONS.len(), "{operations:?}");
    for (path, item) in served["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("item") {
            let responses = operation["responses"].as_object().expect("responses");
            for status in ["500", "503"] {
                assert!(
                    responses.contains_key(status),
                    "{method} {path} lacks {status}"
                );
            }
            let security = operation["security"]
                .as_array()
                .expect("security, [] if public");
            if !security.is_empty() {
                assert!(responses.contains_key("401"), "{method} {path} lacks 401");
                assert_eq!(
                    responses["401"]["headers"]["WWW-Authenticate"]["required"], true,
                    "{method} {path}"
                );
            }
            for (status, response) in responses.iter().filter(|(status, _)| *status != "408") {
                assert!(
                    response["headers"]["X-Request-Id"].is_object(),
                    "{method} {path} {status} lacks X-Request-Id"
                );
            }
        }
    }
    assert_eq!(served["info"]["license"]["identifier"], "MIT OR Apache-2.0");
    assert_eq!(served["servers"][0]["url"], "/");
    app.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_password_rules_in_the_description_follow_the_configuration() {
    let Some(app) = TestApp::spawn_with(Backend::Sqlite, |settings| {
        settings.auth.password_min_length = 14;
    })
    .await
    else {
        return;
    };
    let served: Value = app
        .anonymous
        .get(app.url("/api-docs/openapi.json"))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    let password = &served["components"]["schemas"]["CreateUserRequest"]["properties"]["password"];
    assert_eq!(password["minLength"], 14);
    let pattern = password["not"]["pattern"].as_str().expect("pattern");
    assert!(
        pattern.contains("[pP][aA][sS][sS][wW][oO][rR][dD]"),
        "{pattern}"
    );
    app.stop().await.expect("clean stop");
}
