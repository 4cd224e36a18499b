//! Several instances on one PostgreSQL: every committed event reaches JetStream once,
//! in version order per user, even when an instance is killed (SIGKILL) in the middle
//! of the writes and started again. Real processes of the `roster` binary, the
//! machine's NATS, a stream of the test's own.

use std::{
    collections::BTreeSet,
    process::{Child, Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use diesel::{Connection as _, PgConnection, QueryableByName, RunQueryDsl as _, sql_types::Text};
use reqwest::{Client, StatusCode};
use roster_persistence::testing::TestDatabase;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::{helpers::TestApp, nats};

const ADMIN_EMAIL: &str = "root@example.com";
const ADMIN_PASSWORD: &str = "the root's long password";
const USERS: usize = 100;
const PATCHES_PER_USER: usize = 9;

/// One `roster serve` process.
struct Instance {
    port: u16,
    env: Vec<(String, String)>,
    child: Child,
}

impl Instance {
    fn start(port: u16, env: Vec<(String, String)>) -> Self {
        let child = Command::new(env!("CARGO_BIN_EXE_roster"))
            .arg("serve")
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("ROSTER__SERVER__PORT", port.to_string())
            .env_remove("DATABASE_URL")
            .env_remove("ROSTER_CONFIG")
            .stdout(Stdio::null())
            .spawn()
            .expect("roster serve starts");
        let instance = Self { port, env, child };
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "instance listens"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        instance
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// SIGKILL: no graceful shutdown, no lease given up.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn restart(&mut self) {
        self.kill();
        *self = Self::start(self.port, self.env.clone());
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.kill();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

#[derive(QueryableByName)]
struct Stored {
    #[diesel(sql_type = Text)]
    id: String,
}

/// Every event the database committed, delivered or not.
fn committed_events(url: &str) -> BTreeSet<String> {
    let mut conn = PgConnection::establish(url).expect("PostgreSQL");
    diesel::sql_query("SELECT id FROM outbox")
        .load::<Stored>(&mut conn)
        .expect("the outbox")
        .into_iter()
        .map(|row| row.id)
        .collect()
}

/// Renames the user through the first instance that answers, in the order given: a
/// client that fails over when one instance is gone.
async fn patch_name(client: &Client, bases: &[String], id: &str, name: &str) {
    let mut answered = None;
    for base in bases {
        let sent = client
            .patch(format!("{base}/api/v1/users/{id}"))
            .header("content-type", "application/merge-patch+json")
            .body(json!({ "name": name }).to_string())
            .send()
            .await;
        if let Ok(response) = sent {
            answered = Some(response.status());
            break;
        }
    }
    assert_eq!(answered, Some(StatusCode::OK), "a rename of {id}");
}

/// The environment both instances share.
fn shared_env(database: &TestDatabase, stream: &str, prefix: &str) -> Vec<(String, String)> {
    let key = roster_security::generate_key_pair().0;
    [
        ("ROSTER__DATABASE__URL", database.url()),
        ("ROSTER__AUTH__PRIVATE_KEY", key.as_str()),
        ("ROSTER__AUTH__PASSWORD_HASHING__MEMORY_KIB", "1024"),
        ("ROSTER__AUTH__PASSWORD_HASHING__ITERATIONS", "1"),
        ("ROSTER__AUTH__BOOTSTRAP_ADMIN__EMAIL", ADMIN_EMAIL),
        ("ROSTER__AUTH__BOOTSTRAP_ADMIN__PASSWORD", ADMIN_PASSWORD),
        ("ROSTER__EVENTS__NATS__URL", nats::SHARED_URL),
        ("ROSTER__EVENTS__NATS__STREAM", stream),
        ("ROSTER__EVENTS__NATS__SUBJECT_PREFIX", prefix),
        ("ROSTER__EVENTS__NATS__ACK_TIMEOUT", "1s"),
        ("ROSTER__EVENTS__RELAY__LEASE", "3s"),
        ("ROSTER__EVENTS__RELAY__BATCH", "50"),
        ("ROSTER__LOG__LEVEL", "warn"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// The administrator's client, and a hundred users created through `instance`.
async fn users_through(instance: &Instance) -> (Client, Vec<String>) {
    let token: Value = Client::new()
        .post(instance.url("/api/v1/auth/token"))
        .json(&json!({ "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD }))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("json");
    let client = TestApp::client_with(token["access_token"].as_str().expect("token"));
    let mut ids = Vec::new();
    for n in 0..USERS {
        let body = json!({ "email": format!("u{n}@example.com"), "name": "New", "password": "correct horse battery staple" });
        let created: Value = client
            .post(instance.url("/api/v1/users"))
            .json(&body)
            .send()
            .await
            .expect("create")
            .json()
            .await
            .expect("json");
        ids.push(created["id"].as_str().expect("id").to_owned());
    }
    (client, ids)
}

/// Nine renames of each user, alternating between the instances, eight writers at
/// once; the first instance is killed half-way, and started again half a second later.
async fn rename_killing_the_first(
    client: &Client,
    ids: &[String],
    first: Instance,
    second: &Instance,
) {
    let bases = [first.url(""), second.url("")];
    let first = Arc::new(Mutex::new(first));
    let done = Arc::new(AtomicUsize::new(0));
    let mut writers = Vec::new();
    for chunk in ids.chunks(USERS / 8 + 1) {
        let (client, chunk, done) = (client.clone(), chunk.to_vec(), Arc::clone(&done));
        let bases = bases.clone();
        writers.push(tokio::spawn(async move {
            for round in 0..PATCHES_PER_USER {
                let mut order = bases.clone();
                order.rotate_left(round % 2);
                for id in &chunk {
                    patch_name(&client, &order, id, &format!("Round {round}")).await;
                    done.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    while done.load(Ordering::Relaxed) < USERS * PATCHES_PER_USER / 2 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let killer = Arc::clone(&first);
    tokio::task::spawn_blocking(move || killer.blocking_lock().kill())
        .await
        .expect("killed");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let restarter = Arc::clone(&first);
    tokio::task::spawn_blocking(move || restarter.blocking_lock().restart())
        .await
        .expect("restarted");
    for writer in writers {
        writer.await.expect("writer");
    }
}

/// Waits until the stream holds as many messages as the database committed events.
async fn wait_for_delivery(stream: &str, committed: usize) {
    let started = Instant::now();
    loop {
        let delivered = nats::count(nats::SHARED_URL, stream).await;
        if delivered >= committed as u64 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{delivered} of {committed} events delivered"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Anything published twice would arrive now.
    tokio::time::sleep(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn two_instances_deliver_every_event_once_in_version_order_despite_a_sigkill() {
    if !nats::shared_is_up() {
        return;
    }
    let Some(database) = TestDatabase::postgres() else {
        return;
    };
    let (stream, prefix) = nats::unique_stream();
    let env = shared_env(&database, &stream, &prefix);
    let first = Instance::start(free_port(), env.clone());
    let second = Instance::start(free_port(), env);
    let (client, ids) = users_through(&second).await;
    rename_killing_the_first(&client, &ids, first, &second).await;

    let committed = committed_events(database.url());
    assert!(
        committed.len() > USERS * (PATCHES_PER_USER + 1),
        "{} events committed",
        committed.len()
    );
    wait_for_delivery(&stream, committed.len()).await;
    let messages = nats::messages(nats::SHARED_URL, &stream).await;
    nats::delete_stream(nats::SHARED_URL, &stream).await;
    assert_eq!(
        messages.len(),
        committed.len(),
        "no event twice, none missing"
    );
    let published: BTreeSet<String> = messages.iter().map(|(id, _, _)| id.clone()).collect();
    assert_eq!(published, committed);
    let versions = nats::versions_per_user(&messages);
    for (user, versions) in &versions {
        let expected: Vec<u64> = (1..=versions.len() as u64).collect();
        assert_eq!(versions, &expected, "the events of {user} in version order");
    }
    for id in ids.iter().take(10) {
        let user: Value = client
            .get(second.url(&format!("/api/v1/users/{id}")))
            .send()
            .await
            .expect("get")
            .json()
            .await
            .expect("json");
        let last = versions[id].last().copied();
        assert_eq!(
            user["version"].as_u64(),
            last,
            "the last event is the stored version"
        );
    }
}
