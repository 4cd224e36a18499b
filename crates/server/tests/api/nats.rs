//! NATS for the event tests: the machine's server (a stream of the test's own on it),
//! or a throw-away `nats-server` the test starts, stops and starts again.

use std::{
    collections::BTreeMap,
    net::TcpStream,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use async_nats::jetstream;
use serde_json::Value;

/// The machine's NATS, as `.ci/run` starts it.
pub(crate) const SHARED_URL: &str = "nats://127.0.0.1:4222";

/// Whether the shared server answers. Under `CI=true` it must: the test fails
/// rather than skips.
pub(crate) fn shared_is_up() -> bool {
    let up = TcpStream::connect_timeout(
        &"127.0.0.1:4222".parse().expect("an address"),
        Duration::from_secs(1),
    )
    .is_ok();
    if !up {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "NATS is not running on 127.0.0.1:4222"
        );
        eprintln!("SKIPPED: NATS is not running on 127.0.0.1:4222");
    }
    up
}

/// A stream name and subject prefix no other test uses.
pub(crate) fn unique_stream() -> (String, String) {
    let suffix = ulid::Ulid::generate().to_string();
    (
        format!("TEST_{suffix}"),
        format!("test.{}", suffix.to_lowercase()),
    )
}

/// Every message of the stream, in stream order: (`Nats-Msg-Id`, subject, the event).
pub(crate) async fn messages(url: &str, stream: &str) -> Vec<(String, String, Value)> {
    let client = async_nats::connect(url).await.expect("NATS connects");
    let context = jetstream::new(client);
    let mut handle = context.get_stream(stream).await.expect("the stream exists");
    let info = handle.info().await.expect("stream info").state.clone();
    let mut found = Vec::new();
    for sequence in info.first_sequence..=info.last_sequence {
        if info.messages == 0 {
            break;
        }
        let message = handle
            .get_raw_message(sequence)
            .await
            .expect("the message is stored");
        let id = message
            .headers
            .get("Nats-Msg-Id")
            .map(|value| value.as_str().to_owned())
            .unwrap_or_default();
        let event: Value = serde_json::from_slice(&message.payload).expect("a JSON event");
        found.push((id, message.subject.to_string(), event));
    }
    found
}

/// How many messages the stream holds (0 if it does not exist yet).
pub(crate) async fn count(url: &str, stream: &str) -> u64 {
    let Ok(client) = async_nats::connect(url).await else {
        return 0;
    };
    let context = jetstream::new(client);
    match context.get_stream(stream).await {
        Ok(mut handle) => handle.info().await.map_or(0, |info| info.state.messages),
        Err(_) => 0,
    }
}

/// Deletes the test's stream from the shared server.
pub(crate) async fn delete_stream(url: &str, stream: &str) {
    if let Ok(client) = async_nats::connect(url).await {
        let _ = jetstream::new(client).delete_stream(stream).await;
    }
}

/// The events' versions per user, in stream order.
pub(crate) fn versions_per_user(events: &[(String, String, Value)]) -> BTreeMap<String, Vec<u64>> {
    let mut versions: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for (_, _, event) in events {
        versions
            .entry(event["subject"].as_str().expect("subject").to_owned())
            .or_default()
            .push(event["data"]["version"].as_u64().expect("version"));
    }
    versions
}

/// A `nats-server` with JetStream on a port and in a folder of its own.
pub(crate) struct ThrowawayNats {
    port: u16,
    store: tempfile::TempDir,
    child: Option<Child>,
}

impl ThrowawayNats {
    /// `None` (loudly) without a `nats-server` binary, except under `CI=true`.
    pub(crate) fn start() -> Option<Self> {
        if binary().is_none() {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "nats-server is missing: install Debian's nats-server"
            );
            eprintln!("SKIPPED: no nats-server binary");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut nats = Self {
            port,
            store: tempfile::tempdir().expect("a folder"),
            child: None,
        };
        nats.resume();
        Some(nats)
    }

    pub(crate) fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Starts the server again, on the same port with the same store.
    pub(crate) fn resume(&mut self) {
        let child = Command::new(binary().expect("nats-server"))
            .args([
                "-js",
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-sd",
            ])
            .arg(self.store.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server starts");
        self.child = Some(child);
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "nats-server listens"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills the server (SIGKILL: no goodbye to its clients).
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for ThrowawayNats {
    fn drop(&mut self) {
        self.kill();
    }
}

fn binary() -> Option<PathBuf> {
    [
        "/usr/sbin/nats-server",
        "/usr/bin/nats-server",
        "/usr/local/bin/nats-server",
    ]
    .into_iter()
    .map(PathBuf::from)
    .find(|path| path.exists())
}
