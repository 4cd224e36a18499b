//! Authorisation against the user as they are now, on this instance and on another
//! one sharing the database: a demotion, a disabling or a deletion holds on the next
//! request, wherever it is served; and crafted tokens are refused cheaply.

use std::time::Duration;

use biscuit_auth::{Biscuit, builder::BlockBuilder};
use reqwest::{Client, StatusCode};
use roster_persistence::Backend;
use roster_security::parse_private_key;
use roster_server::{Application, ShutdownTrigger};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, PASSWORD, TestApp};

roster_persistence::backend_tests!(
    a_demoted_admin_is_refused_on_her_next_request,
    a_change_on_one_instance_holds_on_another_at_once,
    crafted_tokens_are_refused_while_health_answers,
);

/// A second server on the same database and key, as another replica would be.
struct Replica {
    address: String,
    shutdown: ShutdownTrigger,
    server: JoinHandle<anyhow::Result<()>>,
}

impl Replica {
    async fn of(app: &TestApp) -> Self {
        let application = Application::build(&app.settings)
            .await
            .expect("the replica builds");
        let address = format!("http://127.0.0.1:{}", application.port());
        let shutdown = application.shutdown_trigger();
        let server = tokio::spawn(application.run_until_stopped());
        Self {
            address,
            shutdown,
            server,
        }
    }

    async fn status(&self, client: &Client, path: &str) -> StatusCode {
        client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("request")
            .status()
    }

    /// Polls `path` until it answers `expected`, for at most a second.
    async fn answers_within_a_second(&self, client: &Client, path: &str, expected: StatusCode) {
        let since = std::time::Instant::now();
        loop {
            let status = self.status(client, path).await;
            if status == expected {
                return;
            }
            assert!(
                since.elapsed() < Duration::from_secs(1),
                "{path} still answers {status} after a second"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn stop(self) {
        self.shutdown.trigger();
        self.server
            .await
            .expect("replica task")
            .expect("replica stops");
    }
}

/// An administrator other than the bootstrap one, logged in: her id and client.
async fn second_admin(app: &TestApp) -> (String, Client) {
    let created = app
        .create_user(&json!({
            "email": "grace@example.com",
            "name": "Grace",
            "password": PASSWORD,
            "role": "admin",
        }))
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let body: Value = created.json().await.expect("json");
    let id = body["id"].as_str().expect("id").to_owned();
    let token = app.login("grace@example.com", PASSWORD).await;
    (id, TestApp::client_with(&token))
}

async fn patch(app: &TestApp, client: &Client, id: &str, body: &Value) -> StatusCode {
    client
        .patch(app.url(&format!("/api/v1/users/{id}")))
        .header("content-type", "application/merge-patch+json")
        .json(body)
        .send()
        .await
        .expect("patch")
        .status()
}

async fn a_demoted_admin_is_refused_on_her_next_request(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (grace, as_grace) = second_admin(&app).await;
    let listing = as_grace
        .get(app.url("/api/v1/users"))
        .send()
        .await
        .expect("list");
    assert_eq!(listing.status(), StatusCode::OK);

    let demoted = patch(&app, &app.client, &grace, &json!({"role": "member"})).await;
    assert_eq!(demoted, StatusCode::OK);

    // The same token, issued while she was an administrator.
    let listing = as_grace
        .get(app.url("/api/v1/users"))
        .send()
        .await
        .expect("list");
    assert_eq!(listing.status(), StatusCode::FORBIDDEN);
    let back = patch(&app, &as_grace, &grace, &json!({"role": "admin"})).await;
    assert_eq!(
        back,
        StatusCode::FORBIDDEN,
        "she cannot promote herself back"
    );
    let me = as_grace
        .get(app.url("/api/v1/users/me"))
        .send()
        .await
        .expect("me");
    assert_eq!(me.status(), StatusCode::OK, "she is still a member");
}

async fn a_change_on_one_instance_holds_on_another_at_once(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let replica = Replica::of(&app).await;
    let (grace, as_grace) = second_admin(&app).await;
    assert_eq!(
        replica.status(&as_grace, "/api/v1/users").await,
        StatusCode::OK
    );

    // A write on one instance is read on the other.
    let ada = app.created_user("ada@example.com", "Ada").await;
    let ada_id = ada["id"].as_str().expect("id");
    let read: Value = as_grace
        .get(format!("{}/api/v1/users/{ada_id}", replica.address))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(read["email"], "ada@example.com");

    // A demotion on one instance holds on the other within a second (at once when
    // its caches are cold; through the listener when they are warm, as here).
    let demoted = patch(&app, &app.client, &grace, &json!({"role": "member"})).await;
    assert_eq!(demoted, StatusCode::OK);
    replica
        .answers_within_a_second(&as_grace, "/api/v1/users", StatusCode::FORBIDDEN)
        .await;

    // So does disabling: the token no longer authenticates at all.
    let disabled = patch(&app, &app.client, &grace, &json!({"status": "disabled"})).await;
    assert_eq!(disabled, StatusCode::OK);
    replica
        .answers_within_a_second(&as_grace, "/api/v1/users/me", StatusCode::UNAUTHORIZED)
        .await;
    // And a deletion, of a user whose token the replica has just accepted.
    let ada_token = app.login("ada@example.com", PASSWORD).await;
    let as_ada = TestApp::client_with(&ada_token);
    assert_eq!(
        replica.status(&as_ada, "/api/v1/users/me").await,
        StatusCode::OK
    );
    let deleted = app
        .client
        .delete(app.url(&format!("/api/v1/users/{ada_id}")))
        .send()
        .await
        .expect("delete");
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    replica
        .answers_within_a_second(&as_ada, "/api/v1/users/me", StatusCode::UNAUTHORIZED)
        .await;
    replica.stop().await;
}

/// The admin's own token with blocks appended, one per source.
fn attenuated(app: &TestApp, token: &str, sources: &[String]) -> String {
    let key =
        parse_private_key(app.settings.auth.private_key.as_deref().expect("key")).expect("key");
    let mut token = Biscuit::from_base64(token, key.public()).expect("token");
    for source in sources {
        let block = BlockBuilder::new().code(source).expect("datalog");
        token = token.append(block).expect("append");
    }
    token.to_base64().expect("base64")
}

/// Tokens built to be expensive (a Cartesian rule at six variables, 200 blocks, 100
/// KiB, forged role facts) are each refused while `/health` keeps answering. The
/// timeout only guards against a hang; the cost itself is measured by `just bench`.
async fn crafted_tokens_are_refused_while_health_answers(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let token = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let facts = (0..30)
        .map(|i| format!("f({i});"))
        .collect::<Vec<_>>()
        .concat();
    let cartesian = format!("{facts} g(1) <- f($a), f($b), f($c), f($d), f($e), f($f), $a == -1;");
    let crafted = [
        attenuated(&app, &token, &[cartesian]),
        attenuated(
            &app,
            &token,
            &vec![r#"check if operation("read");"#.to_owned(); 200],
        ),
        format!("{token}{}", "A".repeat(100 * 1024)),
        attenuated(
            &app,
            &token,
            &[r#"role("admin"); current_role("admin");"#.to_owned()],
        ),
    ];
    let answers = async {
        let mut statuses = Vec::new();
        for token in &crafted {
            let status = TestApp::client_with(token)
                .get(app.url("/api/v1/users/me"))
                .send()
                .await
                .expect("request")
                .status();
            statuses.push(status);
        }
        statuses
    };
    let health = async {
        for _ in 0..20 {
            let status = app.get("/health").await.status();
            assert_eq!(status, StatusCode::OK);
        }
    };
    let (statuses, ()) = tokio::time::timeout(Duration::from_secs(30), async {
        tokio::join!(answers, health)
    })
    .await
    .expect("no crafted token holds the server");
    assert_eq!(statuses, [StatusCode::UNAUTHORIZED; 4]);
}
