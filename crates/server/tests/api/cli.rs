//! The `roster` binary: signals, exit codes, subcommands.

use std::{
    process::{Command, Output, Stdio},
    time::{Duration, Instant},
};

use roster_domain::{
    AuditAction, AuditEntry, AuditFilter, AuditQuery, Provenance, ports::AuditLog as _,
};
use roster_persistence::{Database, DieselAuditLog, testing::TestDatabase};

/// A signing key for the spawned binaries, so none is generated on disk.
fn key() -> String {
    roster_security::generate_key_pair().0
}

fn roster(database: &TestDatabase, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_roster"))
        .args(args)
        .env("ROSTER__DATABASE__URL", database.url())
        .env("ROSTER__AUTH__PRIVATE_KEY", key())
        .envs(env.iter().copied())
        .env_remove("DATABASE_URL")
        .env_remove("ROSTER_CONFIG")
        .output()
        .expect("roster runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

#[test]
fn serve_stops_on_sigterm_and_exits_0() {
    let database = TestDatabase::sqlite();
    let port = free_port().to_string();
    let mut child = Command::new(env!("CARGO_BIN_EXE_roster"))
        .arg("serve")
        .env("ROSTER__DATABASE__URL", database.url())
        .env("ROSTER__AUTH__PRIVATE_KEY", key())
        .env("ROSTER__SERVER__PORT", &port)
        .env("ROSTER__SERVER__SHUTDOWN_TIMEOUT", "5s")
        .env_remove("DATABASE_URL")
        .stdout(Stdio::null())
        .spawn()
        .expect("roster serve starts");
    let started = Instant::now();
    let healthy = loop {
        let probe = roster(
            &database,
            &["healthcheck"],
            &[("ROSTER__SERVER__PORT", &port)],
        );
        if probe.status.success() {
            break true;
        }
        if started.elapsed() > Duration::from_secs(20) {
            break false;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(healthy, "the server became healthy");

    let killed = Command::new("sh")
        // The shell's own `kill`: a bare machine has no kill(1) (procps).
        .args(["-c", "kill -TERM \"$1\"", "sh", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let stopping = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            stopping.elapsed() < Duration::from_secs(10),
            "exits within the shutdown timeout"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0));

    let after = roster(
        &database,
        &["healthcheck"],
        &[("ROSTER__SERVER__PORT", &port)],
    );
    assert_eq!(
        after.status.code(),
        Some(1),
        "healthcheck fails once the server is gone"
    );
    assert!(text(&after.stderr).contains("unhealthy"));
}

#[test]
fn an_invalid_setting_exits_non_zero_naming_the_key() {
    let database = TestDatabase::sqlite();
    let output = roster(&database, &["serve"], &[("ROSTER__SERVER__PORT", "eighty")]);
    assert!(!output.status.success());
    let stderr = text(&output.stderr);
    assert!(stderr.contains("server.port"), "{stderr}");

    let output = roster(
        &database,
        &["config", "check"],
        &[("ROSTER__DATABASE__WAIT_TIMEOUT", "0s")],
    );
    assert!(!output.status.success());
    assert!(text(&output.stderr).contains("database.wait_timeout"));
}

#[test]
fn config_check_prints_the_effective_settings_with_secrets_redacted() {
    let database = TestDatabase::sqlite();
    let output = roster(
        &database,
        &["config", "check"],
        &[
            (
                "ROSTER__DATABASE__URL",
                "postgres://roster:hunter2@db:5432/roster",
            ),
            ("ROSTER__SERVER__PORT", "9999"),
        ],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert!(!stdout.contains("hunter2"), "{stdout}");
    let effective: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(
        effective["database"]["url"],
        "postgres://roster:***@db:5432/roster"
    );
    assert_eq!(effective["server"]["port"], 9999);
    assert_eq!(effective["server"]["shutdown_timeout"], "30s");
    assert_eq!(
        effective["auth"]["private_key"], "***",
        "the signing key is a secret too"
    );
}

#[test]
fn migrate_run_status_and_revert() {
    let database = TestDatabase::sqlite();

    let status = roster(&database, &["migrate", "status"], &[]);
    assert!(status.status.success(), "{}", text(&status.stderr));
    assert!(
        text(&status.stdout).starts_with("pending  2026-11-24-000001_create_users"),
        "{}",
        text(&status.stdout)
    );

    let run = roster(&database, &["migrate", "run"], &[]);
    assert!(
        text(&run.stdout).contains("applied  2026-11-24-000001_create_users"),
        "{}",
        text(&run.stdout)
    );
    let again = roster(&database, &["migrate", "run"], &[]);
    assert!(text(&again.stdout).contains("nothing to apply"));
    assert!(text(&roster(&database, &["migrate", "status"], &[]).stdout).starts_with("applied"));

    let revert = roster(&database, &["migrate", "revert"], &[]);
    let reverted = text(&revert.stdout);
    assert!(reverted.starts_with("reverted 2026-"), "{reverted}");
    let name = reverted.trim().trim_start_matches("reverted ").to_owned();
    let status = text(&roster(&database, &["migrate", "status"], &[]).stdout);
    assert!(
        status.trim_end().ends_with(&format!("pending  {name}")),
        "the last one is pending again: {status}"
    );
    assert!(
        status.starts_with("applied  2026-11-24-000001_create_users"),
        "{status}"
    );
}

#[test]
fn every_subcommand_explains_itself() {
    let database = TestDatabase::sqlite();
    for args in [
        &["--help"][..],
        &["serve", "--help"],
        &["migrate", "--help"],
        &["config", "check", "--help"],
        &["healthcheck", "--help"],
    ] {
        let output = roster(&database, args, &[]);
        assert!(output.status.success(), "{args:?}");
        assert!(text(&output.stdout).contains("Usage: roster"), "{args:?}");
    }
}

#[test]
fn keygen_prints_a_usable_key_pair() {
    let database = TestDatabase::sqlite();
    let output = roster(&database, &["keygen"], &[]);
    assert!(output.status.success());
    let stdout = text(&output.stdout);
    let field = |label: &str| {
        stdout
            .lines()
            .find(|line| line.starts_with(label))
            .and_then(|line| line.split(": ").nth(1))
            .expect(label)
            .to_owned()
    };
    let private = roster_security::parse_private_key(&field("private key")).expect("a private key");
    let public = roster_security::parse_public_key(&field("public key")).expect("a public key");
    assert_eq!(private.public(), public);
}

#[test]
fn users_create_admin_takes_the_password_from_the_environment_or_stdin() {
    let database = TestDatabase::sqlite();
    let created = roster(
        &database,
        &["users", "create-admin", "--email", "root@example.com"],
        &[("ROSTER_ADMIN_PASSWORD", "a long admin password")],
    );
    assert!(created.status.success(), "{}", text(&created.stderr));
    assert!(
        text(&created.stdout).starts_with("created administrator "),
        "{}",
        text(&created.stdout)
    );

    let mut child = Command::new(env!("CARGO_BIN_EXE_roster"))
        .args(["users", "create-admin", "--email", "second@example.com"])
        .env("ROSTER__DATABASE__URL", database.url())
        .env("ROSTER__AUTH__PRIVATE_KEY", key())
        .env_remove("ROSTER_ADMIN_PASSWORD")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("roster runs");
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().expect("stdin");
        writeln!(stdin, "another long password").expect("write");
    }
    assert!(child.wait_with_output().expect("wait").status.success());

    let again = roster(
        &database,
        &["users", "create-admin", "--email", "ROOT@example.com"],
        &[("ROSTER_ADMIN_PASSWORD", "a long admin password")],
    );
    assert!(!again.status.success(), "the address is taken");
    let weak = roster(
        &database,
        &["users", "create-admin", "--email", "third@example.com"],
        &[("ROSTER_ADMIN_PASSWORD", "password")],
    );
    assert!(!weak.status.success());
    assert!(
        text(&weak.stderr).contains("password"),
        "{}",
        text(&weak.stderr)
    );

    // The command line acts as the system, from no request.
    let entries = entries_of_the_system(&database);
    assert_eq!(entries.len(), 2, "one entry per administrator: {entries:?}");
    for entry in entries {
        assert_eq!(entry.action, AuditAction::UserCreated);
        assert_eq!(entry.provenance, Provenance::default());
    }
}

/// The audit log's entries whose actor is `system`.
fn entries_of_the_system(database: &TestDatabase) -> Vec<AuditEntry> {
    tokio::runtime::Runtime::new()
        .expect("a runtime")
        .block_on(async {
            let pool = Database::connect(&database.settings())
                .await
                .expect("a pool");
            let query = AuditQuery {
                filter: AuditFilter {
                    actor: Some("system".parse().expect("a principal")),
                    ..AuditFilter::default()
                },
                ..AuditQuery::default()
            };
            let entries = DieselAuditLog::new(pool.clone()).list(&query, 10).await;
            pool.close();
            entries.expect("the audit log")
        })
}

/// Runs `users create-admin --email EMAIL` on a pseudo-terminal (util-linux `script`,
/// whose terminal echoes input unless the program turns echo off), answering each
/// prompt in turn once it shows. Returns the exit status and the terminal's transcript.
fn create_admin_on_a_terminal(
    database: &TestDatabase,
    email: &str,
    answers: &[(&str, &str)],
) -> (std::process::ExitStatus, String) {
    use std::io::{Read as _, Write as _};

    let mut child = Command::new("script")
        .args(["--quiet", "--return", "--echo", "always", "--command"])
        .arg(format!(
            "\"$ROSTER_BIN\" users create-admin --email {email}"
        ))
        .arg("/dev/null")
        .env("ROSTER_BIN", env!("CARGO_BIN_EXE_roster"))
        .env("ROSTER__DATABASE__URL", database.url())
        .env("ROSTER__AUTH__PRIVATE_KEY", key())
        .env_remove("ROSTER_ADMIN_PASSWORD")
        .env_remove("DATABASE_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("script runs");
    let mut stdout = child.stdout.take().expect("stdout");
    let (chunks, received) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        let mut buffer = [0_u8; 1024];
        while let Ok(read @ 1..) = stdout.read(&mut buffer) {
            if chunks.send(text(&buffer[..read])).is_err() {
                break;
            }
        }
    });
    let mut transcript = String::new();
    let mut stdin = child.stdin.take().expect("stdin");
    for (prompt, answer) in answers {
        while !transcript.contains(prompt) {
            let chunk = received.recv_timeout(Duration::from_secs(20));
            assert!(chunk.is_ok(), "no prompt {prompt:?}: {transcript}");
            transcript.push_str(&chunk.expect("a chunk"));
        }
        writeln!(stdin, "{answer}").expect("answer");
    }
    let status = child.wait().expect("wait");
    drop(stdin);
    while let Ok(chunk) = received.recv_timeout(Duration::from_secs(2)) {
        transcript.push_str(&chunk);
    }
    (status, transcript)
}

#[test]
fn users_create_admin_asks_a_terminal_twice_without_echo() {
    let database = TestDatabase::sqlite();
    let secret = "a terminal admin password";
    let (status, transcript) = create_admin_on_a_terminal(
        &database,
        "tty@example.com",
        &[
            ("Password for tty@example.com: ", secret),
            ("The same password again: ", secret),
        ],
    );
    assert!(status.success(), "{transcript}");
    assert!(transcript.contains("created administrator"), "{transcript}");
    assert!(!transcript.contains(secret), "echoed: {transcript}");

    let (status, transcript) = create_admin_on_a_terminal(
        &database,
        "typo@example.com",
        &[
            ("Password for typo@example.com: ", secret),
            ("The same password again: ", "a terminal admin pasword"),
        ],
    );
    assert!(!status.success(), "{transcript}");
    assert!(
        transcript.contains("the two passwords differ"),
        "{transcript}"
    );
    assert_eq!(entries_of_the_system(&database).len(), 1, "{transcript}");
}

#[test]
fn version_names_the_commit_and_build_date_and_completions_cover_the_subcommands() {
    let database = TestDatabase::sqlite();
    let version = text(&roster(&database, &["--version"], &[]).stdout);
    let shape = regex::Regex::new(
        r"^roster-server \d+\.\d+\.\d+ \(commit ([0-9a-f]{12}|unknown), built \d{4}-\d{2}-\d{2}\)\n$",
    )
    .expect("regex");
    assert!(shape.is_match(&version), "{version:?}");

    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef roster"),
        ("fish", "complete -c roster"),
    ] {
        let output = roster(
            &database,
            &["completions", shell],
            &[("ROSTER__SERVER__PORT", "not a port")],
        );
        assert!(output.status.success(), "{shell}: {}", text(&output.stderr));
        let script = text(&output.stdout);
        assert!(script.contains(marker), "{shell}: {script}");
        for subcommand in ["serve", "migrate", "create-admin", "completions"] {
            assert!(script.contains(subcommand), "{shell} lacks {subcommand}");
        }
    }
    let unknown = roster(&database, &["completions", "cmd.exe"], &[]);
    assert!(!unknown.status.success());
}
