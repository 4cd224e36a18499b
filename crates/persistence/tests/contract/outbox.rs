//! The outbox: every write stores its events in its own transaction, with the version
//! it wrote; a refused write stores none; the relay's lease, delivery and trimming.

use std::sync::Arc;

use chrono::Duration;
use roster_domain::{
    Actor, ChangeRecord, Role, Status, User, UserChange, UserEvent, UserField,
    ports::{
        Clock as _, DeleteUserError, EventOutbox, InsertUserError, RevocationStore as _,
        SystemClock, UpdateUserError, UserRepository,
    },
};
use roster_persistence::{Backend, DieselEventOutbox, DieselRevocationStore};

use crate::{Context, revocation, user};

roster_persistence::backend_tests!(
    each_write_stores_its_events_with_the_version_it_wrote,
    a_refused_insert_or_update_stores_no_event,
    a_refused_deletion_or_demotion_stores_no_event,
    one_holder_at_a_time_has_the_lease,
    delivered_events_leave_the_backlog_and_are_trimmed_after_the_retention,
    concurrent_writes_of_one_user_store_events_in_version_order,
);

fn by(changes: Vec<UserChange>) -> ChangeRecord {
    ChangeRecord::new(&Actor::System, SystemClock.now(), changes)
}

fn outbox(ctx: &Context) -> DieselEventOutbox {
    DieselEventOutbox::new(ctx.database.clone())
}

fn summary(events: &[UserEvent]) -> Vec<(&'static str, u64)> {
    events
        .iter()
        .map(|e| (e.change.name(), e.version))
        .collect()
}

async fn each_write_stores_its_events_with_the_version_it_wrote(backend: Backend) {
    let Some(ctx) = Context::new(backend).await else {
        return;
    };
    let ada = user("ada@example.com");
    let created = by(vec![UserChange::Created]);
    ctx.users.insert(&ada, &created).await.expect("insert");
    let disabled = User {
        status: Status::Disabled,
        ..ada.clone()
    };
    let changes = vec![
        UserChange::Updated {
            fields: vec![UserField::Status],
        },
        UserChange::StatusChanged {
            from: Status::Active,
            to: Status::Disabled,
        },
    ];
    let updated = by(changes.clone());
    let stored = ctx
        .users
        .update(&disabled, None, &updated)
        .await
        .expect("update");
    let now = SystemClock.now();
    let revocations = DieselRevocationStore::new(ctx.database.clone());
    let revoked = by(vec![UserChange::TokensRevoked]);
    let until = now + Duration::minutes(15);
    revocations
        .revoke_all(ada.id, now, until, &revoked)
        .await
        .expect("revoke");
    let versions = Some(vec![stored.version]);
    let deleted = by(vec![UserChange::Deleted]);
    let deletion = ctx
        .users
        .delete(ada.id, versions, revocation(), &deleted)
        .await;
    deletion.expect("delete");

    let pending = outbox(&ctx).pending(100).await.expect("pending");
    assert_eq!(
        summary(&pending),
        [
            ("user.created", 1),
            ("user.updated", 2),
            ("user.status_changed", 2),
            ("user.tokens_revoked", 2),
            ("user.deleted", 2),
        ]
    );
    let by_system = |e: &UserEvent| e.user_id == ada.id && e.actor == "system";
    assert!(pending.iter().all(by_system));
    assert_eq!(pending[1].change, changes[0], "the data reads back");
    assert_eq!(pending[2].change, changes[1]);
    let backlog = outbox(&ctx).backlog().await.expect("backlog");
    assert_eq!(backlog.events, 5);
    assert_eq!(backlog.oldest, Some(pending[0].occurred_at));
}

/// An administrator and a member, with their `created` events.
async fn two_users(ctx: &Context) -> (User, User) {
    let ada = User {
        role: Role::Admin,
        ..user("ada@example.com")
    };
    let grace = user("grace@example.com");
    for stored in [&ada, &grace] {
        let created = by(vec![UserChange::Created]);
        ctx.users.insert(stored, &created).await.expect("insert");
    }
    (ada, grace)
}

/// Only the two `created` events are in the outbox.
async fn only_the_creations(ctx: &Context) {
    let after = outbox(ctx).pending(100).await.expect("pending");
    assert_eq!(summary(&after), [("user.created", 1), ("user.created", 1)]);
}

async fn a_refused_insert_or_update_stores_no_event(backend: Backend) {
    let Some(ctx) = Context::new(backend).await else {
        return;
    };
    let (ada, grace) = two_users(&ctx).await;

    let duplicate = user("ADA@example.com");
    let created = by(vec![UserChange::Created]);
    let taken = ctx.users.insert(&duplicate, &created).await;
    assert!(
        matches!(taken, Err(InsertUserError::EmailTaken)),
        "{taken:?}"
    );
    let stale = User {
        version: 7,
        ..grace.clone()
    };
    let changed = by(vec![UserChange::PasswordChanged]);
    let conflict = ctx.users.update(&stale, None, &changed).await;
    assert!(
        matches!(conflict, Err(UpdateUserError::VersionConflict)),
        "{conflict:?}"
    );
    let same_email = User {
        email: ada.email.clone(),
        ..grace.clone()
    };
    let email = by(vec![UserChange::Updated {
        fields: vec![UserField::Email],
    }]);
    let clash = ctx.users.update(&same_email, None, &email).await;
    assert!(
        matches!(clash, Err(UpdateUserError::EmailTaken)),
        "{clash:?}"
    );
    only_the_creations(&ctx).await;
}

async fn a_refused_deletion_or_demotion_stores_no_event(backend: Backend) {
    let Some(ctx) = Context::new(backend).await else {
        return;
    };
    let (ada, grace) = two_users(&ctx).await;

    let demoted = User {
        status: Status::Disabled,
        ..ada.clone()
    };
    let revoked = by(vec![UserChange::TokensRevoked]);
    let last = ctx
        .users
        .update_keeping_an_admin(&demoted, Some(revocation()), &revoked)
        .await;
    assert!(matches!(last, Err(UpdateUserError::LastAdmin)), "{last:?}");
    let deleted = by(vec![UserChange::Deleted]);
    let refused = ctx.users.delete(ada.id, None, revocation(), &deleted).await;
    assert!(
        matches!(refused, Err(DeleteUserError::LastAdmin)),
        "{refused:?}"
    );
    let wrong_version = ctx
        .users
        .delete(grace.id, Some(vec![9]), revocation(), &deleted);
    let wrong_version = wrong_version.await;
    assert!(
        matches!(
            wrong_version,
            Err(DeleteUserError::VersionConflict { current: 1 })
        ),
        "{wrong_version:?}"
    );
    only_the_creations(&ctx).await;
}

async fn one_holder_at_a_time_has_the_lease(backend: Backend) {
    let Some(ctx) = Context::new(backend).await else {
        return;
    };
    let outbox = outbox(&ctx);
    let now = SystemClock.now();
    let until = now + Duration::seconds(15);
    assert!(outbox.lease("a", now, until).await.expect("lease"));
    assert!(
        !outbox.lease("b", now, until).await.expect("lease"),
        "a holds it"
    );
    assert!(
        outbox.lease("a", now, until).await.expect("renew"),
        "a renews"
    );
    // b takes over once a's lease has run out.
    let later = until + Duration::seconds(1);
    assert!(
        outbox
            .lease("b", later, later + Duration::seconds(15))
            .await
            .expect("lease")
    );
    assert!(!outbox.lease("a", later, later).await.expect("lease"));
    // Released, it is free at once.
    outbox
        .release("a")
        .await
        .expect("release of a lease not held");
    assert!(
        !outbox.lease("a", later, later).await.expect("lease"),
        "a cannot free b's"
    );
    outbox.release("b").await.expect("release");
    assert!(
        outbox
            .lease("a", later, later + Duration::seconds(15))
            .await
            .expect("lease")
    );
}

async fn delivered_events_leave_the_backlog_and_are_trimmed_after_the_retention(backend: Backend) {
    let Some(ctx) = Context::new(backend).await else {
        return;
    };
    for email in ["a@example.com", "b@example.com", "c@example.com"] {
        ctx.users
            .insert(&user(email), &by(vec![UserChange::Created]))
            .await
            .expect("insert");
    }
    let outbox = outbox(&ctx);
    let pending = outbox.pending(2).await.expect("pending");
    assert_eq!(pending.len(), 2, "the batch size holds");
    let delivered_at = SystemClock.now();
    let ids: Vec<_> = pending.iter().map(|e| e.id).collect();
    outbox
        .delivered(&ids, delivered_at)
        .await
        .expect("delivered");

    let rest = outbox.pending(10).await.expect("pending");
    assert_eq!(rest.len(), 1);
    assert!(!ids.contains(&rest[0].id));
    assert_eq!(outbox.backlog().await.expect("backlog").events, 1);

    assert_eq!(
        outbox.trim(delivered_at).await.expect("trim"),
        0,
        "not older yet"
    );
    let trimmed = outbox
        .trim(delivered_at + Duration::seconds(1))
        .await
        .expect("trim");
    assert_eq!(trimmed, 2, "delivered ones only");
    assert_eq!(outbox.pending(10).await.expect("pending").len(), 1);
}

async fn concurrent_writes_of_one_user_store_events_in_version_order(backend: Backend) {
    let Some(ctx) = Context::new(backend).await else {
        return;
    };
    let ada = user("ada@example.com");
    ctx.users
        .insert(&ada, &by(vec![UserChange::Created]))
        .await
        .expect("insert");
    let users = Arc::new(ctx.users.clone());
    let mut writers = Vec::new();
    for _ in 0..4 {
        let users = Arc::clone(&users);
        let id = ada.id;
        writers.push(tokio::spawn(async move {
            let mut written = 0;
            while written < 10 {
                let current = users.find(id).await.expect("find").expect("user");
                let record = by(vec![UserChange::Updated { fields: Vec::new() }]);
                match users.update(&current, None, &record).await {
                    Ok(_) => written += 1,
                    Err(UpdateUserError::VersionConflict) => {}
                    Err(e) => panic!("{e}"),
                }
            }
        }));
    }
    for writer in writers {
        writer.await.expect("writer");
    }
    let versions: Vec<u64> = outbox(&ctx)
        .pending(100)
        .await
        .expect("pending")
        .iter()
        .map(|e| e.version)
        .collect();
    assert_eq!(versions, (1..=41).collect::<Vec<_>>());
}
