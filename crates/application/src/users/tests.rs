//! Use-case tests against mocks of every port: no I/O.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use mockall::predicate::eq;
use roster_domain::{
    Email, PageSize, Role, Status, UserName,
    ports::{MockClock, MockEventPublisher, MockUserRepository, PublishError},
};

use super::*;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000 + seconds, 0).unwrap_or_default()
}

fn fixed_clock(seconds: i64) -> MockClock {
    let mut clock = MockClock::new();
    clock.expect_now().return_const(at(seconds));
    clock
}

fn new_user(email: &str) -> NewUser {
    NewUser {
        email: Email::parse(email).unwrap_or_else(|e| panic!("{email}: {e}")),
        name: UserName::parse("Ada Lovelace").unwrap_or_else(|e| panic!("{e}")),
        role: Role::Member,
        status: Status::Active,
    }
}

fn stored_user(email: &str, version: u64) -> User {
    let mut user = User::create(UserId::generate(), new_user(email), at(0));
    user.version = version;
    user
}

fn replacement(email: &str) -> UserReplacement {
    let new = new_user(email);
    UserReplacement {
        email: new.email,
        name: new.name,
        role: Role::Admin,
        status: Status::Disabled,
    }
}

/// A publisher that records what it was given.
fn recording_publisher() -> (MockEventPublisher, Arc<Mutex<Vec<UserEvent>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut publisher = MockEventPublisher::new();
    let sink = Arc::clone(&seen);
    publisher.expect_publish().returning(move |event| {
        sink.lock()
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .push(event.clone());
        Ok(())
    });
    (publisher, seen)
}

fn service(repo: MockUserRepository, events: MockEventPublisher) -> UserService {
    UserService::new(Arc::new(repo), Arc::new(events), Arc::new(fixed_clock(60)))
}

fn silent_publisher() -> MockEventPublisher {
    let mut publisher = MockEventPublisher::new();
    publisher.expect_publish().never();
    publisher
}

#[tokio::test]
async fn create_stores_a_new_member_and_publishes_created() -> TestResult {
    let mut repo = MockUserRepository::new();
    repo.expect_insert()
        .withf(|user| user.version == 1 && user.created_at == at(60) && user.updated_at == at(60))
        .times(1)
        .returning(|_| Ok(()));
    let (publisher, events) = recording_publisher();

    let user = service(repo, publisher)
        .create(&Actor::System, new_user("ada@example.com"))
        .await?;

    assert_eq!(user.email.as_str(), "ada@example.com");
    assert_eq!((user.version, user.created_at), (1, at(60)));
    let events = events.lock().map_err(|e| e.to_string())?;
    assert_eq!(events.len(), 1);
    assert_eq!(
        (events[0].kind, events[0].user_id),
        (UserEventKind::Created, user.id)
    );
    assert_eq!(events[0].actor, Actor::System);
    Ok(())
}

#[tokio::test]
async fn create_reports_a_taken_email_and_publishes_nothing() {
    let mut repo = MockUserRepository::new();
    repo.expect_insert()
        .returning(|_| Err(InsertUserError::EmailTaken));

    let result = service(repo, silent_publisher())
        .create(&Actor::Anonymous, new_user("a@example.com"))
        .await;

    assert!(matches!(result, Err(UsersError::EmailTaken)), "{result:?}");
}

#[tokio::test]
async fn create_reports_an_unavailable_store_as_unavailable() {
    let mut repo = MockUserRepository::new();
    repo.expect_insert()
        .returning(|_| Err(RepositoryError::Unavailable(anyhow::anyhow!("pool timeout")).into()));

    let result = service(repo, silent_publisher())
        .create(&Actor::System, new_user("a@example.com"))
        .await;

    assert!(
        matches!(result, Err(UsersError::Unavailable(_))),
        "{result:?}"
    );
}

#[tokio::test]
async fn create_succeeds_even_when_the_event_cannot_be_published() -> TestResult {
    let mut repo = MockUserRepository::new();
    repo.expect_insert().times(1).returning(|_| Ok(()));
    let mut publisher = MockEventPublisher::new();
    publisher
        .expect_publish()
        .times(1)
        .returning(|_| Err(PublishError(anyhow::anyhow!("broker down"))));

    let user = service(repo, publisher)
        .create(&Actor::System, new_user("a@example.com"))
        .await?;

    assert_eq!(user.email.as_str(), "a@example.com");
    Ok(())
}

#[tokio::test]
async fn get_returns_the_stored_user() -> TestResult {
    let user = stored_user("a@example.com", 3);
    let mut repo = MockUserRepository::new();
    let found = user.clone();
    repo.expect_find()
        .with(eq(user.id))
        .returning(move |_| Ok(Some(found.clone())));

    assert_eq!(
        service(repo, silent_publisher())
            .get(&Actor::System, user.id)
            .await?,
        user
    );
    Ok(())
}

#[tokio::test]
async fn get_reports_a_missing_user_as_not_found() {
    let id = UserId::generate();
    let mut repo = MockUserRepository::new();
    repo.expect_find().returning(|_| Ok(None));

    let result = service(repo, silent_publisher())
        .get(&Actor::System, id)
        .await;

    assert!(
        matches!(result, Err(UsersError::NotFound(missing)) if missing == id),
        "{result:?}"
    );
}

#[tokio::test]
async fn get_reports_unexpected_store_failures_as_unexpected() {
    let mut repo = MockUserRepository::new();
    repo.expect_find()
        .returning(|_| Err(anyhow::anyhow!("corrupt row").into()));

    let result = service(repo, silent_publisher())
        .get(&Actor::System, UserId::generate())
        .await;

    assert!(
        matches!(result, Err(UsersError::Unexpected(_))),
        "{result:?}"
    );
}

#[tokio::test]
async fn list_asks_for_one_more_row_and_returns_a_cursor_when_more_follow() -> TestResult {
    let users: Vec<User> = (0..3)
        .map(|i| stored_user(&format!("u{i}@example.com"), 1))
        .collect();
    let mut repo = MockUserRepository::new();
    let rows = users.clone();
    repo.expect_list()
        .withf(|page, limit| page.size.get() == 2 && *limit == 3)
        .returning(move |_, _| Ok(rows.clone()));
    let page = PageRequest {
        size: PageSize::new(2)?,
        after: None,
    };

    let result = service(repo, silent_publisher())
        .list(&Actor::System, page)
        .await?;

    assert_eq!(result.items, users[..2]);
    assert_eq!(result.next, Some(users[1].id));
    Ok(())
}

#[tokio::test]
async fn list_returns_no_cursor_on_the_last_page() -> TestResult {
    let users: Vec<User> = (0..2)
        .map(|i| stored_user(&format!("u{i}@example.com"), 1))
        .collect();
    let after = UserId::generate();
    let mut repo = MockUserRepository::new();
    let rows = users.clone();
    repo.expect_list()
        .withf(move |page, _| page.after == Some(after))
        .returning(move |_, _| Ok(rows.clone()));
    let page = PageRequest {
        size: PageSize::new(2)?,
        after: Some(after),
    };

    let result = service(repo, silent_publisher())
        .list(&Actor::System, page)
        .await?;

    assert_eq!((result.items, result.next), (users, None));
    Ok(())
}

#[tokio::test]
async fn replace_writes_the_new_fields_over_the_read_version() -> TestResult {
    let current = stored_user("old@example.com", 4);
    let id = current.id;
    let mut repo = MockUserRepository::new();
    let found = current.clone();
    repo.expect_find()
        .returning(move |_| Ok(Some(found.clone())));
    repo.expect_update()
        .withf(|user| {
            user.version == 4
                && user.email.as_str() == "new@example.com"
                && user.updated_at == at(60)
        })
        .times(1)
        .returning(|user| {
            Ok(User {
                version: user.version + 1,
                ..user.clone()
            })
        });
    let (publisher, events) = recording_publisher();

    let user = service(repo, publisher)
        .replace(&Actor::System, id, replacement("new@example.com"))
        .await?;

    assert_eq!(
        (user.version, user.role, user.status),
        (5, Role::Admin, Status::Disabled)
    );
    assert_eq!(user.created_at, current.created_at);
    let kinds: Vec<_> = events
        .lock()
        .map_err(|e| e.to_string())?
        .iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds, [UserEventKind::Updated]);
    Ok(())
}

#[tokio::test]
async fn replace_retries_after_a_concurrent_change() -> TestResult {
    let mut repo = MockUserRepository::new();
    let mut version = 0;
    let first = stored_user("a@example.com", 1);
    let id = first.id;
    repo.expect_find().times(2).returning(move |_| {
        version += 1;
        Ok(Some(User {
            version,
            ..first.clone()
        }))
    });
    let mut calls = 0;
    repo.expect_update().times(2).returning(move |user| {
        calls += 1;
        if calls == 1 {
            Err(UpdateUserError::VersionConflict)
        } else {
            Ok(User {
                version: user.version + 1,
                ..user.clone()
            })
        }
    });
    let (publisher, _) = recording_publisher();

    let user = service(repo, publisher)
        .replace(&Actor::System, id, replacement("b@example.com"))
        .await?;

    assert_eq!(
        user.version, 3,
        "the second attempt is based on the re-read version 2"
    );
    Ok(())
}

#[tokio::test]
async fn replace_gives_up_with_conflict_when_the_user_keeps_changing() {
    let user = stored_user("a@example.com", 1);
    let id = user.id;
    let mut repo = MockUserRepository::new();
    repo.expect_find()
        .times(REPLACE_ATTEMPTS)
        .returning(move |_| Ok(Some(user.clone())));
    repo.expect_update()
        .times(REPLACE_ATTEMPTS)
        .returning(|_| Err(UpdateUserError::VersionConflict));

    let result = service(repo, silent_publisher())
        .replace(&Actor::System, id, replacement("b@example.com"))
        .await;

    assert!(matches!(result, Err(UsersError::Conflict)), "{result:?}");
}

#[tokio::test]
async fn replace_reports_missing_users_and_taken_emails() {
    let mut repo = MockUserRepository::new();
    repo.expect_find().returning(|_| Ok(None));
    let id = UserId::generate();
    let result = service(repo, silent_publisher())
        .replace(&Actor::System, id, replacement("b@example.com"))
        .await;
    assert!(matches!(result, Err(UsersError::NotFound(_))), "{result:?}");

    let user = stored_user("a@example.com", 1);
    let mut repo = MockUserRepository::new();
    let found = user.clone();
    repo.expect_find()
        .returning(move |_| Ok(Some(found.clone())));
    repo.expect_update()
        .returning(|_| Err(UpdateUserError::EmailTaken));
    let result = service(repo, silent_publisher())
        .replace(&Actor::System, user.id, replacement("b@example.com"))
        .await;
    assert!(matches!(result, Err(UsersError::EmailTaken)), "{result:?}");

    // Deleted between the read and the write.
    let mut repo = MockUserRepository::new();
    let found = user.clone();
    repo.expect_find()
        .returning(move |_| Ok(Some(found.clone())));
    repo.expect_update()
        .returning(|_| Err(UpdateUserError::NotFound));
    let result = service(repo, silent_publisher())
        .replace(&Actor::System, user.id, replacement("b@example.com"))
        .await;
    assert!(matches!(result, Err(UsersError::NotFound(_))), "{result:?}");
}

#[tokio::test]
async fn delete_removes_the_user_and_publishes_deleted() -> TestResult {
    let id = UserId::generate();
    let mut repo = MockUserRepository::new();
    repo.expect_delete()
        .with(eq(id))
        .times(1)
        .returning(|_| Ok(()));
    let (publisher, events) = recording_publisher();
    let actor = Actor::User(roster_domain::Session::fake(
        UserId::generate(),
        Role::Admin,
    ));

    service(repo, publisher).delete(&actor, id).await?;

    let events = events.lock().map_err(|e| e.to_string())?;
    assert_eq!(
        (events[0].kind, events[0].user_id, &events[0].actor),
        (UserEventKind::Deleted, id, &actor)
    );
    Ok(())
}

#[tokio::test]
async fn delete_reports_a_missing_user_as_not_found() {
    let mut repo = MockUserRepository::new();
    repo.expect_delete()
        .returning(|_| Err(DeleteUserError::NotFound));

    let result = service(repo, silent_publisher())
        .delete(&Actor::System, UserId::generate())
        .await;

    assert!(matches!(result, Err(UsersError::NotFound(_))), "{result:?}");
}
