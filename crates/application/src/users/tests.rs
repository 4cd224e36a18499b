//! Users use-case tests against mocks of every port: no I/O.

use mockall::predicate::eq;
use roster_domain::{
    Operation, PageSize, Password, PasswordPolicy, Role, Session, Sort, Status, UserFilter,
    ports::{AccessDenied, MockAuthorizer, PasswordCheck, PublishError},
};

use super::*;
use crate::testing::{Mocks, NOW, at, hash, new_user, stored_user};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn service(mocks: Mocks) -> UserService {
    UserService::new(mocks.ports(), PasswordPolicy::default())
}

fn replacement(email: &str, role: Role, status: Status) -> UserReplacement {
    let new = new_user(email);
    UserReplacement {
        email: new.email,
        name: new.name,
        role,
        status,
    }
}

fn member(id: UserId) -> Actor {
    Actor::User(Session::fake(id, Role::Member))
}

/// An authorizer that refuses one operation and allows the rest.
fn refusing(operation: Operation) -> MockAuthorizer {
    let mut authorizer = MockAuthorizer::new();
    authorizer.expect_authorize().returning(move |_, request| {
        if request.operation == operation {
            Err(AccessDenied::Forbidden)
        } else {
            Ok(())
        }
    });
    authorizer
}

#[tokio::test]
async fn create_hashes_the_password_stores_the_user_and_publishes() -> TestResult {
    let mut mocks = Mocks::new();
    mocks
        .users
        .expect_insert()
        .withf(|u| {
            u.version == 1 && u.created_at == at(NOW) && u.password_hash == Some(hash("of-28"))
        })
        .times(1)
        .returning(|_| Ok(()));
    let published = mocks.published.clone();

    let user = service(mocks)
        .create(&Actor::System, new_user("ada@example.com"))
        .await?;

    assert_eq!((user.version, user.password_changed_at), (1, Some(at(NOW))));
    let events = published.lock().map_err(|e| e.to_string())?;
    assert_eq!(
        (events[0].kind, events[0].user_id),
        (UserEventKind::Created, user.id)
    );
    Ok(())
}

#[tokio::test]
async fn create_refuses_a_weak_password_naming_the_rule_and_stores_nothing() {
    let mut mocks = Mocks::new();
    mocks.users.expect_insert().never();
    let mut weak = new_user("ada@example.com");
    weak.password = Password::new("password123");

    let result = service(mocks).create(&Actor::System, weak).await;

    assert!(
        matches!(
            result,
            Err(UsersError::InvalidField {
                field: "password",
                rule: "not_common",
                ..
            })
        ),
        "{result:?}"
    );
}

#[tokio::test]
async fn create_needs_permission_and_reports_taken_emails_and_unavailability() {
    let mut mocks = Mocks::new();
    mocks.authorizer = refusing(Operation::Write);
    mocks.users.expect_insert().never();
    let result = service(mocks)
        .create(&member(UserId::generate()), new_user("a@example.com"))
        .await;
    assert!(matches!(result, Err(UsersError::Forbidden)), "{result:?}");

    let mut mocks = Mocks::new();
    mocks
        .users
        .expect_insert()
        .returning(|_| Err(InsertUserError::EmailTaken));
    let result = service(mocks)
        .create(&Actor::System, new_user("a@example.com"))
        .await;
    assert!(matches!(result, Err(UsersError::EmailTaken)), "{result:?}");

    let mut mocks = Mocks::new();
    mocks
        .users
        .expect_insert()
        .returning(|_| Err(RepositoryError::Unavailable(anyhow::anyhow!("pool timeout")).into()));
    let result = service(mocks)
        .create(&Actor::System, new_user("a@example.com"))
        .await;
    assert!(
        matches!(result, Err(UsersError::Unavailable(_))),
        "{result:?}"
    );

    let mut mocks = Mocks::new();
    mocks.hasher.checkpoint();
    mocks
        .hasher
        .expect_hash()
        .returning(|_| Err(HashError::Busy));
    let result = service(mocks)
        .create(&Actor::System, new_user("a@example.com"))
        .await;
    assert!(
        matches!(result, Err(UsersError::Unavailable(_))),
        "a saturated hasher is 503: {result:?}"
    );
}

#[tokio::test]
async fn create_succeeds_even_when_the_event_cannot_be_published() -> TestResult {
    let mut mocks = Mocks::new();
    mocks.users.expect_insert().times(1).returning(|_| Ok(()));
    mocks.events.checkpoint();
    mocks
        .events
        .expect_publish()
        .times(1)
        .returning(|_| Err(PublishError(anyhow::anyhow!("broker down"))));

    let user = service(mocks)
        .create(&Actor::System, new_user("a@example.com"))
        .await?;

    assert_eq!(user.email.as_str(), "a@example.com");
    Ok(())
}

#[tokio::test]
async fn get_returns_the_user_not_found_or_forbidden_before_any_read() -> TestResult {
    let user = stored_user("a@example.com", 3);
    let mut mocks = Mocks::new();
    let found = user.clone();
    mocks
        .users
        .expect_find()
        .with(eq(user.id))
        .returning(move |_| Ok(Some(found.clone())));
    assert_eq!(service(mocks).get(&Actor::System, user.id).await?, user);

    let mut mocks = Mocks::new();
    mocks.users.expect_find().returning(|_| Ok(None));
    let id = UserId::generate();
    let result = service(mocks).get(&Actor::System, id).await;
    assert!(
        matches!(result, Err(UsersError::NotFound(missing)) if missing == id),
        "{result:?}"
    );

    let mut mocks = Mocks::new();
    mocks.authorizer = refusing(Operation::Read);
    mocks.users.expect_find().never();
    let result = service(mocks).get(&member(UserId::generate()), id).await;
    assert!(
        matches!(result, Err(UsersError::Forbidden)),
        "no existence leak: {result:?}"
    );
    Ok(())
}

#[tokio::test]
async fn me_is_the_actor_and_needs_one() -> TestResult {
    let user = stored_user("a@example.com", 1);
    let mut mocks = Mocks::new();
    let found = user.clone();
    mocks
        .users
        .expect_find()
        .with(eq(user.id))
        .returning(move |_| Ok(Some(found.clone())));
    assert_eq!(service(mocks).me(&member(user.id)).await?, user);

    let result = service(Mocks::new()).me(&Actor::Anonymous).await;
    assert!(
        matches!(result, Err(UsersError::Unauthenticated)),
        "{result:?}"
    );
    Ok(())
}

#[tokio::test]
async fn list_asks_for_one_more_row_and_returns_the_last_position_when_more_follow() -> TestResult {
    let users: Vec<User> = (0..3)
        .map(|i| stored_user(&format!("u{i}@example.com"), 1))
        .collect();
    let mut mocks = Mocks::new();
    let rows = users.clone();
    mocks
        .users
        .expect_list()
        .withf(|query, limit| query.size.get() == 2 && *limit == 3)
        .returning(move |_, _| Ok(rows.clone()));
    mocks.users.expect_count().never();
    let sort: Sort = "-email".parse()?;
    let query = UserQuery {
        sort,
        size: PageSize::new(2)?,
        ..UserQuery::default()
    };

    let result = service(mocks).list(&Actor::System, &query, false).await?;

    assert_eq!(
        (result.items.as_slice(), result.next, result.total),
        (&users[..2], Some(sort.position_of(&users[1])), None)
    );
    Ok(())
}

#[tokio::test]
async fn list_returns_no_cursor_on_the_last_page_and_counts_when_asked() -> TestResult {
    let users: Vec<User> = (0..2)
        .map(|i| stored_user(&format!("u{i}@example.com"), 1))
        .collect();
    let mut mocks = Mocks::new();
    let rows = users.clone();
    mocks
        .users
        .expect_list()
        .returning(move |_, _| Ok(rows.clone()));
    mocks
        .users
        .expect_count()
        .withf(|filter| filter.role == Some(Role::Admin))
        .returning(|_| Ok(7));
    let query = UserQuery {
        filter: UserFilter {
            role: Some(Role::Admin),
            ..UserFilter::default()
        },
        size: PageSize::new(2)?,
        after: Some(Sort::default().position_of(&users[0])),
        ..UserQuery::default()
    };

    let result = service(mocks).list(&Actor::System, &query, true).await?;

    assert_eq!(
        (result.items, result.next, result.total),
        (users, None, Some(7))
    );
    Ok(())
}

#[tokio::test]
async fn replace_writes_over_the_read_version_and_disabling_revokes_tokens() -> TestResult {
    let current = stored_user("old@example.com", 4);
    let id = current.id;
    let mut mocks = Mocks::new();
    mocks.finding(&current);
    mocks
        .users
        .expect_update()
        .withf(|u| {
            u.version == 4 && u.email.as_str() == "new@example.com" && u.updated_at == at(NOW)
        })
        .times(1)
        .returning(|u| {
            Ok(User {
                version: u.version + 1,
                ..u.clone()
            })
        });
    mocks
        .revocations
        .expect_revoke_all()
        .with(eq(id), eq(at(NOW)))
        .times(1)
        .returning(|_, _| Ok(()));

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
    mocks.users.expect_update().times(1).returning(|u| {
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
    mocks.users.expect_update().times(2).returning(move |u| {
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
        .returning(|_| Err(UpdateUserError::VersionConflict));
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
        .returning(|_| Err(UpdateUserError::EmailTaken));
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
async fn delete_removes_the_user_revokes_their_tokens_and_publishes() -> TestResult {
    let id = UserId::generate();
    let mut mocks = Mocks::new();
    mocks
        .users
        .expect_delete()
        .with(eq(id), eq(None))
        .times(1)
        .returning(|_, _| Ok(()));
    mocks
        .revocations
        .expect_revoke_all()
        .with(eq(id), eq(at(NOW)))
        .times(1)
        .returning(|_, _| Ok(()));
    let published = mocks.published.clone();

    service(mocks).delete(&Actor::System, id, None).await?;

    let deleted = published
        .lock()
        .map_err(|e| e.to_string())?
        .first()
        .map(|e| (e.kind, e.user_id));
    assert_eq!(deleted, Some((UserEventKind::Deleted, id)));

    let mut mocks = Mocks::new();
    mocks
        .users
        .expect_delete()
        .returning(|_, _| Err(DeleteUserError::NotFound));
    let result = service(mocks).delete(&Actor::System, id, None).await;
    assert!(matches!(result, Err(UsersError::NotFound(_))), "{result:?}");
    Ok(())
}

#[tokio::test]
async fn a_member_changes_their_password_with_the_current_one_and_tokens_are_revoked() -> TestResult
{
    let me = stored_user("me@example.com", 1);
    let mut mocks = Mocks::new();
    mocks.finding(&me);
    mocks.hasher.expect_verify().returning(|password, _| {
        Ok(if password.expose() == "the old one, long" {
            PasswordCheck::Match { outdated: false }
        } else {
            PasswordCheck::Mismatch
        })
    });
    mocks
        .users
        .expect_update()
        .withf(|u| u.password_hash == Some(hash("of-21")) && u.password_changed_at == Some(at(NOW)))
        .times(1)
        .returning(|u| Ok(u.clone()));
    mocks
        .revocations
        .expect_revoke_all()
        .with(eq(me.id), eq(at(NOW)))
        .times(1)
        .returning(|_, _| Ok(()));
    let service = service(mocks);
    let actor = member(me.id);

    let wrong = service
        .change_password(
            &actor,
            me.id,
            Some(Password::new("a wrong guess")),
            Password::new("a brand new secret 22"),
        )
        .await;
    assert!(
        matches!(
            wrong,
            Err(UsersError::InvalidField {
                field: "current_password",
                ..
            })
        ),
        "{wrong:?}"
    );
    let missing = service
        .change_password(&actor, me.id, None, Password::new("a brand new secret 22"))
        .await;
    assert!(
        matches!(
            missing,
            Err(UsersError::InvalidField {
                field: "current_password",
                ..
            })
        ),
        "{missing:?}"
    );

    service
        .change_password(
            &actor,
            me.id,
            Some(Password::new("the old one, long")),
            Password::new("a brand new secret 22"),
        )
        .await?;
    Ok(())
}

#[tokio::test]
async fn an_admin_sets_a_password_without_the_current_one_but_within_the_policy() -> TestResult {
    let user = stored_user("user@example.com", 1);
    let mut mocks = Mocks::new();
    mocks.finding(&user);
    mocks
        .users
        .expect_update()
        .times(1)
        .returning(|u| Ok(u.clone()));
    mocks
        .revocations
        .expect_revoke_all()
        .times(1)
        .returning(|_, _| Ok(()));
    let service = service(mocks);
    let admin = Actor::User(Session::fake(UserId::generate(), Role::Admin));

    let weak = service
        .change_password(&admin, user.id, None, Password::new("user@example.com"))
        .await;
    assert!(
        matches!(
            weak,
            Err(UsersError::InvalidField {
                rule: "not_email",
                ..
            })
        ),
        "{weak:?}"
    );
    service
        .change_password(
            &admin,
            user.id,
            None,
            Password::new("a brand new secret 22"),
        )
        .await?;
    Ok(())
}

#[tokio::test]
async fn revoking_tokens_needs_admin_and_an_existing_user() -> TestResult {
    let user = stored_user("user@example.com", 1);
    let mut mocks = Mocks::new();
    mocks.finding(&user);
    mocks
        .revocations
        .expect_revoke_all()
        .with(eq(user.id), eq(at(NOW)))
        .times(1)
        .returning(|_, _| Ok(()));
    service(mocks)
        .revoke_tokens(&Actor::System, user.id)
        .await?;

    let mut mocks = Mocks::new();
    mocks.authorizer = refusing(Operation::Admin);
    let result = service(mocks)
        .revoke_tokens(&member(user.id), user.id)
        .await;
    assert!(matches!(result, Err(UsersError::Forbidden)), "{result:?}");
    Ok(())
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
        matches!(result, Err(UsersError::PreconditionFailed { current: 4 })),
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
        .returning(|_| Err(UpdateUserError::VersionConflict));
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
        matches!(result, Err(UsersError::PreconditionFailed { current: 5 })),
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
        .withf(move |u| {
            u.name.as_str() == "New Name"
                && u.email == original.email
                && u.role == original.role
                && u.status == original.status
        })
        .times(1)
        .returning(|u| {
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
        .with(eq(id), eq(Some(vec![1])))
        .returning(|_, _| Err(DeleteUserError::VersionConflict { current: 2 }));
    mocks.revocations.expect_revoke_all().never();
    let result = service(mocks)
        .delete(&Actor::System, id, Some(vec![1]))
        .await;
    assert!(
        matches!(result, Err(UsersError::PreconditionFailed { current: 2 })),
        "{result:?}"
    );
}
