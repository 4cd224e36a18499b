//! Sessions: logout, refresh with rotation and reuse detection, listing and ending.

use roster_domain::{
    AuditNote, Principal, RefreshDigest, Refreshed, SessionEnd, SessionId, UserSession,
    ports::{AccessDenied, RevocationScope, ThrottleKey},
};

use super::*;
use crate::testing::Counted;

#[tokio::test]
async fn logout_revokes_the_presented_token_until_it_expires() {
    let session = Session::fake(UserId::generate(), Role::Member);
    let mut mocks = Mocks::new();
    // A token from before sessions existed: there is no session to end.
    mocks
        .sessions
        .expect_session_of()
        .with(eq(session.token_id))
        .returning(|_| Ok(None));
    mocks.sessions.expect_end().never();
    mocks
        .revocations
        .expect_revoke_token()
        .with(
            eq(session.token_id),
            eq(session.user_id),
            eq(session.expires_at),
        )
        .times(1)
        .returning(|_, _, _| Ok(()));

    auth(mocks, false)
        .logout(&Actor::User(session))
        .await
        .expect("logout");
    let result = auth(Mocks::new(), false).logout(&Actor::Anonymous).await;
    assert!(
        matches!(result, Err(UsersError::Unauthenticated)),
        "{result:?}"
    );
}

#[tokio::test]
async fn logout_ends_the_session_the_token_was_minted_for() {
    let session = Session::fake(UserId::generate(), Role::Member);
    let login = SessionId::generate();
    let mut mocks = Mocks::new();
    mocks
        .sessions
        .expect_session_of()
        .with(eq(session.token_id))
        .returning(move |_| Ok(Some(login)));
    mocks
        .sessions
        .expect_end()
        .with(
            eq(session.user_id),
            eq(login),
            eq(SessionEnd::LoggedOut),
            eq(at(NOW)),
            function(move |by: &AuditNote| {
                by.actor == Principal::user(session.user_id)
                    && by.provenance.request_id.as_deref() == Some(REQUEST_ID)
            }),
        )
        .times(1)
        .returning(|_, _, _, _, _| Ok(true));
    mocks
        .revocations
        .expect_revoke_token()
        .times(1)
        .returning(|_, _, _| Ok(()));

    auth(mocks, false)
        .logout(&Actor::User(session))
        .await
        .expect("logout");
}

fn a_session(user_id: UserId) -> UserSession {
    UserSession {
        id: SessionId::generate(),
        user_id,
        created_at: at(0),
        last_used_at: at(30),
        expires_at: at(NOW) + chrono::Duration::minutes(20),
        client_address: CLIENT,
        user_agent: None,
    }
}

/// The presented text reads as a refresh token of `session`.
fn reading(mocks: &mut Mocks, session: SessionId) {
    mocks
        .tokens
        .expect_read_refresh()
        .withf(|text| text == "presented")
        .returning(move |_| Some((session, RefreshDigest::new("presented-digest".to_owned()))));
}

#[tokio::test]
async fn a_current_refresh_token_is_rotated_for_a_new_access_token() {
    let user = UserId::generate();
    let session = a_session(user);
    let mut mocks = Mocks::new();
    reading(&mut mocks, session.id);
    let keys = vec![
        ThrottleKey::Client(CLIENT),
        ThrottleKey::Refreshes(session.id.to_string()),
    ];
    let admitted = keys.clone();
    mocks
        .throttle
        .expect_admit()
        .withf(move |k, now| k == admitted && *now == at(NOW))
        .times(1)
        .returning(|_, _| Ok(()));
    let settled = keys.clone();
    mocks
        .throttle
        .expect_succeeded()
        .withf(move |k, _| k == settled)
        .times(1)
        .return_const(());
    let stored = session.clone();
    let recorded = std::sync::Arc::new(std::sync::Mutex::new(None));
    let sink = std::sync::Arc::clone(&recorded);
    mocks
        .sessions
        .expect_refresh()
        .withf(|presented, _, now, cutoff, from| {
            presented.as_str() == "presented-digest"
                && *now == at(NOW)
                && *cutoff == at(NOW) - SESSIONS.idle_timeout
                && from.actor.as_str() == "anonymous"
                && from.client == Some(CLIENT.to_string())
        })
        .times(1)
        .returning(move |_, next, _, _, _| {
            *sink.lock().expect("lock") = Some(next.clone());
            Ok(Refreshed::Rotated {
                session: stored.clone(),
                role: Role::Admin,
            })
        });
    mocks
        .tokens
        .expect_issue_as()
        .with(always(), eq(user), eq(Role::Admin), eq(at(NOW)))
        .times(1)
        .returning(|token_id, id, _, _| Ok(issued(token_id, id)));

    let grant = auth(mocks, false)
        .refresh("presented", CLIENT)
        .await
        .expect("refreshed");

    let next = recorded.lock().expect("lock").clone().expect("stored");
    assert_eq!(next.access_token_id, grant.access.token_id);
    assert_eq!(next.digest.as_str(), format!("digest-{}", session.id));
    assert_eq!(next.issued_at, at(NOW));
    assert_eq!(grant.refresh_token, format!("refresh-{}", session.id));
    assert_eq!(grant.session, session.id);
    // Idle in an hour, but the session ends in 20 minutes.
    assert_eq!(grant.refresh_expires_at, session.expires_at);
}

#[tokio::test]
async fn a_spent_refresh_token_ends_its_session_and_is_refused() {
    let user = UserId::generate();
    let session = SessionId::generate();
    let mut mocks = Mocks::new();
    reading(&mut mocks, session);
    mocks.throttle.expect_admit().returning(|_, _| Ok(()));
    mocks.throttle.expect_succeeded().never();
    mocks
        .sessions
        .expect_refresh()
        .returning(move |_, _, _, _, _| {
            Ok(Refreshed::Reused {
                session,
                user_id: user,
            })
        });
    mocks.tokens.expect_issue_as().never();
    let counted = std::sync::Arc::clone(&mocks.counted);

    let result = auth(mocks, false).refresh("presented", CLIENT).await;

    assert!(
        matches!(result, Err(LoginError::InvalidRefreshToken)),
        "{result:?}"
    );
    assert_eq!(
        *counted.lock().expect("lock"),
        [Counted::Revoked(RevocationScope::Session)]
    );
}

#[tokio::test]
async fn an_unknown_or_malformed_refresh_token_is_refused_and_counted_against_the_client() {
    // Not even the shape of a token: the store is not asked.
    let mut mocks = Mocks::new();
    mocks.tokens.expect_read_refresh().returning(|_| None);
    mocks
        .throttle
        .expect_admit()
        .withf(|keys, _| keys == [ThrottleKey::Client(CLIENT)])
        .times(1)
        .returning(|_, _| Ok(()));
    mocks.sessions.expect_refresh().never();
    let result = auth(mocks, false).refresh("garbage", CLIENT).await;
    assert!(
        matches!(result, Err(LoginError::InvalidRefreshToken)),
        "{result:?}"
    );

    // The shape of one, but not current.
    let mut mocks = Mocks::new();
    reading(&mut mocks, SessionId::generate());
    mocks
        .throttle
        .expect_admit()
        .times(1)
        .returning(|_, _| Ok(()));
    mocks.throttle.expect_succeeded().never();
    mocks
        .sessions
        .expect_refresh()
        .returning(|_, _, _, _, _| Ok(Refreshed::Invalid));
    let result = auth(mocks, false).refresh("presented", CLIENT).await;
    assert!(
        matches!(result, Err(LoginError::InvalidRefreshToken)),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_throttled_refresh_does_not_reach_the_store() {
    let mut mocks = Mocks::new();
    reading(&mut mocks, SessionId::generate());
    mocks.throttle.expect_admit().returning(|_, _| {
        Err(Throttled {
            retry_after: Duration::from_secs(7),
        })
    });
    mocks.sessions.expect_refresh().never();
    let result = auth(mocks, false).refresh("presented", CLIENT).await;
    assert!(
        matches!(result, Err(LoginError::Throttled { retry_after }) if retry_after == Duration::from_secs(7)),
        "{result:?}"
    );
}

#[tokio::test]
async fn sessions_are_listed_and_ended_for_those_allowed_only() {
    let user = stored_user("ada@example.com", 1);
    let session = a_session(user.id);
    let mut mocks = Mocks::new();
    mocks.users.expect_find_recent().returning({
        let user = user.clone();
        move |_| Ok(Some(user.clone()))
    });
    let listed = session.clone();
    mocks
        .sessions
        .expect_list()
        .with(
            eq(user.id),
            eq(at(NOW)),
            eq(at(NOW) - SESSIONS.idle_timeout),
        )
        .returning(move |_, _, _| Ok(vec![listed.clone()]));
    mocks
        .sessions
        .expect_end()
        .with(
            eq(user.id),
            eq(session.id),
            eq(SessionEnd::Ended),
            eq(at(NOW)),
            function(move |by: &AuditNote| by.actor == Principal::user(user.id)),
        )
        .returning(|_, _, _, _, _| Ok(true));
    let service = auth(mocks, false);
    let actor = Actor::User(Session::fake(user.id, Role::Member));
    assert_eq!(
        service.sessions(&actor, user.id).await.expect("listed"),
        std::slice::from_ref(&session)
    );
    service
        .end_session(&actor, user.id, session.id)
        .await
        .expect("ended");
}

#[tokio::test]
async fn sessions_are_not_listed_or_ended_when_refused_or_missing() {
    let actor = Actor::User(Session::fake(UserId::generate(), Role::Member));
    // Refused by the policy: nothing is read or ended.
    let mut mocks = Mocks::new();
    mocks.authorizer = roster_domain::ports::MockAuthorizer::new();
    mocks
        .authorizer
        .expect_authorize()
        .returning(|_, _| Err(AccessDenied::Forbidden));
    mocks.sessions.expect_list().never();
    mocks.sessions.expect_end().never();
    let service = auth(mocks, false);
    let result = service.sessions(&actor, UserId::generate()).await;
    assert!(matches!(result, Err(UsersError::Forbidden)), "{result:?}");
    let result = service
        .end_session(&actor, UserId::generate(), SessionId::generate())
        .await;
    assert!(matches!(result, Err(UsersError::Forbidden)), "{result:?}");

    // No such user, or no such active session.
    let mut mocks = Mocks::new();
    mocks.users.expect_find_recent().returning(|_| Ok(None));
    mocks
        .sessions
        .expect_end()
        .returning(|_, _, _, _, _| Ok(false));
    let service = auth(mocks, false);
    let missing = UserId::generate();
    let result = service.sessions(&Actor::System, missing).await;
    assert!(
        matches!(result, Err(UsersError::NotFound(id)) if id == missing),
        "{result:?}"
    );
    let result = service
        .end_session(&Actor::System, missing, SessionId::generate())
        .await;
    assert!(
        matches!(result, Err(UsersError::SessionNotFound(_))),
        "{result:?}"
    );
}
