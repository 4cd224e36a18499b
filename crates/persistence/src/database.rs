//! [`Database`]: one connection pool per backend, chosen at run time from the URL.

use std::{
    fmt,
    path::Path,
    sync::{Arc, OnceLock},
    time::Instant,
};

use anyhow::Context as _;
use deadpool_diesel::Runtime;
use diesel::{Connection as _, QueryResult, connection::SimpleConnection as _};
use opentelemetry::{
    KeyValue,
    metrics::{Histogram, Meter},
};
use roster_domain::ports::RepositoryError;
use tracing::field::Empty;

use crate::{
    backend::Backend,
    cache::{Caches, listener::Listener},
    connection::{DbConnection, Manager, Pool},
    errors::{database_error, interact_error, pool_error},
    settings::{DatabaseSettings, postgres_target},
};

/// A pool of connections to SQLite or PostgreSQL. Cloning shares the pool.
#[derive(Clone)]
pub struct Database {
    backend: Backend,
    pub(crate) pool: Pool,
    instruments: Arc<OnceLock<Instruments>>,
    caches: Caches,
    /// PostgreSQL's invalidations from other instances, while caching.
    listener: Option<Arc<Listener>>,
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
        let mut pragmas = String::new();
        if backend == Backend::Sqlite {
            if target == ":memory:" || target.contains("mode=memory") {
                anyhow::bail!(
                    "database.url: in-memory SQLite is not supported (each pooled connection would see its own empty database); use a file"
                );
            }
            create_parent_folder(target)?;
            let busy_ms = settings.sqlite_busy_timeout.as_millis();
            enable_wal(target.to_owned(), busy_ms).await?;
            // Per-connection settings; WAL is a property of the file, set above.
            // A negative cache_size is in KiB.
            let cache_kib = u64::from(settings.sqlite_cache_mib) * 1024;
            pragmas = format!(
                "PRAGMA busy_timeout = {busy_ms}; PRAGMA synchronous = NORMAL; \
                 PRAGMA foreign_keys = ON; PRAGMA cache_size = -{cache_kib};"
            );
        }
        let target = match backend {
            Backend::Sqlite => target.to_owned(),
            Backend::Postgres => postgres_target(target, settings),
        };
        let pool = Pool::builder(Manager::new(backend, &target, pragmas))
            .max_size(settings.max_connections)
            .wait_timeout(Some(settings.wait_timeout))
            .create_timeout(Some(settings.create_timeout))
            .runtime(Runtime::Tokio1)
            .build()
            .with_context(|| format!("cannot build the {} connection pool", backend.name()))?;
        let caches = Caches::new(&settings.cache, backend);
        let listener = match backend {
            Backend::Postgres if caches.is_enabled() => Some(Arc::new(
                Listener::start(&target, caches.clone())
                    .context("cannot start the cache listener")?,
            )),
            _ => None,
        };
        Ok(Self {
            backend,
            pool,
            instruments: Arc::default(),
            caches,
            listener,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool_status(&self) -> PoolStatus {
        let status = self.pool.status();
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
        self.pool.close();
        if let Some(listener) = &self.listener {
            listener.stop();
        }
    }

    /// The caches every store on this database shares.
    pub(crate) fn caches(&self) -> &Caches {
        &self.caches
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

    /// Runs `body` with a pooled connection, on a blocking thread, inside a CLIENT
    /// span named `{operation} {collection}`. No connection is
    /// [`RepositoryError::Unavailable`]; the body's own result is returned as it is,
    /// for callers that look into diesel's errors (see [`Database::query`]).
    pub(crate) async fn run<T, E, F>(
        &self,
        operation: &'static str,
        collection: &'static str,
        body: F,
    ) -> Result<Result<T, E>, RepositoryError>
    where
        T: Send + 'static,
        E: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
    {
        let started = Instant::now();
        let connection = self.pool.get().await;
        if let Some(instruments) = self.instruments.get() {
            instruments
                .wait_time
                .record(started.elapsed().as_secs_f64(), &instruments.attributes);
        }
        let connection = connection.map_err(pool_error)?;
        let span = client_span(self.backend, operation, collection);
        connection
            .interact(move |conn| {
                let _entered = span.enter();
                let outcome = body(conn);
                record_outcome(&outcome);
                outcome
            })
            .await
            .map_err(interact_error)
    }

    /// [`Database::run`] for a body whose errors no caller acts on: they become
    /// [`RepositoryError`]s.
    pub(crate) async fn query<T, F>(
        &self,
        operation: &'static str,
        collection: &'static str,
        body: F,
    ) -> Result<T, RepositoryError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> QueryResult<T> + Send + 'static,
    {
        self.run(operation, collection, body)
            .await?
            .map_err(database_error)
    }

    /// Takes one pooled connection until the guard is dropped, for tests that exhaust
    /// the pool.
    #[cfg(feature = "testing")]
    pub async fn hold_connection(&self) -> Result<HeldConnection, RepositoryError> {
        self.pool
            .get()
            .await
            .map(HeldConnection)
            .map_err(pool_error)
    }
}

/// A pooled connection kept out of use; see [`Database::hold_connection`].
#[cfg(feature = "testing")]
pub struct HeldConnection(
    #[expect(dead_code, reason = "held for its Drop")] deadpool::managed::Object<Manager>,
);

#[cfg(feature = "testing")]
impl fmt::Debug for HeldConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HeldConnection")
    }
}

/// The CLIENT span of one database call, named `{operation} {collection}` and with the
/// semantic-convention attributes. Create it on the async side, so that its parent is
/// the caller's span, and enter it on the blocking thread that runs the query.
fn client_span(
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
fn record_outcome<T, E>(outcome: &Result<T, E>) {
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
