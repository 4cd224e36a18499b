//! Events leave through the outbox: to the log without a broker, to NATS JetStream
//! with one, and nothing is lost while the broker is away.

use std::{collections::BTreeSet, time::Duration};

use reqwest::StatusCode;
use roster_domain::ports::EventOutbox as _;
use roster_persistence::{Backend, Database, DieselEventOutbox};
use serde_json::{Value, json};

use crate::{
    helpers::{PASSWORD, TestApp, eventually},
    metrics,
    nats::{self, ThrowawayNats},
};

roster_persistence::backend_tests!(
    without_a_broker_events_are_logged_and_marked_delivered,
    with_nats_each_change_reaches_jetstream_as_a_cloud_event,
    a_nats_outage_loses_nothing_and_only_degrades_readiness,
    an_instance_on_standby_reports_a_stuck_delivery_too,
);

/// The app's outbox, read through a pool of the test's own.
async fn backlog(app: &TestApp) -> u64 {
    let database = Database::connect(&app.settings.database)
        .await
        .expect("a pool");
    let backlog = DieselEventOutbox::new(database.clone())
        .backlog()
        .await
        .expect("backlog")
        .events;
    database.close();
    backlog
}

/// Creates a user, renames them, changes their password and deletes them: five
/// events (created; updated; password changed and tokens revoked; deleted).
async fn a_users_life(app: &TestApp) -> String {
    let user = app.created_user("ada@example.com", "Ada").await;
    let id = user["id"].as_str().expect("id").to_owned();
    let renamed = app
        .client
        .patch(app.url(&format!("/api/v1/users/{id}")))
        .header("content-type", "application/merge-patch+json")
        .body(json!({ "name": "Ada L." }).to_string())
        .send()
        .await
        .expect("request");
    assert_eq!(renamed.status(), StatusCode::OK);
    let changed = app
        .client
        .put(app.url(&format!("/api/v1/users/{id}/password")))
        .json(&json!({ "new_password": format!("{PASSWORD} again") }))
        .send()
        .await
        .expect("request");
    assert_eq!(
        changed.status(),
        StatusCode::NO_CONTENT,
        "{:?}",
        changed.text().await
    );
    let deleted = app
        .client
        .delete(app.url(&format!("/api/v1/users/{id}")))
        .send()
        .await
        .expect("request");
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    id
}

/// The stream holds the user's five events, in order, as CloudEvents on their subjects.
fn assert_cloud_events_of(
    messages: &[(String, String, Value)],
    id: &str,
    prefix: &str,
    admin: &str,
) {
    let of_ada: Vec<&(String, String, Value)> = messages
        .iter()
        .filter(|(_, _, event)| event["subject"] == id)
        .collect();
    let kinds: Vec<(&str, u64)> = of_ada
        .iter()
        .map(|(_, _, e)| {
            (
                e["type"].as_str().expect("type"),
                e["data"]["version"].as_u64().expect("version"),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("dev.roster.user.created.v1", 1),
            ("dev.roster.user.updated.v1", 2),
            ("dev.roster.user.password_changed.v1", 3),
            ("dev.roster.user.tokens_revoked.v1", 3),
            ("dev.roster.user.deleted.v1", 3),
        ]
    );
    for (message_id, subject, event) in &of_ada {
        assert_eq!(
            event["id"],
            message_id.as_str(),
            "Nats-Msg-Id is the event id"
        );
        let name = event["type"]
            .as_str()
            .and_then(|t| t.strip_prefix("dev.roster."))
            .and_then(|t| t.strip_suffix(".v1"))
            .expect("a roster type");
        assert_eq!(subject, &format!("{prefix}.{name}"));
        assert_eq!(event["specversion"], "1.0");
        assert_eq!(event["source"], "/roster");
        assert_eq!(event["data"]["actor"], format!("user:{admin}"));
    }
    assert_eq!(of_ada[1].2["data"]["fields"], json!(["name"]));
}

/// `/ready`'s status and body.
async fn readiness(app: &TestApp) -> (StatusCode, Value) {
    let response = app.get("/ready").await;
    let status = response.status();
    (status, response.json().await.expect("json"))
}

async fn without_a_broker_events_are_logged_and_marked_delivered(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    a_users_life(&app).await;
    eventually(Duration::from_secs(10), "the outbox drains", || async {
        backlog(&app).await == 0
    })
    .await;
    let (_, ready) = readiness(&app).await;
    assert_eq!(ready["status"], "ready", "{ready}");
    assert_eq!(ready["checks"]["events"]["status"], "up", "{ready}");
    // The relay measures the backlog every second: both gauges reach zero.
    let drained = || async {
        let text = metrics::scrape(&app).await;
        text.lines()
            .any(|l| l.starts_with("roster_outbox_backlog") && l.ends_with(" 0"))
            && text
                .lines()
                .any(|l| l.starts_with("roster_outbox_oldest_age_seconds") && l.ends_with(" 0"))
    };
    eventually(Duration::from_secs(5), "the backlog gauges read 0", drained).await;
    app.stop().await.expect("stops");
}

async fn with_nats_each_change_reaches_jetstream_as_a_cloud_event(backend: Backend) {
    if !nats::shared_is_up() {
        return;
    }
    let (stream, prefix) = nats::unique_stream();
    let Some(app) = TestApp::spawn_with(backend, |settings| {
        settings.events.nats.url = Some(nats::SHARED_URL.to_owned());
        settings.events.nats.stream.clone_from(&stream);
        settings.events.nats.subject_prefix.clone_from(&prefix);
    })
    .await
    else {
        return;
    };
    let id = a_users_life(&app).await;
    eventually(
        Duration::from_secs(10),
        "all eight events are in the stream",
        || async { nats::count(nats::SHARED_URL, &stream).await >= 6 },
    )
    .await;
    eventually(Duration::from_secs(10), "the outbox drains", || async {
        backlog(&app).await == 0
    })
    .await;
    let messages = nats::messages(nats::SHARED_URL, &stream).await;
    nats::delete_stream(nats::SHARED_URL, &stream).await;
    let admin = app.admin_id.clone().expect("admin");
    assert_cloud_events_of(&messages, &id, &prefix, &admin);
    app.stop().await.expect("stops");
}

async fn a_nats_outage_loses_nothing_and_only_degrades_readiness(backend: Backend) {
    let Some(mut broker) = ThrowawayNats::start() else {
        return;
    };
    let url = broker.url();
    let Some(app) = TestApp::spawn_with(backend, |settings| {
        settings.events.nats.url = Some(url.clone());
        settings.events.nats.ack_timeout = Duration::from_millis(500);
        settings.events.relay.lease = Duration::from_secs(2);
        settings.events.relay.max_backoff = Duration::from_millis(500);
    })
    .await
    else {
        return;
    };
    let delivered = || async { nats::count(&url, "ROSTER_EVENTS").await };
    app.created_user("first@example.com", "First").await;
    let first = || async { delivered().await == 2 };
    eventually(Duration::from_secs(10), "the first are delivered", first).await;

    broker.kill();
    for n in 0..30 {
        let email = format!("user{n}@example.com");
        app.created_user(&email, "During the outage").await;
    }
    let degraded = || async {
        let (status, body) = readiness(&app).await;
        status == StatusCode::OK
            && body["status"] == "degraded"
            && body["checks"]["events"]["status"] == "degraded"
    };
    eventually(Duration::from_secs(10), "/ready says degraded", degraded).await;
    assert_eq!(backlog(&app).await, 30, "every write waits in the outbox");
    let gauge = || async {
        let text = metrics::scrape(&app).await;
        text.lines()
            .any(|l| l.starts_with("roster_outbox_backlog") && l.ends_with(" 30"))
    };
    eventually(Duration::from_secs(5), "the backlog gauge reads 30", gauge).await;

    broker.resume();
    let drained = || async { delivered().await == 32 && backlog(&app).await == 0 };
    eventually(Duration::from_secs(30), "the backlog drains", drained).await;
    let ready = || async { readiness(&app).await.1["status"] == "ready" };
    eventually(Duration::from_secs(10), "/ready is ready again", ready).await;
    let messages = nats::messages(&url, "ROSTER_EVENTS").await;
    let ids: BTreeSet<&str> = messages.iter().map(|(id, _, _)| id.as_str()).collect();
    assert_eq!(ids.len(), 32, "each event once");
    app.stop().await.expect("stops");
}

async fn an_instance_on_standby_reports_a_stuck_delivery_too(backend: Backend) {
    let Some(mut broker) = ThrowawayNats::start() else {
        return;
    };
    let url = broker.url();
    let configure = |settings: &mut roster_server::Settings| {
        settings.events.nats.url = Some(url.clone());
        settings.events.nats.ack_timeout = Duration::from_millis(500);
        settings.events.relay.lease = Duration::from_secs(2);
    };
    let Some(holder) = TestApp::spawn_with(backend, configure).await else {
        return;
    };
    // The second instance starts once the first holds the lease, on the same database.
    let shared = holder.settings.database.clone();
    let standby = TestApp::spawn_with(backend, |settings| {
        configure(settings);
        settings.database = shared;
        settings.auth.bootstrap_admin = None;
    })
    .await
    .expect("a second instance");
    let status = |app: &TestApp| {
        let app = app.url("/ready");
        async move {
            let body: Value = reqwest::get(app)
                .await
                .expect("ready")
                .json()
                .await
                .expect("json");
            body["checks"]["events"]["status"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        }
    };
    assert_eq!(status(&standby).await, "up");

    broker.kill();
    holder.created_user("stuck@example.com", "Stuck").await;
    // Stale after twice the lease (4 s); the standby instance never published.
    let stuck = || async { status(&standby).await == "degraded" };
    eventually(Duration::from_secs(15), "the standby says degraded", stuck).await;

    broker.resume();
    let flowing = || async { status(&standby).await == "up" };
    eventually(
        Duration::from_secs(30),
        "the standby says up again",
        flowing,
    )
    .await;
    standby.stop().await.expect("stops");
    holder.stop().await.expect("stops");
}
