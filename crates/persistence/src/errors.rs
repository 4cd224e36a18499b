//! Failures of the pool and of diesel, as the domain's [`RepositoryError`]s.

use deadpool_diesel::InteractError;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use roster_domain::ports::RepositoryError;

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
