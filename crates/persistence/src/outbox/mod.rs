//! [`DieselEventOutbox`]: the `outbox` and `outbox_lease` tables, and [`record`],
//! which every write calls inside its transaction.

use anyhow::Context as _;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::{OptionalExtension as _, prelude::*};
use roster_domain::{
    ChangeRecord, EventId, UserEvent, UserId,
    ports::{Backlog, EventOutbox, RepositoryError},
};

mod rows;

use rows::OutboxRow;

use crate::{
    audit,
    connection::DbConnection,
    database::Database,
    instant::Stamp,
    schema::{outbox, outbox_lease},
};

/// The most delivered events one [`EventOutbox::trim`] call removes: a backlog trimmed
/// a day after an outage must not hold the write lock (SQLite) or bloat one
/// transaction for long.
const TRIM_BATCH: i64 = 10_000;

/// The one lease row, created by the migration.
const RELAY_LEASE: &str = "relay";

/// Stores the events of `record` for the user at `version`, and its audit entry, in
/// the caller's transaction: they commit with the change or not at all.
pub(crate) fn record(
    conn: &mut DbConnection,
    id: UserId,
    version: i64,
    record: &ChangeRecord,
) -> QueryResult<()> {
    let user_id = id.to_string();
    let version_number = u64::try_from(version).unwrap_or_default();
    // One statement per event (a write has one to four): diesel's multi-backend
    // connection has no multi-row insert.
    for event in record.events(id, version_number) {
        let (kind, data) = rows::columns(&event.change);
        diesel::insert_into(outbox::table)
            .values((
                outbox::id.eq(event.id.to_string()),
                outbox::user_id.eq(&user_id),
                outbox::user_version.eq(version),
                outbox::kind.eq(kind),
                outbox::data.eq(data),
                outbox::actor.eq(event.actor),
                outbox::occurred_at.eq(Stamp(event.occurred_at)),
            ))
            .execute(conn)?;
    }
    audit::record_change(conn, id, record)
}

/// The outbox on SQLite or PostgreSQL.
#[derive(Debug, Clone)]
pub struct DieselEventOutbox {
    database: Database,
}

impl DieselEventOutbox {
    pub fn new(database: Database) -> Self {
        Self { database }
    }
}

#[async_trait]
impl EventOutbox for DieselEventOutbox {
    async fn lease(
        &self,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, RepositoryError> {
        let holder = holder.to_owned();
        let taken = self
            .database
            .query("UPDATE", "outbox_lease", move |conn| {
                diesel::update(
                    outbox_lease::table.find(RELAY_LEASE).filter(
                        outbox_lease::holder
                            .eq(&holder)
                            .or(outbox_lease::expires_at.lt(Stamp(now))),
                    ),
                )
                .set((
                    outbox_lease::holder.eq(&holder),
                    outbox_lease::expires_at.eq(Stamp(until)),
                ))
                .execute(conn)
            })
            .await?;
        Ok(taken == 1)
    }

    async fn release(&self, holder: &str) -> Result<(), RepositoryError> {
        let holder = holder.to_owned();
        self.database
            .query("UPDATE", "outbox_lease", move |conn| {
                diesel::update(
                    outbox_lease::table
                        .find(RELAY_LEASE)
                        .filter(outbox_lease::holder.eq(&holder)),
                )
                .set((
                    outbox_lease::holder.eq(None::<String>),
                    outbox_lease::expires_at.eq(Stamp(DateTime::<Utc>::UNIX_EPOCH)),
                ))
                .execute(conn)
            })
            .await
            .map(drop)
    }

    async fn pending(&self, limit: usize) -> Result<Vec<UserEvent>, RepositoryError> {
        let limit = i64::try_from(limit).context("batch size out of range")?;
        let rows = self
            .database
            .query("SELECT", "outbox", move |conn| {
                outbox::table
                    .filter(outbox::delivered_at.is_null())
                    .order(outbox::seq)
                    .limit(limit)
                    .load::<OutboxRow>(conn)
            })
            .await?;
        rows.into_iter().map(OutboxRow::into_domain).collect()
    }

    async fn delivered(&self, ids: &[EventId], at: DateTime<Utc>) -> Result<(), RepositoryError> {
        let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
        self.database
            .query("UPDATE", "outbox", move |conn| {
                diesel::update(outbox::table.filter(outbox::id.eq_any(ids)))
                    .set(outbox::delivered_at.eq(Some(Stamp(at))))
                    .execute(conn)
            })
            .await
            .map(drop)
    }

    async fn backlog(&self) -> Result<Backlog, RepositoryError> {
        let (events, oldest) = self
            .database
            .query("SELECT", "outbox", move |conn| {
                let undelivered = || outbox::table.filter(outbox::delivered_at.is_null());
                let events = undelivered().count().get_result::<i64>(conn)?;
                let oldest = undelivered()
                    .order(outbox::seq)
                    .select(outbox::occurred_at)
                    .first::<DateTime<Utc>>(conn)
                    .optional()?;
                Ok((events, oldest))
            })
            .await?;
        Ok(Backlog {
            events: u64::try_from(events).unwrap_or_default(),
            oldest,
        })
    }

    async fn trim(&self, before: DateTime<Utc>) -> Result<usize, RepositoryError> {
        self.database
            .query("DELETE", "outbox", move |conn| {
                let expired = || outbox::table.filter(outbox::delivered_at.lt(Stamp(before)));
                // The last of the oldest TRIM_BATCH expired events, if there are more.
                let last = expired()
                    .select(outbox::seq)
                    .order(outbox::seq)
                    .offset(TRIM_BATCH - 1)
                    .first::<i64>(conn)
                    .optional()?;
                match last {
                    Some(last) => {
                        diesel::delete(expired().filter(outbox::seq.le(last))).execute(conn)
                    }
                    None => diesel::delete(expired()).execute(conn),
                }
            })
            .await
    }
}
