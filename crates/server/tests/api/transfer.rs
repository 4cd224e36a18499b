//! `roster users import` and `roster users export` against the running application's
//! database: which rows are taken, that imported users log in (and get an argon2id
//! hash), that a second run changes nothing, that an interrupted import finishes, and
//! that an export imports into an empty database as the same users.

use std::{
    io::Write as _,
    path::Path,
    process::{Command, Output, Stdio},
    time::Duration,
};

use reqwest::StatusCode;
use roster_domain::{Email, Password, ports::PasswordHasher as _, ports::UserRepository as _};
use roster_persistence::{Backend, Database, DieselUserRepository, testing::TestDatabase};
use roster_security::{Argon2Hasher, PasswordHashingSettings};
use serde_json::{Value, json};

use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp, eventually};

/// The password of every hash below (made by Python's hashlib and `bcrypt`).
const IMPORTED_PASSWORD: &str = "imported password 1";
const BCRYPT_2B: &str = "$2b$04$A64jTB/v/xj.WOq768SAduKqUXsT.xCkfeYfKtTa4kQznh.LdO962";
const BCRYPT_2A: &str = "$2a$04$q8a9g9RLIVWs7T23aeYeney/QLNentLmy45EUVCvRCnxtySwDTfWi";
const SCRYPT: &str =
    "$scrypt$ln=10,r=8,p=1$cm9zdGVyLXRlc3Qtc2FsdA$9k7OppdvLxlqP8xhGrRqVqjYHpQUqjA8oozto6QVMbg";
const PBKDF2: &str =
    "$pbkdf2-sha256$i=1000,l=32$cm9zdGVyLXRlc3Qtc2FsdA$6S1iQ35rU7HCmur/JJg4pfNC5mEzJmXMHvsyIRjSufc";

/// Runs `roster` with `args` on the app's database (and its cheap hashing).
pub(crate) fn roster(app: &TestApp, args: &[&str], stdin: Option<&str>) -> Output {
    roster_on(app.database.url(), app, args, stdin)
}

fn roster_on(url: &str, app: &TestApp, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = command(url, app, args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("roster runs");
    let mut input = child.stdin.take().expect("stdin");
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).expect("stdin written");
    }
    drop(input);
    child.wait_with_output().expect("roster ends")
}

fn command(url: &str, app: &TestApp, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_roster"));
    command
        .args(args)
        .env("ROSTER__DATABASE__URL", url)
        .env(
            "ROSTER__AUTH__PRIVATE_KEY",
            app.settings.auth.private_key.as_deref().expect("key"),
        )
        .env("ROSTER__AUTH__PASSWORD_HASHING__MEMORY_KIB", "1024")
        .env("ROSTER__AUTH__PASSWORD_HASHING__ITERATIONS", "1")
        .env_remove("DATABASE_URL")
        .env_remove("ROSTER_CONFIG");
    command
}

pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn row(email: &str, extra: &Value) -> String {
    let mut row = json!({ "email": email, "name": email.split('@').next() });
    if let (Some(row), Some(extra)) = (row.as_object_mut(), extra.as_object()) {
        row.extend(extra.clone());
    }
    row.to_string()
}

/// The stored hash of the user with this address.
async fn stored_hash(app: &TestApp, email: &str) -> String {
    let database = Database::connect(&app.settings.database).await.expect("db");
    let users = DieselUserRepository::new(database.clone());
    let user = users
        .find_by_email(&Email::parse(email).expect("email"))
        .await
        .expect("read")
        .expect("the user exists");
    database.close();
    user.password_hash.expect("a hash").as_str().to_owned()
}

/// An argon2id hash with other parameters than the app's (so outdated there).
async fn other_argon2id() -> String {
    let hasher = Argon2Hasher::new(&PasswordHashingSettings {
        memory_kib: 2048,
        iterations: 1,
        ..PasswordHashingSettings::default()
    })
    .expect("hasher");
    hasher
        .hash(&Password::new(IMPORTED_PASSWORD))
        .await
        .expect("hash")
        .as_str()
        .to_owned()
}

/// Rows of every hash scheme, a password, a disabled user without credential, one
/// invalid row per rule (lines 8 to 18), and two duplicates.
fn mixed_rows(hashed: &[(&str, &str)]) -> Vec<String> {
    let mut lines: Vec<String> = hashed
        .iter()
        .map(|(email, hash)| row(email, &json!({ "password_hash": hash })))
        .collect();
    lines.extend([
        row("plain@example.com", &json!({ "password": "a plain long password", "role": "admin", "created_at": "2021-03-04T05:06:07.891Z" })),
        row("disabled@example.com", &json!({ "status": "disabled" })),
        // Invalid, one rule each.
        row("not-an-address", &json!({})),
        json!({ "email": "noname@example.com" }).to_string(),
        row("role@example.com", &json!({ "role": "owner" })),
        row("status@example.com", &json!({ "status": "gone" })),
        row("md5@example.com", &json!({ "password_hash": "$1$salt$hash" })),
        row("costly@example.com", &json!({ "password_hash": "$2b$31$A64jTB/v/xj.WOq768SAduKqUXsT.xCkfeYfKtTa4kQznh.LdO962" })),
        row("both@example.com", &json!({ "password": "a plain long password", "password_hash": BCRYPT_2B })),
        row("weak@example.com", &json!({ "password": "short" })),
        row("future@example.com", &json!({ "created_at": "2999-01-01T00:00:00Z" })),
        row("typo@example.com", &json!({ "pasword": "a plain long password" })),
        "{not json".to_owned(),
        // Duplicates: of a row above (another case), and of the bootstrap admin.
        row("BCRYPT2B@example.com", &json!({ "name": "Second" })),
        row(ADMIN_EMAIL, &json!({ "name": "Not the admin" })),
    ]);
    lines
}

/// Each invalid row of [`mixed_rows`] is reported with its line and rule.
fn assert_each_rule_reported(stderr: &str) {
    for (line, rule) in [
        (8, "email_syntax"),
        (9, "required"),
        (10, "role: must be one of"),
        (11, "status: must be one of"),
        (12, "hash_scheme"),
        (13, "hash_cost"),
        (14, "one_credential"),
        (15, "min_length"),
        (16, "not_future"),
        (17, "pasword"),
        (18, "format"),
    ] {
        assert!(
            stderr
                .lines()
                .any(|l| l.starts_with(&format!("line {line}: ")) && l.contains(rule)),
            "line {line} is reported as {rule}: {stderr}"
        );
    }
}

async fn import_takes_exactly_the_valid_rows_and_their_users_log_in(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let argon2id = other_argon2id().await;
    let hashed = [
        ("bcrypt2b@example.com", BCRYPT_2B),
        ("bcrypt2a@example.com", BCRYPT_2A),
        ("scrypt@example.com", SCRYPT),
        ("pbkdf2@example.com", PBKDF2),
        ("argon2id@example.com", argon2id.as_str()),
    ];
    let lines = mixed_rows(&hashed);
    let file = tempfile::NamedTempFile::new().expect("file");
    std::fs::write(file.path(), lines.join("\n")).expect("written");
    let path = file.path().to_str().expect("path");

    let output = roster(&app, &["users", "import", path, "--batch-size", "4"], None);
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert_eq!(
        output.status.code(),
        Some(2),
        "invalid rows fail the run: {stdout}{stderr}"
    );
    assert!(
        stdout.contains("7 created, 0 updated, 0 unchanged, 2 skipped, 0 conflicting, 11 invalid"),
        "{stdout}{stderr}"
    );
    assert_each_rule_reported(&stderr);

    // Every imported user logs in with their old password; then their hash is the
    // app's argon2id.
    for (email, _) in hashed {
        app.login(email, IMPORTED_PASSWORD).await;
        let hash = stored_hash(&app, email).await;
        assert!(
            hash.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"),
            "{email}: {hash}"
        );
    }
    app.login("plain@example.com", "a plain long password")
        .await;
    let wrong = app
        .try_login("bcrypt2a@example.com", "imported password 2")
        .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let disabled = app
        .try_login("disabled@example.com", IMPORTED_PASSWORD)
        .await;
    assert_ne!(
        disabled.status(),
        StatusCode::OK,
        "no credential, and disabled"
    );

    assert_kept_as_given(&app).await;
    assert_audited(&app).await;
    app.stop().await.expect("stops");
}

/// Role, status and creation time are as the rows gave them; the admin is untouched.
async fn assert_kept_as_given(app: &TestApp) {
    let users: Value = app
        .get("/api/v1/users?limit=100&sort=email")
        .await
        .json()
        .await
        .expect("json");
    let find = |email: &str| {
        users["items"]
            .as_array()
            .and_then(|items| items.iter().find(|u| u["email"] == email))
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(find("plain@example.com")["role"], "admin");
    assert_eq!(
        find("plain@example.com")["created_at"],
        "2021-03-04T05:06:07.891Z"
    );
    assert_eq!(find("disabled@example.com")["status"], "disabled");
    assert_eq!(find(ADMIN_EMAIL)["name"], "Administrator");
    assert_eq!(users["items"].as_array().map(Vec::len), Some(8));
}

/// The import is in the audit log, a batch at a time, with its counts, as the system's.
async fn assert_audited(app: &TestApp) {
    let audit: Value = app
        .get("/api/v1/audit?action=users.imported")
        .await
        .json()
        .await
        .expect("json");
    let entries = audit["items"].as_array().expect("items");
    assert!(!entries.is_empty(), "{audit}");
    assert!(entries.iter().all(|e| e["actor"] == "system"), "{audit}");
    assert!(
        entries
            .iter()
            .any(|e| e["fields"].to_string().contains("created=")),
        "{audit}"
    );
}

async fn a_second_run_changes_nothing(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let input = [
        row("one@example.com", &json!({ "password_hash": BCRYPT_2B })),
        row(
            "two@example.com",
            &json!({ "password": "a plain long password" }),
        ),
        row(
            "three@example.com",
            &json!({ "role": "admin", "status": "disabled" }),
        ),
    ]
    .join("\n");
    let first = roster(&app, &["users", "import", "-"], Some(&input));
    assert!(first.status.success(), "{}", text(&first.stderr));
    let before = roster(
        &app,
        &["users", "export", "--include-password-hashes"],
        None,
    );
    for policy in ["skip", "update", "fail"] {
        let again = roster(
            &app,
            &[
                "users",
                "import",
                "-",
                "--on-conflict",
                policy,
                "--allow-invalid",
            ],
            Some(&input),
        );
        let summary = text(&again.stdout);
        assert!(again.status.success(), "{summary}{}", text(&again.stderr));
        assert!(
            summary.contains("0 created, 0 updated"),
            "{policy}: {summary}"
        );
        let after = roster(
            &app,
            &["users", "export", "--include-password-hashes"],
            None,
        );
        assert_eq!(text(&after.stdout), text(&before.stdout), "{policy}");
    }
    // An update that differs is applied, with its event.
    let renamed = row(
        "three@example.com",
        &json!({ "name": "Three", "role": "admin", "status": "disabled" }),
    );
    let update = roster(
        &app,
        &["users", "import", "-", "--on-conflict", "update"],
        Some(&renamed),
    );
    assert!(
        text(&update.stdout).contains("1 updated"),
        "{}",
        text(&update.stdout)
    );
    app.stop().await.expect("stops");
}

async fn an_interrupted_import_finishes_when_run_again(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let rows: Vec<String> = (0..6)
        .map(|i| {
            row(
                &format!("user{i}@example.com"),
                &json!({ "password_hash": BCRYPT_2B }),
            )
        })
        .collect();
    // The first batch is written; the import then waits for more input and is killed.
    let mut child = command(
        app.database.url(),
        &app,
        &["users", "import", "-", "--batch-size", "3"],
    )
    .stdin(Stdio::piped())
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .expect("roster runs");
    let mut stdin = child.stdin.take().expect("stdin");
    writeln!(stdin, "{}", rows[..4].join("\n")).expect("written");
    stdin.flush().expect("flushed");
    eventually(
        Duration::from_secs(20),
        "the first batch is stored",
        || async {
            app.try_login("user2@example.com", IMPORTED_PASSWORD)
                .await
                .status()
                == StatusCode::OK
        },
    )
    .await;
    child.kill().expect("killed");
    child.wait().expect("ended");
    let missing = app.try_login("user3@example.com", IMPORTED_PASSWORD).await;
    assert_eq!(
        missing.status(),
        StatusCode::UNAUTHORIZED,
        "the second batch never completed"
    );

    let rerun = roster(
        &app,
        &["users", "import", "-", "--batch-size", "3"],
        Some(&rows.join("\n")),
    );
    assert!(
        text(&rerun.stdout).contains("3 created, 0 updated, 0 unchanged, 3 skipped"),
        "{}",
        text(&rerun.stdout)
    );
    for i in 0..6 {
        app.login(&format!("user{i}@example.com"), IMPORTED_PASSWORD)
            .await;
    }
    app.stop().await.expect("stops");
}

/// An app on `target` logs the imported users in with their old passwords, under
/// their old ids.
async fn assert_log_in_as_before(target: TestDatabase, created: &Value) {
    let copy = TestApp::spawn_on(target, |_| {}).await;
    copy.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    copy.login("imported@example.com", IMPORTED_PASSWORD).await;
    let me = copy
        .me_as("member@example.com", crate::helpers::PASSWORD)
        .await;
    assert_eq!(me["id"], created["id"], "the same id");
    copy.stop().await.expect("stops");
}

async fn an_export_imports_into_an_empty_database_as_the_same_users(backend: Backend) {
    let Some(source) = TestApp::spawn(backend).await else {
        return;
    };
    let created = source.created_user("member@example.com", "Member").await;
    let input = row(
        "imported@example.com",
        &json!({ "password_hash": SCRYPT, "created_at": "2020-02-02T02:02:02Z" }),
    );
    assert!(
        roster(&source, &["users", "import", "-"], Some(&input))
            .status
            .success()
    );
    let folder = tempfile::tempdir().expect("folder");
    for format in ["ndjson", "csv"] {
        let file = folder.path().join(format!("users.{format}"));
        let file = file.to_str().expect("path");
        let export = roster(
            &source,
            &["users", "export", "--include-password-hashes", "-o", file],
            None,
        );
        assert!(export.status.success(), "{}", text(&export.stderr));
        assert!(
            text(&export.stderr).contains("warning"),
            "hashes are warned of"
        );
        assert_secret(Path::new(file));

        let target = TestDatabase::of(backend).expect("a second database");
        let import = roster_on(target.url(), &source, &["users", "import", file], None);
        assert!(
            import.status.success(),
            "{}{}",
            text(&import.stdout),
            text(&import.stderr)
        );
        let again = roster_on(
            target.url(),
            &source,
            &["users", "export", "--include-password-hashes"],
            None,
        );
        let original = roster(
            &source,
            &["users", "export", "--include-password-hashes"],
            None,
        );
        assert_eq!(text(&again.stdout), text(&original.stdout), "{format}");

        assert_log_in_as_before(target, &created).await;
    }
    // Without hashes, none is written.
    let plain = roster(&source, &["users", "export", "--format", "csv"], None);
    let plain = text(&plain.stdout);
    assert!(
        plain.starts_with("id,email,name,role,status,external_id,created_at\n"),
        "{plain}"
    );
    assert!(!plain.contains('$'), "{plain}");
    source.stop().await.expect("stops");
}

#[cfg(unix)]
fn assert_secret(path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "{}", path.display());
}

#[cfg(not(unix))]
fn assert_secret(_: &Path) {}

roster_persistence::backend_tests!(
    administrators_import_over_http_with_an_outcome_per_row,
    external_ids_are_kept_unique_and_a_listing_filter,
    import_takes_exactly_the_valid_rows_and_their_users_log_in,
    a_second_run_changes_nothing,
    an_interrupted_import_finishes_when_run_again,
    an_export_imports_into_an_empty_database_as_the_same_users,
);

async fn post_import(
    app: &TestApp,
    client: &reqwest::Client,
    query: &str,
    body: String,
) -> reqwest::Response {
    client
        .post(app.url(&format!("/api/v1/users/import{query}")))
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .await
        .expect("import")
}

/// A member, another media type, an oversized body, too many rows and a bad parameter
/// are refused.
async fn assert_refusals(app: &TestApp) {
    let member = app.created_user("member@example.com", "Member").await;
    assert!(member["id"].is_string());
    let member = TestApp::client_with(
        &app.login("member@example.com", crate::helpers::PASSWORD)
            .await,
    );
    let forbidden = post_import(app, &member, "", row("x@example.com", &json!({}))).await;
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
    let json = app
        .client
        .post(app.url("/api/v1/users/import"))
        .json(&json!({ "email": "x@example.com" }))
        .send()
        .await
        .expect("import");
    assert_eq!(json.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let huge = post_import(app, &app.client, "", "x".repeat(2 * 1024 * 1024)).await;
    assert_eq!(huge.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let many = (0..2001)
        .map(|i| format!("{{\"email\":\"m{i}@example.com\"}}"))
        .collect::<Vec<_>>()
        .join("\n");
    let too_many = post_import(app, &app.client, "", many).await;
    assert_eq!(too_many.status(), StatusCode::BAD_REQUEST);
    let passwords = (0..51)
        .map(|i| {
            row(
                &format!("p{i}@example.com"),
                &json!({ "password": "a plain long password" }),
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    let hashing = post_import(app, &app.client, "", passwords).await;
    assert_eq!(
        hashing.status(),
        StatusCode::BAD_REQUEST,
        "51 hashes in one request"
    );
    for query in ["?on_conflict=merge", "?dry_run=maybe", "?batch=2"] {
        let bad = post_import(app, &app.client, query, String::new()).await;
        assert_eq!(bad.status(), StatusCode::BAD_REQUEST, "{query}");
    }
}

async fn administrators_import_over_http_with_an_outcome_per_row(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let body = [
        row("http@example.com", &json!({ "password_hash": BCRYPT_2A })),
        row("bad address", &json!({})),
        row(ADMIN_EMAIL, &json!({})),
    ]
    .join("\n");
    let dry: Value = post_import(&app, &app.client, "?dry_run=true", body.clone())
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["counts"]["created"], 1, "{dry}");
    let absent = app.try_login("http@example.com", IMPORTED_PASSWORD).await;
    assert_eq!(
        absent.status(),
        StatusCode::UNAUTHORIZED,
        "a dry run writes nothing"
    );

    let response = post_import(&app, &app.client, "", body).await;
    assert_eq!(response.status(), StatusCode::OK);
    let report: Value = response.json().await.expect("json");
    assert_eq!(report["rows"][0]["outcome"], "created", "{report}");
    assert_eq!(report["rows"][1]["outcome"], "invalid");
    assert_eq!(report["rows"][1]["field"], "email");
    assert_eq!(report["rows"][1]["rule"], "email_syntax");
    assert_eq!(report["rows"][2]["outcome"], "skipped");
    assert_eq!(report["rows"][2]["id"].as_str(), app.admin_id.as_deref());
    app.login("http@example.com", IMPORTED_PASSWORD).await;

    // Audited as the administrator's, from the request.
    let audit: Value = app
        .get("/api/v1/audit?action=users.imported")
        .await
        .json()
        .await
        .expect("json");
    let entry = &audit["items"][0];
    assert_eq!(
        entry["actor"].as_str(),
        app.admin_id
            .as_deref()
            .map(|id| format!("user:{id}"))
            .as_deref(),
        "{audit}"
    );
    assert!(entry["request_id"].is_string(), "{audit}");

    assert_refusals(&app).await;
    app.stop().await.expect("stops");
}

/// The users a listing with `query` shows.
async fn listed(app: &TestApp, query: &str) -> Vec<Value> {
    let page: Value = app
        .get(&format!("/api/v1/users?{query}"))
        .await
        .json()
        .await
        .expect("json");
    page["items"].as_array().cloned().unwrap_or_default()
}

async fn external_ids_are_kept_unique_and_a_listing_filter(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let first = [
        row("e1@example.com", &json!({ "external_id": "crm-1" })),
        row("e2@example.com", &json!({ "external_id": "crm 2/é" })),
    ]
    .join("\n");
    assert!(
        roster(&app, &["users", "import", "-"], Some(&first))
            .status
            .success()
    );
    let listed = |query: &'static str| listed(&app, query);
    let found = listed("external_id=crm%202%2F%C3%A9").await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["email"], "e2@example.com");
    assert_eq!(found[0]["external_id"], "crm 2/é");

    // The external id finds the user whose address changed elsewhere.
    let moved = row(
        "e1-new@example.com",
        &json!({ "name": "e1", "external_id": "crm-1" }),
    );
    let update = roster(
        &app,
        &["users", "import", "-", "--on-conflict", "update"],
        Some(&moved),
    );
    assert!(
        text(&update.stdout).contains("1 updated"),
        "{}",
        text(&update.stdout)
    );
    let found = listed("external_id=crm-1").await;
    assert_eq!(found[0]["email"], "e1-new@example.com");

    // One row naming two users by its address and its external id is refused.
    let clash = row("e2@example.com", &json!({ "external_id": "crm-1" }));
    let refused = roster(
        &app,
        &["users", "import", "-", "--on-conflict", "update"],
        Some(&clash),
    );
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        text(&refused.stderr).contains("(unique)"),
        "{}",
        text(&refused.stderr)
    );
    let empty = app.get("/api/v1/users?external_id=").await;
    assert_eq!(
        empty.status(),
        StatusCode::BAD_REQUEST,
        "an empty external id is no filter"
    );
    app.stop().await.expect("stops");
}
