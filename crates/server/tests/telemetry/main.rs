//! Traces and metrics reach an OTLP collector, over gRPC and over HTTP/protobuf: the
//! real `roster` binary is started with the standard `OTEL_*` variables pointing at an
//! in-process receiver, driven, stopped with SIGTERM (which flushes), and what arrived
//! is checked, together with its log lines.

#![expect(
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking; helpers are plain functions, which clippy's test allowances do not cover"
)]

mod receiver;

use std::{
    collections::HashMap,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use receiver::{Collector, ReceivedSpan};
use reqwest::{Client, StatusCode};
use roster_persistence::{Backend, testing::TestDatabase};
use serde_json::{Value, json};

const ADMIN_EMAIL: &str = "admin@example.com";
const ADMIN_PASSWORD: &str = "the admin's long password";
const SERVICE_NAME: &str = "roster-otlp-test";
const USER_AGENT: &str = "roster-otlp-test/1.0";
/// The caller's trace, as a W3C `traceparent` names it.
const CALLER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";
/// The trace of the request that creates the user, which its audit entry names.
const CREATION_TRACE: &str = "0af7651916cd43dd8448eb211c80319c";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traces_metrics_and_logs_over_grpc_on_sqlite() {
    one_request_is_one_trace("grpc", Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traces_metrics_and_logs_over_http_protobuf_on_postgresql() {
    one_request_is_one_trace("http/protobuf", Backend::Postgres).await;
}

/// What a `GET /api/v1/users/{id}` answered, as far as tracing goes.
struct Answer {
    trace_id: String,
    span_id: String,
}

async fn one_request_is_one_trace(protocol: &str, backend: Backend) {
    let Some(database) = TestDatabase::of(backend) else {
        return;
    };
    let collector = Collector::default();
    let endpoint = if protocol == "grpc" {
        collector.serve_grpc().await
    } else {
        collector.serve_http()
    };
    let (mut child, log, port) = spawn(&database, protocol, &endpoint);
    let base = format!("http://127.0.0.1:{port}");
    let client = Client::builder()
        .user_agent(USER_AGENT)
        .build()
        .expect("client");
    wait_until_healthy(&client, &base, &mut child).await;

    let token = login(&client, &base).await;
    let created = client
        .post(format!("{base}/api/v1/users"))
        .bearer_auth(&token)
        .header("traceparent", format!("00-{CREATION_TRACE}-{CALLER_SPAN}-01"))
        .json(&json!({"email": "traced@example.com", "name": "Traced", "password": "a long enough password"}))
        .send()
        .await
        .expect("create");
    assert_eq!(created.status(), StatusCode::CREATED);
    let id = created.json::<Value>().await.expect("json")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let url = format!("{base}/api/v1/users/{id}");

    let own = get_user(&client, &url, &token, None).await;
    let joined = get_user(
        &client,
        &url,
        &token,
        Some(&format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01")),
    )
    .await;
    assert_eq!(
        joined.trace_id, CALLER_TRACE,
        "the answer names the caller's trace"
    );
    assert_ne!(own.trace_id, CALLER_TRACE);
    let audit: Value = client
        .get(format!(
            "{base}/api/v1/audit?target={id}&action=user.created"
        ))
        .bearer_auth(&token)
        .send()
        .await
        .expect("audit")
        .json()
        .await
        .expect("json");
    assert_eq!(
        audit["items"][0]["trace_id"], CREATION_TRACE,
        "the audit entry names the creation's trace: {audit}"
    );

    stop(&mut child).await;

    assert_spans(&collector.spans(), &[&own, &joined], &id, port, backend);
    assert_logs(&std::fs::read_to_string(log.path()).expect("the log"));
    assert_metrics(&collector);
}

fn assert_spans(
    spans: &[ReceivedSpan],
    answers: &[&Answer],
    id: &str,
    port: u16,
    backend: Backend,
) {
    assert!(
        spans
            .iter()
            .all(|span| span.service_name.as_deref() == Some(SERVICE_NAME)),
        "OTEL_SERVICE_NAME names the service"
    );
    // What tells replicas apart, and the SDK's own attributes (from its detector); one
    // instance id for the whole process.
    let instances: std::collections::HashSet<Option<String>> = spans
        .iter()
        .map(|span| span.resource_attribute("service.instance.id"))
        .collect();
    assert_eq!(instances.len(), 1, "{instances:?}");
    assert!(
        instances.iter().flatten().all(|id| id.len() == 26),
        "{instances:?}"
    );
    let first = &spans[0];
    for (key, expected) in [
        ("service.version", Some(env!("CARGO_PKG_VERSION"))),
        ("telemetry.sdk.language", Some("rust")),
        ("telemetry.sdk.name", Some("opentelemetry")),
        ("deployment.environment.name", Some("otlp test")),
    ] {
        assert_eq!(first.resource_attribute(key).as_deref(), expected, "{key}");
    }
    assert!(first.resource_attribute("telemetry.sdk.version").is_some());
    for (answer, parent) in answers.iter().zip([None, Some(CALLER_SPAN)]) {
        let server = the_request_span(spans, &answer.trace_id, parent, id, port);
        assert_eq!(
            server.span_id(),
            answer.span_id,
            "the answer names the span"
        );
        let use_case = child_named(spans, &server, "users.get");
        let database_call = child_named(spans, &use_case, "SELECT users");
        assert_eq!(database_call.span.kind, SpanKind::Client as i32);
        assert_eq!(
            database_call.attribute("db.system.name").as_deref(),
            Some(backend.name())
        );
        assert_eq!(
            database_call.attribute("db.operation.name").as_deref(),
            Some("SELECT")
        );
        assert_eq!(
            database_call.attribute("db.collection.name").as_deref(),
            Some("users")
        );
    }
    let password_spans = spans
        .iter()
        .filter(|span| span.span.name == "password.hash")
        .count();
    assert!(password_spans >= 1, "hashing has a span of its own");
}

fn assert_logs(text: &str) {
    let lines = log_lines(text);
    let joined_lines: Vec<&Value> = lines
        .iter()
        .filter(|line| line["trace_id"] == CALLER_TRACE)
        .collect();
    assert!(
        joined_lines
            .iter()
            .any(|line| line["fields"]["message"] == "request completed"
                && line["fields"]["http.route"] == "/api/v1/users/{id}"),
        "the access-log line carries the trace id: {joined_lines:#?}"
    );
    assert!(
        joined_lines
            .iter()
            .all(|line| line["span_id"].as_str().is_some_and(|id| id.len() == 16)),
        "{joined_lines:#?}"
    );
}

fn assert_metrics(collector: &Collector) {
    let metrics = collector.metric_names();
    for name in [
        "http.server.request.duration",
        "db.client.connection.count",
        "roster.users.created",
    ] {
        assert!(
            metrics.iter().any(|metric| metric == name),
            "{name} was pushed at shutdown: {metrics:?}"
        );
    }
}

/// `roster serve` on `database`, exporting to `endpoint`, logging into a file.
fn spawn(
    database: &TestDatabase,
    protocol: &str,
    endpoint: &str,
) -> (Child, tempfile::NamedTempFile, u16) {
    let log = tempfile::NamedTempFile::new().expect("a log file");
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_roster"))
        .arg("serve")
        .env("ROSTER__DATABASE__URL", database.url())
        .env("ROSTER__SERVER__PORT", port.to_string())
        .env("ROSTER__SERVER__SHUTDOWN_TIMEOUT", "5s")
        // Every read goes to the database, so each trace has its database span (a read
        // served from the cache has none, by design).
        .env("ROSTER__DATABASE__CACHE__ENABLED", "false")
        .env(
            "ROSTER__AUTH__PRIVATE_KEY",
            roster_security::generate_key_pair().0,
        )
        .env("ROSTER__AUTH__PASSWORD_HASHING__MEMORY_KIB", "1024")
        .env("ROSTER__AUTH__PASSWORD_HASHING__ITERATIONS", "1")
        .env("ROSTER__AUTH__BOOTSTRAP_ADMIN__EMAIL", ADMIN_EMAIL)
        .env("ROSTER__AUTH__BOOTSTRAP_ADMIN__PASSWORD", ADMIN_PASSWORD)
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
        .env("OTEL_SERVICE_NAME", SERVICE_NAME)
        .env(
            "OTEL_RESOURCE_ATTRIBUTES",
            "deployment.environment.name=otlp%20test",
        )
        .env_remove("DATABASE_URL")
        .env_remove("ROSTER_CONFIG")
        .env_remove("RUST_LOG")
        .stdout(Stdio::from(log.reopen().expect("the log file")))
        .spawn()
        .expect("roster serve starts");
    (child, log, port)
}

/// The SERVER span of `GET /api/v1/users/{id}` in `trace_id`, with its attributes.
fn the_request_span(
    spans: &[ReceivedSpan],
    trace_id: &str,
    parent: Option<&str>,
    id: &str,
    port: u16,
) -> ReceivedSpan {
    let candidates: Vec<&ReceivedSpan> = spans
        .iter()
        .filter(|span| span.trace_id() == trace_id && span.span.kind == SpanKind::Server as i32)
        .collect();
    assert_eq!(
        candidates.len(),
        1,
        "one request, one SERVER span: {candidates:#?}"
    );
    let server = candidates[0].clone();
    assert_eq!(server.span.name, "GET /api/v1/users/{id}");
    assert_eq!(server.parent_span_id().as_deref(), parent);
    let expected: HashMap<&str, String> = HashMap::from([
        ("http.request.method", "GET".to_owned()),
        ("http.route", "/api/v1/users/{id}".to_owned()),
        ("http.response.status_code", "200".to_owned()),
        ("url.path", format!("/api/v1/users/{id}")),
        ("url.scheme", "http".to_owned()),
        ("server.address", "127.0.0.1".to_owned()),
        ("server.port", port.to_string()),
        ("client.address", "127.0.0.1".to_owned()),
    ]);
    for (key, value) in expected {
        assert_eq!(server.attribute(key), Some(value), "{key}");
    }
    // Numbers go out as numbers, so that `{ span.http.response.status_code >= 500 }`
    // matches in Tempo.
    assert_eq!(server.int_attribute("http.response.status_code"), Some(200));
    assert_eq!(server.int_attribute("server.port"), Some(i64::from(port)));
    assert_eq!(
        server.attribute("user_agent.original").as_deref(),
        Some(USER_AGENT)
    );
    assert!(
        server
            .attribute("request_id")
            .is_some_and(|id| id.len() == 26),
        "the request id is on the span"
    );
    server
}

fn child_named(spans: &[ReceivedSpan], parent: &ReceivedSpan, name: &str) -> ReceivedSpan {
    let children: Vec<&ReceivedSpan> = spans
        .iter()
        .filter(|span| span.parent_span_id().as_deref() == Some(&parent.span_id()))
        .collect();
    let names: Vec<&str> = children.iter().map(|s| s.span.name.as_str()).collect();
    children
        .iter()
        .find(|span| span.span.name == name)
        .map_or_else(
            || panic!("no {name} under {}: {names:?}", parent.span.name),
            |span| (*span).clone(),
        )
}

async fn get_user(client: &Client, url: &str, token: &str, traceparent: Option<&str>) -> Answer {
    let mut request = client.get(url).bearer_auth(token);
    if let Some(traceparent) = traceparent {
        request = request.header("traceparent", traceparent);
    }
    let response = request.send().await.expect("get");
    assert_eq!(response.status(), StatusCode::OK);
    let header = response
        .headers()
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .expect("the answer carries a traceparent")
        .to_owned();
    let parts: Vec<&str> = header.split('-').collect();
    assert_eq!(parts.len(), 4, "{header}");
    assert_eq!(parts[3], "01", "sampled: {header}");
    Answer {
        trace_id: parts[1].to_owned(),
        span_id: parts[2].to_owned(),
    }
}

async fn login(client: &Client, base: &str) -> String {
    let response = client
        .post(format!("{base}/api/v1/auth/token"))
        .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .expect("login");
    assert_eq!(response.status(), StatusCode::OK);
    response.json::<Value>().await.expect("json")["access_token"]
        .as_str()
        .expect("token")
        .to_owned()
}

async fn wait_until_healthy(client: &Client, base: &str, child: &mut Child) {
    let started = Instant::now();
    loop {
        if let Ok(response) = client.get(format!("{base}/health")).send().await
            && response.status() == StatusCode::OK
        {
            return;
        }
        if let Some(status) = child.try_wait().expect("wait") {
            panic!("roster exited early: {status}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "roster became healthy"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// SIGTERM, then wait for exit 0: the exporters flush on the way out.
async fn stop(child: &mut Child) {
    let killed = Command::new("sh")
        // The shell's own `kill`: a bare machine has no kill(1) (procps).
        .args(["-c", "kill -TERM \"$1\"", "sh", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "roster stops");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(status.code(), Some(0));
}

fn log_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}
