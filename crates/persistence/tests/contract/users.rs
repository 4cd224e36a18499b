//! What every `UserRepository` must do.

use std::sync::Arc;

use chrono::Duration;
use roster_domain::{
    Email, Role, Status, User, UserName,
    ports::{DeleteUserError, InsertUserError, UpdateUserError, UserRepository},
};
use roster_persistence::Backend;

use crate::{Context, record, revocation, user};

roster_persistence::backend_tests!(
    inserted_user_reads_back_equal,
    finding_a_missing_user_gives_none,
    emails_are_unique_regardless_of_case,
    update_stores_changes_and_bumps_the_version,
    update_based_on_a_stale_version_is_a_conflict,
    of_two_concurrent_updates_exactly_one_wins,
    update_of_a_missing_user_is_not_found,
    update_to_a_taken_email_is_refused_and_changes_nothing,
    delete_removes_the_user,
    delete_of_a_missing_user_is_not_found,
    a_conditional_delete_needs_an_accepted_version,
);

async fn inserted_user_reads_back_equal(backend: Backend) {
    let Some(ctx) = Context::new(backend).await else {
        return;
    };
    let user = user("ada@example.com");

    ctx.users.insert(&user, &record()).await.expect("insert");

    assert_eq!(ctx.users.find(user.id).await.expect("find"), Some(user));
}

async fn finding_a_missing_user_gives_none(backend: Backend) {
    let Some(ctx) = Context::new(backend).await else {
        return;
    };
    ctx.users
        .insert(&user("ada@example.com"), &record())
        .await
        .expect("insert");

    assert_eq!(
        ctx.users
            .find(roster_domain::UserId::generate())
            .await
            .expect("find"),
        None
    );
}

async fn emails_are_unique_regardless_of_case(backend: Backend) {
    let Some(ctx) = Context::new(backend).await else {
        return;
    };
    ctx.users
        .insert(&user("Ada@example.com"), &record())
        .await
        .expect("insert");

    let again = ctx.users.insert(&user("ADA@EXAMPLE.com"), &record()).await;

    assert!(
        matches!(again, Err(InsertUserError::EmailTaken)),
        "{again:?}"
    );
    let stored = ctx
        .users
        .count(&roster_domain::UserFilter::default())
        .await
        .expect("count");
    assert_eq!(stored, 1, "the refused insert must store nothing");
}

async fn update_stores_changes_and_bumps_the_version(backend: Backend) {
    let Some(ctx) = Context::new(backend).await else {
        return;
    };
    let original = user("ada@example.com");
    ctx.users
        .insert(&original, &record())
        .await
        .expect("insert");
    let changed = User {
        email: Email::parse("countess@example.org").expect("email"),
        name: UserName::parse("Augusta Ada King").expect("name"),
        role: Role::Admin,
        status: Status::Disabled,
        updated_at: original.updated_at + Duration::seconds(5),
        ..original.clone()
    };

    let stored = ctx
        .users
        .update(&changed, None, &record())
        .await
        .expect("update");

    assert_eq!(
        stored,
        User {
            version: 2,
            ..changed
        }
    );
    assert_eq!(
        ctx.users.find(original.id).await.expect("find"),
        Some(stored)
    );
}

async fn update_based_on_a_stale_version_is_a_conflict(backend: Backend) {
    let Some(ctx) = Context::new(backend).await else {
        return;
    };
    let original = user("ada@example.com");
    ctx.users
        .insert(&original, &record())
        .await
        .expect("insert");
    let first = User {
        name: UserName::parse("First").expect("name"),
        ..original.clone()
    };
    ctx.users
        .update(&first, None, &record())
        .await
        .expect("first update");

    let stale = User {
        name: UserName::parse("Second").expect("name"),
        ..original.clone()
    };
    let result = ctx.users.update(&stale, None, &record()).await;

    assert!(
        matches!(result, Err(UpdateUserError::VersionConflict)),
        "{result:?}"
    );
    let stored = ctx
        .users
        .find(original.id)
        .await
        .expect("find")
        .expect("user");
    assert_eq!((stored.name.as_str(), stored.version), ("First", 2));
}

async fn of_two_concurrent_updates_exactly_one_wins(backend: Backend) {
    let Some(ctx) = Context::new(backend).await else {
        return;
    };
    let original = user("ada@example.com");
    ctx.users
        .insert(&original, &record())
        .await
        .expect("insert");
    let users = Arc::new(ctx.users.clone());

    let attempts = ["A", "B", "C", "D"].map(|name| {
        let users = Arc::clone(&users);
        let changed = User {
            name: UserName::parse(name).expect("name"),
            ..original.clone()
        };
        tokio::spawn(async move { users.update(&changed, None, &record()).await })
    });
    let mut won = Vec::new();
    for attempt in attempts {
        match attempt.await.expect("task") {
            Ok(stored) => won.push(stored),
            Err(UpdateUserError::VersionConflict) => {}
            Err(other) => panic!("unexpected error: {other:?}"),
        }
    }

    assert_eq!(won.len(), 1, "exactly one writer of version 1 may win");
    assert_eq!(
        ctx.users.find(original.id).await.expect("find"),
        Some(won.remove(0))
    );
}

async fn update_of_a_missing_user_is_not_found(backend: Backend) {
    let Some(ctx) = Context::new(backend).await else {
        return;
    };

    let result = ctx
        .users
        .update(&user("ghost@example.com"), None, &record())
        .await;

    assert!(
        matches!(result, Err(UpdateUserError::NotFound)),
        "{result:?}"
    );
}

async fn update_to_a_taken_email_is_refused_and_changes_nothing(backend: Backend) {
    let Some(ctx) = Context::new(backend).await else {
        return;
    };
    let ada = user("ada@example.com");
    let grace = user("grace@example.com");
    ctx.users.insert(&ada, &record()).await.expect("insert");
    ctx.users.insert(&grace, &record()).await.expect("insert");

    let clash = User {
        email: Email::parse("ADA@example.com").expect("email"),
        ..grace.clone()
    };
    let result = ctx.users.update(&clash, None, &record()).await;

    assert!(
        matches!(result, Err(UpdateUserError::EmailTaken)),
        "{result:?}"
    );
    assert_eq!(ctx.users.find(grace.id).await.expect("find"), Some(grace));
}

async fn delete_removes_the_user(backend: Backend) {
    let Some(ctx) = Context::new(backend).await else {
        return;
    };
    let ada = user("ada@example.com");
    let grace = user("grace@example.com");
    ctx.users.insert(&ada, &record()).await.expect("insert");
    ctx.users.insert(&grace, &record()).await.expect("insert");

    ctx.users
        .delete(ada.id, None, revocation(), &record())
        .await
        .expect("delete");

    assert_eq!(ctx.users.find(ada.id).await.expect("find"), None);
    assert_eq!(ctx.users.find(grace.id).await.expect("find"), Some(grace));
    // The address is free again.
    ctx.users
        .insert(&user("ada@example.com"), &record())
        .await
        .expect("re-insert");
}

async fn delete_of_a_missing_user_is_not_found(backend: Backend) {
    let Some(ctx) = Context::new(backend).await else {
        return;
    };

    let result = ctx
        .users
        .delete(
            roster_domain::UserId::generate(),
            None,
            revocation(),
            &record(),
        )
        .await;
    assert!(
        matches!(result, Err(DeleteUserError::NotFound)),
        "{result:?}"
    );
    let result = ctx
        .users
        .delete(
            roster_domain::UserId::generate(),
            Some(vec![1]),
            revocation(),
            &record(),
        )
        .await;
    assert!(
        matches!(result, Err(DeleteUserError::NotFound)),
        "{result:?}"
    );
}

async fn a_conditional_delete_needs_an_accepted_version(backend: Backend) {
    let Some(ctx) = Context::new(backend).await else {
        return;
    };
    let ada = user("ada@example.com");
    ctx.users.insert(&ada, &record()).await.expect("insert");

    for accepted in [vec![], vec![2, 3]] {
        let result = ctx
            .users
            .delete(ada.id, Some(accepted), revocation(), &record())
            .await;
        assert!(
            matches!(result, Err(DeleteUserError::VersionConflict { current: 1 })),
            "{result:?}"
        );
    }
    assert!(
        ctx.users.find(ada.id).await.expect("find").is_some(),
        "kept"
    );

    ctx.users
        .delete(ada.id, Some(vec![5, 1]), revocation(), &record())
        .await
        .expect("deleted at version 1");
    assert_eq!(ctx.users.find(ada.id).await.expect("find"), None);
}
