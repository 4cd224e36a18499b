//! Spawning the application and talking to it.

use std::{
    future::Future,
    time::{Duration, Instant},
};

use reqwest::{Client, Response, StatusCode, header};
use roster_domain::{Role, UserId, ports::TokenAuthority as _};
use roster_persistence::{Backend, testing::TestDatabase};
use roster_security::{BiscuitAuthority, PasswordHashingSettings, SigningKeys, parse_private_key};
use roster_server::{Application, Settings, ShutdownTrigger, auth_config::BootstrapAdmin};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

pub(crate) const ADMIN_EMAIL: &str = "admin@example.com";
pub(crate) const ADMIN_PASSWORD: &str = "the admin's long password";
/// The password every user created through the helpers has.
pub(crate) const PASSWORD: &str = "correct horse battery staple";

/// A running application on a fresh database, with a bootstrap administrator.
#[derive(Debug)]
pub(crate) struct TestApp {
    pub(crate) address: String,
    pub(crate) port: u16,
    pub(crate) metrics_port: Option<u16>,
    /// Sends the administrator's token with every request.
    pub(crate) client: Client,
    /// Sends no credentials.
    pub(crate) anonymous: Client,
    pub(crate) admin_id: Option<String>,
    pub(crate) settings: Settings,
    pub(crate) shutdown: ShutdownTrigger,
    pub(crate) server: JoinHandle<anyhow::Result<()>>,
    pub(crate) database: TestDatabase,
}

/// Settings every test app starts from: port 0, a known key, cheap hashing.
fn settings(database: &TestDatabase) -> Settings {
    let mut settings = Settings::default();
    settings.server.port = 0;
    settings.server.workers = Some(2);
    settings.database = database.settings();
    settings.auth.private_key = Some(roster_security::generate_key_pair().0);
    settings.auth.password_hashing = PasswordHashingSettings {
        memory_kib: 1024,
        iterations: 1,
        ..PasswordHashingSettings::default()
    };
    settings.auth.bootstrap_admin = Some(BootstrapAdmin {
        email: ADMIN_EMAIL.to_owned(),
        name: None,
        password: Some(ADMIN_PASSWORD.to_owned()),
        password_file: None,
    });
    settings
}

impl TestApp {
    /// `None` when the backend is PostgreSQL and it is unreachable outside CI.
    pub(crate) async fn spawn(backend: Backend) -> Option<Self> {
        Self::spawn_with(backend, |_| {}).await
    }

    /// As `spawn`, with settings adjusted first. Without `auth.bootstrap_admin` the
    /// default client is anonymous too.
    pub(crate) async fn spawn_with(
        backend: Backend,
        adjust: impl FnOnce(&mut Settings),
    ) -> Option<Self> {
        Some(Self::spawn_on(TestDatabase::of(backend)?, adjust).await)
    }

    /// As `spawn_with`, on a database that already exists (and may hold users).
    pub(crate) async fn spawn_on(
        database: TestDatabase,
        adjust: impl FnOnce(&mut Settings),
    ) -> Self {
        let mut settings = settings(&database);
        adjust(&mut settings);
        let application = Application::build(&settings)
            .await
            .expect("the application builds");
        let port = application.port();
        let metrics_port = application.metrics_port();
        let shutdown = application.shutdown_trigger();
        let server = tokio::spawn(application.run_until_stopped());
        let mut app = Self {
            address: format!("http://127.0.0.1:{port}"),
            port,
            metrics_port,
            client: Client::new(),
            anonymous: Client::new(),
            admin_id: None,
            settings,
            shutdown,
            server,
            database,
        };
        if app.settings.auth.bootstrap_admin.is_some() {
            let token = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
            app.client = Self::client_with(&token);
            let me: Value = app
                .get("/api/v1/users/me")
                .await
                .json()
                .await
                .expect("json");
            app.admin_id = me["id"].as_str().map(ToOwned::to_owned);
        }
        app
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// A client that sends this bearer token with every request.
    pub(crate) fn client_with(token: &str) -> Client {
        let mut headers = header::HeaderMap::new();
        let value = header::HeaderValue::from_str(&format!("Bearer {token}")).expect("header");
        headers.insert(header::AUTHORIZATION, value);
        Client::builder()
            .default_headers(headers)
            .build()
            .expect("client")
    }

    /// Logs in; the credentials must be right.
    pub(crate) async fn login(&self, email: &str, password: &str) -> String {
        let response = self.try_login(email, password).await;
        let status = response.status();
        let body: Value = response.json().await.expect("json");
        assert_eq!(status, StatusCode::OK, "login of {email}: {body}");
        body["access_token"].as_str().expect("token").to_owned()
    }

    /// `/users/me` as the user with these credentials (which must be right) sees it.
    pub(crate) async fn me_as(&self, email: &str, password: &str) -> Value {
        let token = self.login(email, password).await;
        Self::client_with(&token)
            .get(self.url("/api/v1/users/me"))
            .send()
            .await
            .expect("me")
            .json()
            .await
            .expect("json")
    }

    pub(crate) async fn try_login(&self, email: &str, password: &str) -> Response {
        self.anonymous
            .post(self.url("/api/v1/auth/token"))
            .json(&json!({ "email": email, "password": password }))
            .send()
            .await
            .expect("request")
    }

    /// A token signed with this app's key, issued at `issued_at` for `role`.
    pub(crate) fn mint(
        &self,
        user: UserId,
        role: Role,
        issued_at: chrono::DateTime<chrono::Utc>,
    ) -> String {
        let key = parse_private_key(self.settings.auth.private_key.as_deref().expect("key"))
            .expect("key");
        let keys = SigningKeys {
            current: key,
            current_id: self.settings.auth.key_id,
            previous: vec![],
        };
        let authority =
            BiscuitAuthority::new(keys, self.settings.auth.token_lifetime).expect("authority");
        authority.issue(user, role, issued_at).expect("issue").token
    }

    pub(crate) async fn create_user(&self, body: &Value) -> Response {
        self.client
            .post(self.url("/api/v1/users"))
            .json(body)
            .send()
            .await
            .expect("request")
    }

    /// Creates a member with [`PASSWORD`] that must be accepted, and returns it.
    pub(crate) async fn created_user(&self, email: &str, name: &str) -> Value {
        let response = self
            .create_user(&json!({ "email": email, "name": name, "password": PASSWORD }))
            .await;
        let status = response.status();
        let body: Value = response.json().await.expect("json");
        assert_eq!(status, StatusCode::CREATED, "creating {email}: {body}");
        body
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

/// Waits until `done`, polling every 100 ms; fails after `limit`.
pub(crate) async fn eventually<F, Fut>(limit: Duration, what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let started = Instant::now();
    while !done().await {
        assert!(started.elapsed() < limit, "not within {limit:?}: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
