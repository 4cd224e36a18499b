//! A PostgreSQL server that goes away and comes back: requests get 503 with
//! `Retry-After` within the configured waits (never a hang), `/ready` says so, and
//! service resumes without a restart. The test starts and stops a throw-away cluster
//! of its own (`initdb`), never the shared one.

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use reqwest::StatusCode;
use roster_persistence::{Backend, DatabaseSettings};

use crate::helpers::TestApp;

/// A PostgreSQL cluster in a temporary folder, on a port of its own.
struct Cluster {
    bin: PathBuf,
    folder: tempfile::TempDir,
    port: u16,
}

impl Cluster {
    /// `None` (loudly) when PostgreSQL's server binaries are not installed, except
    /// under `CI=true`, where that fails the test.
    fn create() -> Option<Self> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| entry.path().join("bin"))
            .find(|bin| bin.join("initdb").exists());
        let Some(bin) = bin else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "initdb is missing: install PostgreSQL's server package"
            );
            eprintln!("SKIPPED: no initdb under /usr/lib/postgresql");
            return None;
        };
        let folder = tempfile::tempdir().expect("a folder");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let cluster = Self { bin, folder, port };
        // The server refuses to run as root: as `postgres` when we are root.
        if is_root() {
            run(Command::new("chown")
                .args(["-R", "postgres:"])
                .arg(cluster.folder.path()));
        }
        cluster.pg(
            "initdb",
            &["-D", &cluster.data(), "-U", "postgres", "-A", "trust"],
        );
        cluster.start();
        Some(cluster)
    }

    fn data(&self) -> String {
        self.folder.path().join("data").display().to_string()
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn start(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            self.folder.path().display()
        );
        let log = self.folder.path().join("log").display().to_string();
        self.pg(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-o",
                &options,
                "-l",
                &log,
                "-w",
                "start",
            ],
        );
    }

    /// Sends `signal` to the server and every backend (each connection has its own
    /// process): `-STOP` freezes it as a partitioned server looks, connections open
    /// and nothing answering.
    fn signal_all(&self, signal: &str) {
        let pid = std::fs::read_to_string(self.folder.path().join("data/postmaster.pid"))
            .expect("the pid file");
        let postmaster = pid.lines().next().unwrap_or_default().trim().to_owned();
        let _ = Command::new("pkill")
            .args([signal, "-P", &postmaster])
            .output();
        run(Command::new("kill").args([signal, &postmaster]));
    }

    fn stop(&self) {
        self.pg(
            "pg_ctl",
            &["-D", &self.data(), "-m", "immediate", "-w", "stop"],
        );
    }

    fn pg(&self, program: &str, args: &[&str]) {
        run(self.command(program).args(args));
    }

    /// One of the server's programs, as `postgres` when we are root (it refuses root).
    fn command(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        let mut command = if is_root() {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(&program);
            command
        } else {
            Command::new(&program)
        };
        command.current_dir(Path::new("/tmp"));
        command
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self
            .command("pg_ctl")
            .args(["-D", &self.data(), "-m", "immediate", "stop"])
            .output();
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.starts_with(b"0\n"))
}

fn run(command: &mut Command) {
    let out = command.output().expect("the command runs");
    assert!(
        out.status.success(),
        "{command:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn a_stopped_database_is_a_prompt_503_and_service_resumes_when_it_returns() {
    let Some(cluster) = Cluster::create() else {
        return;
    };
    let Some(app) = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.database = DatabaseSettings {
            wait_timeout: Duration::from_secs(1),
            create_timeout: Duration::from_secs(1),
            ..DatabaseSettings::for_url(cluster.url())
        };
        s.server.readiness_timeout = Duration::from_secs(1);
        s.server.request_deadline = Duration::from_secs(3);
    })
    .await
    else {
        return;
    };
    assert_eq!(app.get("/api/v1/users").await.status(), StatusCode::OK);

    // Frozen (as a partitioned server looks: connections open, nothing answers): no
    // request hangs past its deadline, and /ready answers within its timeout.
    cluster.signal_all("-STOP");
    for path in ["/api/v1/users", "/ready"] {
        let started = Instant::now();
        let answer = app.get(path).await;
        assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE, "{path}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{path}: {:?}",
            started.elapsed()
        );
    }
    cluster.signal_all("-CONT");

    cluster.stop();
    for path in ["/api/v1/users", "/api/v1/users/me"] {
        let started = Instant::now();
        let down = app.get(path).await;
        assert_eq!(down.status(), StatusCode::SERVICE_UNAVAILABLE, "{path}");
        assert!(down.headers().contains_key("retry-after"), "{path}");
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "{path}: {:?}",
            started.elapsed()
        );
    }
    let started = Instant::now();
    assert_eq!(
        app.get("/ready").await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );

    cluster.start();
    let back = Instant::now();
    loop {
        let status = app.get("/api/v1/users").await.status();
        if status == StatusCode::OK {
            break;
        }
        assert!(back.elapsed() < Duration::from_secs(20), "still {status}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(app.get("/ready").await.status(), StatusCode::OK);
}
