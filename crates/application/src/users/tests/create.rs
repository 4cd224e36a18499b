//! Creating users.

use super::*;

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
    let counted = mocks.counted.clone();

    let user = service(mocks)
        .create(&Actor::System, new_user("ada@example.com"))
        .await?;

    assert_eq!(
        *counted.lock().map_err(|e| e.to_string())?,
        [crate::testing::Counted::User(UserEventKind::Created)]
    );

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
