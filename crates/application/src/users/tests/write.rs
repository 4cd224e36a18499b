//! Replacing and patching users, and conditional writes.

use roster_domain::UserField;

use super::*;

#[tokio::test]
async fn replace_writes_over_the_read_version_and_disabling_revokes_tokens() -> TestResult {
    let current = stored_user("old@example.com", 4);
    let id = current.id;
    let mut mocks = Mocks::new();
    mocks.finding(&current);
    mocks
        .users
        .expect_update()
        .withf(|u, revoke, record| {
            u.version == 4
                && u.email.as_str() == "new@example.com"
                && u.updated_at == at(NOW)
                && *revoke == Some(Mocks::revocation_now())
                && record.changes
                    == [
                        UserChange::Updated {
                            fields: vec![UserField::Email, UserField::Role, UserField::Status],
                        },
                        UserChange::RoleChanged {
                            from: Role::Member,
                            to: Role::Admin,
                        },
                        UserChange::StatusChanged {
                            from: Status::Active,
                            to: Status::Disabled,
                        },
                        UserChange::TokensRevoked,
                    ]
        })
        .times(1)
        .returning(|u, _, _| {
            Ok(User {
                version: u.version + 1,
                ..u.clone()
            })
        });
    // Revoked by the same write, not by a second call.
    mocks.revocations.expect_revoke_all().never();

    let user = service(mocks)
        .replace(
            &Actor::System,
            id,
            replacement("new@example.com", Role::Admin, Status::Disabled),
            None,
        )
        .await?;

    assert_eq!(
        (user.version, user.role, user.status),
        (5, Role::Admin, Status::Disabled)
    );
    Ok(())
}

#[tokio::test]
async fn changing_role_or_status_needs_the_admin_operation() {
    let me = stored_user("me@example.com", 1);
    let mut mocks = Mocks::new();
    mocks.authorizer = refusing(Operation::Admin);
    mocks.finding(&me);
    mocks.users.expect_update().never();

    let result = service(mocks)
        .replace(
            &member(me.id),
            me.id,
            replacement("me@example.com", Role::Admin, Status::Active),
            None,
        )
        .await;

    assert!(matches!(result, Err(UsersError::Forbidden)), "{result:?}");
}

#[tokio::test]
async fn a_member_may_change_their_own_name_and_email() -> TestResult {
    let me = stored_user("me@example.com", 1);
    let mut mocks = Mocks::new();
    mocks.authorizer = refusing(Operation::Admin);
    mocks.finding(&me);
    mocks.users.expect_update().times(1).returning(|u, _, _| {
        Ok(User {
            version: u.version + 1,
            ..u.clone()
        })
    });

    let user = service(mocks)
        .replace(
            &member(me.id),
            me.id,
            replacement("new-me@example.com", Role::Member, Status::Active),
            None,
        )
        .await?;

    assert_eq!(user.email.as_str(), "new-me@example.com");
    Ok(())
}

#[tokio::test]
async fn replace_retries_after_a_concurrent_change_then_gives_up() -> TestResult {
    let first = stored_user("a@example.com", 1);
    let id = first.id;
    let mut mocks = Mocks::new();
    let mut version = 0;
    let template = first.clone();
    mocks.users.expect_find().times(2).returning(move |_| {
        version += 1;
        Ok(Some(User {
            version,
            ..template.clone()
        }))
    });
    let mut calls = 0;
    mocks
        .users
        .expect_update()
        .times(2)
        .returning(move |u, _, _| {
            calls += 1;
            if calls == 1 {
                Err(UpdateUserError::VersionConflict)
            } else {
                Ok(User {
                    version: u.version + 1,
                    ..u.clone()
                })
            }
        });
    let user = service(mocks)
        .replace(
            &Actor::System,
            id,
            replacement("b@example.com", Role::Member, Status::Active),
            None,
        )
        .await?;
    assert_eq!(
        user.version, 3,
        "the second attempt is based on the re-read version 2"
    );

    let mut mocks = Mocks::new();
    mocks
        .users
        .expect_find()
        .times(REPLACE_ATTEMPTS)
        .returning(move |_| Ok(Some(first.clone())));
    mocks
        .users
        .expect_update()
        .times(REPLACE_ATTEMPTS)
        .returning(|_, _, _| Err(UpdateUserError::VersionConflict));
    let result = service(mocks)
        .replace(
            &Actor::System,
            id,
            replacement("b@example.com", Role::Member, Status::Active),
            None,
        )
        .await;
    assert!(matches!(result, Err(UsersError::Conflict)), "{result:?}");
    Ok(())
}

#[tokio::test]
async fn replace_reports_missing_users_and_taken_emails() {
    let mut mocks = Mocks::new();
    mocks.users.expect_find().returning(|_| Ok(None));
    let result = service(mocks)
        .replace(
            &Actor::System,
            UserId::generate(),
            replacement("b@example.com", Role::Member, Status::Active),
            None,
        )
        .await;
    assert!(matches!(result, Err(UsersError::NotFound(_))), "{result:?}");

    let user = stored_user("a@example.com", 1);
    let mut mocks = Mocks::new();
    mocks.finding(&user);
    mocks
        .users
        .expect_update()
        .returning(|_, _, _| Err(UpdateUserError::EmailTaken));
    let result = service(mocks)
        .replace(
            &Actor::System,
            user.id,
            replacement("b@example.com", Role::Member, Status::Active),
            None,
        )
        .await;
    assert!(matches!(result, Err(UsersError::EmailTaken)), "{result:?}");
}

#[tokio::test]
async fn a_write_with_a_stale_version_fails_its_precondition_and_changes_nothing() {
    let user = stored_user("a@example.com", 4);
    let mut mocks = Mocks::new();
    mocks.finding(&user);
    mocks.users.expect_update().never();
    let result = service(mocks)
        .replace(
            &Actor::System,
            user.id,
            replacement("b@example.com", Role::Member, Status::Active),
            Some(vec![2, 3]),
        )
        .await;
    assert!(
        matches!(
            result,
            Err(UsersError::PreconditionFailed { current: 4, .. })
        ),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_conditional_write_that_loses_a_race_is_not_retried() {
    let user = stored_user("a@example.com", 4);
    let newer = User {
        version: 5,
        ..user.clone()
    };
    let mut mocks = Mocks::new();
    let mut reads = vec![newer, user.clone()];
    mocks
        .users
        .expect_find()
        .times(2)
        .returning(move |_| Ok(reads.pop()));
    mocks
        .users
        .expect_update()
        .times(1)
        .returning(|_, _, _| Err(UpdateUserError::VersionConflict));
    let result = service(mocks)
        .patch(
            &Actor::System,
            user.id,
            UserPatch {
                name: Some(roster_domain::UserName::parse("B").expect("name")),
                ..UserPatch::default()
            },
            Some(vec![4]),
        )
        .await;
    assert!(
        matches!(
            result,
            Err(UsersError::PreconditionFailed { current: 5, .. })
        ),
        "the other writer's version is reported: {result:?}"
    );
}

#[tokio::test]
async fn a_patch_changes_only_its_fields_and_a_role_change_needs_admin() -> TestResult {
    let me = stored_user("me@example.com", 2);
    let mut mocks = Mocks::new();
    mocks.finding(&me);
    let original = me.clone();
    mocks
        .users
        .expect_update()
        .withf(move |u, _, _| {
            u.name.as_str() == "New Name"
                && u.email == original.email
                && u.role == original.role
                && u.status == original.status
        })
        .times(1)
        .returning(|u, _, _| {
            Ok(User {
                version: u.version + 1,
                ..u.clone()
            })
        });
    let renamed = service(mocks)
        .patch(
            &member(me.id),
            me.id,
            UserPatch {
                name: Some(roster_domain::UserName::parse("New Name")?),
                ..UserPatch::default()
            },
            Some(vec![2]),
        )
        .await?;
    assert_eq!((renamed.version, renamed.name.as_str()), (3, "New Name"));

    let mut mocks = Mocks::new();
    mocks.finding(&me);
    mocks.authorizer = refusing(Operation::Admin);
    mocks.users.expect_update().never();
    let result = service(mocks)
        .patch(
            &member(me.id),
            me.id,
            UserPatch {
                role: Some(Role::Admin),
                ..UserPatch::default()
            },
            None,
        )
        .await;
    assert!(matches!(result, Err(UsersError::Forbidden)), "{result:?}");
    Ok(())
}

#[tokio::test]
async fn a_conditional_delete_reports_the_current_version() {
    let id = UserId::generate();
    let mut mocks = Mocks::new();
    mocks
        .users
        .expect_delete()
        .with(
            eq(id),
            eq(Some(vec![1])),
            eq(Mocks::revocation_now()),
            mockall::predicate::always(),
        )
        .returning(|_, _, _, _| Err(DeleteUserError::VersionConflict { current: 2 }));
    mocks.revocations.expect_revoke_all().never();
    let result = service(mocks)
        .delete(&Actor::System, id, Some(vec![1]))
        .await;
    assert!(
        matches!(
            result,
            Err(UsersError::PreconditionFailed { current: 2, .. })
        ),
        "{result:?}"
    );
}

#[tokio::test]
async fn an_active_administrator_stops_being_one_only_while_another_remains() -> TestResult {
    let admin = User {
        role: Role::Admin,
        ..stored_user("admin@example.com", 3)
    };
    let id = admin.id;
    // Demoting or disabling goes through the store's guarded write, which refuses
    // when no other active administrator would remain.
    for (role, status) in [
        (Role::Member, Status::Active),
        (Role::Admin, Status::Disabled),
    ] {
        let mut mocks = Mocks::new();
        mocks.finding(&admin);
        mocks.users.expect_update().never();
        mocks
            .users
            .expect_update_keeping_an_admin()
            .times(1)
            .returning(|_, _, _| Err(UpdateUserError::LastAdmin));
        mocks.revocations.expect_revoke_all().never();
        let result = service(mocks)
            .replace(
                &Actor::System,
                id,
                replacement("admin@example.com", role, status),
                None,
            )
            .await;
        assert!(
            matches!(result, Err(UsersError::LastAdmin)),
            "{role:?} {status:?}: {result:?}"
        );
    }
    // Any other change of an administrator is a plain write.
    let mut mocks = Mocks::new();
    mocks.finding(&admin);
    mocks.users.expect_update_keeping_an_admin().never();
    mocks
        .users
        .expect_update()
        .times(1)
        .returning(|u, _, _| Ok(u.clone()));
    service(mocks)
        .replace(
            &Actor::System,
            id,
            replacement("renamed@example.com", Role::Admin, Status::Active),
            None,
        )
        .await?;

    let mut mocks = Mocks::new();
    mocks
        .users
        .expect_delete()
        .returning(|_, _, _, _| Err(DeleteUserError::LastAdmin));
    mocks.revocations.expect_revoke_all().never();
    let deleted = service(mocks).delete(&Actor::System, id, None).await;
    assert!(matches!(deleted, Err(UsersError::LastAdmin)), "{deleted:?}");
    Ok(())
}
