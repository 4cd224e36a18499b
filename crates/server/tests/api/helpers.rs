//! Spawning the application and talking to it.

use reqwest::{Client, Response, StatusCode};
use roster_persistence::{Backend, testing::TestDatabase};
use roster_server::{Application, Settings, ShutdownTrigger};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

/// A running application on a fresh database.
#[derive(Debug)]
pub(crate) struct TestApp {
    pub(crate) address: String,
    pub(crate) port: u16,
    pub(crate) client: Client,
    pub(crate) shutdown: ShutdownTrigger,
    pub(crate) server: JoinHandle<anyhow::Result<()>>,
    pub(crate) database: TestDatabase,
}

impl TestApp {
    /// `None` when the backend is PostgreSQL and it is unreachable outside CI.
    pub(crate) async fn spawn(backend: Backend) -> Option<Self> {
        Self::spawn_with(backend, |_| {}).await
    }

    pub(crate) async fn spawn_with(
        backend: Backend,
        adjust: impl FnOnce(&mut Settings),
    ) -> Option<Self> {
        let database = TestDatabase::of(backend)?;
        let mut settings = Settings::default();
        settings.server.port = 0;
        settings.server.workers = Some(2);
        settings.database = database.settings();
        adjust(&mut settings);
        let application = Application::build(&settings)
            .await
            .expect("the application builds");
        let port = application.port();
        let shutdown = application.shutdown_trigger();
        let server = tokio::spawn(application.run_until_stopped());
        Some(Self {
            address: format!("http://127.0.0.1:{port}"),
            port,
            client: Client::new(),
            shutdown,
            server,
            database,
        })
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub(crate) async fn create_user(&self, body: &Value) -> Response {
        self.client
            .post(self.url("/api/v1/users"))
            .json(body)
            .send()
            .await
            .expect("request")
    }

    /// Creates a user that must be accepted, and returns its representation.
    pub(crate) async fn created_user(&self, email: &str, name: &str) -> Value {
        let response = self
            .create_user(&json!({ "email": email, "name": name }))
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        response.json().await.expect("json")
    }

    pub(crate) async fn get(&self, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request")
    }

    /// Stops the application and waits for it to finish.
    pub(crate) async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.trigger();
        self.server.await.expect("server task")
    }
}

/// Asserts an RFC 9457 problem response with this status, and returns its body.
pub(crate) async fn assert_problem(response: Response, status: StatusCode) -> Value {
    assert_eq!(response.status(), status);
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().expect("ascii").to_owned());
    assert_eq!(content_type.as_deref(), Some("application/problem+json"));
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["status"], status.as_u16(), "{body}");
    for member in ["type", "title", "detail"] {
        assert!(body[member].is_string(), "problem without {member}: {body}");
    }
    body
}
