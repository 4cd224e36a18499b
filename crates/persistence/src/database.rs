//! [`Database`]: one connection pool per backend, chosen at run time from the URL.

use std::{fmt, path::Path};

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
use roster_domain::ports::RepositoryError;

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
pub enum Database {
    Sqlite(sqlite_pool::Pool),
    Postgres(pg_pool::Pool),
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
                Ok(Self::Sqlite(pool))
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
                Ok(Self::Postgres(pool))
            }
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Self::Sqlite(_) => Backend::Sqlite,
            Self::Postgres(_) => Backend::Postgres,
        }
    }

    pub fn pool_status(&self) -> PoolStatus {
        let status = match self {
            Self::Sqlite(pool) => pool.status(),
            Self::Postgres(pool) => pool.status(),
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
        match self {
            Self::Sqlite(pool) => pool.close(),
            Self::Postgres(pool) => pool.close(),
        }
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
/// blocking thread. The body is expanded once per backend, with the table names
/// (`users`, ...) naming that dialect's tables, so it is type-checked against both. Evaluates to the body's value;
/// failing to get a connection returns early with a [`RepositoryError`].
macro_rules! on_connection {
    ($database:expr, |$conn:ident| $body:expr) => {
        match $database {
            $crate::database::Database::Sqlite(pool) => {
                let object = pool.get().await.map_err($crate::database::pool_error)?;
                object
                    .interact(move |$conn: &mut ::diesel::SqliteConnection| {
                        #[allow(unused_imports)]
                        use $crate::schema::sqlite::*;
                        $body
                    })
                    .await
                    .map_err($crate::database::interact_error)?
            }
            $crate::database::Database::Postgres(pool) => {
                let object = pool.get().await.map_err($crate::database::pool_error)?;
                object
                    .interact(move |$conn: &mut ::diesel::PgConnection| {
                        #[allow(unused_imports)]
                        use $crate::schema::postgres::*;
                        $body
                    })
                    .await
                    .map_err($crate::database::interact_error)?
            }
        }
    };
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
