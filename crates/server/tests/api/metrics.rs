//! `GET /metrics`: the Prometheus text format, with the HTTP, pool and business
//! instruments, on the API port or on a port of its own.

use reqwest::StatusCode;
use roster_persistence::Backend;

use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp};

roster_persistence::backend_tests!(
    metrics_describe_the_traffic_and_the_pool,
    label_values_come_from_a_closed_set,
);

/// A client's method and `X-Forwarded-Proto` are free text; as label values they would
/// multiply the series without bound.
async fn label_values_come_from_a_closed_set(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    for method in ["FOO", "BREW", "PROPFIND"] {
        let response = app
            .client
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).expect("method"),
                app.url("/api/v1/users"),
            )
            .header("x-forwarded-proto", format!("evil-{method}"))
            .header("forwarded", format!("proto=evil-{method}"))
            .send()
            .await
            .expect("request");
        assert!(response.status().is_client_error(), "{method}");
    }
    let spoofed = app
        .client
        .get(app.url("/api/v1/users"))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .expect("request");
    assert_eq!(spoofed.status(), StatusCode::OK);

    let text = scrape(&app).await;
    for sent in ["FOO", "BREW", "PROPFIND", "evil", "https"] {
        assert!(!text.contains(sent), "{sent} became a label: {text}");
    }
    assert!(
        has_line(
            &text,
            "http_server_request_duration_seconds_count{",
            &["http_request_method=\"_OTHER\"", "url_scheme=\"http\""],
        ),
        "{text}"
    );
}

async fn metrics_describe_the_traffic_and_the_pool(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.created_user("counted@example.com", "Counted").await;
    let missing = app.get("/api/v1/users/01ARZ3NDEKTSV4RRFFQ69G5FAV").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let failed = app.try_login(ADMIN_EMAIL, "not the password").await;
    assert_eq!(failed.status(), StatusCode::UNAUTHORIZED);

    let text = scrape(&app).await;
    let has = |prefix: &str, parts: &[&str]| has_line(&text, prefix, parts);

    assert!(
        text.contains("# TYPE http_server_request_duration_seconds histogram"),
        "{text}"
    );
    for (route, status) in [
        ("/api/v1/users", "201"),
        ("/api/v1/users/{id}", "404"),
        ("/api/v1/auth/token", "401"),
    ] {
        assert!(
            has(
                "http_server_request_duration_seconds_count{",
                &[
                    &format!("http_route=\"{route}\""),
                    &format!("http_response_status_code=\"{status}\""),
                    "http_request_method=",
                    "url_scheme=\"http\"",
                ],
            ),
            "{route} {status}: {text}"
        );
    }
    assert!(
        has(
            "http_server_active_requests{",
            &["http_request_method=\"GET\""]
        ),
        "{text}"
    );
    assert_pool_metrics(&text, backend);
    // The bootstrap administrator and the user created above.
    assert!(has("roster_users_created_total{", &[" 2"]), "{text}");
    assert!(
        has("roster_auth_logins_total{", &["outcome=\"failed\"", " 1"]),
        "{text}"
    );
    assert!(
        has("roster_auth_logins_total{", &["outcome=\"succeeded\""]),
        "{text}"
    );
    app.stop().await.expect("clean stop");
}

/// The pool's semantic-convention instruments, for `backend`.
fn assert_pool_metrics(text: &str, backend: Backend) {
    let system = format!("db_system_name=\"{}\"", backend.name());
    for state in ["idle", "used"] {
        assert!(
            has_line(
                text,
                "db_client_connections_usage{",
                &[&format!("db_client_connection_state=\"{state}\""), &system],
            ),
            "{text}"
        );
    }
    for gauge in [
        "db_client_connection_max{",
        "db_client_connection_pending_requests{",
        "db_client_connection_wait_time_seconds_count{",
    ] {
        assert!(has_line(text, gauge, &[&system]), "{gauge}: {text}");
    }
}

/// `GET /metrics` on the API port: 200 in the Prometheus text format.
pub(crate) async fn scrape(app: &TestApp) -> String {
    let response = app
        .anonymous
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("scrape");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .is_ok_and(|t| t.starts_with("text/plain; version=0.0.4")),
        "{:?}",
        response.headers()
    );
    response.text().await.expect("text")
}

/// Whether a line of `text` starts with `prefix` and contains every part.
fn has_line(text: &str, prefix: &str, parts: &[&str]) -> bool {
    text.lines()
        .any(|line| line.starts_with(prefix) && parts.iter().all(|part| line.contains(part)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_can_move_to_a_port_of_their_own_or_be_turned_off() {
    let Some(app) = TestApp::spawn_with(Backend::Sqlite, |settings| {
        settings.telemetry.metrics.address = Some("127.0.0.1:0".to_owned());
    })
    .await
    else {
        return;
    };
    let on_api = app
        .anonymous
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("scrape");
    assert_eq!(
        on_api.status(),
        StatusCode::NOT_FOUND,
        "not on the API port"
    );
    let port = app.metrics_port.expect("a metrics port");
    let scraped = app
        .anonymous
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .expect("scrape");
    assert_eq!(scraped.status(), StatusCode::OK);
    assert!(
        scraped
            .text()
            .await
            .expect("text")
            .contains("db_client_connection_max")
    );
    app.stop().await.expect("clean stop");

    let Some(app) = TestApp::spawn_with(Backend::Sqlite, |settings| {
        settings.telemetry.metrics.prometheus = false;
    })
    .await
    else {
        return;
    };
    let off = app
        .anonymous
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("scrape");
    assert_eq!(off.status(), StatusCode::NOT_FOUND);
    app.stop().await.expect("clean stop");
}

/// One hashing thread and no queue: of logins sent at once, those that find the thread
/// busy get 503, and `roster_password_hashing_rejections_total` counts exactly those.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_hashing_refusals_are_counted() {
    let Some(app) = TestApp::spawn_with(Backend::Sqlite, |settings| {
        settings.auth.password_hashing = roster_security::PasswordHashingSettings {
            max_concurrent: Some(1),
            max_waiting: 0,
            ..roster_security::PasswordHashingSettings::default()
        };
    })
    .await
    else {
        return;
    };
    // A series' value, as the text format writes it (an integer for these).
    let value = |text: &str, name: &str| -> Option<u64> {
        text.lines()
            .find(|line| line.starts_with(&format!("{name}{{")))
            .and_then(|line| line.rsplit(' ').next())
            .and_then(|value| value.parse().ok())
    };
    let before = scrape(&app).await;
    for (name, expected) in [
        ("roster_password_hashing_rejections_total", 0),
        ("roster_password_hashing_threads", 1),
        ("roster_password_hashing_waiting", 0),
    ] {
        assert_eq!(value(&before, name), Some(expected), "{name}: {before}");
    }

    let logins = (0..8).map(|_| app.try_login(ADMIN_EMAIL, ADMIN_PASSWORD));
    let statuses: Vec<StatusCode> = futures_util::future::join_all(logins)
        .await
        .iter()
        .map(reqwest::Response::status)
        .collect();
    let refused = statuses
        .iter()
        .filter(|status| **status == StatusCode::SERVICE_UNAVAILABLE)
        .count();
    assert!(refused > 0, "no login found the thread busy: {statuses:?}");
    assert!(
        statuses.iter().all(|status| [
            StatusCode::OK,
            StatusCode::SERVICE_UNAVAILABLE,
            // The login throttle may stop a burst on one account first.
            StatusCode::TOO_MANY_REQUESTS,
        ]
        .contains(status)),
        "{statuses:?}"
    );

    let after = scrape(&app).await;
    assert_eq!(
        value(&after, "roster_password_hashing_rejections_total"),
        u64::try_from(refused).ok(),
        "{after}"
    );
    assert_eq!(
        value(&after, "roster_password_hashing_busy"),
        Some(0),
        "{after}"
    );
    app.stop().await.expect("clean stop");
}
