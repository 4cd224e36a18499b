//! [`DieselAuditLog`]: the `audit_log` table; and [`record_change`] and [`record_login`],
//! which the writes call inside their transactions.

use std::time::Duration;

use anyhow::Context as _;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::{OptionalExtension as _, prelude::*};
use roster_domain::{
    AuditAction, AuditEntry, AuditId, AuditNote, AuditOutcome, AuditQuery, ChangeRecord,
    ImportBatch, LoginAttempt, Principal, Provenance, SessionEnd, UserId,
    ports::{AuditLog, RepositoryError},
};

use crate::{connection::DbConnection, database::Database, instant::Stamp, schema::audit_log};

/// The most entries one statement of [`AuditLog::trim`] removes: a trim must not hold
/// SQLite's write lock, or bloat one PostgreSQL transaction, for long.
const TRIM_BATCH: i64 = 10_000;

/// The entry of a change, in the change's transaction: it commits with the change or
/// not at all.
pub(crate) fn record_change(
    conn: &mut DbConnection,
    target: UserId,
    record: &ChangeRecord,
) -> QueryResult<()> {
    let fields = record.fields().join(",");
    insert(
        conn,
        NewEntry {
            at: record.at,
            actor: &record.actor,
            action: record.action(),
            target: Some(target),
            client: None,
            outcome: AuditOutcome::Success,
            provenance: &record.provenance,
            fields: &fields,
        },
    )
}

/// The entry of a successful login of user `id`, in the login's transaction.
pub(crate) fn record_login(
    conn: &mut DbConnection,
    id: UserId,
    login: &LoginAttempt,
) -> QueryResult<()> {
    insert(
        conn,
        NewEntry {
            at: login.at,
            actor: &Principal::user(id).to_string(),
            action: AuditAction::LoginSucceeded,
            target: Some(id),
            client: Some(&login.client),
            outcome: AuditOutcome::Success,
            provenance: &login.provenance,
            fields: "",
        },
    )
}

/// The entry of one batch of an import, with its counts, in the batch's transaction.
pub(crate) fn record_import(conn: &mut DbConnection, batch: &ImportBatch) -> QueryResult<()> {
    let fields = batch
        .counts
        .pairs()
        .iter()
        .map(|(name, count)| format!("{name}={count}"))
        .collect::<Vec<_>>()
        .join(",");
    insert(
        conn,
        NewEntry {
            at: batch.at,
            actor: &batch.actor,
            action: AuditAction::UsersImported,
            target: None,
            client: None,
            outcome: AuditOutcome::Success,
            provenance: &batch.provenance,
            fields: &fields,
        },
    )
}

/// Records a session's ending in the audit log, in the caller's transaction, when the
/// way it ended is audited (see [`SessionEnd::audited_as`]).
pub(crate) fn record_session_end(
    conn: &mut DbConnection,
    user: UserId,
    reason: SessionEnd,
    by: &AuditNote,
    at: DateTime<Utc>,
) -> QueryResult<()> {
    let Some(action) = reason.audited_as() else {
        return Ok(());
    };
    insert(
        conn,
        NewEntry {
            at,
            actor: by.actor.as_str(),
            action,
            target: Some(user),
            client: by.client.as_deref(),
            outcome: AuditOutcome::Success,
            provenance: &by.provenance,
            fields: "",
        },
    )
}

/// What one new entry holds.
#[derive(Clone, Copy)]
struct NewEntry<'a> {
    at: DateTime<Utc>,
    actor: &'a str,
    action: AuditAction,
    target: Option<UserId>,
    client: Option<&'a str>,
    outcome: AuditOutcome,
    provenance: &'a Provenance,
    fields: &'a str,
}

fn insert(conn: &mut DbConnection, entry: NewEntry<'_>) -> QueryResult<()> {
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::id.eq(AuditId::at(entry.at).to_string()),
            audit_log::at.eq(Stamp(entry.at)),
            audit_log::last_at.eq(Stamp(entry.at)),
            audit_log::attempts.eq(1_i64),
            audit_log::actor.eq(entry.actor),
            audit_log::action.eq(entry.action.as_str()),
            audit_log::target.eq(entry.target.map(|id| id.to_string())),
            audit_log::client.eq(entry.client),
            audit_log::outcome.eq(entry.outcome.as_str()),
            audit_log::request_id.eq(entry.provenance.request_id.as_deref()),
            audit_log::trace_id.eq(entry.provenance.trace_id.as_deref()),
            audit_log::fields.eq(entry.fields),
        ))
        .execute(conn)
        .map(drop)
}

/// Adds `attempt` to the open entry of its account and client (opened after
/// `opened_after`), or opens one. The update comes first, so that on SQLite the
/// transaction takes the write lock before it reads (a read first could not be
/// upgraded once another writer commits); on PostgreSQL an advisory lock per account
/// and client makes two first failures at once open one entry, not two.
fn count_failure(
    conn: &mut DbConnection,
    attempt: &LoginAttempt,
    opened_after: DateTime<Utc>,
) -> QueryResult<()> {
    let account = attempt.account.map(|id| id.to_string());
    if let DbConnection::Postgres(pg) = conn {
        let key = format!(
            "roster.audit.failed_login {} {}",
            attempt.client,
            account.as_deref().unwrap_or("-")
        );
        diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind::<diesel::sql_types::Text, _>(key)
            .execute(pg)?;
    }
    let open = diesel::update(audit_log::table)
        .set((
            audit_log::attempts.eq(audit_log::attempts + 1),
            audit_log::last_at.eq(Stamp(attempt.at)),
        ))
        .filter(audit_log::action.eq(AuditAction::LoginFailed.as_str()))
        .filter(audit_log::client.eq(&attempt.client))
        .filter(audit_log::at.gt(Stamp(opened_after)))
        .into_boxed();
    let open = match &account {
        Some(account) => open.filter(audit_log::target.eq(account)),
        None => open.filter(audit_log::target.is_null()),
    };
    if open.execute(conn)? > 0 {
        return Ok(());
    }
    insert(
        conn,
        NewEntry {
            at: attempt.at,
            actor: "anonymous",
            action: AuditAction::LoginFailed,
            target: attempt.account,
            client: Some(&attempt.client),
            outcome: AuditOutcome::Failure,
            provenance: &attempt.provenance,
            fields: "",
        },
    )
}

/// An entry as stored: every column, in order.
#[derive(Queryable)]
struct AuditRow {
    id: String,
    at: DateTime<Utc>,
    last_at: DateTime<Utc>,
    attempts: i64,
    actor: String,
    action: String,
    target: Option<String>,
    client: Option<String>,
    outcome: String,
    request_id: Option<String>,
    trace_id: Option<String>,
    fields: String,
}

impl AuditRow {
    fn into_domain(self) -> Result<AuditEntry, RepositoryError> {
        let corrupt =
            |column: &str| anyhow::anyhow!("audit_log.{column} of {} is corrupt", self.id);
        Ok(AuditEntry {
            id: self.id.parse().map_err(|_| corrupt("id"))?,
            at: self.at,
            last_at: self.last_at,
            attempts: u32::try_from(self.attempts).unwrap_or(u32::MAX),
            actor: self.actor.parse().map_err(|_| corrupt("actor"))?,
            action: self.action.parse().map_err(|_| corrupt("action"))?,
            target: self
                .target
                .as_deref()
                .map(UserId::parse)
                .transpose()
                .map_err(|_| corrupt("target"))?,
            client: self.client,
            outcome: self.outcome.parse().map_err(|_| corrupt("outcome"))?,
            provenance: Provenance {
                request_id: self.request_id,
                trace_id: self.trace_id,
            },
            fields: self
                .fields
                .split(',')
                .filter(|field| !field.is_empty())
                .map(str::to_owned)
                .collect(),
        })
    }
}

/// The audit log on SQLite or PostgreSQL.
#[derive(Debug, Clone)]
pub struct DieselAuditLog {
    database: Database,
}

impl DieselAuditLog {
    pub fn new(database: Database) -> Self {
        Self { database }
    }
}

#[async_trait]
impl AuditLog for DieselAuditLog {
    async fn failed_login(
        &self,
        attempt: &LoginAttempt,
        window: Duration,
    ) -> Result<(), RepositoryError> {
        let attempt = attempt.clone();
        let opened_after =
            attempt.at - chrono::Duration::from_std(window).context("login window out of range")?;
        self.database
            .query("UPDATE", "audit_log", move |conn| {
                conn.transaction(|conn| count_failure(conn, &attempt, opened_after))
            })
            .await
    }

    async fn list(
        &self,
        query: &AuditQuery,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, RepositoryError> {
        let limit = i64::try_from(limit).context("page size out of range")?;
        let query = query.clone();
        let rows = self
            .database
            .query("SELECT", "audit_log", move |conn| {
                let filter = &query.filter;
                let mut select = audit_log::table.into_boxed();
                if let Some(actor) = &filter.actor {
                    select = select.filter(audit_log::actor.eq(actor.to_string()));
                }
                if let Some(target) = filter.target {
                    select = select.filter(audit_log::target.eq(target.to_string()));
                }
                if let Some(action) = filter.action {
                    select = select.filter(audit_log::action.eq(action.as_str()));
                }
                // Each bound of time is also one of ids (ids follow times to the
                // millisecond), so that the indexes on (column, id) seek to the range
                // instead of reading every entry outside it.
                if let Some(since) = filter.since {
                    select = select
                        .filter(audit_log::at.ge(Stamp(since)))
                        .filter(audit_log::id.ge(AuditId::least_at(since).to_string()));
                }
                if let Some(until) = filter.until {
                    select = select.filter(audit_log::at.lt(Stamp(until)));
                    if let Some(next) = until.checked_add_signed(chrono::Duration::milliseconds(1))
                    {
                        let bound = AuditId::least_at(next).to_string();
                        select = select.filter(audit_log::id.lt(bound));
                    }
                }
                if let Some(before) = query.before {
                    select = select.filter(audit_log::id.lt(before.to_string()));
                }
                select
                    .order(audit_log::id.desc())
                    .limit(limit)
                    .load::<AuditRow>(conn)
            })
            .await?;
        rows.into_iter().map(AuditRow::into_domain).collect()
    }

    async fn trim(&self, before: DateTime<Utc>) -> Result<usize, RepositoryError> {
        let mut removed = 0;
        loop {
            // One bounded statement at a time, each its own transaction.
            let step =
                self.database
                    .query("DELETE", "audit_log", move |conn| {
                        let expired = || audit_log::table.filter(audit_log::at.lt(Stamp(before)));
                        let last = expired()
                            .select(audit_log::id)
                            .order(audit_log::id)
                            .offset(TRIM_BATCH - 1)
                            .first::<String>(conn)
                            .optional()?;
                        match last {
                            Some(last) => diesel::delete(expired().filter(audit_log::id.le(last)))
                                .execute(conn),
                            None => diesel::delete(expired()).execute(conn),
                        }
                    })
                    .await?;
            removed += step;
            if i64::try_from(step).unwrap_or(i64::MAX) < TRIM_BATCH {
                return Ok(removed);
            }
        }
    }
}
