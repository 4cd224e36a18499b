//! What browsers and generic HTTP clients rely on: CORS (configured origins only,
//! preflights without authentication), `HEAD` and `OPTIONS`, `Accept-Patch`, `nosniff`,
//! and the API explorer at `/api-docs/`.

use reqwest::{Method, StatusCode};
use roster_persistence::Backend;

use crate::helpers::{TestApp, assert_problem};

roster_persistence::backend_tests!(
    preflights_from_configured_origins_are_answered_without_credentials,
    without_configured_origins_no_cors_header_is_sent,
    head_is_answered_where_get_is,
    options_lists_the_methods_and_patch_resources_accept_merge_patches,
    every_response_says_nosniff,
    the_explorer_is_served_with_a_strict_policy_unless_turned_off,
);

const APP_ORIGIN: &str = "https://app.example.com";

async fn preflights_from_configured_origins_are_answered_without_credentials(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |settings| {
        settings.server.cors.allowed_origins = vec![APP_ORIGIN.to_owned()];
    })
    .await
    else {
        return;
    };
    let preflight = |origin: &'static str| {
        app.anonymous
            .request(
                Method::OPTIONS,
                app.url("/api/v1/users/01ARZ3NDEKTSV4RRFFQ69G5FAV"),
            )
            .header("origin", origin)
            .header("access-control-request-method", "PATCH")
            .header(
                "access-control-request-headers",
                "authorization, content-type, if-match",
            )
            .send()
    };

    let allowed = preflight(APP_ORIGIN).await.expect("preflight");
    assert_eq!(allowed.status(), StatusCode::OK);
    let headers = allowed.headers();
    assert_eq!(headers["access-control-allow-origin"], APP_ORIGIN);
    let methods = headers["access-control-allow-methods"]
        .to_str()
        .expect("ascii");
    assert!(methods.contains("PATCH"), "{methods}");
    let allowed_headers = headers["access-control-allow-headers"]
        .to_str()
        .expect("ascii")
        .to_ascii_lowercase();
    for name in ["authorization", "content-type", "if-match"] {
        assert!(allowed_headers.contains(name), "{allowed_headers}");
    }
    assert_eq!(headers["access-control-max-age"], "3600");

    let other = preflight("https://evil.example").await.expect("preflight");
    assert!(other.status().is_client_error(), "{}", other.status());
    assert!(other.headers().get("access-control-allow-origin").is_none());

    // The real request carries the origin, and the page may read the ETag.
    let me = me_from_the_app_origin(&app).await;
    assert_eq!(me.headers()["access-control-allow-origin"], APP_ORIGIN);
    let exposed = me.headers()["access-control-expose-headers"]
        .to_str()
        .expect("ascii")
        .to_ascii_lowercase();
    for name in ["etag", "x-request-id", "retry-after", "www-authenticate"] {
        assert!(exposed.contains(name), "{exposed}");
    }
}

async fn without_configured_origins_no_cors_header_is_sent(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let preflight = app
        .anonymous
        .request(Method::OPTIONS, app.url("/api/v1/users"))
        .header("origin", APP_ORIGIN)
        .header("access-control-request-method", "POST")
        .send()
        .await
        .expect("preflight");
    // A plain OPTIONS answer: nothing a browser would take as a permission.
    assert_eq!(preflight.status(), StatusCode::NO_CONTENT);
    assert!(
        preflight
            .headers()
            .keys()
            .all(|name| !name.as_str().starts_with("access-control-")),
        "{:?}",
        preflight.headers()
    );
    let me = me_from_the_app_origin(&app).await;
    assert!(me.headers().get("access-control-allow-origin").is_none());
}

/// `GET /users/me` as the administrator, from a page on [`APP_ORIGIN`]: 200.
async fn me_from_the_app_origin(app: &TestApp) -> reqwest::Response {
    let me = app
        .client
        .get(app.url("/api/v1/users/me"))
        .header("origin", APP_ORIGIN)
        .send()
        .await
        .expect("me");
    assert_eq!(me.status(), StatusCode::OK);
    me
}

async fn head_is_answered_where_get_is(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let me = app.get("/api/v1/users/me").await;
    let etag = me.headers()["etag"].clone();
    let length = me.bytes().await.expect("body").len();

    let head = app
        .client
        .head(app.url("/api/v1/users/me"))
        .send()
        .await
        .expect("head");
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(head.headers()["etag"], etag);
    assert_eq!(
        head.headers()["content-length"],
        length.to_string().as_str()
    );
    assert!(head.bytes().await.expect("body").is_empty());

    // HEAD goes through authentication as GET does.
    let anonymous = app
        .anonymous
        .head(app.url("/api/v1/users"))
        .send()
        .await
        .expect("head");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert!(anonymous.headers().contains_key("www-authenticate"));

    let health = app
        .anonymous
        .head(app.url("/health"))
        .send()
        .await
        .expect("head");
    assert_eq!(health.status(), StatusCode::OK);
}

async fn options_lists_the_methods_and_patch_resources_accept_merge_patches(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let options = app
        .anonymous
        .request(
            Method::OPTIONS,
            app.url("/api/v1/users/01ARZ3NDEKTSV4RRFFQ69G5FAV"),
        )
        .send()
        .await
        .expect("options");
    assert_eq!(options.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        options.headers()["allow"],
        "GET, HEAD, PUT, PATCH, DELETE, OPTIONS"
    );
    assert_eq!(
        options.headers()["accept-patch"],
        "application/merge-patch+json"
    );
    let id = app.admin_id.clone().expect("admin");
    let user = app.get(&format!("/api/v1/users/{id}")).await;
    assert_eq!(
        user.headers()["accept-patch"],
        "application/merge-patch+json"
    );
    // Only resources that take PATCH advertise it.
    let collection = app
        .anonymous
        .request(Method::OPTIONS, app.url("/api/v1/users"))
        .send()
        .await
        .expect("options");
    assert_eq!(collection.headers()["allow"], "GET, HEAD, POST, OPTIONS");
    assert!(collection.headers().get("accept-patch").is_none());
}

async fn every_response_says_nosniff(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let responses = [
        app.get("/api/v1/users/me").await,
        app.anonymous
            .get(app.url("/api/v1/users"))
            .send()
            .await
            .expect("401"),
        app.get("/no/such/route").await,
        app.get("/health").await,
        app.get("/api-docs/openapi.json").await,
    ];
    for response in responses {
        assert_eq!(
            response.headers()["x-content-type-options"],
            "nosniff",
            "{}",
            response.url()
        );
    }
}

async fn the_explorer_is_served_with_a_strict_policy_unless_turned_off(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let folder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .get(app.url("/api-docs"))
        .send()
        .await
        .expect("redirect");
    assert_eq!(folder.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(folder.headers()["location"], "/api-docs/");

    let page = app
        .anonymous
        .get(app.url("/api-docs/"))
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), StatusCode::OK);
    let policy = page.headers()["content-security-policy"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(policy.contains("script-src 'self';"), "{policy}");
    assert!(policy.contains("default-src 'none'"), "{policy}");
    assert!(
        page.text()
            .await
            .expect("html")
            .contains("swagger-ui-bundle.js")
    );

    let initializer = app
        .anonymous
        .get(app.url("/api-docs/swagger-initializer.js"))
        .send()
        .await
        .expect("initializer");
    assert_eq!(initializer.status(), StatusCode::OK);
    let script = initializer.text().await.expect("js");
    assert!(script.contains("/api-docs/openapi.json"), "{script}");
    assert!(!script.contains("petstore"), "{script}");

    // Files come from the binary, never the disk: an escaping name reaches the
    // explorer (a plain `..` would be resolved by the client) and finds nothing.
    for name in ["..%2F..%2FCargo.toml", "nothing.js"] {
        let problem = assert_problem(
            app.get(&format!("/api-docs/{name}")).await,
            StatusCode::NOT_FOUND,
        )
        .await;
        assert_eq!(
            problem["detail"], "no such file in the API explorer",
            "{name}"
        );
    }
    drop(app);

    let Some(off) = TestApp::spawn_with(backend, |settings| settings.api.explorer = false).await
    else {
        return;
    };
    assert_problem(off.get("/api-docs/").await, StatusCode::NOT_FOUND).await;
    let document = off.get("/api-docs/openapi.json").await;
    assert_eq!(document.status(), StatusCode::OK);
}
