//! Kept-alive connections: a later request's head is timed like the first one's, idle
//! time between requests is not, and a shutdown closes idle connections at once.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use roster_persistence::Backend;
use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::TcpStream,
};

use crate::helpers::TestApp;

roster_persistence::backend_tests!(
    a_later_request_head_sent_a_byte_at_a_time_is_cut,
    idle_time_between_requests_is_not_counted,
    a_shutdown_closes_idle_kept_alive_connections_at_once,
);

const HEALTH: &[u8] = b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n";

/// Reads one `/health` answer (a small fixed-length body) off a kept-alive connection.
async fn read_answer(stream: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    let mut chunk = [0_u8; 1024];
    while !String::from_utf8_lossy(&answer).ends_with('}') {
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut chunk))
            .await
            .expect("an answer in time")
            .expect("read");
        assert!(read > 0, "closed before answering");
        answer.extend_from_slice(&chunk[..read]);
    }
    String::from_utf8_lossy(&answer).into_owned()
}

fn timeouts(settings: &mut roster_server::Settings) {
    settings.server.request_timeout = Duration::from_secs(1);
    settings.server.request_deadline = Duration::from_secs(1);
}

/// actix times the head of the first request on a connection only: the second one,
/// sent a byte at a time, held the connection for as long as the client liked. Now the
/// connection is closed once `request_timeout + request_deadline` (+1 s) have passed
/// since the request's first byte, and everyone else is served meanwhile.
async fn a_later_request_head_sent_a_byte_at_a_time_is_cut(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, timeouts).await else {
        return;
    };
    let mut stream = TcpStream::connect(("127.0.0.1", app.port))
        .await
        .expect("connect");
    stream.write_all(HEALTH).await.expect("first request");
    assert!(read_answer(&mut stream).await.starts_with("HTTP/1.1 200"));

    let started = Instant::now();
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
        .await
        .expect("the start of a head");
    let mut closed_after = None;
    let mut answered = None;
    let mut probe = [0_u8; 64];
    while started.elapsed() < Duration::from_secs(12) {
        if stream.write_all(b"a").await.is_err() {
            closed_after = Some(started.elapsed());
            break;
        }
        match tokio::time::timeout(Duration::from_millis(250), stream.read(&mut probe)).await {
            Ok(Ok(0) | Err(_)) => {
                closed_after = Some(started.elapsed());
                break;
            }
            Ok(Ok(read)) => {
                answered = Some(String::from_utf8_lossy(&probe[..read]).into_owned());
                break;
            }
            Err(_) => {}
        }
        assert_eq!(app.get("/health").await.status(), StatusCode::OK);
    }
    assert_eq!(answered, None, "answered a head that never ended");
    let closed_after = closed_after.expect("the connection was still open after 12 s");
    assert!(
        closed_after >= Duration::from_secs(2) && closed_after < Duration::from_secs(6),
        "closed after {closed_after:?}; the budget is 3 s"
    );
}

/// The clock runs from a request's first byte to its answer: a client idle between
/// requests for longer than that budget keeps its connection (keep-alive is 75 s).
async fn idle_time_between_requests_is_not_counted(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, timeouts).await else {
        return;
    };
    let mut stream = TcpStream::connect(("127.0.0.1", app.port))
        .await
        .expect("connect");
    for round in 0..3 {
        stream.write_all(HEALTH).await.expect("request");
        let answer = read_answer(&mut stream).await;
        assert!(
            answer.starts_with("HTTP/1.1 200"),
            "round {round}: {answer}"
        );
        tokio::time::sleep(Duration::from_secs(4)).await;
    }
}

/// A shutdown does not wait for idle kept-alive connections to time out: they are
/// closed as soon as the listener closes, and the server stops long before its
/// shutdown timeout.
async fn a_shutdown_closes_idle_kept_alive_connections_at_once(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |s| {
        s.server.shutdown_timeout = Duration::from_secs(20);
    })
    .await
    else {
        return;
    };
    let mut stream = TcpStream::connect(("127.0.0.1", app.port))
        .await
        .expect("connect");
    stream.write_all(HEALTH).await.expect("request");
    assert!(read_answer(&mut stream).await.starts_with("HTTP/1.1 200"));

    let started = Instant::now();
    app.shutdown.trigger();
    let mut rest = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut rest))
        .await
        .expect("the idle connection is closed")
        .expect("read");
    tokio::time::timeout(Duration::from_secs(10), app.server)
        .await
        .expect("stops long before the 20 s shutdown timeout")
        .expect("task")
        .expect("clean stop");
    assert!(started.elapsed() < Duration::from_secs(10));
}
