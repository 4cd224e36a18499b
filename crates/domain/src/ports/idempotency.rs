//! [`IdempotencyStore`]: the first response to a request with an idempotency key, kept
//! so that a retry gets the same answer instead of a second effect.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::ports::RepositoryError;

/// A key as a caller sent it, in that caller's scope: keys of different callers never
/// meet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    /// Who sent it, e.g. `user:<id>`, or `client:<address>` for anonymous callers.
    pub scope: String,
    pub key: String,
}

/// A response as it was sent: status, the headers worth replaying, the body bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// What [`IdempotencyStore::reserve`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reservation {
    /// The key is new (or its record expired, or its first request was abandoned):
    /// run the request, then `complete` or `release`.
    Reserved,
    /// The first request finished: answer with its response.
    Replay(StoredResponse),
    /// The first request is still running.
    InProgress,
    /// The key was used for a different request.
    Mismatch,
}

/// Idempotency records, shared by every replica.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// Reserves `key` for the request whose fingerprint is `fingerprint`, until
    /// `expires_at`. A reservation left pending since before `abandoned_before` (its
    /// request died) is taken over.
    async fn reserve(
        &self,
        key: &IdempotencyKey,
        fingerprint: &str,
        now: DateTime<Utc>,
        abandoned_before: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<Reservation, RepositoryError>;

    /// Stores the response of the reserved request, for replays.
    async fn complete(
        &self,
        key: &IdempotencyKey,
        response: &StoredResponse,
    ) -> Result<(), RepositoryError>;

    /// Forgets a reservation whose request failed in a way worth retrying.
    async fn release(&self, key: &IdempotencyKey) -> Result<(), RepositoryError>;

    /// Forgets every record that expired before `now`; returns how many.
    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<usize, RepositoryError>;

    /// The secret that keys request fingerprints: the stored one, or `candidate`,
    /// stored first when there is none yet. So every replica uses the same one, across
    /// restarts and rotations of the signing key.
    async fn fingerprint_secret(&self, candidate: [u8; 32]) -> Result<[u8; 32], RepositoryError>;
}
