//! Tokens across key rotation, `WWW-Authenticate` challenges, registration.

use std::time::Duration;

use reqwest::StatusCode;
use roster_domain::{
    Role, UserId,
    ports::{Clock as _, SystemClock},
};
use roster_persistence::Backend;
use roster_security::{generate_key_pair, parse_private_key};
use roster_server::auth_config::PreviousKey;
use serde_json::{Value, json};

use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, PASSWORD, TestApp, assert_problem};

roster_persistence::backend_tests!(
    tokens_of_a_previous_key_are_accepted_after_rotation,
    challenges_follow_rfc_6750,
    registration_is_off_unless_enabled,
);

async fn tokens_of_a_previous_key_are_accepted_after_rotation(backend: Backend) {
    let (old_private, old_public) = generate_key_pair();
    let Some(app) = TestApp::spawn_with(backend, |s| {
        s.auth.key_id = 2;
        s.auth.previous_public_keys = vec![PreviousKey {
            id: 1,
            key: old_public,
        }];
    })
    .await
    else {
        return;
    };
    let admin = UserId::parse(app.admin_id.as_deref().expect("admin")).expect("id");
    let keys = roster_security::SigningKeys {
        current: parse_private_key(&old_private).expect("key"),
        current_id: 1,
        previous: vec![],
    };
    let old =
        roster_security::BiscuitAuthority::new(keys, Duration::from_secs(900)).expect("authority");
    let token =
        roster_domain::ports::TokenAuthority::issue(&old, admin, Role::Admin, SystemClock.now())
            .expect("issue");

    let response = TestApp::client_with(&token.token)
        .get(app.url("/api/v1/users/me"))
        .send()
        .await
        .expect("me");
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "a token signed before the rotation"
    );
    let fresh = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let response = TestApp::client_with(&fresh)
        .get(app.url("/api/v1/users/me"))
        .send()
        .await
        .expect("me");
    assert_eq!(response.status(), StatusCode::OK, "a token of the new key");
}

async fn challenges_follow_rfc_6750(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let challenge = |response: &reqwest::Response| {
        response.headers()["www-authenticate"]
            .to_str()
            .expect("ascii")
            .to_owned()
    };

    let anonymous = app
        .anonymous
        .get(app.url("/api/v1/users"))
        .send()
        .await
        .expect("request");
    assert_eq!(challenge(&anonymous), "Bearer realm=\"roster\"");
    assert_problem(anonymous, StatusCode::UNAUTHORIZED).await;

    let malformed = TestApp::client_with("not-a-token")
        .get(app.url("/api/v1/users"))
        .send()
        .await
        .expect("request");
    assert!(challenge(&malformed).contains("error=\"invalid_token\""));
    let basic = app
        .anonymous
        .get(app.url("/api/v1/users"))
        .header("authorization", "Basic YTpi")
        .send()
        .await
        .expect("request");
    assert_eq!(basic.status(), StatusCode::UNAUTHORIZED);

    app.created_user("ada@example.com", "Ada").await;
    let member = TestApp::client_with(&app.login("ada@example.com", PASSWORD).await);
    let forbidden = member
        .get(app.url("/api/v1/users"))
        .send()
        .await
        .expect("request");
    assert!(challenge(&forbidden).contains("error=\"insufficient_scope\""));
    assert_problem(forbidden, StatusCode::FORBIDDEN).await;
}

async fn registration_is_off_unless_enabled(backend: Backend) {
    let body = json!({ "email": "new@example.com", "name": "Newcomer", "password": PASSWORD, "role": "admin" });
    let Some(closed) = TestApp::spawn(backend).await else {
        return;
    };
    let refused = closed
        .anonymous
        .post(closed.url("/api/v1/auth/register"))
        .json(&body)
        .send()
        .await
        .expect("request");
    assert_problem(refused, StatusCode::FORBIDDEN).await;
    // An Idempotency-Key, even one reused for another body, changes nothing.
    for name in ["First", "Second"] {
        let keyed = closed
            .anonymous
            .post(closed.url("/api/v1/auth/register"))
            .header("idempotency-key", "closed-registration")
            .json(&json!({ "email": "new@example.com", "name": name, "password": PASSWORD }))
            .send()
            .await
            .expect("request");
        assert_problem(keyed, StatusCode::FORBIDDEN).await;
    }

    let Some(open) = TestApp::spawn_with(backend, |s| s.auth.allow_registration = true).await
    else {
        return;
    };
    let asking = open
        .anonymous
        .post(open.url("/api/v1/auth/register"))
        .json(&body)
        .send()
        .await
        .expect("request");
    assert_problem(asking, StatusCode::FORBIDDEN).await;
    let created = open
        .anonymous
        .post(open.url("/api/v1/auth/register"))
        .json(&json!({ "email": "new@example.com", "name": "Newcomer", "password": PASSWORD }))
        .send()
        .await
        .expect("request");
    assert_eq!(created.status(), StatusCode::CREATED);
    let user: Value = created.json().await.expect("json");
    assert_eq!(user["role"], "member", "registration never makes admins");
    open.login("new@example.com", PASSWORD).await;
}
