//! Redis for the shared-limits tests: the machine's server (keys under a prefix of the
//! test's own), or a throw-away `redis-server` the test starts, kills and starts again.

use std::{
    net::TcpStream,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// The machine's Redis, as `.ci/run` starts it.
pub(crate) const SHARED_URL: &str = "redis://127.0.0.1:6379";

/// Whether the shared server answers. Under `CI=true` it must: the test fails rather
/// than skips.
pub(crate) fn shared_is_up() -> bool {
    let up = TcpStream::connect_timeout(
        &"127.0.0.1:6379".parse().expect("an address"),
        Duration::from_secs(1),
    )
    .is_ok();
    if !up {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "Redis is not running on 127.0.0.1:6379"
        );
        eprintln!("SKIPPED: Redis is not running on 127.0.0.1:6379");
    }
    up
}

/// A key prefix no other test uses.
pub(crate) fn unique_prefix() -> String {
    format!("test-{}", ulid::Ulid::generate())
}

/// A `redis-server` on a port of its own, keeping nothing on disk.
pub(crate) struct ThrowawayRedis {
    port: u16,
    child: Option<Child>,
}

impl ThrowawayRedis {
    /// `None` (loudly) without a `redis-server` binary, except under `CI=true`.
    pub(crate) fn start() -> Option<Self> {
        if Command::new("redis-server")
            .arg("--version")
            .output()
            .is_err()
        {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "redis-server is missing: install Debian's redis-server"
            );
            eprintln!("SKIPPED: no redis-server binary");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut redis = Self { port, child: None };
        redis.resume();
        Some(redis)
    }

    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts the server (again) on the same port.
    pub(crate) fn resume(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "redis-server listens"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the server (SIGKILL: its counts are gone, its clients get no goodbye).
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for ThrowawayRedis {
    fn drop(&mut self) {
        self.kill();
    }
}
