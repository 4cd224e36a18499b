//! [`Application`]: the adapters wired into the use cases, bound and ready to run.

use std::{net::TcpListener, sync::Arc, time::Duration};

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use opentelemetry::metrics::{Meter, MeterProvider as _, noop::NoopMeterProvider};
use roster_application::{AuthService, Ports, TransferService, UserService};
use roster_domain::{
    Email, NewUser, Password, PasswordPolicy, Role, Status, UserName,
    ports::{
        AuditLog as _, Clock as _, HealthCheck, IdempotencyStore as _, LoginThrottle, NoRequest,
        RepositoryError, RequestContext, RevocationStore as _, SessionStore as _, SystemClock,
    },
};
use roster_http::{
    ApiState, Idempotency, MetricsText, Observability, Readiness, Server, TaskRequestContext,
    TrustedProxies, build_metrics_server, build_server,
};
use roster_limits::InMemoryLoginThrottle;
use roster_persistence::{
    Database, DatabaseReachable, DieselAuditLog, DieselIdempotencyStore, DieselRevocationStore,
    DieselSessionStore, DieselUserRepository, MigrationsApplied,
};
use roster_security::{Argon2Hasher, BiscuitAuthority};
use roster_telemetry::{Metrics, OpenTelemetryBusinessMetrics};
use tokio::sync::{Notify, watch};

use crate::{config::Settings, limits_config::Limits, relay::Relay};

/// A built application: its listener is bound and its database pool is open.
pub struct Application {
    port: u16,
    metrics_port: Option<u16>,
    server: Server,
    metrics_server: Option<Server>,
    metrics: Metrics,
    database: Database,
    readiness: Readiness,
    shutdown: ShutdownTrigger,
    shutdown_delay: Duration,
    housekeeping: Housekeeping,
    relay: Relay,
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

/// The server for `GET /metrics` and its port, when `telemetry.metrics.address` puts
/// it on a port of its own.
fn metrics_server(
    settings: &Settings,
    render: &MetricsText,
) -> anyhow::Result<(Option<Server>, Option<u16>)> {
    let metrics = &settings.telemetry.metrics;
    let Some(address) = metrics.address.as_ref().filter(|_| metrics.prometheus) else {
        return Ok((None, None));
    };
    let listener = TcpListener::bind(address)
        .with_context(|| format!("cannot listen on {address} for /metrics"))?;
    let port = listener.local_addr()?.port();
    tracing::info!(%address, port, "serving /metrics");
    Ok((
        Some(build_metrics_server(listener, render.clone())?),
        Some(port),
    ))
}

impl Application {
    /// Opens the database (applying pending migrations when `database.auto_migrate`),
    /// wires the use cases and binds the listener (`server.port` 0 picks a free port).
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        let metrics = Metrics::new(&settings.telemetry)?;
        let meter = metrics.meter();
        let database = open_database(settings, &meter).await?;
        let limits = Limits::build(&settings.limits, &settings.auth.throttle, &meter)?;
        let services = Services::build(
            settings,
            &database,
            &meter,
            limits.throttle.clone(),
            Arc::new(TaskRequestContext),
        )?;
        if let Some(admin) = &settings.auth.bootstrap_admin {
            bootstrap_admin(&services.auth, admin).await?;
        }
        let relay = Relay::build(&settings.events, &database, &meter).await?;
        let mut checks: Vec<Arc<dyn HealthCheck>> = vec![
            Arc::new(DatabaseReachable(database.clone())),
            Arc::new(MigrationsApplied(database.clone())),
            Arc::new(relay.health()),
        ];
        checks.extend(limits.health.clone());
        let readiness = Readiness::new(checks, settings.server.readiness_timeout);
        let address = (settings.server.host.as_str(), settings.server.port);
        let listener = TcpListener::bind(address)
            .with_context(|| format!("cannot listen on {}:{}", address.0, address.1))?;
        let port = listener.local_addr()?.port();
        let render: MetricsText = {
            let metrics = metrics.clone();
            Arc::new(move || metrics.render())
        };
        let (metrics_server, metrics_port) = metrics_server(settings, &render)?;
        let on_api_port = settings.telemetry.metrics.prometheus && metrics_server.is_none();
        let state = ApiState {
            users: services.users,
            transfer: services.transfer,
            auth: services.auth,
            readiness: readiness.clone(),
            trusted_proxies: TrustedProxies(settings.server.trusted_proxies.clone()),
            api: settings.api,
            idempotency: Idempotency::new(services.housekeeping.idempotency.clone()),
            password_policy: PasswordPolicy::new(settings.auth.password_min_length),
            rate_limits: limits.quotas,
            observability: Observability::new(
                &meter,
                settings.log.probes,
                on_api_port.then_some(render),
            ),
        };
        let server = build_server(listener, state, &settings.server)?;
        tracing::info!(host = %settings.server.host, port, backend = database.backend().name(), "listening");
        Ok(Self {
            port,
            metrics_port,
            server,
            metrics_server,
            metrics,
            database,
            readiness,
            shutdown: ShutdownTrigger::default(),
            shutdown_delay: settings.server.shutdown_delay,
            housekeeping: services.housekeeping,
            relay,
        })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of the separate `/metrics` listener, when `telemetry.metrics.address`
    /// asks for one.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics_port
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
            metrics_server,
            metrics,
            database,
            readiness,
            shutdown,
            shutdown_delay,
            housekeeping,
            relay,
            ..
        } = self;
        // The relay outlives the listener: what the last requests wrote is delivered
        // before the pool closes, if the broker allows (else the next instance does).
        let (stop_relay, relay_stopped) = watch::channel(false);
        let relaying = tokio::spawn(relay.run(relay_stopped));
        let stop_relaying = async move {
            let _ = stop_relay.send(true);
            if let Err(error) = relaying.await {
                tracing::warn!(%error, "the event relay task failed");
            }
        };
        let handle = server.handle();
        let mut server = tokio::spawn(server);
        let metrics_handle = metrics_server.map(|metrics_server| {
            let handle = metrics_server.handle();
            tokio::spawn(metrics_server);
            handle
        });
        let stopped = async {
            if let Some(handle) = metrics_handle {
                handle.stop(false).await;
            }
            // The last values go out before the process ends. Shutting the provider
            // down blocks until the final export is done: not on an async worker.
            if let Err(error) = tokio::task::spawn_blocking(move || metrics.shutdown()).await {
                tracing::warn!(%error, "the metrics shutdown task failed");
            }
        };
        let purging = tokio::spawn(housekeeping.run());
        tokio::select! {
            result = &mut server => {
                purging.abort();
                stop_relaying.await;
                database.close();
                stopped.await;
                return result.context("the server task failed")?.context("the server failed");
            }
            signal = shutdown_requested(&shutdown) => {
                tracing::info!(signal, "shutdown started: draining");
            }
        }
        purging.abort();
        readiness.start_draining();
        tokio::time::sleep(shutdown_delay).await;
        handle.stop(true).await;
        let result = server.await;
        stop_relaying.await;
        database.close();
        stopped.await;
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

/// The configured database, instrumented, migrated when `database.auto_migrate`.
async fn open_database(settings: &Settings, meter: &Meter) -> anyhow::Result<Database> {
    let database = Database::connect(&settings.database).await?;
    database.instrument(meter);
    if settings.database.auto_migrate {
        let applied = database
            .run_migrations()
            .await
            .context("cannot apply the database migrations")?;
        tracing::info!(backend = database.backend().name(), applied = ?applied, "database migrated");
    }
    Ok(database)
}

/// The use cases and what the application keeps of their adapters.
struct Services {
    users: UserService,
    transfer: TransferService,
    auth: AuthService,
    housekeeping: Housekeeping,
}

impl Services {
    /// `context` names the request a use case serves, for the audit log.
    fn build(
        settings: &Settings,
        database: &Database,
        meter: &Meter,
        throttle: Arc<dyn LoginThrottle>,
        context: Arc<dyn RequestContext>,
    ) -> anyhow::Result<Self> {
        let keys = settings.auth.signing_keys()?;
        let authority = Arc::new(BiscuitAuthority::new(keys, settings.auth.token_lifetime)?);
        let revocations = Arc::new(DieselRevocationStore::new(database.clone()));
        let sessions = Arc::new(DieselSessionStore::new(database.clone()));
        let audit = Arc::new(DieselAuditLog::new(database.clone()));
        let hasher = Argon2Hasher::new(&settings.auth.password_hashing)?;
        hasher.instrument(meter);
        let ports = Ports {
            users: Arc::new(DieselUserRepository::new(database.clone())),
            clock: Arc::new(SystemClock),
            authorizer: authority.clone(),
            hasher: Arc::new(hasher),
            revocations: revocations.clone(),
            sessions: sessions.clone(),
            tokens: authority,
            throttle,
            metrics: Arc::new(OpenTelemetryBusinessMetrics::new(meter)),
            audit: audit.clone(),
            context,
        };
        let policy = PasswordPolicy::new(settings.auth.password_min_length);
        let users = UserService::new(ports.clone(), policy);
        let transfer = TransferService::new(
            ports.clone(),
            Arc::new(DieselUserRepository::new(database.clone())),
            policy,
        );
        let auth = AuthService::new(
            ports,
            users.clone(),
            settings.auth.allow_registration,
            settings.auth.sessions.policy()?,
        );
        Ok(Self {
            users,
            transfer,
            auth,
            housekeeping: Housekeeping {
                revocations,
                sessions,
                idempotency: Arc::new(DieselIdempotencyStore::new(database.clone())),
                audit,
                audit_retention: settings.audit.retention,
            },
        })
    }
}

/// The users use cases on the configured database, migrated, for command-line
/// administration.
pub async fn admin_users(settings: &Settings) -> anyhow::Result<UserService> {
    Ok(admin_services(settings).await?.users)
}

/// The import and export use cases on the configured database, migrated, for the
/// command line.
pub async fn admin_transfer(settings: &Settings) -> anyhow::Result<TransferService> {
    Ok(admin_services(settings).await?.transfer)
}

async fn admin_services(settings: &Settings) -> anyhow::Result<Services> {
    let database = Database::connect(&settings.database).await?;
    database
        .run_migrations()
        .await
        .context("cannot apply the database migrations")?;
    let meter = NoopMeterProvider::new().meter("roster");
    // The command line logs nobody in: its throttle never counts.
    let throttle = Arc::new(InMemoryLoginThrottle::new(settings.auth.throttle.clone())?);
    // Its changes are audited as the system's, from no request.
    Services::build(settings, &database, &meter, throttle, Arc::new(NoRequest))
}

/// Creates the configured administrator when no user exists yet.
async fn bootstrap_admin(
    auth: &AuthService,
    admin: &crate::auth_config::BootstrapAdmin,
) -> anyhow::Result<()> {
    let new = NewUser {
        email: Email::parse(&admin.email).context("auth.bootstrap_admin.email")?,
        name: UserName::parse(admin.name.as_deref().unwrap_or("Administrator"))
            .context("auth.bootstrap_admin.name")?,
        role: Role::Admin,
        status: Status::Active,
        password: Password::new(admin.password()?),
    };
    let created = auth
        .bootstrap_admin(new)
        .await
        .context("cannot create auth.bootstrap_admin")?;
    if let Some(user) = created {
        tracing::info!(user.id = %user.id, "bootstrap administrator created");
    } else {
        tracing::debug!("users exist: no bootstrap administrator created");
    }
    Ok(())
}

/// The stores that forget what no longer matters, and how long the audit log keeps
/// its entries.
struct Housekeeping {
    revocations: Arc<DieselRevocationStore>,
    sessions: Arc<DieselSessionStore>,
    idempotency: Arc<DieselIdempotencyStore>,
    audit: Arc<DieselAuditLog>,
    audit_retention: Duration,
}

impl Housekeeping {
    /// Every ten minutes, forgets revocations that no longer matter, sessions that are
    /// over, expired idempotency records and audit entries past their retention.
    async fn run(self) {
        let mut every = tokio::time::interval(Duration::from_secs(600));
        loop {
            every.tick().await;
            let now = SystemClock.now();
            report(
                "expired revocations",
                self.revocations.purge_expired(now).await,
            );
            report("ended and expired sessions", self.sessions.purge(now).await);
            report(
                "expired idempotency records",
                self.idempotency.purge_expired(now).await,
            );
            let horizon = chrono::Duration::from_std(self.audit_retention)
                .map_or(DateTime::<Utc>::MIN_UTC, |retention| now - retention);
            report(
                "audit entries past their retention",
                self.audit.trim(horizon).await,
            );
        }
    }
}

/// Logs what a purge removed, or why it could not.
fn report(what: &'static str, purged: Result<usize, RepositoryError>) {
    match purged {
        Ok(0) => {}
        Ok(removed) => tracing::info!(removed, what, "purged"),
        Err(error) => tracing::warn!(%error, what, "cannot purge"),
    }
}
