//! Deleting users, passwords and tokens.

use roster_domain::ports::{RevocationScope, ThrottleKey};

use super::*;
use crate::testing::{CLIENT, Counted};

#[tokio::test]
async fn delete_removes_the_user_revokes_their_tokens_and_records_the_event() -> TestResult {
    let id = UserId::generate();
    let mut mocks = Mocks::new();
    mocks
        .users
        .expect_delete()
        .with(
            eq(id),
            eq(None),
            eq(Mocks::revocation_now()),
            mockall::predicate::function(|record: &ChangeRecord| {
                record.changes == [UserChange::Deleted]
            }),
        )
        .times(1)
        .returning(|_, _, _, _| Ok(()));
    mocks.revocations.expect_revoke_all().never();
    let counted = mocks.counted.clone();

    service(mocks).delete(&Actor::System, id, None).await?;

    assert_eq!(
        *counted.lock().map_err(|e| e.to_string())?,
        [
            Counted::Revoked(RevocationScope::User),
            Counted::User(UserEventKind::Deleted)
        ],
        "counted once stored"
    );

    let mut mocks = Mocks::new();
    mocks
        .users
        .expect_delete()
        .returning(|_, _, _, _| Err(DeleteUserError::NotFound));
    let result = service(mocks).delete(&Actor::System, id, None).await;
    assert!(matches!(result, Err(UsersError::NotFound(_))), "{result:?}");
    Ok(())
}

fn is_wrong_current(result: &Result<(), UsersError>) -> bool {
    matches!(
        result,
        Err(UsersError::InvalidField {
            field: "current_password",
            ..
        })
    )
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
        .withf(|u, revoke, record| {
            u.password_hash == Some(hash("of-21"))
                && u.password_changed_at == Some(at(NOW))
                && *revoke == Some(Mocks::revocation_now())
                && record.changes == [UserChange::PasswordChanged, UserChange::TokensRevoked]
                && record.actor == format!("user:{}", u.id)
        })
        .times(1)
        .returning(|u, _, _| Ok(u.clone()));
    mocks.revocations.expect_revoke_all().never();
    // Each attempt counts as a login would; the right one is taken back.
    mocks
        .throttle
        .expect_admit()
        .withf(|keys, _| keys.contains(&ThrottleKey::Account("me@example.com".to_owned())))
        .times(3)
        .returning(|_, _| Ok(()));
    mocks.throttle.expect_succeeded().times(1).return_const(());
    let service = service(mocks);
    let actor = member(me.id);

    let wrong = service
        .change_password(
            &actor,
            me.id,
            Some(Password::new("a wrong guess")),
            Password::new("a brand new secret 22"),
            CLIENT,
        )
        .await;
    assert!(is_wrong_current(&wrong), "{wrong:?}");
    let missing = service
        .change_password(
            &actor,
            me.id,
            None,
            Password::new("a brand new secret 22"),
            CLIENT,
        )
        .await;
    assert!(is_wrong_current(&missing), "{missing:?}");

    service
        .change_password(
            &actor,
            me.id,
            Some(Password::new("the old one, long")),
            Password::new("a brand new secret 22"),
            CLIENT,
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
        .withf(|_, revoke, _| *revoke == Some(Mocks::revocation_now()))
        .times(1)
        .returning(|u, _, _| Ok(u.clone()));
    mocks.revocations.expect_revoke_all().never();
    mocks.admitting_one_hash();
    let service = service(mocks);
    let admin = Actor::User(Session::fake(UserId::generate(), Role::Admin));

    let weak = service
        .change_password(
            &admin,
            user.id,
            None,
            Password::new("user@example.com"),
            CLIENT,
        )
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
            CLIENT,
        )
        .await?;
    Ok(())
}

#[tokio::test]
async fn revoking_tokens_needs_admin_and_an_existing_user() -> TestResult {
    let user = stored_user("user@example.com", 1);
    let mut mocks = Mocks::new();
    mocks.finding(&user);
    mocks.revoking_all_once(user.id);
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

/// The rules come first: a weak new password gets the same answer whether the current
/// password is right or wrong, and costs no hash and no throttle count.
#[tokio::test]
async fn the_new_passwords_rules_come_before_the_current_password() {
    let me = stored_user("me@example.com", 1);
    let mut mocks = Mocks::new();
    mocks.finding(&me);
    mocks.hasher.expect_verify().never();
    mocks.throttle.expect_admit().never();
    let service = service(mocks);
    let actor = member(me.id);
    // The rules come first: a weak new password gets the same answer whether the
    // current password is right or wrong, and costs no hash.
    for current in ["the old one, long", "a wrong guess"] {
        let weak = service
            .change_password(
                &actor,
                me.id,
                Some(Password::new(current)),
                Password::new("short"),
                CLIENT,
            )
            .await;
        assert!(
            matches!(
                weak,
                Err(UsersError::InvalidField {
                    rule: "min_length",
                    ..
                })
            ),
            "{current}: {weak:?}"
        );
    }
}
