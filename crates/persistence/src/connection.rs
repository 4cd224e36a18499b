//! [`DbConnection`]: a connection to either backend, and the pool [`Manager`] that
//! opens the one the database URL names.
//!
//! Queries are written once against `DbConnection` (diesel's `MultiConnection`), over
//! the one schema in [`crate::schema`]. Where the SQL really differs (`ON CONFLICT`,
//! SQLite's `IMMEDIATE` transactions, PostgreSQL's advisory locks), code matches on
//! the variant and uses the inner connection.

use deadpool::managed::{self, Metrics, RecycleError, RecycleResult};
use deadpool_diesel::{Error, Runtime};
use diesel::{
    Connection as _, ConnectionError, PgConnection, QueryResult, RunQueryDsl as _,
    SqliteConnection, connection::SimpleConnection as _, query_dsl::methods::ExecuteDsl,
};

use crate::backend::Backend;

/// A connection to SQLite or PostgreSQL.
#[derive(diesel::MultiConnection)]
pub(crate) enum DbConnection {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

impl DbConnection {
    /// Runs `statement` on the inner connection: for the SQL both dialects share but
    /// the multi-backend cannot express, such as `ON CONFLICT DO NOTHING`.
    pub(crate) fn execute_natively<S>(&mut self, statement: S) -> QueryResult<usize>
    where
        S: ExecuteDsl<SqliteConnection> + ExecuteDsl<PgConnection>,
    {
        match self {
            Self::Sqlite(conn) => ExecuteDsl::<SqliteConnection>::execute(statement, conn),
            Self::Postgres(conn) => ExecuteDsl::<PgConnection>::execute(statement, conn),
        }
    }
}

/// Opens connections to the backend the URL named. diesel's derived `establish` would
/// try each backend in turn and report a PostgreSQL outage as a SQLite error (or
/// create a file named after the URL); this never guesses.
#[derive(Debug, Clone)]
pub(crate) struct Manager {
    backend: Backend,
    target: String,
    /// Per-connection settings, run once a SQLite connection is open.
    sqlite_pragmas: String,
}

/// The pool of [`DbConnection`]s.
pub(crate) type Pool = managed::Pool<Manager>;

impl Manager {
    pub(crate) fn new(backend: Backend, target: &str, sqlite_pragmas: String) -> Self {
        Self {
            backend,
            target: target.to_owned(),
            sqlite_pragmas,
        }
    }

    fn establish(&self) -> Result<DbConnection, Error> {
        match self.backend {
            Backend::Sqlite => {
                let mut conn =
                    SqliteConnection::establish(&self.target).map_err(Error::Connection)?;
                conn.batch_execute(&self.sqlite_pragmas).map_err(|e| {
                    Error::Connection(ConnectionError::BadConnection(format!(
                        "cannot set up the SQLite connection: {e}"
                    )))
                })?;
                // Unicode case folding, as the domain's: SQLite's built-in `lower`
                // folds ASCII only, so `Ölaf@…` and `ölaf@…` were two addresses.
                crate::schema::lower_utils::register_impl(&mut conn, |text: String| {
                    text.to_lowercase()
                })
                .map_err(|e| {
                    Error::Connection(ConnectionError::BadConnection(format!(
                        "cannot register lower() on the SQLite connection: {e}"
                    )))
                })?;
                Ok(DbConnection::Sqlite(conn))
            }
            Backend::Postgres => PgConnection::establish(&self.target)
                .map(DbConnection::Postgres)
                .map_err(Error::Connection),
        }
    }
}

impl managed::Manager for Manager {
    type Type = deadpool_diesel::Connection<DbConnection>;
    type Error = Error;

    async fn create(&self) -> Result<Self::Type, Error> {
        let manager = self.clone();
        deadpool_sync::SyncWrapper::new(Runtime::Tokio1, move || manager.establish()).await
    }

    /// A connection goes back into use only if it still answers.
    async fn recycle(&self, conn: &mut Self::Type, _: &Metrics) -> RecycleResult<Error> {
        if conn.is_mutex_poisoned() {
            return Err(RecycleError::message(
                "a query panicked while holding this connection",
            ));
        }
        conn.interact(|conn| diesel::sql_query("SELECT 1").execute(conn))
            .await
            .map_err(|e| RecycleError::message(format!("the liveness query panicked: {e}")))?
            .map(drop)
            .map_err(|e| RecycleError::Backend(Error::Ping(e)))
    }
}
