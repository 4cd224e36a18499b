//! Reading and listing users.

use super::*;

#[tokio::test]
async fn get_returns_the_user_not_found_or_forbidden_before_any_read() -> TestResult {
    let user = stored_user("a@example.com", 3);
    let mut mocks = Mocks::new();
    let found = user.clone();
    mocks
        .users
        .expect_find_recent()
        .with(eq(user.id))
        .returning(move |_| Ok(Some(found.clone())));
    assert_eq!(service(mocks).get(&Actor::System, user.id).await?, user);

    let mut mocks = Mocks::new();
    mocks.users.expect_find_recent().returning(|_| Ok(None));
    let id = UserId::generate();
    let result = service(mocks).get(&Actor::System, id).await;
    assert!(
        matches!(result, Err(UsersError::NotFound(missing)) if missing == id),
        "{result:?}"
    );

    let mut mocks = Mocks::new();
    mocks.authorizer = refusing(Operation::Read);
    mocks.users.expect_find_recent().never();
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
        .expect_find_recent()
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
        (&users[..2], Some(Cursor::of_user(sort, &users[1])), None)
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
        after: Some(Cursor::of_user(Sort::default(), &users[0])),
        ..UserQuery::default()
    };

    let result = service(mocks).list(&Actor::System, &query, true).await?;

    assert_eq!(
        (result.items, result.next, result.total),
        (users, None, Some(7))
    );
    Ok(())
}
