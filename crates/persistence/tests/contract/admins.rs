//! The last active administrator stays one: neither demoted, disabled nor deleted,
//! even when administrators demote each other at the same time.

use std::sync::Arc;

use roster_domain::{
    Role, Status, User,
    ports::{DeleteUserError, UpdateUserError, UserRepository},
};
use roster_persistence::Backend;

use crate::{Context, record, revocation, user};

roster_persistence::backend_tests!(
    the_last_active_admin_is_neither_demoted_disabled_nor_deleted,
    of_admins_demoting_each_other_at_once_one_remains,
);

fn admin(email: &str) -> User {
    User {
        role: Role::Admin,
        ..user(email)
    }
}

async fn active_admins(ctx: &Context, among: &[&User]) -> usize {
    let mut count = 0;
    for user in among {
        if let Some(stored) = ctx.users.find(user.id).await.expect("find") {
            count += usize::from(stored.is_active_admin());
        }
    }
    count
}

async fn the_last_active_admin_is_neither_demoted_disabled_nor_deleted(backend: Backend) {
    let Some(ctx) = Context::new(backend).await else {
        return;
    };
    let rec = record();
    let ada = admin("ada@example.com");
    ctx.users.insert(&ada, &rec).await.expect("insert");
    // A disabled administrator does not count.
    let dormant = User {
        status: Status::Disabled,
        ..admin("dormant@example.com")
    };
    ctx.users.insert(&dormant, &rec).await.expect("insert");

    for changed in [
        User {
            role: Role::Member,
            ..ada.clone()
        },
        User {
            status: Status::Disabled,
            ..ada.clone()
        },
    ] {
        let refused = ctx
            .users
            .update_keeping_an_admin(&changed, None, &rec)
            .await;
        assert!(
            matches!(refused, Err(UpdateUserError::LastAdmin)),
            "{refused:?}"
        );
    }
    let refused = ctx.users.delete(ada.id, None, revocation(), &rec).await;
    assert!(
        matches!(refused, Err(DeleteUserError::LastAdmin)),
        "{refused:?}"
    );
    assert_eq!(
        ctx.users.find(ada.id).await.expect("find"),
        Some(ada.clone()),
        "nothing changed"
    );

    // With a second active administrator, the first may go.
    let grace = admin("grace@example.com");
    ctx.users.insert(&grace, &rec).await.expect("insert");
    let member = User {
        role: Role::Member,
        ..ada.clone()
    };
    let demoted = ctx
        .users
        .update_keeping_an_admin(&member, None, &rec)
        .await
        .expect("another administrator remains");
    assert_eq!(demoted.role, Role::Member);
    let refused = ctx.users.delete(grace.id, None, revocation(), &rec).await;
    assert!(
        matches!(refused, Err(DeleteUserError::LastAdmin)),
        "{refused:?}"
    );
    ctx.users
        .delete(ada.id, None, revocation(), &rec)
        .await
        .expect("a member goes");
    assert_eq!(active_admins(&ctx, &[&ada, &grace, &dormant]).await, 1);
}

/// Two administrators demote (or delete) each other at once, round after round: one
/// write wins and the other is refused, never both.
async fn of_admins_demoting_each_other_at_once_one_remains(backend: Backend) {
    let Some(ctx) = Context::new(backend).await else {
        return;
    };
    let users = Arc::new(ctx.users.clone());
    for round in 0..12 {
        let first = admin(&format!("first-{round}@example.com"));
        let second = admin(&format!("second-{round}@example.com"));
        for admin in [&first, &second] {
            users.insert(admin, &record()).await.expect("insert");
        }
        let demote = |who: &User| {
            let users = Arc::clone(&users);
            let changed = User {
                role: Role::Member,
                ..who.clone()
            };
            let id = who.id;
            let by_delete = round % 3 == 2;
            tokio::spawn(async move {
                if by_delete {
                    match users.delete(id, None, revocation(), &record()).await {
                        Ok(()) => Ok(()),
                        Err(DeleteUserError::LastAdmin) => Err(()),
                        Err(other) => panic!("unexpected: {other:?}"),
                    }
                } else {
                    match users
                        .update_keeping_an_admin(&changed, None, &record())
                        .await
                    {
                        Ok(_) => Ok(()),
                        Err(UpdateUserError::LastAdmin) => Err(()),
                        Err(other) => panic!("unexpected: {other:?}"),
                    }
                }
            })
        };
        let (a, b) = (demote(&first), demote(&second));
        let outcomes = [a.await.expect("task"), b.await.expect("task")];
        assert_eq!(
            outcomes.iter().filter(|o| o.is_ok()).count(),
            1,
            "round {round}: {outcomes:?}"
        );
        assert_eq!(
            active_admins(&ctx, &[&first, &second]).await,
            1,
            "round {round}"
        );
        clear_round(users.as_ref(), &first, &second).await;
    }
}

/// Leaves no administrator of a round behind for the next one to rely on.
async fn clear_round(users: &impl UserRepository, first: &User, second: &User) {
    for admin in [first, second] {
        let _ = users.delete(admin.id, None, revocation(), &record()).await;
    }
    let leftover = User {
        role: Role::Member,
        ..users
            .find(first.id)
            .await
            .expect("find")
            .or(users.find(second.id).await.expect("find"))
            .expect("one admin is left")
    };
    // The last one of the round may only go once it is a member: make it one
    // directly (a plain update is not guarded), then delete it.
    let stored = users
        .update(&leftover, None, &record())
        .await
        .expect("demote");
    users
        .delete(stored.id, None, revocation(), &record())
        .await
        .expect("delete");
}
