//! `Idempotency-Key`: replays byte for byte, refuses reuse for another body, reports a
//! request still running, and keeps each caller's keys apart.

use chrono::{Duration, Utc};
use reqwest::{Response, StatusCode};
use roster_domain::ports::{IdempotencyKey, IdempotencyStore as _};
use roster_persistence::{Backend, Database, DieselIdempotencyStore};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, assert_problem};

roster_persistence::backend_tests!(
    a_retry_gets_the_first_response_and_creates_nothing,
    a_key_is_the_callers_own_and_must_be_well_formed,
    a_request_still_running_is_409,
    registration_is_idempotent_too,
    an_anonymous_callers_refusals_are_not_kept,
    a_retry_is_replayed_across_a_signing_key_rotation,
);

async fn post(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
    key: &str,
    body: &str,
) -> Response {
    client
        .post(app.url(path))
        .header("idempotency-key", key)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .expect("post")
}

async fn users_named(app: &TestApp, email: &str) -> u64 {
    let body: Value = app
        .get(&format!("/api/v1/users?email={email}&include_total=true"))
        .await
        .json()
        .await
        .expect("json");
    body["total"].as_u64().expect("total")
}

async fn a_retry_gets_the_first_response_and_creates_nothing(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let body = format!(r#"{{"email":"once@example.com","name":"Once","password":"{PASSWORD}"}}"#);
    let first = post(&app, &app.client, "/api/v1/users", "key-1", &body).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let (location, etag) = (
        first.headers()["location"].clone(),
        first.headers()["etag"].clone(),
    );
    let first_bytes = first.bytes().await.expect("body");

    // The same request, formatted differently: the same answer, byte for byte.
    let reformatted = format!(
        "{{ \"password\": \"{PASSWORD}\", \"name\": \"Once\",\n  \"email\": \"once@example.com\" }}"
    );
    for retry_body in [&body, &reformatted] {
        let retry = post(&app, &app.client, "/api/v1/users", "key-1", retry_body).await;
        assert_eq!(retry.status(), StatusCode::CREATED);
        assert_eq!(retry.headers()["idempotent-replayed"], "true");
        assert_eq!(retry.headers()["location"], location);
        assert_eq!(retry.headers()["etag"], etag);
        assert_eq!(retry.headers()["content-type"], "application/json");
        assert_eq!(retry.bytes().await.expect("body"), first_bytes);
    }
    assert_eq!(users_named(&app, "once@example.com").await, 1);

    let other = body.replace("Once", "Twice");
    let reused = post(&app, &app.client, "/api/v1/users", "key-1", &other).await;
    let problem = assert_problem(reused, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(problem["type"], "urn:roster:problem:idempotency-key-reused");

    // A client error is an answer too, and is replayed; a new key runs anew.
    let invalid = r#"{"email":"not an address","name":"X","password":"a long enough password"}"#;
    let invalid_first = post(&app, &app.client, "/api/v1/users", "key-2", invalid).await;
    assert_eq!(invalid_first.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let replayed = post(&app, &app.client, "/api/v1/users", "key-2", invalid).await;
    assert_eq!(replayed.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(replayed.headers()["idempotent-replayed"], "true");
    app.stop().await.expect("clean stop");
}

async fn a_key_is_the_callers_own_and_must_be_well_formed(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let second_admin = json!({"email": "second@example.com", "name": "Second", "password": PASSWORD, "role": "admin"});
    assert_eq!(
        app.create_user(&second_admin).await.status(),
        StatusCode::CREATED
    );
    let token = app.login("second@example.com", PASSWORD).await;
    let other = TestApp::client_with(&token);

    let mine = format!(r#"{{"email":"mine@example.com","name":"Mine","password":"{PASSWORD}"}}"#);
    let theirs =
        format!(r#"{{"email":"theirs@example.com","name":"Theirs","password":"{PASSWORD}"}}"#);
    let first = post(&app, &app.client, "/api/v1/users", "shared-key", &mine).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let second = post(&app, &other, "/api/v1/users", "shared-key", &theirs).await;
    assert_eq!(
        second.status(),
        StatusCode::CREATED,
        "another caller's key is another key"
    );
    assert!(second.headers().get("idempotent-replayed").is_none());

    for bad in ["", &"k".repeat(256), "with space"] {
        let response = post(&app, &app.client, "/api/v1/users", bad, &mine).await;
        let problem = assert_problem(response, StatusCode::BAD_REQUEST).await;
        assert!(
            problem["detail"]
                .as_str()
                .expect("detail")
                .contains("Idempotency-Key")
        );
    }
    app.stop().await.expect("clean stop");
}

async fn a_request_still_running_is_409(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    // Another replica has reserved the key and not answered yet.
    let database = Database::connect(&app.database.settings())
        .await
        .expect("connect");
    let store = DieselIdempotencyStore::new(database);
    let now = Utc::now();
    let key = IdempotencyKey {
        scope: format!("user:{}", app.admin_id.as_deref().expect("admin")),
        key: "busy".to_owned(),
    };
    store
        .reserve(
            &key,
            "whatever",
            now,
            now - Duration::minutes(5),
            now + Duration::hours(1),
        )
        .await
        .expect("reserve");
    let body = format!(r#"{{"email":"busy@example.com","name":"Busy","password":"{PASSWORD}"}}"#);
    let response = post(&app, &app.client, "/api/v1/users", "busy", &body).await;
    assert_eq!(response.headers()["retry-after"], "1");
    let problem = assert_problem(response, StatusCode::CONFLICT).await;
    assert_eq!(problem["type"], "urn:roster:problem:idempotency-key-in-use");
    assert_eq!(users_named(&app, "busy@example.com").await, 0);
    app.stop().await.expect("clean stop");
}

async fn registration_is_idempotent_too(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |settings| {
        settings.auth.allow_registration = true;
    })
    .await
    else {
        return;
    };
    let body = format!(r#"{{"email":"reg@example.com","name":"Reg","password":"{PASSWORD}"}}"#);
    let first = post(
        &app,
        &app.anonymous,
        "/api/v1/auth/register",
        "reg-1",
        &body,
    )
    .await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first_bytes = first.bytes().await.expect("body");
    let retry = post(
        &app,
        &app.anonymous,
        "/api/v1/auth/register",
        "reg-1",
        &body,
    )
    .await;
    assert_eq!(retry.status(), StatusCode::CREATED);
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    assert_eq!(retry.bytes().await.expect("body"), first_bytes);
    assert_eq!(users_named(&app, "reg@example.com").await, 1);
    app.stop().await.expect("clean stop");
}

/// An anonymous caller's 4xx answers are not stored (they could fill the store for 24
/// hours), so the same key later carries a corrected request; asking to register with
/// a role is a 403, as the description says.
async fn an_anonymous_callers_refusals_are_not_kept(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |settings| {
        settings.auth.allow_registration = true;
    })
    .await
    else {
        return;
    };
    let register = |key: &'static str, body: String| {
        let app = &app;
        async move { post(app, &app.anonymous, "/api/v1/auth/register", key, &body).await }
    };
    let valid = format!(r#"{{"email":"fix@example.com","name":"Fix","password":"{PASSWORD}"}}"#);
    for (key, refused, status) in [
        (
            "invalid",
            format!(r#"{{"email":"not an address","name":"Fix","password":"{PASSWORD}"}}"#),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "admin",
            format!(
                r#"{{"email":"fix@example.com","name":"Fix","password":"{PASSWORD}","role":"admin"}}"#
            ),
            StatusCode::FORBIDDEN,
        ),
        (
            "taken",
            format!(r#"{{"email":"admin@example.com","name":"Fix","password":"{PASSWORD}"}}"#),
            StatusCode::CONFLICT,
        ),
    ] {
        let first = register(key, refused.clone()).await;
        assert_eq!(first.status(), status, "{key}");
        let again = register(key, refused).await;
        assert_eq!(again.status(), status, "{key}: refused again, not replayed");
        assert!(
            !again.headers().contains_key("idempotent-replayed"),
            "{key}"
        );
    }
    let corrected = register("taken", valid).await;
    assert_eq!(
        corrected.status(),
        StatusCode::CREATED,
        "the key was not kept"
    );
    assert_eq!(users_named(&app, "fix@example.com").await, 1);
    app.stop().await.expect("clean stop");
}

/// The fingerprints are keyed by a secret of the database's own, not by the token
/// signing key: a retry that reaches a replica already on a new key (after a rotation)
/// is replayed, not refused as another request (422).
async fn a_retry_is_replayed_across_a_signing_key_rotation(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let body =
        format!(r#"{{"email":"rotated@example.com","name":"Rotated","password":"{PASSWORD}"}}"#);
    let first = post(&app, &app.client, "/api/v1/users", "rotation-1", &body).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first_bytes = first.bytes().await.expect("body");

    // The same database behind a server with another signing key.
    let mut rotated = app.settings.clone();
    rotated.auth.private_key = Some(roster_security::generate_key_pair().0);
    let application = roster_server::Application::build(&rotated)
        .await
        .expect("the application builds");
    let address = format!("http://127.0.0.1:{}", application.port());
    let shutdown = application.shutdown_trigger();
    let server = tokio::spawn(application.run_until_stopped());
    let login: Value = app
        .anonymous
        .post(format!("{address}/api/v1/auth/token"))
        .json(&json!({ "email": crate::helpers::ADMIN_EMAIL, "password": crate::helpers::ADMIN_PASSWORD }))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("json");
    let token = login["access_token"].as_str().expect("token");
    let retry = TestApp::client_with(token)
        .post(format!("{address}/api/v1/users"))
        .header("idempotency-key", "rotation-1")
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("retry");
    assert_eq!(retry.status(), StatusCode::CREATED);
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    assert_eq!(retry.bytes().await.expect("body"), first_bytes);

    shutdown.trigger();
    server.await.expect("task").expect("clean stop");
    app.stop().await.expect("clean stop");
}
