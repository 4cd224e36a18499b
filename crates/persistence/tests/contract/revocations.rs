//! What every `RevocationStore` must do.

use chrono::{DateTime, Duration, SubsecRound as _, Utc};
use roster_domain::{Role, Session, UserId, ports::RevocationStore};
use roster_persistence::{Backend, DieselRevocationStore};

use crate::{Context, record};

roster_persistence::backend_tests!(
    a_revoked_token_is_revoked_alone,
    revoking_all_covers_tokens_issued_until_then_only,
    revoking_all_never_moves_back,
    purging_forgets_only_what_no_longer_matters,
    a_revocation_keeps_its_own_expiry,
);

/// The token lifetime these tests revoke for.
const LIFETIME_MINUTES: i64 = 15;

fn until(before: DateTime<Utc>) -> DateTime<Utc> {
    before + Duration::minutes(LIFETIME_MINUTES)
}

async fn store(backend: Backend) -> Option<(Context, DieselRevocationStore)> {
    let ctx = Context::new(backend).await?;
    let store = DieselRevocationStore::new(ctx.database.clone());
    Some((ctx, store))
}

fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

fn session(user: UserId, issued_at: DateTime<Utc>) -> Session {
    Session {
        issued_at,
        expires_at: issued_at + Duration::minutes(15),
        ..Session::fake(user, Role::Member)
    }
}

async fn a_revoked_token_is_revoked_alone(backend: Backend) {
    let Some((_ctx, store)) = store(backend).await else {
        return;
    };
    let user = UserId::generate();
    let revoked = session(user, now());
    let other = session(user, now());

    store
        .revoke_token(revoked.token_id, user, revoked.expires_at)
        .await
        .expect("revoke");
    store
        .revoke_token(revoked.token_id, user, revoked.expires_at)
        .await
        .expect("revoking twice is harmless");

    assert!(store.is_revoked(&revoked).await.expect("query"));
    assert!(
        !store.is_revoked(&other).await.expect("query"),
        "the user's other tokens still count"
    );
}

async fn revoking_all_covers_tokens_issued_until_then_only(backend: Backend) {
    let Some((_ctx, store)) = store(backend).await else {
        return;
    };
    let user = UserId::generate();
    let cut = now();
    let before = session(user, cut - Duration::minutes(1));
    let at_cut = session(user, cut);
    let after = session(user, cut + Duration::microseconds(1));
    let someone_else = session(UserId::generate(), cut - Duration::minutes(1));

    store
        .revoke_all(user, cut, until(cut), &record())
        .await
        .expect("revoke all");

    assert!(store.is_revoked(&before).await.expect("query"));
    assert!(store.is_revoked(&at_cut).await.expect("query"));
    assert!(
        !store.is_revoked(&after).await.expect("query"),
        "a later login still works"
    );
    assert!(!store.is_revoked(&someone_else).await.expect("query"));
}

async fn revoking_all_never_moves_back(backend: Backend) {
    let Some((_ctx, store)) = store(backend).await else {
        return;
    };
    let user = UserId::generate();
    let cut = now();
    let token = session(user, cut - Duration::seconds(30));

    store
        .revoke_all(user, cut, until(cut), &record())
        .await
        .expect("revoke all");
    store
        .revoke_all(
            user,
            cut - Duration::minutes(1),
            until(cut - Duration::minutes(1)),
            &record(),
        )
        .await
        .expect("an older revocation");

    assert!(
        store.is_revoked(&token).await.expect("query"),
        "the later cut still holds"
    );
}

async fn purging_forgets_only_what_no_longer_matters(backend: Backend) {
    let Some((_ctx, store)) = store(backend).await else {
        return;
    };
    let lifetime = Duration::minutes(15);
    let t = now();
    let expired = Session {
        expires_at: t - Duration::seconds(1),
        ..session(UserId::generate(), t - lifetime)
    };
    let live = session(UserId::generate(), t);
    store
        .revoke_token(expired.token_id, expired.user_id, expired.expires_at)
        .await
        .expect("revoke");
    store
        .revoke_token(live.token_id, live.user_id, live.expires_at)
        .await
        .expect("revoke");
    let old_user = UserId::generate();
    let recent_user = UserId::generate();
    store
        .revoke_all(
            old_user,
            t - lifetime - Duration::seconds(1),
            until(t - lifetime - Duration::seconds(1)),
            &record(),
        )
        .await
        .expect("revoke all");
    store
        .revoke_all(recent_user, t, until(t), &record())
        .await
        .expect("revoke all");

    let removed = store.purge_expired(t).await.expect("purge");

    assert_eq!(removed, 2);
    assert!(store.is_revoked(&live).await.expect("query"));
    assert!(
        store
            .is_revoked(&session(recent_user, t - Duration::seconds(1)))
            .await
            .expect("query")
    );
}

/// A revocation lasts until the expiry it was made with, whatever the lifetime is by
/// the time the purge runs (it used to be purged by the current lifetime, so lowering
/// it brought revoked tokens back), and a later revocation never shortens it.
async fn a_revocation_keeps_its_own_expiry(backend: Backend) {
    let Some((_ctx, store)) = store(backend).await else {
        return;
    };
    let t = now();
    let user = UserId::generate();
    // Made 20 minutes ago, when tokens lived 80 minutes.
    let made = t - Duration::minutes(20);
    store
        .revoke_all(user, made, made + Duration::minutes(80), &record())
        .await
        .expect("revoke all");
    // The same cut again, for a shorter time: changes nothing.
    store
        .revoke_all(user, made, made + Duration::minutes(1), &record())
        .await
        .expect("revoke all");
    let old_token = Session {
        expires_at: made + Duration::minutes(79),
        ..session(user, made - Duration::minutes(1))
    };

    assert_eq!(store.purge_expired(t).await.expect("purge"), 0);
    assert!(store.is_revoked(&old_token).await.expect("query"));
    assert_eq!(
        store
            .purge_expired(made + Duration::minutes(81))
            .await
            .expect("purge"),
        1
    );
}
