//! ETags, conditional reads and writes, JSON merge patches, and lost updates.

use reqwest::{Response, StatusCode};
use roster_persistence::Backend;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem};

roster_persistence::backend_tests!(
    representations_have_etags_and_reads_honour_if_none_match,
    writes_honour_if_match,
    a_merge_patch_changes_only_its_members,
    bad_merge_patches_are_refused_and_change_nothing,
    of_two_concurrent_conditional_writers_exactly_one_wins,
    if_match_can_be_required,
);

/// The entity tag of user `id` at `version`.
fn tagged(id: &str, version: u64) -> String {
    format!("\"{id}.{version}\"")
}

/// One caller's view: kept out of shared caches, and cached per token.
fn assert_personal(response: &Response) {
    assert_eq!(response.headers()["cache-control"], "private, no-cache");
    assert_eq!(response.headers()["vary"], "Authorization");
}

/// Sends a write with `If-Match: tag`.
async fn conditional_write(request: reqwest::RequestBuilder, tag: impl AsRef<str>) -> Response {
    request
        .header("if-match", tag.as_ref())
        .send()
        .await
        .expect("write")
}

fn etag(response: &Response) -> String {
    response
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .expect("an ETag")
        .to_owned()
}

async fn patch(app: &TestApp, id: &str, body: &Value, if_match: Option<&str>) -> Response {
    let mut request = app
        .client
        .patch(app.url(&format!("/api/v1/users/{id}")))
        .header("content-type", "application/merge-patch+json")
        .body(body.to_string());
    if let Some(tag) = if_match {
        request = request.header("if-match", tag);
    }
    request.send().await.expect("patch")
}

async fn representations_have_etags_and_reads_honour_if_none_match(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let created = app
        .create_user(
            &json!({"email": "e@example.com", "name": "E", "password": "a long enough password"}),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let tag = etag(&created);
    assert_personal(&created);
    let id = created.json::<Value>().await.expect("json")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(tag, tagged(&id, 1));
    let path = app.url(&format!("/api/v1/users/{id}"));

    let read = app.get(&format!("/api/v1/users/{id}")).await;
    assert_eq!(etag(&read), tag);
    assert_personal(&read);
    let weak = format!("W/{tag}");
    let listed = format!("{}, {tag}", tagged(&id, 0));
    for matching in [tag.as_str(), &weak, &listed, "*"] {
        let unchanged = app
            .client
            .get(&path)
            .header("if-none-match", matching)
            .send()
            .await
            .expect("get");
        assert_eq!(unchanged.status(), StatusCode::NOT_MODIFIED, "{matching}");
        assert_eq!(etag(&unchanged), tag);
        assert_personal(&unchanged);
        assert!(unchanged.text().await.expect("body").is_empty());
    }
    // An older version, the old form of tag, and another user's tag at the same
    // version (the administrator's, from /users/me) name other representations.
    let admin_tag = etag(&app.get("/api/v1/users/me").await);
    assert!(admin_tag.ends_with(".1\""), "{admin_tag}");
    for other in [tagged(&id, 0), "\"v1\"".to_owned(), admin_tag] {
        let stale = app
            .client
            .get(&path)
            .header("if-none-match", &other)
            .send()
            .await
            .expect("get");
        assert_eq!(stale.status(), StatusCode::OK, "{other}");
    }
    let list = app.get("/api/v1/users").await;
    assert_personal(&list);
    let me = app.get("/api/v1/users/me").await;
    assert_eq!(me.status(), StatusCode::OK);
    assert!(me.headers().contains_key("etag"));
    app.stop().await.expect("clean stop");
}

async fn writes_honour_if_match(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user = app.created_user("w@example.com", "W").await;
    let id = user["id"].as_str().expect("id");
    let path = app.url(&format!("/api/v1/users/{id}"));
    let body =
        json!({"email": "w@example.com", "name": "W2", "role": "member", "status": "active"});

    let stale = conditional_write(app.client.put(&path).json(&body), tagged(id, 7)).await;
    assert_eq!(etag(&stale), tagged(id, 1), "412 names the current version");
    let problem = assert_problem(stale, StatusCode::PRECONDITION_FAILED).await;
    assert_eq!(problem["type"], "urn:roster:problem:precondition-failed");

    let fresh = conditional_write(app.client.put(&path).json(&body), tagged(id, 1)).await;
    assert_eq!(fresh.status(), StatusCode::OK);
    assert_eq!(etag(&fresh), tagged(id, 2));

    let weak = patch(
        &app,
        id,
        &json!({"name": "W3"}),
        Some(&format!("W/{}", tagged(id, 2))),
    )
    .await;
    assert_problem(weak, StatusCode::PRECONDITION_FAILED).await;
    let not_a_tag = patch(&app, id, &json!({"name": "W3"}), Some("v2")).await;
    assert_problem(not_a_tag, StatusCode::BAD_REQUEST).await;

    let stale_delete = conditional_write(app.client.delete(&path), tagged(id, 1)).await;
    assert_problem(stale_delete, StatusCode::PRECONDITION_FAILED).await;
    assert_eq!(
        app.get(&format!("/api/v1/users/{id}")).await.status(),
        StatusCode::OK
    );
    let deleted = conditional_write(app.client.delete(&path), tagged(id, 2)).await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let gone = conditional_write(app.client.delete(&path), "*").await;
    assert_problem(gone, StatusCode::NOT_FOUND).await;
    app.stop().await.expect("clean stop");
}

async fn a_merge_patch_changes_only_its_members(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user = app.created_user("p@example.com", "P").await;
    let id = user["id"].as_str().expect("id");

    let renamed = patch(&app, id, &json!({"name": "Patched"}), Some(&tagged(id, 1))).await;
    assert_eq!(renamed.status(), StatusCode::OK);
    assert_eq!(etag(&renamed), tagged(id, 2));
    let body: Value = renamed.json().await.expect("json");
    assert_eq!(body["name"], "Patched");
    assert_eq!(body["email"], "p@example.com");
    assert_eq!(body["role"], "member");
    assert_eq!(body["status"], "active");

    let promoted = patch(
        &app,
        id,
        &json!({"role": "admin", "status": "disabled"}),
        None,
    )
    .await;
    assert_eq!(promoted.status(), StatusCode::OK);
    let body: Value = promoted.json().await.expect("json");
    assert_eq!(
        (body["role"].as_str(), body["status"].as_str()),
        (Some("admin"), Some("disabled"))
    );
    assert_eq!(body["name"], "Patched");

    let empty = patch(&app, id, &json!({}), None).await;
    assert_eq!(
        empty.status(),
        StatusCode::OK,
        "an empty patch changes nothing"
    );
    app.stop().await.expect("clean stop");
}

async fn bad_merge_patches_are_refused_and_change_nothing(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user = app.created_user("b@example.com", "B").await;
    let id = user["id"].as_str().expect("id");
    let path = app.url(&format!("/api/v1/users/{id}"));

    let as_json = app
        .client
        .patch(&path)
        .json(&json!({"name": "X"}))
        .send()
        .await
        .expect("patch");
    assert_problem(as_json, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    for (body, status) in [
        (json!({"name": null}), StatusCode::UNPROCESSABLE_ENTITY),
        (
            json!({"name": 3, "email": "not an address"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (json!({"role": "owner"}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"password": "sneaky"}), StatusCode::BAD_REQUEST),
        (json!(["name"]), StatusCode::BAD_REQUEST),
    ] {
        let response = patch(&app, id, &body, None).await;
        let problem = assert_problem(response, status).await;
        if status == StatusCode::UNPROCESSABLE_ENTITY {
            assert!(problem["errors"].is_array(), "{problem}");
        }
    }
    let two_errors = patch(
        &app,
        id,
        &json!({"name": 3, "email": "not an address"}),
        None,
    )
    .await;
    let problem = assert_problem(two_errors, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(
        problem["errors"].as_array().map(Vec::len),
        Some(2),
        "{problem}"
    );
    let malformed = app
        .client
        .patch(&path)
        .header("content-type", "application/merge-patch+json")
        .body("{\"name\": ")
        .send()
        .await
        .expect("patch");
    assert_problem(malformed, StatusCode::BAD_REQUEST).await;
    let unchanged: Value = app
        .get(&format!("/api/v1/users/{id}"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(unchanged["version"], 1);
    assert_eq!(unchanged["name"], "B");
    app.stop().await.expect("clean stop");
}

async fn of_two_concurrent_conditional_writers_exactly_one_wins(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user = app.created_user("race@example.com", "Race").await;
    let id = user["id"].as_str().expect("id").to_owned();
    for round in 1..=5 {
        let current = app.get(&format!("/api/v1/users/{id}")).await;
        let tag = etag(&current);
        let (first_body, second_body) = (
            json!({"name": format!("First {round}")}),
            json!({"name": format!("Second {round}")}),
        );
        let (first, second) = tokio::join!(
            patch(&app, &id, &first_body, Some(&tag)),
            patch(&app, &id, &second_body, Some(&tag)),
        );
        let mut statuses = [first.status(), second.status()];
        statuses.sort();
        assert_eq!(
            statuses,
            [StatusCode::OK, StatusCode::PRECONDITION_FAILED],
            "round {round}: one write wins, the other is told it is stale"
        );
        let winner = if first.status() == StatusCode::OK {
            first
        } else {
            second
        };
        let won: Value = winner.json().await.expect("json");
        let stored: Value = app
            .get(&format!("/api/v1/users/{id}"))
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(
            stored["name"], won["name"],
            "the winner's write is what is stored"
        );
    }
    app.stop().await.expect("clean stop");
}

async fn if_match_can_be_required(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |settings| {
        settings.api.require_if_match = true;
    })
    .await
    else {
        return;
    };
    let user = app.created_user("r@example.com", "R").await;
    let id = user["id"].as_str().expect("id");
    let path = app.url(&format!("/api/v1/users/{id}"));
    let unconditional = patch(&app, id, &json!({"name": "R2"}), None).await;
    let problem = assert_problem(unconditional, StatusCode::PRECONDITION_REQUIRED).await;
    assert_eq!(problem["type"], "urn:roster:problem:precondition-required");
    let put = app
        .client
        .put(&path)
        .json(
            &json!({"email": "r@example.com", "name": "R2", "role": "member", "status": "active"}),
        )
        .send()
        .await
        .expect("put");
    assert_problem(put, StatusCode::PRECONDITION_REQUIRED).await;
    let delete = app.client.delete(&path).send().await.expect("delete");
    assert_problem(delete, StatusCode::PRECONDITION_REQUIRED).await;
    let conditional = patch(&app, id, &json!({"name": "R2"}), Some("*")).await;
    assert_eq!(conditional.status(), StatusCode::OK);
    app.stop().await.expect("clean stop");
}
