//! [`Application`]: the adapters wired into the use cases, bound and ready to run.

use std::{net::TcpListener, sync::Arc, time::Duration};

use anyhow::Context as _;
use roster_application::UserService;
use roster_domain::ports::{HealthCheck, SystemClock};
use roster_events::LoggingEventPublisher;
use roster_http::{ApiState, Readiness, Server, build_server};
use roster_persistence::{Database, DatabaseReachable, DieselUserRepository, MigrationsApplied};
use tokio::sync::Notify;

use crate::config::Settings;

/// A built application: its listener is bound and its database pool is open.
pub struct Application {
    port: u16,
    server: Server,
    database: Database,
    readiness: Readiness,
    shutdown: ShutdownTrigger,
    shutdown_delay: Duration,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("port", &self.port)
            .field("database", &self.database)
            .finish_non_exhaustive()
    }
}

/// Starts the graceful shutdown, as SIGTERM or SIGINT would.
#[derive(Debug, Clone, Default)]
pub struct ShutdownTrigger(Arc<Notify>);

impl ShutdownTrigger {
    pub fn trigger(&self) {
        self.0.notify_one();
    }
}

impl Application {
    /// Opens the database (applying pending migrations when `database.auto_migrate`),
    /// wires the use cases and binds the listener (`server.port` 0 picks a free port).
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        let database = Database::connect(&settings.database).await?;
        if settings.database.auto_migrate {
            let applied = database
                .run_migrations()
                .await
                .context("cannot apply the database migrations")?;
            tracing::info!(backend = database.backend().name(), applied = ?applied, "database migrated");
        }
        let users = UserService::new(
            Arc::new(DieselUserRepository::new(database.clone())),
            Arc::new(LoggingEventPublisher),
            Arc::new(SystemClock),
        );
        let checks: Vec<Arc<dyn HealthCheck>> = vec![
            Arc::new(DatabaseReachable(database.clone())),
            Arc::new(MigrationsApplied(database.clone())),
        ];
        let readiness = Readiness::new(checks, settings.server.readiness_timeout);
        let address = (settings.server.host.as_str(), settings.server.port);
        let listener = TcpListener::bind(address)
            .with_context(|| format!("cannot listen on {}:{}", address.0, address.1))?;
        let port = listener.local_addr()?.port();
        let server = build_server(
            listener,
            ApiState {
                users,
                readiness: readiness.clone(),
            },
            &settings.server,
        )?;
        tracing::info!(host = %settings.server.host, port, backend = database.backend().name(), "listening");
        Ok(Self {
            port,
            server,
            database,
            readiness,
            shutdown: ShutdownTrigger::default(),
            shutdown_delay: settings.server.shutdown_delay,
        })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A handle that starts the graceful shutdown.
    pub fn shutdown_trigger(&self) -> ShutdownTrigger {
        self.shutdown.clone()
    }

    /// Serves until SIGTERM, SIGINT or the [`ShutdownTrigger`], then shuts down
    /// gracefully: `/ready` turns 503, requests are still served for
    /// `server.shutdown_delay` (so load balancers notice), the listener closes,
    /// in-flight requests finish (up to `server.shutdown_timeout`), the pool closes.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let Self {
            server,
            database,
            readiness,
            shutdown,
            shutdown_delay,
            ..
        } = self;
        let handle = server.handle();
        let mut server = tokio::spawn(server);
        tokio::select! {
            result = &mut server => {
                database.close();
                return result.context("the server task failed")?.context("the server failed");
            }
            signal = shutdown_requested(&shutdown) => {
                tracing::info!(signal, "shutdown started: draining");
            }
        }
        readiness.start_draining();
        tokio::time::sleep(shutdown_delay).await;
        handle.stop(true).await;
        let result = server.await;
        database.close();
        tracing::info!("shutdown complete");
        result
            .context("the server task failed")?
            .context("the server failed")
    }
}

/// Waits for SIGTERM, SIGINT or the trigger, and names which came.
async fn shutdown_requested(trigger: &ShutdownTrigger) -> &'static str {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = terminate => "SIGTERM",
        result = tokio::signal::ctrl_c() => {
            if let Err(error) = result {
                tracing::error!(%error, "cannot listen for SIGINT");
                std::future::pending::<()>().await;
            }
            "SIGINT"
        }
        () = trigger.0.notified() => "trigger",
    }
}
