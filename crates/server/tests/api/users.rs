//! The users resource, end to end.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use reqwest::StatusCode;
use roster_persistence::Backend;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, assert_problem};

roster_persistence::backend_tests!(
    create_returns_201_with_location_and_the_normalised_user,
    create_with_a_taken_email_in_any_case_is_409,
    create_names_every_invalid_field,
    replace_changes_every_field_and_bumps_the_version,
    replace_of_a_missing_user_is_404_and_a_taken_email_is_409,
    delete_returns_204_then_the_user_is_gone,
    list_pages_with_cursors_and_link_headers,
    list_parameters_are_validated,
    addresses_and_ids_follow_the_published_rules,
    control_characters_in_filters_and_cursors_are_client_errors,
    the_last_active_admin_stays_one,
    addresses_compare_ignoring_case_beyond_ascii,
);

async fn create_returns_201_with_location_and_the_normalised_user(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };

    let response = app
        .create_user(&json!({ "email": " Ada@Example.COM ", "name": "  Ada Lovelace ", "password": PASSWORD }))
        .await;

    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let created: Value = response.json().await.expect("json");
    assert_eq!(
        location,
        format!("/api/v1/users/{}", created["id"].as_str().expect("id"))
    );
    assert_eq!(created["email"], "Ada@example.com");
    assert_eq!(created["name"], "Ada Lovelace");
    assert_eq!(
        (created["role"].as_str(), created["status"].as_str()),
        (Some("member"), Some("active"))
    );
    assert_eq!(created["version"], 1);
    assert_eq!(created["created_at"], created["updated_at"]);

    let fetched = app.get(&location).await;
    assert_eq!(fetched.status(), StatusCode::OK);
    assert_eq!(fetched.json::<Value>().await.expect("json"), created);
    app.stop().await.expect("clean stop");
}

async fn create_with_a_taken_email_in_any_case_is_409(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.created_user("grace@example.com", "Grace").await;

    let response = app
        .create_user(
            &json!({ "email": "GRACE@example.com", "name": "Impostor", "password": PASSWORD }),
        )
        .await;

    let problem = assert_problem(response, StatusCode::CONFLICT).await;
    assert_eq!(problem["type"], "urn:roster:problem:email-taken");
    let list: Value = app.get("/api/v1/users").await.json().await.expect("json");
    assert_eq!(
        list["items"].as_array().map(Vec::len),
        Some(2),
        "the admin and Grace, nothing else"
    );
}

async fn create_names_every_invalid_field(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };

    let response = app
        .create_user(
            &json!({ "email": "not-an-address", "name": " ", "role": "owner", "status": "asleep", "password": PASSWORD }),
        )
        .await;

    let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(problem["type"], "urn:roster:problem:validation-failed");
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["field"].as_str().expect("field"))
        .collect();
    assert_eq!(fields, ["email", "name", "role", "status"]);
    assert!(
        problem["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    let too_long = app
        .create_user(
            &json!({ "email": "a@example.com", "name": "x".repeat(101), "password": PASSWORD }),
        )
        .await;
    assert_problem(too_long, StatusCode::UNPROCESSABLE_ENTITY).await;
}

async fn replace_changes_every_field_and_bumps_the_version(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let created = app.created_user("ada@example.com", "Ada").await;
    let path = format!("/api/v1/users/{}", created["id"].as_str().expect("id"));

    let response = app
        .client
        .put(app.url(&path))
        .json(&json!({ "email": "countess@example.org", "name": "Countess", "role": "admin", "status": "disabled" }))
        .send()
        .await
        .expect("request");

    assert_eq!(response.status(), StatusCode::OK);
    let replaced: Value = response.json().await.expect("json");
    assert_eq!(replaced["email"], "countess@example.org");
    assert_eq!(
        (replaced["role"].as_str(), replaced["status"].as_str()),
        (Some("admin"), Some("disabled"))
    );
    assert_eq!(replaced["version"], 2);
    assert_eq!(replaced["created_at"], created["created_at"]);
    assert_eq!(
        app.get(&path).await.json::<Value>().await.expect("json"),
        replaced
    );

    // Every field is required.
    let partial = app
        .client
        .put(app.url(&path))
        .json(&json!({ "name": "Only" }))
        .send()
        .await
        .expect("request");
    assert_problem(partial, StatusCode::BAD_REQUEST).await;
}

async fn replace_of_a_missing_user_is_404_and_a_taken_email_is_409(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.created_user("ada@example.com", "Ada").await;
    let grace = app.created_user("grace@example.com", "Grace").await;
    let body = json!({ "email": "ADA@example.com", "name": "Grace", "role": "member", "status": "active" });

    let clash = app
        .client
        .put(app.url(&format!(
            "/api/v1/users/{}",
            grace["id"].as_str().expect("id")
        )))
        .json(&body)
        .send()
        .await
        .expect("request");
    assert_problem(clash, StatusCode::CONFLICT).await;

    let missing = app
        .client
        .put(app.url(&format!("/api/v1/users/{}", ulid_like())))
        .json(&body)
        .send()
        .await
        .expect("request");
    assert_problem(missing, StatusCode::NOT_FOUND).await;
}

async fn delete_returns_204_then_the_user_is_gone(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let created = app.created_user("ada@example.com", "Ada").await;
    let path = format!("/api/v1/users/{}", created["id"].as_str().expect("id"));

    let deleted = app
        .client
        .delete(app.url(&path))
        .send()
        .await
        .expect("request");
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert!(deleted.bytes().await.expect("body").is_empty());

    assert_problem(app.get(&path).await, StatusCode::NOT_FOUND).await;
    let again = app
        .client
        .delete(app.url(&path))
        .send()
        .await
        .expect("request");
    assert_problem(again, StatusCode::NOT_FOUND).await;
}

async fn list_pages_with_cursors_and_link_headers(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let mut ids = vec![app.admin_id.clone().expect("the bootstrap admin")];
    for i in 0..5 {
        let user = app
            .created_user(&format!("user{i}@example.com"), &format!("User {i}"))
            .await;
        ids.push(user["id"].as_str().expect("id").to_owned());
    }
    ids.sort();

    let mut seen = Vec::new();
    let mut path = "/api/v1/users?limit=2".to_owned();
    let mut pages = 0;
    loop {
        let response = app.get(&path).await;
        assert_eq!(response.status(), StatusCode::OK);
        let link = response
            .headers()
            .get("link")
            .map(|v| v.to_str().expect("ascii").to_owned());
        let page: Value = response.json().await.expect("json");
        pages += 1;
        seen.extend(
            page["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|u| u["id"].as_str().expect("id").to_owned()),
        );
        let Some(cursor) = page["next_cursor"].as_str() else {
            assert_eq!(link, None, "no Link header on the last page");
            break;
        };
        let expected = format!("</api/v1/users?limit=2&cursor={cursor}>; rel=\"next\"");
        assert_eq!(link.as_deref(), Some(expected.as_str()));
        path = format!("/api/v1/users?limit=2&cursor={cursor}");
    }
    assert_eq!(seen, ids, "every user once, in id order");
    assert_eq!(pages, 3);

    let default: Value = app.get("/api/v1/users").await.json().await.expect("json");
    assert_eq!(
        default["items"].as_array().map(Vec::len),
        Some(6),
        "five users and the admin"
    );
    assert_eq!(default["next_cursor"], Value::Null);
}

async fn list_parameters_are_validated(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    for query in [
        "limit=0",
        "limit=201",
        "limit=abc",
        "limit=-1",
        "cursor=not-a-cursor",
    ] {
        let problem = assert_problem(
            app.get(&format!("/api/v1/users?{query}")).await,
            StatusCode::BAD_REQUEST,
        )
        .await;
        let parameter = query.split('=').next().expect("name");
        assert!(
            problem["detail"]
                .as_str()
                .expect("detail")
                .starts_with(parameter),
            "{query}: {problem}"
        );
    }
    assert_eq!(
        app.get("/api/v1/users?limit=200").await.status(),
        StatusCode::OK
    );
}

async fn addresses_and_ids_follow_the_published_rules(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    for email in [
        "\"quoted\"@example.com",
        "jane@[192.0.2.1]",
        "jane@bücher.example",
        "jane..doe@example.com",
        "jane@example.com\n",
    ] {
        let refused = app
            .create_user(&json!({ "email": email, "name": "Jane", "password": PASSWORD }))
            .await;
        let problem = assert_problem(refused, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(problem["errors"][0]["field"], "email", "{email:?}");
    }
    let olaf = app
        .created_user("\u{3000}Ölaf@XN--Bcher-KVA.example ", "Ölaf")
        .await;
    assert_eq!(olaf["email"], "Ölaf@xn--bcher-kva.example");

    let id = olaf["id"].as_str().expect("id");
    let lower = app
        .get(&format!("/api/v1/users/{}", id.to_lowercase()))
        .await;
    assert_eq!(lower.status(), StatusCode::OK);
    assert_eq!(lower.json::<Value>().await.expect("json")["id"], id);
    // Decodes as a ULID past 2^128, which would wrap to another id.
    let overflowing = format!("{}{}", (b'8' + (id.as_bytes()[0] - b'0')) as char, &id[1..]);
    assert_problem(
        app.get(&format!("/api/v1/users/{overflowing}")).await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

/// PostgreSQL refuses a NUL in text, which used to surface as a 500.
async fn control_characters_in_filters_and_cursors_are_client_errors(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let id = app.created_user("ada@example.com", "Ada").await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let cursor = |sort: &str, key: &str| {
        let wire = json!({ "s": sort, "k": key, "i": id }).to_string();
        URL_SAFE_NO_PAD.encode(wire)
    };
    for (parameter, query) in [
        ("email", "email=ada%00%40example.com".to_owned()),
        ("email", "email=%0Aada%40example.com".to_owned()),
        (
            "cursor",
            format!(
                "sort=email&cursor={}",
                cursor("email", "ada\u{0}@example.com")
            ),
        ),
        (
            "cursor",
            format!("sort=name&cursor={}", cursor("name", "A\u{0}")),
        ),
    ] {
        let problem = assert_problem(
            app.get(&format!("/api/v1/users?{query}")).await,
            StatusCode::BAD_REQUEST,
        )
        .await;
        assert!(
            problem["detail"]
                .as_str()
                .is_some_and(|d| d.starts_with(parameter)),
            "{query}: {problem}"
        );
    }
    // The same cursor without the NUL is read.
    let fine = app
        .get(&format!(
            "/api/v1/users?sort=name&cursor={}",
            cursor("name", "A")
        ))
        .await;
    assert_eq!(fine.status(), StatusCode::OK);
}

/// The only administrator can neither demote, disable nor delete themself (409
/// `last-admin`); once another administrator exists, they can.
async fn the_last_active_admin_stays_one(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let own = format!("/api/v1/users/{}", app.admin_id.as_deref().expect("admin"));
    let me: Value = app.get(&own).await.json().await.expect("json");
    let merge = |body: Value| {
        app.client
            .patch(app.url(&own))
            .header("content-type", "application/merge-patch+json")
            .body(body.to_string())
            .send()
    };
    for body in [json!({"role": "member"}), json!({"status": "disabled"})] {
        let refused = merge(body.clone()).await.expect("patch");
        let problem = assert_problem(refused, StatusCode::CONFLICT).await;
        assert_eq!(problem["type"], "urn:roster:problem:last-admin", "{body}");
    }
    let deleted = app
        .client
        .delete(app.url(&own))
        .send()
        .await
        .expect("delete");
    let problem = assert_problem(deleted, StatusCode::CONFLICT).await;
    assert_eq!(problem["type"], "urn:roster:problem:last-admin");
    let unchanged: Value = app.get(&own).await.json().await.expect("json");
    assert_eq!(
        (unchanged["role"].as_str(), unchanged["version"].as_u64()),
        (Some("admin"), me["version"].as_u64())
    );

    let other = app
        .create_user(&json!({ "email": "second@example.com", "name": "Second", "password": PASSWORD, "role": "admin" }))
        .await;
    assert_eq!(other.status(), StatusCode::CREATED);
    let demoted = merge(json!({"role": "member"})).await.expect("patch");
    assert_eq!(demoted.status(), StatusCode::OK);
}

/// Both backends fold case as the domain does, beyond ASCII: on SQLite, `lower()`
/// folded ASCII only, so `Ölaf@…` could not log in as `ölaf@…` and a case variant was
/// a second account.
async fn addresses_compare_ignoring_case_beyond_ascii(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.created_user("Ölaf@Example.com", "Ölaf").await;
    app.login("ölaf@example.com", PASSWORD).await;
    let twin = app
        .create_user(&json!({ "email": "ÖLAF@example.com", "name": "Twin", "password": PASSWORD }))
        .await;
    let problem = assert_problem(twin, StatusCode::CONFLICT).await;
    assert_eq!(problem["type"], "urn:roster:problem:email-taken");
    let found: Value = app
        .get("/api/v1/users?email=%C3%B6LAF%40example.com")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(found["items"].as_array().map(Vec::len), Some(1), "{found}");
    let named: Value = app
        .get("/api/v1/users?name_contains=%C3%B6laf")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(named["items"].as_array().map(Vec::len), Some(1), "{named}");
}

/// A syntactically valid id that names no user.
fn ulid_like() -> String {
    "01ARZ3NDEKTSV4RRFFQ69G5FAV".to_owned()
}
