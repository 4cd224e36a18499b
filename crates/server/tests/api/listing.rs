//! `GET /api/v1/users`: filters, sorts, keyset cursors, totals and parameter errors.

use reqwest::StatusCode;
use roster_persistence::Backend;
use serde_json::Value;

use crate::helpers::{TestApp, assert_problem};

roster_persistence::backend_tests!(
    filters_sorts_and_cursors_combine,
    invalid_parameters_are_400_naming_the_parameter,
);

async fn page(app: &TestApp, path: &str) -> (Value, Option<String>) {
    let response = app.get(path).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    let link = response
        .headers()
        .get("link")
        .and_then(|v| v.to_str().ok())
        .map(ToOwned::to_owned);
    (response.json().await.expect("json"), link)
}

fn names(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|u| u["name"].as_str().expect("name").to_owned())
        .collect()
}

async fn filters_sorts_and_cursors_combine(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    for (email, name) in [
        ("amy@corp.example", "Amy"),
        ("bob@corp.example", "Bob"),
        ("cid@home.example", "Cid"),
        ("dee@corp.example", "Dee"),
        ("eve@CORP.example", "Eve"),
    ] {
        app.created_user(email, name).await;
    }

    // Newest first, two at a time, following the Link header.
    let seen = follow_links(
        &app,
        "/api/v1/users?email_domain=CORP.example&sort=-name&limit=2",
    )
    .await;
    assert_eq!(seen, ["Eve", "Dee", "Bob", "Amy"]);

    let (body, _) = page(
        &app,
        "/api/v1/users?name_contains=E&include_total=true&sort=name",
    )
    .await;
    assert_eq!(names(&body), ["Dee", "Eve"]);
    assert_eq!(body["total"], 2);
    let (body, _) = page(&app, "/api/v1/users?email=BOB@corp.example").await;
    assert_eq!(names(&body), ["Bob"]);
    assert!(body.get("total").is_none(), "only when asked for");
    let (body, _) = page(&app, "/api/v1/users?role=admin").await;
    assert_eq!(names(&body), ["Administrator"]);
    let (body, _) = page(&app, "/api/v1/users?status=disabled&include_total=true").await;
    assert_eq!((names(&body).len(), body["total"].as_u64()), (0, Some(0)));
    let (body, _) = page(&app, "/api/v1/users?created_after=2000-01-01T00:00:00Z&created_before=2999-01-01T00:00:00%2B02:00&limit=200").await;
    assert_eq!(names(&body).len(), 6);

    // A cursor belongs to its sort order.
    let (first, _) = page(&app, "/api/v1/users?sort=email&limit=1").await;
    let cursor = first["next_cursor"].as_str().expect("cursor");
    let response = app
        .get(&format!("/api/v1/users?sort=name&cursor={cursor}"))
        .await;
    let problem = assert_problem(response, StatusCode::BAD_REQUEST).await;
    assert!(
        problem["detail"]
            .as_str()
            .expect("detail")
            .contains("cursor"),
        "{problem}"
    );
    app.stop().await.expect("clean stop");
}

/// The names on every page from `path` on, following each page's `Link: rel="next"`,
/// which must repeat the query and carry the page's cursor.
async fn follow_links(app: &TestApp, path: &str) -> Vec<String> {
    let mut path = path.to_owned();
    let mut seen = Vec::new();
    loop {
        let (body, link) = page(app, &path).await;
        seen.extend(names(&body));
        let Some(link) = link else {
            assert_eq!(body["next_cursor"], Value::Null);
            return seen;
        };
        let cursor = body["next_cursor"].as_str().expect("cursor");
        assert!(
            link.contains("email_domain=CORP.example") && link.contains("sort=-name"),
            "{link}"
        );
        assert!(link.contains(&format!("cursor={cursor}")), "{link}");
        link.trim_start_matches('<')
            .split('>')
            .next()
            .expect("target")
            .clone_into(&mut path);
    }
}

async fn invalid_parameters_are_400_naming_the_parameter(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let long_email = format!("email={}", "a".repeat(255));
    for (query, parameter) in [
        (long_email.as_str(), "email"),
        ("email_domain=no%20spaces", "email_domain"),
        ("email_domain=a@b.example", "email_domain"),
        ("role=owner", "role"),
        ("status=gone", "status"),
        ("created_after=yesterday", "created_after"),
        ("created_before=2026-13-01T00:00:00Z", "created_before"),
        ("sort=id", "sort"),
        ("sort=--name", "sort"),
        ("include_total=yes", "include_total"),
        ("limit=0", "limit"),
        ("cursor=eyJzIjoibmFtZSJ9", "cursor"),
        ("colour=blue", "colour"),
    ] {
        let response = app.get(&format!("/api/v1/users?{query}")).await;
        let problem = assert_problem(response, StatusCode::BAD_REQUEST).await;
        let detail = problem["detail"].as_str().expect("detail");
        assert!(detail.contains(parameter), "{query}: {detail}");
    }
    let response = app.get("/api/v1/users?role=owner&limit=0").await;
    let problem = assert_problem(response, StatusCode::BAD_REQUEST).await;
    let detail = problem["detail"].as_str().expect("detail");
    assert!(
        detail.contains("role") && detail.contains("limit"),
        "all named: {detail}"
    );
    app.stop().await.expect("clean stop");
}
