//! Graceful shutdown: readiness drops first, in-flight requests complete.

use std::time::Duration;

use reqwest::StatusCode;
use roster_persistence::Backend;
use serde_json::Value;
use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::TcpStream,
};

use crate::helpers::TestApp;

roster_persistence::backend_tests!(a_request_in_flight_when_shutdown_starts_gets_its_full_response);

async fn a_request_in_flight_when_shutdown_starts_gets_its_full_response(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |s| {
        s.server.shutdown_delay = Duration::from_millis(1500);
        s.server.shutdown_timeout = Duration::from_secs(10);
    })
    .await
    else {
        return;
    };
    // A request whose body has only half arrived when the signal comes.
    let body = r#"{"email": "inflight@example.com", "name": "In Flight", "password": "correct horse battery staple"}"#;
    let token = app
        .login(crate::helpers::ADMIN_EMAIL, crate::helpers::ADMIN_PASSWORD)
        .await;
    let (first, rest) = body.split_at(20);
    let mut stream = TcpStream::connect(("127.0.0.1", app.port))
        .await
        .expect("connect");
    let head = format!(
        "POST /api/v1/users HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         Authorization: Bearer {token}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{first}",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.expect("write head");
    tokio::time::sleep(Duration::from_millis(100)).await;

    app.shutdown.trigger();
    tokio::time::sleep(Duration::from_millis(100)).await;

    // Draining: still serving, but no longer ready.
    let ready = app.get("/ready").await;
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        ready.json::<Value>().await.expect("json")["status"],
        "draining"
    );

    // After the delay the listener closes (polled: a busy machine may take a moment),
    // while the request is still in flight.
    let closing = std::time::Instant::now();
    while TcpStream::connect(("127.0.0.1", app.port)).await.is_ok() {
        assert!(
            closing.elapsed() < Duration::from_secs(10),
            "the listener never closed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stream.write_all(rest.as_bytes()).await.expect("write rest");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");

    assert!(response.starts_with("HTTP/1.1 201 Created"), "{response}");
    let (_, json) = response.split_once("\r\n\r\n").expect("a body");
    let user: Value = serde_json::from_str(json).expect("the complete JSON body");
    assert_eq!(user["email"], "inflight@example.com");
    tokio::time::timeout(Duration::from_secs(10), app.server)
        .await
        .expect("stops within the shutdown timeout")
        .expect("task")
        .expect("clean stop");
}
