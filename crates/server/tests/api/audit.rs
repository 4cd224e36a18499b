//! The audit log through `GET /api/v1/audit`: changes and logins recorded with their
//! actor, request and changed fields; failed logins counted in one entry; filters and
//! pages as `/users` has them.

use reqwest::{Response, StatusCode, header::HeaderValue};
use roster_persistence::Backend;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, assert_problem};

roster_persistence::backend_tests!(
    changes_are_recorded_with_their_actor_request_and_changed_fields,
    failed_logins_are_counted_per_account_and_client_in_one_entry,
    pages_run_newest_first_and_follow_the_link,
    filters_narrow_the_log_and_bad_ones_are_named,
    session_endings_are_recorded_with_who_ended_them,
);

/// The entries of one page.
async fn page(app: &TestApp, query: &str) -> (Value, Option<String>) {
    let response = app.get(&format!("/api/v1/audit?{query}")).await;
    let link = next_link(&response);
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("json");
    (body, link)
}

/// The path of the `rel="next"` link, if any.
fn next_link(response: &Response) -> Option<String> {
    let link = response.headers().get("link")?.to_str().expect("ascii");
    let (target, relation) = link.split_once(';').expect("a link with a relation");
    assert_eq!(relation.trim(), "rel=\"next\"");
    Some(
        target
            .trim()
            .trim_start_matches('<')
            .trim_end_matches('>')
            .to_owned(),
    )
}

/// The strings of a JSON array, in order.
fn sorted(names: &Value) -> Vec<&str> {
    let mut names: Vec<&str> = names
        .as_array()
        .expect("an array")
        .iter()
        .map(|name| name.as_str().expect("a string"))
        .collect();
    names.sort_unstable();
    names
}

fn items(body: &Value) -> &Vec<Value> {
    body["items"].as_array().expect("items")
}

async fn changes_are_recorded_with_their_actor_request_and_changed_fields(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let admin = format!("user:{}", app.admin_id.as_deref().expect("admin id"));
    let created = app
        .client
        .post(app.url("/api/v1/users"))
        .header("x-request-id", "audit-create-1")
        .json(&json!({ "email": "ada@example.com", "name": "Ada", "password": PASSWORD }))
        .send()
        .await
        .expect("request");
    assert_eq!(created.status(), StatusCode::CREATED);
    let id = created.json::<Value>().await.expect("json")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let renamed = app
        .client
        .patch(app.url(&format!("/api/v1/users/{id}")))
        .header("x-request-id", "audit-rename-2")
        .header("content-type", "application/merge-patch+json")
        .body(json!({ "name": "Ada L.", "role": "admin" }).to_string())
        .send()
        .await
        .expect("request");
    assert_eq!(renamed.status(), StatusCode::OK);
    app.login("ada@example.com", PASSWORD).await;

    let (body, next) = page(&app, &format!("target={id}")).await;
    assert_eq!(next, None);
    assert!(body["next_cursor"].is_null(), "{body}");
    let entries = items(&body);
    let actions: Vec<&str> = entries
        .iter()
        .map(|entry| entry["action"].as_str().expect("action"))
        .collect();
    assert_eq!(
        actions,
        ["auth.login_succeeded", "user.updated", "user.created"],
        "newest first: {body}"
    );
    let (login, update, creation) = (&entries[0], &entries[1], &entries[2]);
    assert_eq!(update["actor"], admin.as_str());
    assert_eq!(update["target"], id.as_str());
    assert_eq!(update["outcome"], "success");
    assert_eq!(update["request_id"], "audit-rename-2");
    assert_eq!(update["attempts"], 1);
    assert_eq!(
        sorted(&update["fields"]),
        ["name", "role"],
        "names only: {update}"
    );
    assert_eq!(creation["request_id"], "audit-create-1");
    assert_eq!(creation["actor"], admin.as_str());
    assert_eq!(login["actor"], format!("user:{id}").as_str());
    assert_eq!(login["client"], "127.0.0.1");
    assert!(login["request_id"].is_string(), "a generated id: {login}");
    let text = body.to_string();
    assert!(
        !text.contains(PASSWORD) && !text.contains("$argon2"),
        "no secret in the log: {text}"
    );

    app.stop().await.expect("clean stop");
}

async fn failed_logins_are_counted_per_account_and_client_in_one_entry(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let ada = app.created_user("ada@example.com", "Ada").await;
    let ada = ada["id"].as_str().expect("id");
    // Under the throttle's limits (5 per account and client): each is checked.
    for _ in 0..4 {
        let refused = app.try_login("ada@example.com", "not her password").await;
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    }
    for n in 0..3 {
        let refused = app
            .try_login(&format!("nobody{n}@example.com"), PASSWORD)
            .await;
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    }
    let (body, _) = page(&app, "action=auth.login_failed").await;
    let entries = items(&body);
    assert_eq!(entries.len(), 2, "one entry per account and client: {body}");
    let unknown = &entries[0];
    let known = &entries[1];
    assert_eq!(known["target"], ada);
    assert_eq!(known["attempts"], 4);
    assert_eq!(unknown["target"], Value::Null);
    assert_eq!(unknown["attempts"], 3);
    for entry in entries {
        assert_eq!(entry["actor"], "anonymous");
        assert_eq!(entry["outcome"], "failure");
        assert_eq!(entry["client"], "127.0.0.1");
        let (at, last_at) = (
            entry["at"].as_str().expect("at"),
            entry["last_at"].as_str().expect("last_at"),
        );
        assert!(at <= last_at, "{entry}");
    }
    assert!(
        !body.to_string().contains("nobody"),
        "unknown addresses are not kept: {body}"
    );
    app.stop().await.expect("clean stop");
}

async fn pages_run_newest_first_and_follow_the_link(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    // With the bootstrap administrator, six creations: three full pages.
    for n in 0..5 {
        app.created_user(&format!("user{n}@example.com"), "User")
            .await;
    }
    let mut seen = Vec::new();
    let mut next = Some("/api/v1/audit?action=user.created&limit=2".to_owned());
    let mut pages = 0;
    while let Some(path) = next {
        let response = app.get(&path).await;
        assert_eq!(response.status(), StatusCode::OK);
        next = next_link(&response);
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["next_cursor"].is_string(), next.is_some(), "{body}");
        if let Some(path) = &next {
            assert!(path.contains("action=user.created"), "filters kept: {path}");
            assert!(path.contains("limit=2"), "size kept: {path}");
        }
        seen.extend(
            items(&body)
                .iter()
                .map(|entry| entry["id"].as_str().expect("id").to_owned()),
        );
        pages += 1;
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 6, "every creation once: {seen:?}");
    assert!(
        seen.windows(2).all(|pair| pair[0] > pair[1]),
        "newest first: {seen:?}"
    );
    app.stop().await.expect("clean stop");
}

async fn filters_narrow_the_log_and_bad_ones_are_named(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let admin = format!("user:{}", app.admin_id.as_deref().expect("admin id"));
    let ada = app.created_user("ada@example.com", "Ada").await;
    let ada = ada["id"].as_str().expect("id");
    let (body, _) = page(&app, &format!("actor={admin}&action=user.created")).await;
    let targets: Vec<&Value> = items(&body).iter().map(|entry| &entry["target"]).collect();
    assert_eq!(targets, [&json!(ada)], "{body}");
    // The bootstrap administrator is the system's.
    let (body, _) = page(&app, "actor=system").await;
    let targets: Vec<&Value> = items(&body).iter().map(|entry| &entry["target"]).collect();
    let bootstrapped = json!(app.admin_id.as_deref().expect("admin id"));
    assert_eq!(targets, [&bootstrapped], "{body}");
    let (body, _) = page(&app, "since=2999-01-01T00:00:00Z").await;
    assert!(items(&body).is_empty(), "{body}");
    let (body, _) = page(&app, "until=2999-01-01T00:00:00Z&action=user.created").await;
    assert_eq!(items(&body).len(), 2, "the administrator and Ada: {body}");

    let refused = app
        .get("/api/v1/audit?actor=root&target=nobody&action=user.exploded&limit=0&cursor=x")
        .await;
    let problem = assert_problem(refused, StatusCode::BAD_REQUEST).await;
    let detail = problem["detail"].as_str().expect("detail");
    for name in ["actor", "target", "action", "limit", "cursor"] {
        assert!(detail.contains(&format!("{name}: ")), "{name} in {detail}");
    }
    let unknown = app.get("/api/v1/audit?size=3").await;
    assert_problem(unknown, StatusCode::BAD_REQUEST).await;
    // The log grows with every action: no cache keeps a page.
    let fresh = app.get("/api/v1/audit").await;
    assert_eq!(
        fresh
            .headers()
            .get("cache-control")
            .map(HeaderValue::as_bytes),
        Some(&b"no-store"[..])
    );
    app.stop().await.expect("clean stop");
}

/// The refresh token of a new login of `email`.
async fn refresh_token_of(app: &TestApp, email: &str) -> String {
    let response = app.try_login(email, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("json");
    body["refresh_token"].as_str().expect("refresh").to_owned()
}

async fn refreshed(app: &TestApp, refresh_token: &str) -> StatusCode {
    app.anonymous
        .post(app.url("/api/v1/auth/token"))
        .json(&json!({ "grant_type": "refresh_token", "refresh_token": refresh_token }))
        .send()
        .await
        .expect("request")
        .status()
}

/// The one entry of `action`, with its actor and target.
async fn the_entry_of(app: &TestApp, action: &str) -> (String, String) {
    let (body, _) = page(app, &format!("action={action}")).await;
    let entries = items(&body);
    assert_eq!(entries.len(), 1, "one {action}: {body}");
    let entry = &entries[0];
    assert_eq!(entry["outcome"], "success");
    (
        entry["actor"].as_str().expect("actor").to_owned(),
        entry["target"].as_str().expect("target").to_owned(),
    )
}

async fn session_endings_are_recorded_with_who_ended_them(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let admin = format!("user:{}", app.admin_id.as_deref().expect("admin id"));
    let ada = app.created_user("ada@example.com", "Ada").await;
    let ada = ada["id"].as_str().expect("id").to_owned();
    // A refresh token used twice: the second use ends the session.
    let stolen = refresh_token_of(&app, "ada@example.com").await;
    assert_eq!(refreshed(&app, &stolen).await, StatusCode::OK);
    assert_eq!(refreshed(&app, &stolen).await, StatusCode::UNAUTHORIZED);
    // A logout, and a session an administrator ends.
    let token = app.login("ada@example.com", PASSWORD).await;
    let logout = TestApp::client_with(&token)
        .post(app.url("/api/v1/auth/revoke"))
        .send()
        .await
        .expect("request");
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    let session = refresh_token_of(&app, "ada@example.com").await[..26].to_owned();
    let ended = app
        .client
        .delete(app.url(&format!("/api/v1/users/{ada}/sessions/{session}")))
        .send()
        .await
        .expect("request");
    assert_eq!(ended.status(), StatusCode::NO_CONTENT);

    let reuse = the_entry_of(&app, "auth.refresh_token_reused").await;
    assert_eq!(reuse, ("anonymous".to_owned(), ada.clone()));
    let (body, _) = page(&app, "action=auth.refresh_token_reused").await;
    assert_eq!(items(&body)[0]["client"], "127.0.0.1");
    let logged_out = the_entry_of(&app, "auth.logged_out").await;
    assert_eq!(logged_out, (format!("user:{ada}"), ada.clone()));
    let ended = the_entry_of(&app, "auth.session_ended").await;
    assert_eq!(ended, (admin, ada));
    app.stop().await.expect("clean stop");
}
