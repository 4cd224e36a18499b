//! [`Database`]: one connection pool per backend, chosen at run time from the URL.

use std::{
    fmt,
    path::Path,
    sync::{Arc, OnceLock},
    time::Instant,
};

use anyhow::Context as _;
use deadpool_diesel::{
    InteractError, Runtime,
    postgres::{self as pg_pool},
    sqlite::{self as sqlite_pool, Hook, HookError},
};
use diesel::{
    Connection as _,
    connection::SimpleConnection as _,
    result::{DatabaseErrorKind, Error as DieselError},
};
use opentelemetry::{
    KeyValue,
    metrics::{Histogram, Meter},
};
use roster_domain::ports::RepositoryError;
use tracing::field::Empty;

use crate::settings::DatabaseSettings;

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend and the connection string its driver takes.
    ///
    /// `postgres://` and `postgresql://` name PostgreSQL; `sqlite://PATH`,
    /// `sqlite:PATH` and anything else name a SQLite file.
    pub fn from_url(url: &str) -> (Self, &str) {
        let url = url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (Self::Postgres, url)
        } else if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            (Self::Sqlite, path)
        } else {
            (Self::Sqlite, url)
        }
    }

    /// The OpenTelemetry `db.system.name` of the backend.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgresql",
        }
    }
}

/// A pool of connections to SQLite or PostgreSQL. Cloning shares the pool.
#[derive(Clone)]
pub struct Database {
    pool: Pool,
    instruments: Arc<OnceLock<Instruments>>,
}

/// The connection pool of one backend.
#[derive(Clone)]
pub enum Pool {
    Sqlite(sqlite_pool::Pool),
    Postgres(pg_pool::Pool),
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(pool) => f.debug_tuple("Sqlite").field(&pool.status()).finish(),
            Self::Postgres(pool) => f.debug_tuple("Postgres").field(&pool.status()).finish(),
        }
    }
}

/// The pool's connection wait-time histogram, once [`Database::instrument`] ran.
struct Instruments {
    wait_time: Histogram<f64>,
    attributes: [KeyValue; 2],
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Database")
            .field("backend", &self.backend())
            .field("status", &self.pool_status())
            .finish()
    }
}

/// Pool occupancy, for metrics and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStatus {
    pub max_size: usize,
    pub size: usize,
    pub available: usize,
    pub waiting: usize,
}

impl Database {
    /// Builds the pool. No PostgreSQL connection is opened until one is needed, so a
    /// server can start (and report itself not ready) while its database is down; a
    /// SQLite file is created and switched to WAL here, once.
    pub async fn connect(settings: &DatabaseSettings) -> anyhow::Result<Self> {
        settings.validate().map_err(anyhow::Error::msg)?;
        let (backend, target) = Backend::from_url(&settings.url);
        match backend {
            Backend::Sqlite => {
                if target == ":memory:" || target.contains("mode=memory") {
                    anyhow::bail!(
                        "database.url: in-memory SQLite is not supported (each pooled connection would see its own empty database); use a file"
                    );
                }
                create_parent_folder(target)?;
                let busy_ms = settings.sqlite_busy_timeout.as_millis();
                enable_wal(target.to_owned(), busy_ms).await?;
                // Per-connection settings; WAL is a property of the file, set above.
                let pragmas = format!(
                    "PRAGMA busy_timeout = {busy_ms}; PRAGMA synchronous = NORMAL; \
                     PRAGMA foreign_keys = ON;"
                );
                let manager = sqlite_pool::Manager::new(target, Runtime::Tokio1);
                let pool = sqlite_pool::Pool::builder(manager)
                    .max_size(settings.max_connections)
                    .wait_timeout(Some(settings.wait_timeout))
                    .create_timeout(Some(settings.create_timeout))
                    .runtime(Runtime::Tokio1)
                    .post_create(Hook::async_fn(move |connection, _| {
                        let pragmas = pragmas.clone();
                        Box::pin(async move {
                            connection
                                .interact(move |c| c.batch_execute(&pragmas))
                                .await
                                .map_err(|e| {
                                    HookError::message(format!("SQLite set-up panicked: {e}"))
                                })?
                                .map_err(|e| {
                                    HookError::message(format!("SQLite set-up failed: {e}"))
                                })
                        })
                    }))
                    .build()
                    .context("cannot build the SQLite connection pool")?;
                Ok(Self::new(Pool::Sqlite(pool)))
            }
            Backend::Postgres => {
                let manager = pg_pool::Manager::new(target, Runtime::Tokio1);
                let pool = pg_pool::Pool::builder(manager)
                    .max_size(settings.max_connections)
                    .wait_timeout(Some(settings.wait_timeout))
                    .create_timeout(Some(settings.create_timeout))
                    .runtime(Runtime::Tokio1)
                    .build()
                    .context("cannot build the PostgreSQL connection pool")?;
                Ok(Self::new(Pool::Postgres(pool)))
            }
        }
    }

    fn new(pool: Pool) -> Self {
        Self {
            pool,
            instruments: Arc::default(),
        }
    }

    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// The backend's pool, for tests that need to hold its connections.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    pub fn pool_status(&self) -> PoolStatus {
        let status = match &self.pool {
            Pool::Sqlite(pool) => pool.status(),
            Pool::Postgres(pool) => pool.status(),
        };
        PoolStatus {
            max_size: status.max_size,
            size: status.size,
            available: status.available,
            waiting: status.waiting,
        }
    }

    /// Closes the pool: waiting and later requests for a connection fail at once, and
    /// connections are closed as they are returned.
    pub fn close(&self) {
        match &self.pool {
            Pool::Sqlite(pool) => pool.close(),
            Pool::Postgres(pool) => pool.close(),
        }
    }

    /// Reports the pool through `meter`, with the semantic-convention instruments:
    /// `db.client.connection.count` (by state, idle or used), `.max`,
    /// `.pending_requests` and `.wait_time`. Every clone of this database reports;
    /// a second call changes nothing.
    pub fn instrument(&self, meter: &Meter) {
        let attributes = [
            KeyValue::new("db.system.name", self.backend().name()),
            KeyValue::new("db.client.connection.pool.name", "roster"),
        ];
        let wait_time = meter
            .f64_histogram("db.client.connection.wait_time")
            .with_unit("s")
            .with_description("Time it took to obtain a connection from the pool")
            .with_boundaries(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ])
            .build();
        let fresh = Instruments {
            wait_time,
            attributes: attributes.clone(),
        };
        if self.instruments.set(fresh).is_err() {
            return;
        }
        let observed = self.clone();
        let labels = attributes.clone();
        meter
            .i64_observable_up_down_counter("db.client.connection.count")
            .with_unit("{connection}")
            .with_description("Connections open in the pool, by state")
            .with_callback(move |observer| {
                let status = observed.pool_status();
                let idle = i64::try_from(status.available).unwrap_or(i64::MAX);
                let open = i64::try_from(status.size).unwrap_or(i64::MAX);
                for (state, value) in [("idle", idle), ("used", open - idle)] {
                    let mut attributes = labels.to_vec();
                    attributes.push(KeyValue::new("db.client.connection.state", state));
                    observer.observe(value, &attributes);
                }
            })
            .build();
        let observed = self.clone();
        let labels = attributes.clone();
        meter
            .i64_observable_up_down_counter("db.client.connection.max")
            .with_unit("{connection}")
            .with_description("The most connections the pool opens")
            .with_callback(move |observer| {
                let max = observed.pool_status().max_size;
                observer.observe(i64::try_from(max).unwrap_or(i64::MAX), &labels);
            })
            .build();
        let observed = self.clone();
        meter
            .i64_observable_up_down_counter("db.client.connection.pending_requests")
            .with_unit("{request}")
            .with_description("Requests waiting for a connection")
            .with_callback(move |observer| {
                let waiting = observed.pool_status().waiting;
                observer.observe(i64::try_from(waiting).unwrap_or(i64::MAX), &attributes);
            })
            .build();
    }

    /// Waits for a pooled connection, recording how long it took.
    pub(crate) async fn checkout<T>(
        &self,
        get: impl Future<Output = Result<T, deadpool_diesel::PoolError>>,
    ) -> Result<T, RepositoryError> {
        let started = Instant::now();
        let result = get.await;
        if let Some(instruments) = self.instruments.get() {
            instruments
                .wait_time
                .record(started.elapsed().as_secs_f64(), &instruments.attributes);
        }
        result.map_err(pool_error)
    }
}

/// The CLIENT span of one database call, named `{operation} {collection}` and with the
/// semantic-convention attributes. Create it on the async side, so that its parent is
/// the caller's span, and enter it on the blocking thread that runs the query.
pub(crate) fn client_span(
    backend: Backend,
    operation: &'static str,
    collection: &'static str,
) -> tracing::Span {
    let name = if collection.is_empty() {
        operation.to_owned()
    } else {
        format!("{operation} {collection}")
    };
    let span = tracing::info_span!(
        "db",
        otel.name = name,
        otel.kind = "client",
        otel.status_code = Empty,
        db.system.name = backend.name(),
        db.operation.name = operation,
        db.collection.name = Empty,
        error.type = Empty,
    );
    if !collection.is_empty() {
        span.record("db.collection.name", collection);
    }
    span
}

/// Marks the current (client) span failed when the call failed.
pub(crate) fn record_outcome<T, E>(outcome: &Result<T, E>) {
    if outcome.is_err() {
        let span = tracing::Span::current();
        span.record("otel.status_code", "ERROR");
        span.record("error.type", "database_error");
    }
}

/// Switches the file to write-ahead logging (readers never block the writer). Done once
/// rather than per connection: several connections switching at once fail with
/// "database is locked", as SQLite does not wait on that lock.
async fn enable_wal(path: String, busy_ms: u128) -> anyhow::Result<()> {
    tokio::task::spawn_blocking(move || {
        let mut connection = diesel::SqliteConnection::establish(&path)
            .with_context(|| format!("database.url: cannot open the SQLite database {path}"))?;
        connection
            .batch_execute(&format!(
                "PRAGMA busy_timeout = {busy_ms}; PRAGMA journal_mode = WAL;"
            ))
            .with_context(|| format!("cannot switch {path} to WAL mode"))
    })
    .await
    .context("SQLite set-up panicked")?
}

fn create_parent_folder(path: &str) -> anyhow::Result<()> {
    let path = path.split('?').next().unwrap_or(path);
    let path = path.strip_prefix("file:").unwrap_or(path);
    match Path::new(path).parent() {
        Some(parent) if !parent.as_os_str().is_empty() => std::fs::create_dir_all(parent)
            .with_context(|| {
                format!(
                    "database.url: cannot create the folder {}",
                    parent.display()
                )
            }),
        _ => Ok(()),
    }
}

/// Runs `$body` with a pooled connection of whichever backend `$database` is, on a
/// blocking thread, inside a CLIENT span named `$operation $collection`. The body is
/// expanded once per backend, with the table names (`users`, ...) naming that
/// dialect's tables, so it is type-checked against both. Evaluates to the body's
/// value (a `Result`); failing to get a connection returns early with a
/// [`RepositoryError`].
macro_rules! on_connection {
    ($database:expr, $operation:literal, $collection:literal, |$conn:ident| $body:expr) => {{
        let database: &$crate::database::Database = $database;
        match database.pool() {
            $crate::database::Pool::Sqlite(pool) => {
                let object = database.checkout(pool.get()).await?;
                let span =
                    $crate::database::client_span(database.backend(), $operation, $collection);
                object
                    .interact(move |$conn: &mut ::diesel::SqliteConnection| {
                        #[allow(unused_imports)]
                        use $crate::schema::sqlite::*;
                        let _entered = span.enter();
                        let outcome = $body;
                        $crate::database::record_outcome(&outcome);
                        outcome
                    })
                    .await
                    .map_err($crate::database::interact_error)?
            }
            $crate::database::Pool::Postgres(pool) => {
                let object = database.checkout(pool.get()).await?;
                let span =
                    $crate::database::client_span(database.backend(), $operation, $collection);
                object
                    .interact(move |$conn: &mut ::diesel::PgConnection| {
                        #[allow(unused_imports)]
                        use $crate::schema::postgres::*;
                        let _entered = span.enter();
                        let outcome = $body;
                        $crate::database::record_outcome(&outcome);
                        outcome
                    })
                    .await
                    .map_err($crate::database::interact_error)?
            }
        }
    }};
}
pub(crate) use on_connection;

/// No connection could be had: the pool is exhausted, closed, or the database is down.
pub(crate) fn pool_error(error: deadpool_diesel::PoolError) -> RepositoryError {
    use deadpool_diesel::PoolError;
    match error {
        PoolError::Timeout(kind) => RepositoryError::Unavailable(anyhow::anyhow!(
            "no database connection within the timeout ({kind:?})"
        )),
        PoolError::Backend(e) => RepositoryError::Unavailable(
            anyhow::Error::new(e).context("cannot connect to the database"),
        ),
        PoolError::Closed => {
            RepositoryError::Unavailable(anyhow::anyhow!("the connection pool is closed"))
        }
        PoolError::PostCreateHook(e) => {
            RepositoryError::Unavailable(anyhow::anyhow!("cannot set up a new connection: {e}"))
        }
        PoolError::NoRuntimeSpecified => {
            RepositoryError::Unexpected(anyhow::anyhow!("the connection pool has no runtime"))
        }
    }
}

/// The database call panicked (or was cancelled): a bug, never the caller's fault.
pub(crate) fn interact_error(error: InteractError) -> RepositoryError {
    let message = match error {
        InteractError::Panic(payload) => payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "non-text panic payload".to_owned()),
        InteractError::Cancelled => "cancelled".to_owned(),
    };
    RepositoryError::Unexpected(anyhow::anyhow!("database call failed: {message}"))
}

/// A diesel error that no caller can act on; connection-level failures are reported
/// as [`RepositoryError::Unavailable`] so that clients are told to retry.
pub(crate) fn database_error(error: DieselError) -> RepositoryError {
    let transient = match &error {
        DieselError::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            _,
        ) => true,
        // SQLite's SQLITE_BUSY once busy_timeout has run out.
        DieselError::DatabaseError(_, info) => info.message().contains("database is locked"),
        _ => false,
    };
    let error = anyhow::Error::new(error);
    if transient {
        RepositoryError::Unavailable(error)
    } else {
        RepositoryError::Unexpected(error)
    }
}
