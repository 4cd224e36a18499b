//! Sessions over HTTP: refresh with rotation and reuse detection, the ways a session
//! ends, expiry, listing and ending sessions, and the refresh throttle.

use std::time::Duration;

use reqwest::StatusCode;
use roster_persistence::Backend;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, assert_problem};

roster_persistence::backend_tests!(
    a_refresh_token_works_once_and_its_reuse_ends_the_session,
    logout_password_change_disable_and_delete_end_sessions,
    idle_and_expired_sessions_cannot_be_refreshed,
    sessions_are_listed_and_ended_by_their_user_and_administrators,
    unknown_sessions_are_404_and_revoking_tokens_ends_every_session,
    refreshes_are_throttled_per_session,
);

/// What `POST /auth/token` answered: the access token, the refresh token.
struct Tokens {
    access: String,
    refresh: String,
}

impl Tokens {
    fn session(&self) -> &str {
        &self.refresh[..26]
    }
}

async fn tokens(response: reqwest::Response) -> Tokens {
    let status = response.status();
    let cache = response.headers().get("cache-control").cloned();
    let body: Value = response.json().await.expect("json");
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        cache.as_ref().and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    assert_eq!(body["token_type"], "Bearer");
    assert!(
        body["refresh_expires_in"].as_i64().is_some_and(|s| s > 0),
        "{body}"
    );
    Tokens {
        access: body["access_token"].as_str().expect("access").to_owned(),
        refresh: body["refresh_token"].as_str().expect("refresh").to_owned(),
    }
}

async fn log_in(app: &TestApp, email: &str, password: &str, agent: &str) -> Tokens {
    let response = app
        .anonymous
        .post(app.url("/api/v1/auth/token"))
        .header("user-agent", agent)
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .expect("request");
    tokens(response).await
}

async fn refresh(app: &TestApp, refresh_token: &str) -> reqwest::Response {
    app.anonymous
        .post(app.url("/api/v1/auth/token"))
        .json(&json!({ "grant_type": "refresh_token", "refresh_token": refresh_token }))
        .send()
        .await
        .expect("request")
}

async fn refused(app: &TestApp, refresh_token: &str) {
    let problem = assert_problem(refresh(app, refresh_token).await, StatusCode::UNAUTHORIZED).await;
    assert_eq!(problem["type"], "urn:roster:problem:invalid-refresh-token");
}

async fn me(app: &TestApp, access: &str) -> StatusCode {
    TestApp::client_with(access)
        .get(app.url("/api/v1/users/me"))
        .send()
        .await
        .expect("request")
        .status()
}

async fn a_refresh_token_works_once_and_its_reuse_ends_the_session(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.created_user("ada@example.com", "Ada").await;
    let first = log_in(&app, "ada@example.com", PASSWORD, "test/1").await;

    let second = tokens(refresh(&app, &first.refresh).await).await;
    assert_ne!(second.refresh, first.refresh);
    assert_ne!(second.access, first.access);
    assert_eq!(second.session(), first.session());
    assert_eq!(me(&app, &second.access).await, StatusCode::OK);
    assert_eq!(me(&app, &first.access).await, StatusCode::OK);

    // The spent token again: refused, and the whole session ends with it.
    refused(&app, &first.refresh).await;
    refused(&app, &second.refresh).await;
    assert_eq!(me(&app, &first.access).await, StatusCode::UNAUTHORIZED);
    assert_eq!(me(&app, &second.access).await, StatusCode::UNAUTHORIZED);
    // Another login is a new session.
    let third = log_in(&app, "ada@example.com", PASSWORD, "test/1").await;
    assert_ne!(third.session(), first.session());
    assert_eq!(me(&app, &third.access).await, StatusCode::OK);

    // Text that cannot be a refresh token, and bodies that are no grant.
    refused(&app, "not a refresh token").await;
    refused(&app, &"x".repeat(10_000)).await;
    for body in [
        json!({ "grant_type": "refresh_token" }),
        json!({ "grant_type": "refresh_token", "refresh_token": third.refresh, "email": "a@b.c" }),
        json!({ "grant_type": "client_credentials" }),
    ] {
        let response = app
            .anonymous
            .post(app.url("/api/v1/auth/token"))
            .json(&body)
            .send()
            .await
            .expect("request");
        assert_problem(response, StatusCode::BAD_REQUEST).await;
    }
    // None of that touched the session.
    tokens(refresh(&app, &third.refresh).await).await;
}

async fn logout_password_change_disable_and_delete_end_sessions(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let ada = app.created_user("ada@example.com", "Ada").await;
    let id = ada["id"].as_str().expect("id");

    // Logout ends the session, not only the access token.
    let session = log_in(&app, "ada@example.com", PASSWORD, "test").await;
    let other = log_in(&app, "ada@example.com", PASSWORD, "test").await;
    let logout = TestApp::client_with(&session.access)
        .post(app.url("/api/v1/auth/revoke"))
        .send()
        .await
        .expect("logout");
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    refused(&app, &session.refresh).await;
    // Her other session is untouched.
    let other = tokens(refresh(&app, &other.refresh).await).await;

    // A password change ends all of her sessions.
    let changed = TestApp::client_with(&other.access)
        .put(app.url(&format!("/api/v1/users/{id}/password")))
        .json(&json!({ "current_password": PASSWORD, "new_password": "a new and longer password" }))
        .send()
        .await
        .expect("change");
    assert_eq!(changed.status(), StatusCode::NO_CONTENT);
    refused(&app, &other.refresh).await;

    // Disabling ends them.
    let session = log_in(&app, "ada@example.com", "a new and longer password", "test").await;
    let disabled = app
        .client
        .patch(app.url(&format!("/api/v1/users/{id}")))
        .header("content-type", "application/merge-patch+json")
        .body(r#"{"status": "disabled"}"#)
        .send()
        .await
        .expect("disable");
    assert_eq!(disabled.status(), StatusCode::OK);
    refused(&app, &session.refresh).await;

    // Deleting ends them.
    let grace = app.created_user("grace@example.com", "Grace").await;
    let session = log_in(&app, "grace@example.com", PASSWORD, "test").await;
    let deleted = app
        .client
        .delete(app.url(&format!(
            "/api/v1/users/{}",
            grace["id"].as_str().expect("id")
        )))
        .send()
        .await
        .expect("delete");
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    refused(&app, &session.refresh).await;
}

async fn idle_and_expired_sessions_cannot_be_refreshed(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |s| {
        s.auth.sessions.idle_timeout = Duration::from_secs(2);
        s.auth.sessions.lifetime = Duration::from_secs(4);
    })
    .await
    else {
        return;
    };
    app.created_user("ada@example.com", "Ada").await;
    // Idle for longer than the timeout.
    let idle = log_in(&app, "ada@example.com", PASSWORD, "test").await;
    // Used within it, again and again, until the session's end.
    let mut used = log_in(&app, "ada@example.com", PASSWORD, "test").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    used = tokens(refresh(&app, &used.refresh).await).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    refused(&app, &idle.refresh).await;
    used = tokens(refresh(&app, &used.refresh).await).await;
    tokio::time::sleep(Duration::from_millis(1700)).await;
    // Used 1.7 s ago, but four seconds after its login: over.
    refused(&app, &used.refresh).await;
}

/// Ada, logged in on her laptop, and Grace, logged in too.
struct Two {
    ada_id: String,
    laptop: Tokens,
    grace: Tokens,
    /// Ada's sessions.
    sessions_url: String,
}

async fn two_users(app: &TestApp) -> Two {
    let ada = app.created_user("ada@example.com", "Ada").await;
    let ada_id = ada["id"].as_str().expect("id").to_owned();
    app.created_user("grace@example.com", "Grace").await;
    Two {
        laptop: log_in(app, "ada@example.com", PASSWORD, "laptop/1.0").await,
        grace: log_in(app, "grace@example.com", PASSWORD, "test").await,
        sessions_url: app.url(&format!("/api/v1/users/{ada_id}/sessions")),
        ada_id,
    }
}

async fn sessions_are_listed_and_ended_by_their_user_and_administrators(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let Two {
        ada_id,
        laptop,
        grace,
        sessions_url,
    } = two_users(&app).await;
    let phone = log_in(&app, "ada@example.com", PASSWORD, "phone/2.0").await;

    let listed = TestApp::client_with(&laptop.access)
        .get(&sessions_url)
        .send()
        .await
        .expect("list");
    assert_eq!(listed.status(), StatusCode::OK);
    let listed: Value = listed.json().await.expect("json");
    let items = listed["items"].as_array().expect("items");
    assert_eq!(items.len(), 2, "{listed}");
    // Newest first; the caller's own is marked.
    assert_eq!(items[0]["id"], phone.session());
    assert_eq!(items[0]["user_agent"], "phone/2.0");
    assert_eq!(items[0]["current"], false);
    assert_eq!(items[1]["id"], laptop.session());
    assert_eq!(items[1]["current"], true);
    assert_eq!(items[1]["client_address"], "127.0.0.1");

    // Another member may neither see nor end them; an administrator may.
    let as_grace = TestApp::client_with(&grace.access);
    let status = as_grace
        .get(&sessions_url)
        .send()
        .await
        .expect("list")
        .status();
    assert_eq!(status, StatusCode::FORBIDDEN);
    let phone_url = format!("{sessions_url}/{}", phone.session());
    let status = as_grace
        .delete(&phone_url)
        .send()
        .await
        .expect("end")
        .status();
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.get(&format!("/api/v1/users/{ada_id}/sessions"))
            .await
            .status(),
        StatusCode::OK
    );

    // Ada ends her phone's session: its tokens stop working, the laptop's do not.
    let ended = TestApp::client_with(&laptop.access)
        .delete(&phone_url)
        .send()
        .await
        .expect("end");
    assert_eq!(ended.status(), StatusCode::NO_CONTENT);
    refused(&app, &phone.refresh).await;
    assert_eq!(me(&app, &phone.access).await, StatusCode::UNAUTHORIZED);
    assert_eq!(me(&app, &laptop.access).await, StatusCode::OK);
    let again = app.client.delete(&phone_url).send().await.expect("end");
    assert_problem(again, StatusCode::NOT_FOUND).await;
}

async fn unknown_sessions_are_404_and_revoking_tokens_ends_every_session(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let Two {
        ada_id,
        laptop,
        grace,
        sessions_url,
    } = two_users(&app).await;
    // Nothing by that id under that user, or no such user.
    for url in [
        format!("{sessions_url}/not-a-session"),
        format!("{sessions_url}/{}", grace.session()),
    ] {
        let response = app.client.delete(&url).send().await.expect("end");
        assert_problem(response, StatusCode::NOT_FOUND).await;
    }
    let unknown = app
        .get(&format!("/api/v1/users/{}/sessions", "0".repeat(26)))
        .await;
    assert_problem(unknown, StatusCode::NOT_FOUND).await;
    // The administrator's revoke-tokens ends the rest.
    let revoked = app
        .client
        .post(app.url(&format!("/api/v1/users/{ada_id}/revoke-tokens")))
        .send()
        .await
        .expect("revoke");
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    refused(&app, &laptop.refresh).await;
    let listed: Value = app
        .get(&format!("/api/v1/users/{ada_id}/sessions"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(listed["items"], json!([]));
}

async fn refreshes_are_throttled_per_session(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |s| {
        s.auth.throttle.max_refreshes_per_session = 3;
    })
    .await
    else {
        return;
    };
    app.created_user("ada@example.com", "Ada").await;
    let mut session = log_in(&app, "ada@example.com", PASSWORD, "test").await;
    let other = log_in(&app, "ada@example.com", PASSWORD, "test").await;
    for _ in 0..3 {
        session = tokens(refresh(&app, &session.refresh).await).await;
    }
    let throttled = refresh(&app, &session.refresh).await;
    assert!(throttled.headers().contains_key("retry-after"));
    assert_problem(throttled, StatusCode::TOO_MANY_REQUESTS).await;
    // Throttled, not spent: the session is intact, and other sessions are not slowed.
    assert_eq!(me(&app, &session.access).await, StatusCode::OK);
    tokens(refresh(&app, &other.refresh).await).await;
}
