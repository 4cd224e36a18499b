//! What the caches serve (`find_recent`, `standing`) stays true when another instance
//! writes: on PostgreSQL its announcement reaches every listener, on SQLite an entry
//! lives one second; a listener that loses its connection stops the caches being used;
//! and `find`, what writes start from, is never a cached copy.

use std::time::{Duration, Instant};

use roster_domain::{
    Role, Standing, User, UserName,
    ports::{RevocationStore, UserRepository},
};
use roster_persistence::{Backend, Database, DieselRevocationStore, DieselUserRepository};

use crate::{Context, record, session_of, user};

roster_persistence::backend_tests!(
    a_change_on_another_instance_is_read_within_a_second,
    a_demotion_or_revocation_on_another_instance_holds_within_a_second,
    the_instance_that_writes_reads_its_write_at_once,
    what_a_write_starts_from_is_never_a_cached_copy,
);

/// The promise: within one second of the other instance's commit.
const WITHIN: Duration = Duration::from_secs(1);

/// Another instance on the same database: its own pool, caches and listener.
async fn other_instance(ctx: &Context) -> Database {
    let database = Database::connect(&ctx.settings).await.expect("pool");
    // Let its listener connect, so that the test also covers cached reads.
    tokio::time::sleep(Duration::from_millis(300)).await;
    database
}

/// Polls `check` until it holds, for at most [`WITHIN`] after `since`.
async fn holds_within_a_second<F, Fut>(since: Instant, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    loop {
        if check().await {
            return;
        }
        assert!(since.elapsed() < WITHIN, "still stale after {WITHIN:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn renamed(user: &User, name: &str) -> User {
    User {
        name: UserName::parse(name).expect("name"),
        ..user.clone()
    }
}

async fn a_change_on_another_instance_is_read_within_a_second(backend: Backend) {
    let Some(ctx) = Context::new(backend).await else {
        return;
    };
    let other = DieselUserRepository::new(other_instance(&ctx).await);
    let ada = user("ada@example.com");
    ctx.users.insert(&ada, &record()).await.expect("insert");
    // Read (and cached) here, changed there.
    for _ in 0..3 {
        ctx.users.find_recent(ada.id).await.expect("find");
    }
    other
        .update(&renamed(&ada, "Ada Lovelace"), None, &record())
        .await
        .expect("update");
    let committed = Instant::now();
    holds_within_a_second(committed, || async {
        let read = ctx
            .users
            .find_recent(ada.id)
            .await
            .expect("find")
            .expect("found");
        read.name.as_str() == "Ada Lovelace"
    })
    .await;
}

async fn a_demotion_or_revocation_on_another_instance_holds_within_a_second(backend: Backend) {
    let Some(ctx) = Context::new(backend).await else {
        return;
    };
    let here = DieselRevocationStore::new(ctx.database.clone());
    let database = other_instance(&ctx).await;
    let (users, revocations) = (
        DieselUserRepository::new(database.clone()),
        DieselRevocationStore::new(database),
    );
    let grace = User {
        role: Role::Admin,
        ..user("grace@example.com")
    };
    ctx.users.insert(&grace, &record()).await.expect("insert");
    let session = session_of(&grace);
    for _ in 0..3 {
        assert_eq!(
            here.standing(&session).await.expect("standing"),
            Standing::Current(Role::Admin)
        );
    }

    users
        .update(
            &User {
                role: Role::Member,
                ..grace.clone()
            },
            None,
            &record(),
        )
        .await
        .expect("demote");
    holds_within_a_second(Instant::now(), || async {
        here.standing(&session).await.expect("standing") == Standing::Current(Role::Member)
    })
    .await;

    revocations
        .revoke_token(session.token_id, grace.id, session.expires_at)
        .await
        .expect("revoke");
    holds_within_a_second(Instant::now(), || async {
        here.standing(&session).await.expect("standing") == Standing::Void
    })
    .await;
}

async fn the_instance_that_writes_reads_its_write_at_once(backend: Backend) {
    let Some(ctx) = Context::new(backend).await else {
        return;
    };
    let here = DieselRevocationStore::new(ctx.database.clone());
    let ada = user("ada@example.com");
    ctx.users.insert(&ada, &record()).await.expect("insert");
    let session = session_of(&ada);
    assert_eq!(
        here.standing(&session).await.expect("standing"),
        Standing::Current(Role::Member)
    );
    ctx.users.find_recent(ada.id).await.expect("find");

    let stored = ctx
        .users
        .update(&renamed(&ada, "Ada Lovelace"), None, &record())
        .await
        .expect("update");
    assert_eq!(
        ctx.users.find_recent(ada.id).await.expect("find"),
        Some(stored.clone())
    );
    here.revoke_token(session.token_id, ada.id, session.expires_at)
        .await
        .expect("revoke");
    assert_eq!(
        here.standing(&session).await.expect("standing"),
        Standing::Void
    );
    let other = session_of(&stored);
    here.standing(&other).await.expect("standing");
    ctx.users
        .delete(stored.id, None, crate::revocation(), &record())
        .await
        .expect("delete");
    assert_eq!(ctx.users.find_recent(ada.id).await.expect("find"), None);
    assert_eq!(
        here.standing(&other).await.expect("standing"),
        Standing::Void
    );
}

/// Another instance's write is read at once by `find`, even while this instance's
/// cache still holds the older copy (on SQLite nothing announces the write, so it does
/// for up to a second).
async fn what_a_write_starts_from_is_never_a_cached_copy(backend: Backend) {
    let Some(ctx) = Context::new(backend).await else {
        return;
    };
    let other = DieselUserRepository::new(other_instance(&ctx).await);
    let ada = user("ada@example.com");
    ctx.users.insert(&ada, &record()).await.expect("insert");
    ctx.users.find_recent(ada.id).await.expect("find");

    let stored = other
        .update(&renamed(&ada, "Ada Lovelace"), None, &record())
        .await
        .expect("update");
    assert_eq!(ctx.users.find(ada.id).await.expect("find"), Some(stored));
}

/// A listener whose connection is cut stops the caches being used at once it notices,
/// and never later than the trust window: a change it could not hear of is read
/// within a second all the same.
#[tokio::test]
async fn a_lost_listener_never_leaves_the_caches_stale() {
    let Some(ctx) = Context::new(Backend::Postgres).await else {
        return;
    };
    let other = DieselUserRepository::new(other_instance(&ctx).await);
    let ada = user("ada@example.com");
    ctx.users.insert(&ada, &record()).await.expect("insert");
    tokio::time::sleep(Duration::from_millis(300)).await;
    ctx.users.find_recent(ada.id).await.expect("find");

    // Cut every listener on this database, then write: nobody hears of it.
    ctx.database
        .terminate_cache_listeners()
        .await
        .expect("terminate");
    other
        .update(&renamed(&ada, "Ada Lovelace"), None, &record())
        .await
        .expect("update");
    holds_within_a_second(Instant::now(), || async {
        let read = ctx
            .users
            .find_recent(ada.id)
            .await
            .expect("find")
            .expect("found");
        read.name.as_str() == "Ada Lovelace"
    })
    .await;

    // Reconnected, the caches are used again, and still right.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    other
        .update(
            &renamed(
                &ctx.users.find(ada.id).await.expect("find").expect("found"),
                "Countess",
            ),
            None,
            &record(),
        )
        .await
        .expect("update");
    holds_within_a_second(Instant::now(), || async {
        let read = ctx
            .users
            .find_recent(ada.id)
            .await
            .expect("find")
            .expect("found");
        read.name.as_str() == "Countess"
    })
    .await;
}
