//! [`DieselIdempotencyStore`]: idempotency records on either backend.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::{OptionalExtension as _, prelude::*, result::Error as DieselError};
use roster_domain::ports::{
    IdempotencyKey, IdempotencyStore, RepositoryError, Reservation, StoredResponse,
};

use crate::{
    connection::DbConnection, database::Database, instant::Stamp, schema::idempotency_keys,
};

/// The `idempotency_keys` table.
#[derive(Debug, Clone)]
pub struct DieselIdempotencyStore {
    database: Database,
}

impl DieselIdempotencyStore {
    pub fn new(database: Database) -> Self {
        Self { database }
    }
}

/// A record as stored.
#[derive(Queryable)]
struct Record {
    fingerprint: String,
    status: Option<i32>,
    headers: Option<String>,
    body: Option<Vec<u8>>,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

/// What the reservation transaction decided, before stored data is decoded.
enum Found {
    Reserved,
    Existing(Record),
}

#[async_trait]
impl IdempotencyStore for DieselIdempotencyStore {
    async fn reserve(
        &self,
        key: &IdempotencyKey,
        fingerprint: &str,
        now: DateTime<Utc>,
        abandoned_before: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<Reservation, RepositoryError> {
        let (scope, name) = (key.scope.clone(), key.key.clone());
        let expected = fingerprint.to_owned();
        let found = self
            .database
            .query("UPSERT", "idempotency_keys", move |conn| {
                conn.transaction(|conn| {
                    let reserve = |conn: &mut DbConnection| {
                        conn.execute_natively(
                            diesel::insert_into(idempotency_keys::table)
                                .values((
                                    idempotency_keys::scope.eq(&scope),
                                    idempotency_keys::key.eq(&name),
                                    idempotency_keys::fingerprint.eq(&expected),
                                    idempotency_keys::created_at.eq(Stamp(now)),
                                    idempotency_keys::expires_at.eq(Stamp(expires_at)),
                                ))
                                .on_conflict_do_nothing(),
                        )
                    };
                    if reserve(conn)? == 1 {
                        return Ok::<_, DieselError>(Found::Reserved);
                    }
                    let record = idempotency_keys::table
                        .find((&scope, &name))
                        .select((
                            idempotency_keys::fingerprint,
                            idempotency_keys::status,
                            idempotency_keys::headers,
                            idempotency_keys::body,
                            idempotency_keys::created_at,
                            idempotency_keys::expires_at,
                        ))
                        .first::<Record>(conn)
                        .optional()?;
                    match record {
                        // Expired, or pending since its request died: start afresh.
                        Some(record)
                            if record.expires_at <= now
                                || (record.status.is_none()
                                    && record.created_at < abandoned_before) =>
                        {
                            diesel::delete(idempotency_keys::table.find((&scope, &name)))
                                .execute(conn)?;
                            reserve(conn)?;
                            Ok(Found::Reserved)
                        }
                        Some(record) => Ok(Found::Existing(record)),
                        // Purged between the insert and the read: the key is free.
                        None => {
                            reserve(conn)?;
                            Ok(Found::Reserved)
                        }
                    }
                })
            })
            .await?;
        let record = match found {
            Found::Reserved => return Ok(Reservation::Reserved),
            Found::Existing(record) => record,
        };
        // While the first request runs, every retry waits, whatever its body.
        let Some(status) = record.status else {
            return Ok(Reservation::InProgress);
        };
        if record.fingerprint != fingerprint {
            return Ok(Reservation::Mismatch);
        }
        let headers: Vec<(String, String)> = match record.headers.as_deref() {
            Some(text) => serde_json::from_str(text).map_err(|e| {
                RepositoryError::Unexpected(anyhow::anyhow!("stored response headers: {e}"))
            })?,
            None => Vec::new(),
        };
        Ok(Reservation::Replay(StoredResponse {
            status: u16::try_from(status).map_err(|e| {
                RepositoryError::Unexpected(anyhow::anyhow!("stored response status: {e}"))
            })?,
            headers,
            body: record.body.unwrap_or_default(),
        }))
    }

    async fn complete(
        &self,
        key: &IdempotencyKey,
        response: &StoredResponse,
    ) -> Result<(), RepositoryError> {
        let (scope, name) = (key.scope.clone(), key.key.clone());
        let headers = serde_json::to_string(&response.headers).map_err(|e| {
            RepositoryError::Unexpected(anyhow::anyhow!("cannot store response headers: {e}"))
        })?;
        let (status, body) = (i32::from(response.status), response.body.clone());
        self.database
            .query("UPDATE", "idempotency_keys", move |conn| {
                diesel::update(idempotency_keys::table.find((&scope, &name)))
                    .set((
                        idempotency_keys::status.eq(Some(status)),
                        idempotency_keys::headers.eq(Some(headers)),
                        idempotency_keys::body.eq(Some(body)),
                    ))
                    .execute(conn)
            })
            .await?;
        Ok(())
    }

    async fn release(&self, key: &IdempotencyKey) -> Result<(), RepositoryError> {
        let (scope, name) = (key.scope.clone(), key.key.clone());
        self.database
            .query("DELETE", "idempotency_keys", move |conn| {
                diesel::delete(
                    idempotency_keys::table
                        .find((&scope, &name))
                        .filter(idempotency_keys::status.is_null()),
                )
                .execute(conn)
            })
            .await?;
        Ok(())
    }

    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<usize, RepositoryError> {
        self.database
            .query("DELETE", "idempotency_keys", move |conn| {
                diesel::delete(
                    idempotency_keys::table.filter(idempotency_keys::expires_at.le(Stamp(now))),
                )
                .execute(conn)
            })
            .await
    }
}
