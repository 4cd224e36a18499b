//! [`DieselIdempotencyStore`]: idempotency records on either backend.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::{OptionalExtension as _, prelude::*};
use roster_domain::ports::{
    IdempotencyKey, IdempotencyStore, RepositoryError, Reservation, StoredResponse,
};

use crate::{
    connection::DbConnection,
    database::Database,
    instant::Stamp,
    schema::{idempotency_keys, idempotency_secret},
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

impl Record {
    /// What a request with `fingerprint` finds: a response to replay, another body's
    /// key, or a first request still running.
    fn into_reservation(self, fingerprint: &str) -> Result<Reservation, RepositoryError> {
        // While the first request runs, every retry waits, whatever its body.
        let Some(status) = self.status else {
            return Ok(Reservation::InProgress);
        };
        if self.fingerprint != fingerprint {
            return Ok(Reservation::Mismatch);
        }
        let headers: Vec<(String, String)> = match self.headers.as_deref() {
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
            body: self.body.unwrap_or_default(),
        }))
    }
}

/// One request's claim on a key.
struct Attempt {
    scope: String,
    key: String,
    fingerprint: String,
    now: DateTime<Utc>,
    abandoned_before: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

impl Attempt {
    /// Claims the key, or finds its record (inside a transaction).
    fn reserve(&self, conn: &mut DbConnection) -> QueryResult<Found> {
        if self.insert(conn)? == 1 {
            return Ok(Found::Reserved);
        }
        let this = idempotency_keys::table.find((&self.scope, &self.key));
        let record = this
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
                if record.expires_at <= self.now
                    || (record.status.is_none() && record.created_at < self.abandoned_before) =>
            {
                diesel::delete(this).execute(conn)?;
                self.insert(conn)?;
                Ok(Found::Reserved)
            }
            Some(record) => Ok(Found::Existing(record)),
            // Purged between the insert and the read: the key is free.
            None => {
                self.insert(conn)?;
                Ok(Found::Reserved)
            }
        }
    }

    /// Inserts the pending record; 0 rows when the key is taken.
    fn insert(&self, conn: &mut DbConnection) -> QueryResult<usize> {
        conn.execute_natively(
            diesel::insert_into(idempotency_keys::table)
                .values((
                    idempotency_keys::scope.eq(&self.scope),
                    idempotency_keys::key.eq(&self.key),
                    idempotency_keys::fingerprint.eq(&self.fingerprint),
                    idempotency_keys::created_at.eq(Stamp(self.now)),
                    idempotency_keys::expires_at.eq(Stamp(self.expires_at)),
                ))
                .on_conflict_do_nothing(),
        )
    }
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
        let attempt = Attempt {
            scope: key.scope.clone(),
            key: key.key.clone(),
            fingerprint: fingerprint.to_owned(),
            now,
            abandoned_before,
            expires_at,
        };
        let found = self
            .database
            .query("UPSERT", "idempotency_keys", move |conn| {
                conn.transaction(|conn| attempt.reserve(conn))
            })
            .await?;
        match found {
            Found::Reserved => Ok(Reservation::Reserved),
            Found::Existing(record) => record.into_reservation(fingerprint),
        }
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

    async fn fingerprint_secret(&self, candidate: [u8; 32]) -> Result<[u8; 32], RepositoryError> {
        let stored = self
            .database
            .query("UPSERT", "idempotency_secret", move |conn| {
                conn.execute_natively(
                    diesel::insert_into(idempotency_secret::table)
                        .values((
                            idempotency_secret::id.eq(1_i16),
                            idempotency_secret::secret.eq(candidate.to_vec()),
                        ))
                        .on_conflict_do_nothing(),
                )?;
                idempotency_secret::table
                    .find(1_i16)
                    .select(idempotency_secret::secret)
                    .first::<Vec<u8>>(conn)
            })
            .await?;
        <[u8; 32]>::try_from(stored.as_slice()).map_err(|_| {
            RepositoryError::Unexpected(anyhow::anyhow!(
                "the stored idempotency secret is {} bytes, not 32",
                stored.len()
            ))
        })
    }
}
