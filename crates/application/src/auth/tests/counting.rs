//! What the authentication use cases count through the `BusinessMetrics` port.

use std::sync::Arc;

use roster_domain::ports::{LoginOutcome, RepositoryError, RevocationScope};

use super::*;
use crate::testing::Counted;

#[tokio::test]
async fn refused_and_failed_logins_are_counted_and_failed_dependencies_are_not() {
    // Refused by the throttle.
    let mut mocks = Mocks::new();
    mocks.throttle.expect_admit().returning(|_, _| {
        Err(Throttled {
            retry_after: Duration::from_secs(1),
        })
    });
    let counted = Arc::clone(&mocks.counted);
    let _ = auth(mocks, false)
        .login("a@example.com", &password(), CLIENT, None)
        .await;
    assert_eq!(
        *counted.lock().expect("lock"),
        [Counted::Login(LoginOutcome::Throttled)]
    );

    // Unknown account.
    let mut mocks = Mocks::new();
    mocks.users.expect_find_by_email().returning(|_| Ok(None));
    mocks.hasher.expect_verify_dummy().returning(|_| Ok(()));
    expect_outcome(&mut mocks, false);
    let counted = Arc::clone(&mocks.counted);
    let _ = auth(mocks, false)
        .login("a@example.com", &password(), CLIENT, None)
        .await;
    assert_eq!(
        *counted.lock().expect("lock"),
        [Counted::Login(LoginOutcome::Failed)]
    );

    // The database is down: nothing was decided, nothing is counted.
    let mut mocks = Mocks::new();
    mocks.throttle.expect_admit().returning(|_, _| Ok(()));
    mocks
        .users
        .expect_find_by_email()
        .returning(|_| Err(RepositoryError::Unavailable(anyhow!("down"))));
    let counted = Arc::clone(&mocks.counted);
    let result = auth(mocks, false)
        .login("a@example.com", &password(), CLIENT, None)
        .await;
    assert!(
        matches!(result, Err(LoginError::Unavailable(_))),
        "{result:?}"
    );
    assert!(counted.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn a_login_and_a_logout_are_counted() {
    let user = stored_user("ada@example.com", 1);
    let mut mocks = succeeding_login(&user);
    mocks
        .revocations
        .expect_revoke_token()
        .returning(|_, _, _| Ok(()));
    mocks
        .sessions
        .expect_session_of()
        .returning(|_| Ok(Some(roster_domain::SessionId::generate())));
    mocks
        .sessions
        .expect_end()
        .returning(|_, _, _, _, _| Ok(true));
    let counted = Arc::clone(&mocks.counted);
    let service = auth(mocks, false);
    service
        .login("ada@example.com", &password(), CLIENT, None)
        .await
        .expect("login");
    let session = Session::fake(user.id, Role::Member);
    service.logout(&Actor::User(session)).await.expect("logout");
    assert_eq!(
        *counted.lock().expect("lock"),
        [
            Counted::Login(LoginOutcome::Succeeded),
            Counted::Revoked(RevocationScope::Session),
            Counted::Revoked(RevocationScope::Token)
        ]
    );
}
