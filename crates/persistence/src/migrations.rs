//! The embedded migrations: one set per dialect, with the same versions in both, run
//! on the inner connection of each backend.

use anyhow::anyhow;
use diesel::{
    Connection, PgConnection, RunQueryDsl as _, SqliteConnection,
    backend::Backend,
    migration::{MigrationSource, MigrationVersion},
    sql_types::BigInt,
};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::{connection::DbConnection, database::Database};

/// Where diesel records the applied migrations.
const MIGRATIONS_TABLE: &str = "__diesel_schema_migrations";

const SQLITE: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// Key of the PostgreSQL advisory lock held while migrating, so that replicas starting
/// together apply each migration once. (The bytes of "roster" and a 1.)
const MIGRATION_LOCK_KEY: i64 = 0x726f_7374_6572_0001;

/// One migration and whether it is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStatus {
    /// The version and name, as in the folder name (`2026-11-24-000001_create_users`).
    pub name: String,
    pub applied: bool,
}

/// What migrating takes on each dialect.
trait Migrate: Connection + MigrationHarness<<Self as Connection>::Backend>
where
    <Self as Connection>::Backend: Backend,
{
    const MIGRATIONS: EmbeddedMigrations;

    /// Runs `f` so that no other process migrates the same database meanwhile.
    fn exclusively<R>(
        &mut self,
        f: impl FnOnce(&mut Self) -> anyhow::Result<R>,
    ) -> anyhow::Result<R>;
}

impl Migrate for SqliteConnection {
    const MIGRATIONS: EmbeddedMigrations = SQLITE;

    /// Diesel decides what is pending before it opens a migration's transaction, so
    /// two processes could both apply the same migration: one `IMMEDIATE` transaction
    /// around the whole run takes the write lock first (the others wait for it, up to
    /// the busy timeout, and then find nothing pending).
    fn exclusively<R>(
        &mut self,
        f: impl FnOnce(&mut Self) -> anyhow::Result<R>,
    ) -> anyhow::Result<R> {
        self.immediate_transaction(f)
    }
}

impl Migrate for PgConnection {
    const MIGRATIONS: EmbeddedMigrations = POSTGRES;

    fn exclusively<R>(
        &mut self,
        f: impl FnOnce(&mut Self) -> anyhow::Result<R>,
    ) -> anyhow::Result<R> {
        diesel::sql_query("SELECT pg_advisory_lock($1)")
            .bind::<BigInt, _>(MIGRATION_LOCK_KEY)
            .execute(self)?;
        let result = f(self);
        let unlocked = diesel::sql_query("SELECT pg_advisory_unlock($1)")
            .bind::<BigInt, _>(MIGRATION_LOCK_KEY)
            .execute(self);
        // The lock is also released when the connection closes; a failed unlock only
        // matters if migrating succeeded.
        let value = result?;
        unlocked?;
        Ok(value)
    }
}

/// The folder name (`2026-11-24-000001_create_users`) of a migration version.
fn name_of<C: Migrate>(version: &MigrationVersion<'_>) -> anyhow::Result<String>
where
    C::Backend: Backend,
{
    let known =
        MigrationSource::<C::Backend>::migrations(&C::MIGRATIONS).map_err(|e| anyhow!(e))?;
    Ok(known
        .iter()
        .map(|migration| migration.name())
        .find(|name| name.version() == *version)
        .map_or_else(|| version.to_string(), ToString::to_string))
}

fn run_pending<C: Migrate>(conn: &mut C) -> anyhow::Result<Vec<String>>
where
    C::Backend: Backend,
{
    conn.exclusively(|conn| {
        let applied = conn
            .run_pending_migrations(C::MIGRATIONS)
            .map_err(|e| anyhow!(e))?;
        applied.iter().map(name_of::<C>).collect()
    })
}

fn revert_last<C: Migrate>(conn: &mut C) -> anyhow::Result<Option<String>>
where
    C::Backend: Backend,
{
    conn.exclusively(|conn| {
        if conn
            .applied_migrations()
            .map_err(|e| anyhow!(e))?
            .is_empty()
        {
            return Ok(None);
        }
        let reverted = conn
            .revert_last_migration(C::MIGRATIONS)
            .map_err(|e| anyhow!(e))?;
        name_of::<C>(&reverted).map(Some)
    })
}

fn status<C: Migrate>(conn: &mut C) -> anyhow::Result<Vec<MigrationStatus>>
where
    C::Backend: Backend,
{
    let applied = conn.applied_migrations().map_err(|e| anyhow!(e))?;
    let known =
        MigrationSource::<C::Backend>::migrations(&C::MIGRATIONS).map_err(|e| anyhow!(e))?;
    Ok(known
        .iter()
        .map(|migration| {
            let name = migration.name();
            MigrationStatus {
                name: name.to_string(),
                applied: applied.contains(&name.version()),
            }
        })
        .collect())
}

impl Database {
    /// Applies every pending migration (under an advisory lock on PostgreSQL) and
    /// returns the names of those applied.
    pub async fn run_migrations(&self) -> anyhow::Result<Vec<String>> {
        self.run("migrate", MIGRATIONS_TABLE, |conn| match conn {
            DbConnection::Sqlite(conn) => run_pending(conn),
            DbConnection::Postgres(conn) => run_pending(conn),
        })
        .await?
    }

    /// Reverts the last applied migration; `None` if none is applied.
    pub async fn revert_last_migration(&self) -> anyhow::Result<Option<String>> {
        self.run("revert", MIGRATIONS_TABLE, |conn| match conn {
            DbConnection::Sqlite(conn) => revert_last(conn),
            DbConnection::Postgres(conn) => revert_last(conn),
        })
        .await?
    }

    /// Every known migration, oldest first, and whether it is applied.
    pub async fn migration_status(&self) -> anyhow::Result<Vec<MigrationStatus>> {
        self.run("SELECT", MIGRATIONS_TABLE, |conn| match conn {
            DbConnection::Sqlite(conn) => status(conn),
            DbConnection::Postgres(conn) => status(conn),
        })
        .await?
    }
}
