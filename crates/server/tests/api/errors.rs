//! Client mistakes get precise problems; nothing gets a 500 or a hang.

use reqwest::StatusCode;
use roster_persistence::Backend;
use serde_json::json;

use crate::helpers::{PASSWORD, TestApp, assert_problem};

roster_persistence::backend_tests!(
    malformed_json_and_unknown_fields_are_400,
    wrong_content_type_is_415_and_oversized_bodies_413,
    unknown_and_malformed_ids_are_404,
    unknown_routes_are_404_and_wrong_methods_405_with_allow,
    request_ids_are_honoured_when_sane_and_generated_otherwise,
    compressed_bodies_are_refused_unread,
    a_body_sent_a_byte_at_a_time_meets_the_deadline,
);

async fn malformed_json_and_unknown_fields_are_400(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let url = app.url("/api/v1/users");

    for body in [
        r#"{"email": "a@example.com", "name": "#,
        "[1, 2]",
        "",
        "null",
    ] {
        let response = app
            .client
            .post(&url)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request");
        let problem = assert_problem(response, StatusCode::BAD_REQUEST).await;
        assert_eq!(
            problem["type"], "urn:roster:problem:malformed-request",
            "{body}"
        );
    }

    let unknown = app
        .create_user(&json!({ "email": "a@example.com", "name": "A", "admin": true }))
        .await;
    let problem = assert_problem(unknown, StatusCode::BAD_REQUEST).await;
    assert!(
        problem["detail"]
            .as_str()
            .expect("detail")
            .contains("admin"),
        "{problem}"
    );

    let wrong_type = app.create_user(&json!({ "email": 42, "name": "A" })).await;
    assert_problem(wrong_type, StatusCode::BAD_REQUEST).await;
}

async fn wrong_content_type_is_415_and_oversized_bodies_413(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |s| s.server.json_body_limit = 1024).await else {
        return;
    };
    let url = app.url("/api/v1/users");
    let body = r#"{"email": "a@example.com", "name": "A"}"#;

    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let mut request = app.client.post(&url).body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let response = request.send().await.expect("request");
        assert_problem(response, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    }

    let huge = json!({ "email": "a@example.com", "name": "x".repeat(2000) });
    assert_problem(app.create_user(&huge).await, StatusCode::PAYLOAD_TOO_LARGE).await;
}

async fn unknown_and_malformed_ids_are_404(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    for id in [
        "01ARZ3NDEKTSV4RRFFQ69G5FAV",
        "not-a-ulid",
        "%F0%9F%A6%80",
        "1",
    ] {
        let problem = assert_problem(
            app.get(&format!("/api/v1/users/{id}")).await,
            StatusCode::NOT_FOUND,
        )
        .await;
        assert_eq!(problem["type"], "about:blank");
    }
}

async fn unknown_routes_are_404_and_wrong_methods_405_with_allow(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    assert_problem(app.get("/api/v2/users").await, StatusCode::NOT_FOUND).await;

    let patch = app
        .client
        .patch(app.url("/api/v1/users"))
        .send()
        .await
        .expect("request");
    assert_eq!(patch.headers()["allow"], "GET, HEAD, POST, OPTIONS");
    assert_problem(patch, StatusCode::METHOD_NOT_ALLOWED).await;

    let post = app
        .client
        .post(app.url("/api/v1/users/01ARZ3NDEKTSV4RRFFQ69G5FAV"))
        .send()
        .await
        .expect("request");
    assert_eq!(
        post.headers()["allow"],
        "GET, HEAD, PUT, PATCH, DELETE, OPTIONS"
    );
    assert_problem(post, StatusCode::METHOD_NOT_ALLOWED).await;
}

async fn request_ids_are_honoured_when_sane_and_generated_otherwise(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let request_id = |response: &reqwest::Response| {
        response
            .headers()
            .get("x-request-id")
            .map(|v| v.to_str().expect("ascii").to_owned())
    };

    let sane = app
        .client
        .get(app.url("/health"))
        .header("x-request-id", "trace-42.a_b")
        .send()
        .await
        .expect("req");
    assert_eq!(request_id(&sane).as_deref(), Some("trace-42.a_b"));

    let generated = app.get("/api/v1/users/nope").await;
    let id = request_id(&generated).expect("a generated id on errors too");
    assert_eq!(id.len(), 26, "a ULID: {id}");

    let insane = app
        .client
        .get(app.url("/health"))
        .header("x-request-id", "a b<script>")
        .send()
        .await
        .expect("req");
    let replaced = request_id(&insane).expect("replaced");
    assert_ne!(replaced, "a b<script>");
    assert_eq!(replaced.len(), 26);
}

/// SQLite only: its lock can be taken from outside and makes writers give up after
/// the busy timeout. (PostgreSQL's pool exhaustion is in the repository contract.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_sqlite_database_gives_503_with_retry_after() {
    let Some(app) = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.database.sqlite_busy_timeout = std::time::Duration::from_millis(100);
    })
    .await
    else {
        return;
    };
    let path = app
        .database
        .url()
        .trim_start_matches("sqlite://")
        .to_owned();
    let mut locker = {
        use diesel::Connection as _;
        diesel::SqliteConnection::establish(&path).expect("connect")
    };
    diesel::connection::SimpleConnection::batch_execute(&mut locker, "BEGIN EXCLUSIVE")
        .expect("lock");

    let response = app
        .create_user(&json!({ "email": "a@example.com", "name": "A", "password": PASSWORD }))
        .await;

    assert_eq!(
        response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().expect("ascii")),
        Some("1")
    );
    assert_problem(response, StatusCode::SERVICE_UNAVAILABLE).await;
    diesel::connection::SimpleConnection::batch_execute(&mut locker, "ROLLBACK").expect("unlock");
    let after = app
        .create_user(&json!({ "email": "a@example.com", "name": "A", "password": PASSWORD }))
        .await;
    assert_eq!(
        after.status(),
        StatusCode::CREATED,
        "nothing was lost or half-written"
    );
}

/// A gzip bomb (16 MiB of zeros in about 16 KiB) used to be inflated by actix before the
/// JSON limit applied; bodies are now taken only as sent.
async fn compressed_bodies_are_refused_unread(backend: Backend) {
    use std::io::Write as _;

    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![b' '; 1 << 20];
    for _ in 0..16 {
        encoder.write_all(&zeros).expect("compress");
    }
    let bomb = encoder.finish().expect("compress");
    assert!(bomb.len() < 64 * 1024, "{} bytes", bomb.len());

    for coding in ["gzip", "identity, gzip", "br", "x-unknown"] {
        let response = app
            .client
            .post(app.url("/api/v1/users"))
            .header("content-type", "application/json")
            .header("content-encoding", coding)
            .body(bomb.clone())
            .send()
            .await
            .expect("request");
        assert_eq!(
            response.headers()["accept-encoding"],
            "identity",
            "{coding}"
        );
        let problem = assert_problem(response, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
        assert!(
            problem["detail"]
                .as_str()
                .is_some_and(|d| d.contains("Content-Encoding")),
            "{coding}: {problem}"
        );
    }
    let plain = app
        .client
        .post(app.url("/api/v1/users"))
        .header("content-encoding", "identity")
        .json(&json!({ "email": "plain@example.com", "name": "Plain", "password": PASSWORD }))
        .send()
        .await
        .expect("request");
    assert_eq!(plain.status(), StatusCode::CREATED);
}

/// A client that sends its body one byte at a time used to hold the request open for as
/// long as it liked; past `server.request_deadline` it gets 503, and the server keeps
/// answering everyone else meanwhile.
async fn a_body_sent_a_byte_at_a_time_meets_the_deadline(backend: Backend) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    let Some(app) = TestApp::spawn_with(backend, |s| {
        s.server.request_deadline = std::time::Duration::from_secs(1);
    })
    .await
    else {
        return;
    };
    let token = app
        .login(crate::helpers::ADMIN_EMAIL, crate::helpers::ADMIN_PASSWORD)
        .await;
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", app.port))
        .await
        .expect("connect");
    let head = format!(
        "POST /api/v1/users HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: 200\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.expect("head");
    let started = std::time::Instant::now();
    let trickle = async {
        for _ in 0..40 {
            if stream.write_all(b" ").await.is_err() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            // Everyone else is still served.
            assert_eq!(app.get("/health").await.status(), StatusCode::OK);
        }
    };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(3), trickle).await;
    let mut answer = vec![0_u8; 512];
    let read = tokio::time::timeout(std::time::Duration::from_secs(5), stream.read(&mut answer))
        .await
        .expect("an answer in time")
        .expect("read");
    let answer = String::from_utf8_lossy(&answer[..read]);
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.to_lowercase().contains("retry-after"), "{answer}");
    // Rendered after the request is gone, it still names the request.
    assert!(answer.to_lowercase().contains("x-request-id: "), "{answer}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}
