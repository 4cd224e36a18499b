//! [`Database::copy_into`]: every table Roster owns, from one database to another
//! (SQLite to PostgreSQL, typically), in one transaction on the target, verified by
//! row counts and checksums before it commits.

use std::sync::Arc;

use anyhow::{Context as _, anyhow};
use chrono::{DateTime, Utc};
use diesel::{prelude::*, result::Error as DieselError};
use sha2::{Digest as _, Sha256};

use crate::{connection::DbConnection, database::Database, instant::Stamp, schema};

/// Rows read and inserted at a time: a multi-row insert of the widest table (12
/// columns) stays far below either backend's limit on bound parameters.
const PAGE: i64 = 1_000;

/// How one table was copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCopy {
    pub table: &'static str,
    /// Rows in the source, and in the target after the copy (they are equal, or the
    /// copy rolled back).
    pub rows: u64,
    /// A digest of every row's values, independent of their order (collations
    /// differ between backends), equal in source and target.
    pub checksum: String,
}

/// What the copy reports as it goes (a progress bar per table, on a terminal).
pub trait CopyProgress: Send + Sync {
    /// Copying `table`, of `rows` rows, begins.
    fn table(&self, table: &'static str, rows: u64);
    /// `rows` more rows of the current table are copied.
    fn copied(&self, rows: u64);
    /// The table is copied and verified.
    fn verified(&self, copy: &TableCopy);
}

/// Why a copy did not happen.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// The target already holds users, and emptying it was not asked for.
    #[error(
        "the target database already holds {0} users; copy into an empty database, or pass --replace to empty it first"
    )]
    TargetNotEmpty(i64),
    /// A table's count or checksum differs between source and target after the copy;
    /// the copy rolled back.
    #[error("table {table} did not copy exactly: {detail}; nothing was written")]
    Mismatch { table: &'static str, detail: String },
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

/// Why the copy's transaction rolled back.
enum Abort {
    Database(DieselError),
    Refused(CopyError),
}

impl From<DieselError> for Abort {
    fn from(error: DieselError) -> Self {
        Self::Database(error)
    }
}

/// One row's columns as the target takes them: instants through [`Stamp`], everything
/// else as read.
trait Bind: std::fmt::Debug {
    type Out;
    fn bind(&self) -> Self::Out;

    /// The value as the checksum sees it.
    fn canonical(&self) -> String {
        format!("{self:?}")
    }
}

macro_rules! bind_as_read {
    ($($ty:ty),*) => {$(
        impl Bind for $ty {
            type Out = $ty;
            fn bind(&self) -> $ty {
                self.clone()
            }
        }
    )*};
}

bind_as_read!(
    String,
    Option<String>,
    i64,
    i16,
    Option<i32>,
    Vec<u8>,
    Option<Vec<u8>>
);

/// Instants to the microsecond: PostgreSQL keeps no more, and SQLite's text may hold
/// nanoseconds (written by `Utc::now()` outside the clock port).
fn micros(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

impl Bind for DateTime<Utc> {
    type Out = Stamp;
    fn bind(&self) -> Stamp {
        Stamp(*self)
    }

    fn canonical(&self) -> String {
        micros(self)
    }
}

impl Bind for Option<DateTime<Utc>> {
    type Out = Option<Stamp>;
    fn bind(&self) -> Option<Stamp> {
        self.map(Stamp)
    }

    fn canonical(&self) -> String {
        self.as_ref().map_or_else(|| "None".to_owned(), micros)
    }
}

/// An order-independent digest of rows: the wrapping sum of each row's SHA-256 (its
/// first 16 bytes), over the canonical text of its values, which both backends read
/// back alike.
#[derive(Default)]
struct Checksum(u128);

impl Checksum {
    fn add(&mut self, values: &[String]) {
        let digest = Sha256::digest(values.join("\u{1f}").as_bytes());
        let mut first = [0_u8; 16];
        first.copy_from_slice(&digest[..16]);
        self.0 = self.0.wrapping_add(u128::from_be_bytes(first));
    }

    fn hex(&self) -> String {
        format!("{:032x}", self.0)
    }
}

/// Copies one table, page by page in primary-key order, then reads the target's rows
/// back and compares count and checksum.
macro_rules! copy_table {
    ($name:ident, order ($($key:ident),+), [$($column:ident: $ty:ty),+ $(,)?]) => {
        fn $name(
            source: &mut DbConnection,
            target: &mut DbConnection,
            progress: &dyn CopyProgress,
        ) -> Result<TableCopy, Abort> {
            use schema::$name as table;
            type Row = ($($ty,)+);
            let name: &'static str = stringify!($name);
            let total: i64 = table::table.count().get_result(source)?;
            progress.table(name, u64::try_from(total).unwrap_or_default());
            // One page of rows, in primary-key order.
            let page = |conn: &mut DbConnection, offset: i64| -> QueryResult<Vec<Row>> {
                table::table
                    .select(($(table::$column,)+))
                    .order(($(table::$key,)+))
                    .limit(PAGE)
                    .offset(offset)
                    .load(conn)
            };
            let mut expected = Checksum::default();
            let mut offset = 0;
            loop {
                let rows = page(source, offset)?;
                if rows.is_empty() {
                    break;
                }
                let values: Vec<_> = rows
                    .iter()
                    .map(|row| {
                        let ($($column,)+) = row;
                        expected.add(&[$($column.canonical()),+]);
                        ($(table::$column.eq($column.bind()),)+)
                    })
                    .collect();
                target.execute_natively(diesel::insert_into(table::table).values(values))?;
                offset += PAGE;
                progress.copied(u64::try_from(rows.len()).unwrap_or_default());
            }
            let mut found = Checksum::default();
            let mut copied = 0_i64;
            let mut offset = 0;
            loop {
                let rows = page(target, offset)?;
                if rows.is_empty() {
                    break;
                }
                for ($($column,)+) in &rows {
                    found.add(&[$($column.canonical()),+]);
                }
                copied += i64::try_from(rows.len()).unwrap_or_default();
                offset += PAGE;
            }
            if copied != total || found.0 != expected.0 {
                return Err(Abort::Refused(CopyError::Mismatch {
                    table: name,
                    detail: format!(
                        "{total} rows with checksum {} in the source, {copied} with {} in the target",
                        expected.hex(),
                        found.hex()
                    ),
                }));
            }
            let copy = TableCopy {
                table: name,
                rows: u64::try_from(total).unwrap_or_default(),
                checksum: expected.hex(),
            };
            progress.verified(&copy);
            Ok(copy)
        }
    };
}

copy_table!(users, order (id), [
    id: String, email: String, name: String, role: String, status: String,
    created_at: DateTime<Utc>, updated_at: DateTime<Utc>, version: i64,
    password_hash: Option<String>, password_changed_at: Option<DateTime<Utc>>,
    last_login_at: Option<DateTime<Utc>>, email_domain: String, external_id: Option<String>,
]);
copy_table!(sessions, order (id), [
    id: String, user_id: String, created_at: DateTime<Utc>, last_used_at: DateTime<Utc>,
    expires_at: DateTime<Utc>, client_address: String, user_agent: Option<String>,
    ended_at: Option<DateTime<Utc>>, end_reason: Option<String>,
]);
copy_table!(refresh_tokens, order (digest), [
    digest: String, session_id: String, issued_at: DateTime<Utc>,
    spent_at: Option<DateTime<Utc>>, access_token_id: String, access_expires_at: DateTime<Utc>,
]);
copy_table!(revoked_tokens, order (token_id), [
    token_id: String, user_id: String, expires_at: DateTime<Utc>,
]);
copy_table!(token_revocations, order (user_id), [
    user_id: String, revoked_before: DateTime<Utc>, expires_at: DateTime<Utc>,
]);
copy_table!(idempotency_keys, order (scope, key), [
    scope: String, key: String, fingerprint: String, status: Option<i32>,
    headers: Option<String>, body: Option<Vec<u8>>, created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
]);
copy_table!(idempotency_secret, order (id), [id: i16, secret: Vec<u8>]);
copy_table!(outbox, order (seq), [
    seq: i64, id: String, user_id: String, user_version: i64, kind: String, data: String,
    actor: String, occurred_at: DateTime<Utc>, delivered_at: Option<DateTime<Utc>>,
]);
copy_table!(outbox_lease, order (name), [
    name: String, holder: Option<String>, expires_at: DateTime<Utc>,
]);
copy_table!(audit_log, order (id), [
    id: String, at: DateTime<Utc>, last_at: DateTime<Utc>, attempts: i64, actor: String,
    action: String, target: Option<String>, client: Option<String>, outcome: String,
    request_id: Option<String>, trace_id: Option<String>, fields: String,
]);

/// Every table Roster owns, in an order that inserts a referenced row before the rows
/// that refer to it.
type CopyTable =
    fn(&mut DbConnection, &mut DbConnection, &dyn CopyProgress) -> Result<TableCopy, Abort>;
const TABLES: [CopyTable; 10] = [
    users,
    sessions,
    refresh_tokens,
    revoked_tokens,
    token_revocations,
    idempotency_keys,
    idempotency_secret,
    outbox,
    outbox_lease,
    audit_log,
];

/// Empties the target's tables, referring rows first. The single-row tables a
/// migration fills (the relay's lease, the idempotency secret) are always emptied:
/// the source's rows replace them.
fn empty(target: &mut DbConnection, everything: bool) -> QueryResult<()> {
    if everything {
        diesel::delete(schema::refresh_tokens::table).execute(target)?;
        diesel::delete(schema::sessions::table).execute(target)?;
        diesel::delete(schema::revoked_tokens::table).execute(target)?;
        diesel::delete(schema::token_revocations::table).execute(target)?;
        diesel::delete(schema::idempotency_keys::table).execute(target)?;
        diesel::delete(schema::outbox::table).execute(target)?;
        diesel::delete(schema::audit_log::table).execute(target)?;
        diesel::delete(schema::users::table).execute(target)?;
    }
    diesel::delete(schema::idempotency_secret::table).execute(target)?;
    diesel::delete(schema::outbox_lease::table).execute(target)?;
    Ok(())
}

/// The whole copy, in the target's transaction and a consistent read of the source.
fn copy_all(
    source: &mut DbConnection,
    target: &mut DbConnection,
    replace: bool,
    progress: &dyn CopyProgress,
) -> Result<Vec<TableCopy>, Abort> {
    target.transaction::<_, Abort, _>(|target| {
        let users: i64 = schema::users::table.count().get_result(target)?;
        if users > 0 && !replace {
            return Err(Abort::Refused(CopyError::TargetNotEmpty(users)));
        }
        empty(target, replace)?;
        source.transaction::<_, Abort, _>(|source| {
            if let DbConnection::Postgres(pg) = source {
                // One snapshot for every table read.
                diesel::sql_query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    .execute(pg)?;
            }
            let copies = TABLES
                .iter()
                .map(|copy| copy(source, target, progress))
                .collect::<Result<Vec<_>, _>>()?;
            if let DbConnection::Postgres(pg) = target {
                // The next event's number follows the copied ones.
                diesel::sql_query(
                    "SELECT setval(pg_get_serial_sequence('outbox', 'seq'), \
                     COALESCE((SELECT MAX(seq) FROM outbox), 1), \
                     (SELECT MAX(seq) FROM outbox) IS NOT NULL)",
                )
                .execute(pg)?;
            }
            Ok(copies)
        })
    })
}

impl Database {
    /// Copies every table Roster owns from this database into `target` (both migrated
    /// to the same version first), keeping ids, versions and times, in one transaction
    /// on the target that commits only when every table's row count and checksum
    /// match. Refuses a target that holds users unless `replace`, which empties it in
    /// the same transaction.
    pub async fn copy_into(
        &self,
        target: &Self,
        replace: bool,
        progress: Arc<dyn CopyProgress>,
    ) -> Result<Vec<TableCopy>, CopyError> {
        let source = self
            .pool
            .get()
            .await
            .map_err(|e| anyhow!("cannot connect to the source database: {e}"))?;
        let destination = target
            .pool
            .get()
            .await
            .map_err(|e| anyhow!("cannot connect to the target database: {e}"))?;
        let outcome = tokio::task::spawn_blocking(move || {
            let mut source = source
                .lock()
                .map_err(|_| anyhow!("the source connection is poisoned"))?;
            let mut destination = destination
                .lock()
                .map_err(|_| anyhow!("the target connection is poisoned"))?;
            Ok::<_, anyhow::Error>(copy_all(
                &mut source,
                &mut destination,
                replace,
                progress.as_ref(),
            ))
        })
        .await
        .context("the copy's thread failed")??;
        outcome.map_err(|abort| match abort {
            Abort::Refused(error) => error,
            Abort::Database(error) => {
                CopyError::Failed(anyhow!(error).context("the copy failed; nothing was written"))
            }
        })
    }
}
