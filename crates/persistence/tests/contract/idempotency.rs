//! The idempotency store: reserve, complete, replay, mismatch, in progress, expiry.

use chrono::{Duration, Utc};
use roster_domain::ports::{IdempotencyKey, IdempotencyStore, Reservation, StoredResponse};
use roster_persistence::{Backend, DieselIdempotencyStore};

use crate::Context;

roster_persistence::backend_tests!(
    a_key_is_reserved_once_then_replayed_byte_for_byte,
    keys_are_scoped_and_released_reservations_free_the_key,
    expired_and_abandoned_records_are_taken_over_and_purged,
    the_fingerprint_secret_is_the_first_one_stored,
);

fn key(scope: &str, key: &str) -> IdempotencyKey {
    IdempotencyKey {
        scope: scope.to_owned(),
        key: key.to_owned(),
    }
}

fn response() -> StoredResponse {
    StoredResponse {
        status: 201,
        headers: vec![
            ("content-type".to_owned(), "application/json".to_owned()),
            ("location".to_owned(), "/api/v1/users/x".to_owned()),
        ],
        body: b"{\"id\":\"x\",\"bytes\":\"\xff\x00 kept\"}".to_vec(),
    }
}

async fn a_key_is_reserved_once_then_replayed_byte_for_byte(backend: Backend) {
    let Some(ctx) = Context::new(backend).await else {
        return;
    };
    let store = DieselIdempotencyStore::new(ctx.database.clone());
    let now = Utc::now();
    let (abandoned, expires) = (now - Duration::minutes(5), now + Duration::hours(24));
    let k = key("user:1", "abc");

    let first = store
        .reserve(&k, "fp1", now, abandoned, expires)
        .await
        .expect("reserve");
    assert_eq!(first, Reservation::Reserved);
    let running = store
        .reserve(&k, "fp1", now, abandoned, expires)
        .await
        .expect("reserve");
    assert_eq!(running, Reservation::InProgress);
    let other_body = store
        .reserve(&k, "fp2", now, abandoned, expires)
        .await
        .expect("reserve");
    assert_eq!(
        other_body,
        Reservation::InProgress,
        "running: wait, whatever the body"
    );

    store.complete(&k, &response()).await.expect("complete");
    let replay = store
        .reserve(&k, "fp1", now, abandoned, expires)
        .await
        .expect("reserve");
    assert_eq!(replay, Reservation::Replay(response()));
    let other_body = store
        .reserve(&k, "fp2", now, abandoned, expires)
        .await
        .expect("reserve");
    assert_eq!(other_body, Reservation::Mismatch);
    // A completed record is never released.
    store.release(&k).await.expect("release");
    let replay = store
        .reserve(&k, "fp1", now, abandoned, expires)
        .await
        .expect("reserve");
    assert_eq!(replay, Reservation::Replay(response()));
}

async fn keys_are_scoped_and_released_reservations_free_the_key(backend: Backend) {
    let Some(ctx) = Context::new(backend).await else {
        return;
    };
    let store = DieselIdempotencyStore::new(ctx.database.clone());
    let now = Utc::now();
    let (abandoned, expires) = (now - Duration::minutes(5), now + Duration::hours(24));

    let mine = key("user:1", "same");
    let theirs = key("user:2", "same");
    assert_eq!(
        store
            .reserve(&mine, "fp", now, abandoned, expires)
            .await
            .expect("r"),
        Reservation::Reserved
    );
    assert_eq!(
        store
            .reserve(&theirs, "other", now, abandoned, expires)
            .await
            .expect("r"),
        Reservation::Reserved
    );

    store.release(&mine).await.expect("release");
    assert_eq!(
        store
            .reserve(&mine, "another", now, abandoned, expires)
            .await
            .expect("r"),
        Reservation::Reserved,
        "a released key can be used for anything"
    );
}

async fn expired_and_abandoned_records_are_taken_over_and_purged(backend: Backend) {
    let Some(ctx) = Context::new(backend).await else {
        return;
    };
    let store = DieselIdempotencyStore::new(ctx.database.clone());
    let start = Utc::now();
    let later = start + Duration::hours(25);

    let done = key("user:1", "done");
    reserve_at(&store, &done, "fp", start).await;
    store.complete(&done, &response()).await.expect("complete");
    let pending = key("user:1", "pending");
    reserve_at(&store, &pending, "fp", start).await;

    // Ten minutes on, the pending one counts as abandoned; the completed one does not.
    let soon = start + Duration::minutes(10);
    let abandoned = soon - Duration::minutes(5);
    assert_eq!(
        store
            .reserve(&pending, "new", soon, abandoned, soon + Duration::hours(24))
            .await
            .expect("r"),
        Reservation::Reserved
    );
    assert_eq!(
        store
            .reserve(&done, "fp", soon, abandoned, soon + Duration::hours(24))
            .await
            .expect("r"),
        Reservation::Replay(response())
    );

    // A day on, both records have expired (the retaken one ten minutes after the
    // first): they are purged, and the keys are new again.
    assert_eq!(store.purge_expired(later).await.expect("purge"), 2);
    assert_eq!(
        reserve_at(&store, &done, "different", later).await,
        Reservation::Reserved
    );
}

/// Reserves `key` at `at`, with the service's windows: abandoned after 5 minutes,
/// kept for 24 hours.
async fn reserve_at(
    store: &DieselIdempotencyStore,
    key: &IdempotencyKey,
    fingerprint: &str,
    at: chrono::DateTime<Utc>,
) -> Reservation {
    store
        .reserve(
            key,
            fingerprint,
            at,
            at - Duration::minutes(5),
            at + Duration::hours(24),
        )
        .await
        .expect("reserve")
}

/// Every replica (here: two stores on one database, as two processes would be) gets the
/// secret the first one stored, whatever candidate each brings.
async fn the_fingerprint_secret_is_the_first_one_stored(backend: Backend) {
    let Some(ctx) = Context::new(backend).await else {
        return;
    };
    let first = DieselIdempotencyStore::new(ctx.database.clone());
    let second = DieselIdempotencyStore::new(ctx.database.clone());

    let stored = first.fingerprint_secret([7; 32]).await.expect("secret");
    assert_eq!(stored, [7; 32]);
    assert_eq!(
        second.fingerprint_secret([9; 32]).await.expect("secret"),
        [7; 32]
    );
    assert_eq!(
        first.fingerprint_secret([1; 32]).await.expect("secret"),
        [7; 32]
    );
}
