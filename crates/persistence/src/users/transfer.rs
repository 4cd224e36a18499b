//! [`UserTransfer`] for [`DieselUserRepository`]: an import's batches as multi-row
//! inserts in one transaction, and an export's pages in id order.

use anyhow::Context as _;
use async_trait::async_trait;
use diesel::{
    prelude::*,
    result::{DatabaseErrorKind, Error as DieselError},
};
use roster_domain::{
    ChangeRecord, Email, ExternalId, ImportBatch, User, UserChange, UserId,
    ports::{ImportWriteError, RepositoryError, UserTransfer},
};

use super::{DieselUserRepository, row::UserRow, store_if_version};
use crate::{
    audit,
    cache::{listener::announce, user_payload},
    errors::database_error,
    instant::Stamp,
    outbox, revocations,
    schema::{lower, outbox as outbox_table, users},
};

/// Rows per multi-row `INSERT`: 12 parameters each keeps a statement well under
/// SQLite's 32,766 and PostgreSQL's 65,535 bound parameters.
const ROWS_PER_INSERT: usize = 1_000;

/// Why a batch's transaction rolled back.
enum Abort {
    Database(DieselError),
    /// An update found another version than the one it was planned on.
    Raced,
}

impl From<DieselError> for Abort {
    fn from(error: DieselError) -> Self {
        Self::Database(error)
    }
}

#[async_trait]
impl UserTransfer for DieselUserRepository {
    async fn matching(
        &self,
        ids: &[UserId],
        emails: &[Email],
        external_ids: &[ExternalId],
    ) -> Result<Vec<User>, RepositoryError> {
        let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
        let emails: Vec<String> = emails
            .iter()
            .map(|email| email.as_str().to_lowercase())
            .collect();
        let external_ids: Vec<String> = external_ids
            .iter()
            .map(|id| id.as_str().to_owned())
            .collect();
        let rows = self
            .database
            .query("SELECT", "users", move |conn| {
                // Only the lists that hold something: SQLite reads `x IN ()` in an OR
                // as a reason to scan the whole table instead of searching each index.
                let mut query = users::table
                    .filter(lower(users::email).eq_any(emails))
                    .into_boxed();
                if !ids.is_empty() {
                    query = query.or_filter(users::id.eq_any(ids));
                }
                if !external_ids.is_empty() {
                    query = query.or_filter(users::external_id.eq_any(external_ids));
                }
                query.load::<UserRow>(conn)
            })
            .await?;
        rows.into_iter().map(UserRow::into_domain).collect()
    }

    async fn write_batch(&self, batch: &ImportBatch) -> Result<(), ImportWriteError> {
        let created = batch
            .created
            .iter()
            .map(UserRow::from_domain)
            .collect::<Result<Vec<_>, _>>()?;
        let updated = batch
            .updated
            .iter()
            .map(|update| UserRow::from_domain(&update.user))
            .collect::<Result<Vec<_>, _>>()?;
        let batch = batch.clone();
        let changed: Vec<String> = batch
            .updated
            .iter()
            .map(|u| u.user.id.to_string())
            .collect();
        let result = self
            .database
            .run("INSERT", "users", move |conn| {
                conn.transaction::<_, Abort, _>(|conn| {
                    for chunk in created.chunks(ROWS_PER_INSERT) {
                        conn.execute_natively(
                            diesel::insert_into(users::table).values(insert_values(chunk)),
                        )?;
                    }
                    let events = created_events(&batch);
                    for chunk in events.chunks(ROWS_PER_INSERT) {
                        conn.execute_natively(
                            diesel::insert_into(outbox_table::table).values(chunk.to_vec()),
                        )?;
                    }
                    for (row, update) in updated.iter().zip(&batch.updated) {
                        write_update(conn, &batch, row, update)?;
                    }
                    audit::record_import(conn, &batch)?;
                    Ok(())
                })
            })
            .await;
        for id in &changed {
            self.database.caches().user_changed(id);
        }
        match result? {
            Ok(()) => Ok(()),
            // A unique index refused a new user: another writer took its address or
            // id since the batch was planned.
            Err(
                Abort::Raced
                | Abort::Database(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)),
            ) => Err(ImportWriteError::Raced),
            Err(Abort::Database(e)) => Err(database_error(e).into()),
        }
    }

    async fn page(
        &self,
        after: Option<UserId>,
        limit: usize,
    ) -> Result<Vec<User>, RepositoryError> {
        let limit = i64::try_from(limit).context("page limit out of range")?;
        let after = after.map(|id| id.to_string()).unwrap_or_default();
        let rows = self
            .database
            .query("SELECT", "users", move |conn| {
                users::table
                    .filter(users::id.gt(after))
                    .order(users::id)
                    .limit(limit)
                    .load::<UserRow>(conn)
            })
            .await?;
        rows.into_iter().map(UserRow::into_domain).collect()
    }
}

/// The values of one multi-row insert of `rows`.
#[expect(
    clippy::type_complexity,
    reason = "the tuple is diesel's spelling of one row's columns"
)]
fn insert_values(
    rows: &[UserRow],
) -> Vec<(
    diesel::dsl::Eq<users::id, &str>,
    diesel::dsl::Eq<users::email, &str>,
    diesel::dsl::Eq<users::name, &str>,
    diesel::dsl::Eq<users::role, &str>,
    diesel::dsl::Eq<users::status, &str>,
    diesel::dsl::Eq<users::created_at, Stamp>,
    diesel::dsl::Eq<users::updated_at, Stamp>,
    diesel::dsl::Eq<users::version, i64>,
    diesel::dsl::Eq<users::password_hash, Option<&str>>,
    diesel::dsl::Eq<users::password_changed_at, Option<Stamp>>,
    diesel::dsl::Eq<users::last_login_at, Option<Stamp>>,
    diesel::dsl::Eq<users::email_domain, &str>,
    diesel::dsl::Eq<users::external_id, Option<&str>>,
)> {
    rows.iter()
        .map(|row| {
            (
                users::id.eq(row.id.as_str()),
                users::email.eq(row.email.as_str()),
                users::name.eq(row.name.as_str()),
                users::role.eq(row.role.as_str()),
                users::status.eq(row.status.as_str()),
                users::created_at.eq(Stamp(row.created_at)),
                users::updated_at.eq(Stamp(row.updated_at)),
                users::version.eq(row.version),
                users::password_hash.eq(row.password_hash.as_deref()),
                users::password_changed_at.eq(row.password_changed_at.map(Stamp)),
                users::last_login_at.eq(row.last_login_at.map(Stamp)),
                users::email_domain.eq(row.email_domain.as_str()),
                users::external_id.eq(row.external_id.as_deref()),
            )
        })
        .collect()
}

/// One `user.created` event per new user, as outbox rows.
#[expect(
    clippy::type_complexity,
    reason = "the tuple is diesel's spelling of one row's columns"
)]
fn created_events(
    batch: &ImportBatch,
) -> Vec<(
    diesel::dsl::Eq<outbox_table::id, String>,
    diesel::dsl::Eq<outbox_table::user_id, String>,
    diesel::dsl::Eq<outbox_table::user_version, i64>,
    diesel::dsl::Eq<outbox_table::kind, &'static str>,
    diesel::dsl::Eq<outbox_table::data, &'static str>,
    diesel::dsl::Eq<outbox_table::actor, String>,
    diesel::dsl::Eq<outbox_table::occurred_at, Stamp>,
)> {
    let record = ChangeRecord {
        actor: batch.actor.clone(),
        at: batch.at,
        changes: vec![UserChange::Created],
        provenance: batch.provenance.clone(),
    };
    batch
        .created
        .iter()
        .flat_map(|user| record.events(user.id, 1))
        .map(|event| {
            (
                outbox_table::id.eq(event.id.to_string()),
                outbox_table::user_id.eq(event.user_id.to_string()),
                outbox_table::user_version.eq(1_i64),
                outbox_table::kind.eq(event.change.name()),
                outbox_table::data.eq("{}"),
                outbox_table::actor.eq(event.actor),
                outbox_table::occurred_at.eq(Stamp(event.occurred_at)),
            )
        })
        .collect()
}

/// Stores one changed user if its version is still the planned one, with its
/// revocation, events and audit entry.
fn write_update(
    conn: &mut crate::connection::DbConnection,
    batch: &ImportBatch,
    row: &UserRow,
    update: &roster_domain::ImportedUpdate,
) -> Result<(), Abort> {
    let stored = store_if_version(conn, row)?.map(|stored| stored.version);
    let Some(version) = stored else {
        return Err(Abort::Raced);
    };
    if let Some(revoke) = update.revoke {
        revocations::revoke_all(conn, &row.id, revoke)?;
    }
    let record = ChangeRecord {
        actor: batch.actor.clone(),
        at: batch.at,
        changes: update.changes.clone(),
        provenance: batch.provenance.clone(),
    };
    outbox::record(conn, update.user.id, version, &record)?;
    announce(conn, &user_payload(&row.id))?;
    Ok(())
}
