//! Creating users.

use super::*;

#[tokio::test]
async fn create_hashes_the_password_and_stores_the_user_with_its_event() -> TestResult {
    let mut mocks = Mocks::new();
    mocks
        .users
        .expect_insert()
        .withf(|u, record| {
            u.version == 1
                && u.created_at == at(NOW)
                && u.password_hash == Some(hash("of-28"))
                && record.changes == [UserChange::Created]
                && record.actor == "system"
                && record.at == at(NOW)
        })
        .times(1)
        .returning(|_, _| Ok(()));
    let counted = mocks.counted.clone();

    let user = service(mocks)
        .create(&Actor::System, new_user("ada@example.com"))
        .await?;

    assert_eq!(
        *counted.lock().map_err(|e| e.to_string())?,
        [crate::testing::Counted::User(UserEventKind::Created)]
    );

    assert_eq!((user.version, user.password_changed_at), (1, Some(at(NOW))));
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
        .returning(|_, _| Err(InsertUserError::EmailTaken));
    let result = service(mocks)
        .create(&Actor::System, new_user("a@example.com"))
        .await;
    assert!(matches!(result, Err(UsersError::EmailTaken)), "{result:?}");

    let mut mocks = Mocks::new();
    mocks.users.expect_insert().returning(|_, _| {
        Err(RepositoryError::Unavailable(anyhow::anyhow!("pool timeout")).into())
    });
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
