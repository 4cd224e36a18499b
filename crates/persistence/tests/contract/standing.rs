//! Where a session stands: the user as stored now, and the revocations, read at
//! once; and a write's revocations committed with it or not at all.

use roster_domain::{
    Role, Standing, Status, User,
    ports::{RevocationStore, UpdateUserError, UserRepository},
};
use roster_persistence::{Backend, DieselRevocationStore};

use crate::{Context, record, revocation, session_of, user};

roster_persistence::backend_tests!(
    a_session_stands_with_its_users_current_role,
    a_disabled_deleted_or_revoked_users_session_is_void,
    a_write_and_its_revocation_commit_together,
    a_refused_write_revokes_nothing,
);

async fn stored(backend: Backend, role: Role) -> Option<(Context, DieselRevocationStore, User)> {
    let ctx = Context::new(backend).await?;
    let store = DieselRevocationStore::new(ctx.database.clone());
    let user = User {
        role,
        ..user("ada@example.com")
    };
    ctx.users.insert(&user, &record()).await.expect("insert");
    Some((ctx, store, user))
}

async fn a_session_stands_with_its_users_current_role(backend: Backend) {
    let Some((ctx, store, ada)) = stored(backend, Role::Admin).await else {
        return;
    };
    let session = session_of(&ada);
    assert_eq!(
        store.standing(&session).await.expect("standing"),
        Standing::Current(Role::Admin)
    );

    let demoted = ctx
        .users
        .update(
            &User {
                role: Role::Member,
                ..ada
            },
            None,
            &record(),
        )
        .await
        .expect("demote");
    assert_eq!(
        store.standing(&session).await.expect("standing"),
        Standing::Current(Role::Member),
        "the token says admin; the user is a member now"
    );
    ctx.users
        .update(
            &User {
                role: Role::Admin,
                ..demoted
            },
            None,
            &record(),
        )
        .await
        .expect("promote");
    assert_eq!(
        store.standing(&session).await.expect("standing"),
        Standing::Current(Role::Admin)
    );
}

async fn a_disabled_deleted_or_revoked_users_session_is_void(backend: Backend) {
    let Some((ctx, store, ada)) = stored(backend, Role::Member).await else {
        return;
    };
    let session = session_of(&ada);
    store
        .revoke_token(session.token_id, ada.id, session.expires_at)
        .await
        .expect("revoke");
    assert_eq!(store.standing(&session).await.expect("q"), Standing::Void);
    let other = session_of(&ada);
    assert_eq!(
        store.standing(&other).await.expect("q"),
        Standing::Current(Role::Member),
        "revoked alone"
    );

    // Disabled without revoking anything: the status alone voids the session.
    let disabled = ctx
        .users
        .update(
            &User {
                status: Status::Disabled,
                ..ada
            },
            None,
            &record(),
        )
        .await
        .expect("disable");
    assert_eq!(store.standing(&other).await.expect("q"), Standing::Void);
    let enabled = ctx
        .users
        .update(
            &User {
                status: Status::Active,
                ..disabled
            },
            None,
            &record(),
        )
        .await
        .expect("enable");
    assert_eq!(
        store.standing(&other).await.expect("q"),
        Standing::Current(Role::Member)
    );

    ctx.users
        .delete(enabled.id, None, revocation(), &record())
        .await
        .expect("delete");
    assert_eq!(store.standing(&other).await.expect("q"), Standing::Void);
}

async fn a_write_and_its_revocation_commit_together(backend: Backend) {
    let Some((ctx, store, ada)) = stored(backend, Role::Member).await else {
        return;
    };
    let before = session_of(&ada);
    let written = ctx
        .users
        .update(&ada, Some(revocation()), &record())
        .await
        .expect("update");
    assert!(
        store.is_revoked(&before).await.expect("q"),
        "revoked by the write"
    );
    assert_eq!(written.version, 2);
}

async fn a_refused_write_revokes_nothing(backend: Backend) {
    let Some((ctx, store, ada)) = stored(backend, Role::Admin).await else {
        return;
    };
    let session = session_of(&ada);
    // The last active administrator cannot be disabled: nothing is written, and its
    // revocation is rolled back with it.
    let refused = ctx
        .users
        .update_keeping_an_admin(
            &User {
                status: Status::Disabled,
                ..ada.clone()
            },
            Some(revocation()),
            &record(),
        )
        .await;
    assert!(
        matches!(refused, Err(UpdateUserError::LastAdmin)),
        "{refused:?}"
    );
    assert!(!store.is_revoked(&session).await.expect("q"));
    // A stale version: refused, and nothing revoked either.
    let stale = User {
        version: 7,
        ..ada.clone()
    };
    let refused = ctx
        .users
        .update(&stale, Some(revocation()), &record())
        .await;
    assert!(
        matches!(refused, Err(UpdateUserError::VersionConflict)),
        "{refused:?}"
    );
    assert_eq!(
        store.standing(&session).await.expect("q"),
        Standing::Current(Role::Admin)
    );
}
