//! Authentication use-case tests against mocks.

use std::time::Duration;

use mockall::predicate::{always, eq, function};
use roster_domain::{
    IssuedToken, PasswordPolicy, Role, Session, TokenId, UserId,
    ports::{PasswordCheck, Throttled},
};

use super::*;
use crate::testing::{CLIENT, Mocks, NOW, REQUEST_ID, SESSIONS, at, hash, new_user, stored_user};

fn auth(mocks: Mocks, allow_registration: bool) -> AuthService {
    let ports = mocks.ports();
    let users = UserService::new(ports.clone(), PasswordPolicy::default());
    AuthService::new(ports, users, allow_registration, SESSIONS)
}

fn password() -> Password {
    Password::new("correct horse battery staple")
}

/// Throttling that admits the attempt (counting it as a failure at once) and expects
/// it to be taken back exactly when it succeeds.
fn expect_outcome(mocks: &mut Mocks, success: bool) {
    mocks
        .throttle
        .expect_admit()
        .times(1)
        .returning(|_, _| Ok(()));
    mocks
        .throttle
        .expect_succeeded()
        .times(usize::from(success))
        .return_const(());
    // A failure is counted in the audit log, from this request, in the hour's entry.
    mocks
        .audit
        .expect_failed_login()
        .withf(|attempt, window| {
            attempt.client == CLIENT.to_string()
                && attempt.at == at(NOW)
                && attempt.provenance.request_id.as_deref() == Some(REQUEST_ID)
                && *window == FAILED_LOGINS_WINDOW
        })
        .times(usize::from(!success))
        .returning(|_, _| Ok(()));
}

/// A successful login of `id` at [`NOW`] from [`CLIENT`], in request [`REQUEST_ID`].
fn the_login_of(id: UserId) -> impl Fn(&LoginAttempt) -> bool {
    move |attempt| {
        attempt.account == Some(id)
            && attempt.at == at(NOW)
            && attempt.client == CLIENT.to_string()
            && attempt.provenance.request_id.as_deref() == Some(REQUEST_ID)
    }
}

fn issued(token_id: TokenId, user_id: UserId) -> IssuedToken {
    IssuedToken {
        token: format!("token-for-{user_id}"),
        token_id,
        expires_at: at(NOW + 900),
    }
}

/// Mocks for a login that succeeds: the user found, the password right, the login
/// recorded, a token issued.
fn succeeding_login(user: &User) -> Mocks {
    let mut mocks = Mocks::new();
    mocks.finding_by_email(user);
    mocks
        .hasher
        .expect_verify()
        .returning(|_, _| Ok(PasswordCheck::Match { outdated: false }));
    mocks
        .users
        .expect_record_login()
        .returning(|_, _, _| Ok(()));
    mocks
        .tokens
        .expect_issue_as()
        .returning(|token_id, id, _, _| Ok(issued(token_id, id)));
    mocks.sessions.expect_start().returning(|_, _, _| Ok(()));
    expect_outcome(&mut mocks, true);
    mocks
}

#[tokio::test]
async fn a_right_password_records_the_login_issues_a_token_and_starts_a_session() {
    let user = stored_user("ada@example.com", 1);
    let mut mocks = Mocks::new();
    mocks.finding_by_email(&user);
    mocks
        .hasher
        .expect_verify()
        .returning(|_, _| Ok(PasswordCheck::Match { outdated: false }));
    mocks
        .users
        .expect_record_login()
        .with(eq(user.id), function(the_login_of(user.id)), eq(None))
        .times(1)
        .returning(|_, _, _| Ok(()));
    let minted = std::sync::Arc::new(std::sync::Mutex::new(None));
    let sink = std::sync::Arc::clone(&minted);
    mocks
        .tokens
        .expect_issue_as()
        .with(always(), eq(user.id), eq(Role::Member), eq(at(NOW)))
        .returning(move |token_id, id, _, _| {
            *sink.lock().expect("lock") = Some(token_id);
            Ok(issued(token_id, id))
        });
    let started = std::sync::Arc::new(std::sync::Mutex::new(None));
    let sink = std::sync::Arc::clone(&started);
    mocks
        .sessions
        .expect_start()
        .times(1)
        .returning(move |session, first, max| {
            *sink.lock().expect("lock") = Some((session.clone(), first.clone(), max));
            Ok(())
        });
    expect_outcome(&mut mocks, true);
    let agent = "x".repeat(300);

    let grant = auth(mocks, false)
        .login(" ADA@example.com ", &password(), CLIENT, Some(&agent))
        .await
        .expect("login");

    assert_eq!(grant.access.token, format!("token-for-{}", user.id));
    let (session, first, max) = started.lock().expect("lock").clone().expect("started");
    assert_eq!(session.id, grant.session);
    assert_eq!(session.user_id, user.id);
    assert_eq!(
        (session.created_at, session.last_used_at),
        (at(NOW), at(NOW))
    );
    assert_eq!(session.expires_at, at(NOW) + SESSIONS.lifetime);
    assert_eq!(session.client_address, CLIENT);
    assert_eq!(
        session.user_agent.as_deref(),
        Some("x".repeat(256).as_str())
    );
    assert_eq!(max, SESSIONS.max_per_user);
    assert_eq!(Some(first.access_token_id), *minted.lock().expect("lock"));
    assert_eq!(first.access_expires_at, grant.access.expires_at);
    assert_eq!(first.digest.as_str(), format!("digest-{}", session.id));
    assert_eq!(grant.refresh_token, format!("refresh-{}", session.id));
    assert_eq!(grant.refresh_expires_at, at(NOW) + SESSIONS.idle_timeout);
}

#[tokio::test]
async fn an_outdated_hash_is_replaced_on_login() {
    let user = stored_user("ada@example.com", 1);
    let mut mocks = Mocks::new();
    mocks.finding_by_email(&user);
    mocks
        .hasher
        .expect_verify()
        .returning(|_, _| Ok(PasswordCheck::Match { outdated: true }));
    mocks
        .users
        .expect_record_login()
        .with(
            eq(user.id),
            function(the_login_of(user.id)),
            eq(Some(hash("of-28"))),
        )
        .times(1)
        .returning(|_, _, _| Ok(()));
    mocks
        .tokens
        .expect_issue_as()
        .returning(|token_id, id, _, _| Ok(issued(token_id, id)));
    mocks.sessions.expect_start().returning(|_, _, _| Ok(()));
    expect_outcome(&mut mocks, true);

    auth(mocks, false)
        .login("ada@example.com", &password(), CLIENT, None)
        .await
        .expect("login");
}

// Wrong password, unknown e-mail, disabled and passwordless accounts fail alike.

/// The login fails as every failed login does, and counts against the throttle.
async fn fails_alike(mut mocks: Mocks, email: &str) {
    expect_outcome(&mut mocks, false);
    let result = auth(mocks, false)
        .login(email, &password(), CLIENT, None)
        .await;
    assert!(
        matches!(result, Err(LoginError::InvalidCredentials)),
        "{email}: {result:?}"
    );
}

#[tokio::test]
async fn a_wrong_password_fails() {
    let user = stored_user("ada@example.com", 1);
    let mut mocks = Mocks::new();
    mocks.finding_by_email(&user);
    mocks
        .hasher
        .expect_verify()
        .times(1)
        .returning(|_, _| Ok(PasswordCheck::Mismatch));
    fails_alike(mocks, "ada@example.com").await;
}

/// The audit log's entry for a failure names the account when the address is a
/// user's, and none for an unknown address.
#[tokio::test]
async fn a_failed_login_is_audited_under_its_account_or_none() {
    let user = stored_user("ada@example.com", 1);
    for (email, account) in [
        ("ada@example.com", Some(user.id)),
        ("nobody@example.com", None),
    ] {
        let mut mocks = Mocks::new();
        let known = (account.is_some()).then(|| user.clone());
        mocks
            .users
            .expect_find_by_email()
            .returning(move |_| Ok(known.clone()));
        mocks
            .hasher
            .expect_verify()
            .returning(|_, _| Ok(PasswordCheck::Mismatch));
        mocks.hasher.expect_verify_dummy().returning(|_| Ok(()));
        mocks.throttle.expect_admit().returning(|_, _| Ok(()));
        mocks
            .audit
            .expect_failed_login()
            .withf(move |attempt, _| attempt.account == account)
            .times(1)
            .returning(|_, _| Ok(()));
        let result = auth(mocks, false)
            .login(email, &password(), CLIENT, None)
            .await;
        assert!(
            matches!(result, Err(LoginError::InvalidCredentials)),
            "{email}"
        );
    }
}

#[tokio::test]
async fn an_unknown_email_fails_after_the_same_work() {
    // Unknown e-mail, and text that is no e-mail at all: the dummy hash does the same work.
    for email in ["nobody@example.com", "not an address"] {
        let mut mocks = Mocks::new();
        mocks.users.expect_find_by_email().returning(|_| Ok(None));
        mocks
            .hasher
            .expect_verify_dummy()
            .times(1)
            .returning(|_| Ok(()));
        fails_alike(mocks, email).await;
    }
}

#[tokio::test]
async fn a_disabled_account_fails_after_verifying() {
    // Disabled, with the right password: verified all the same, then refused.
    let user = stored_user("ada@example.com", 1);
    let disabled = User {
        status: Status::Disabled,
        ..user.clone()
    };
    let mut mocks = Mocks::new();
    mocks
        .users
        .expect_find_by_email()
        .returning(move |_| Ok(Some(disabled.clone())));
    mocks
        .hasher
        .expect_verify()
        .times(1)
        .returning(|_, _| Ok(PasswordCheck::Match { outdated: false }));
    mocks.tokens.expect_issue_as().never();
    fails_alike(mocks, "ada@example.com").await;
}

#[tokio::test]
async fn an_account_without_a_password_fails() {
    // No password yet.
    let user = stored_user("ada@example.com", 1);
    let passwordless = User {
        password_hash: None,
        ..user
    };
    let mut mocks = Mocks::new();
    mocks
        .users
        .expect_find_by_email()
        .returning(move |_| Ok(Some(passwordless.clone())));
    mocks
        .hasher
        .expect_verify_dummy()
        .times(1)
        .returning(|_| Ok(()));
    fails_alike(mocks, "ada@example.com").await;
}

#[tokio::test]
async fn a_throttled_login_is_refused_before_any_work() {
    let mut mocks = Mocks::new();
    mocks
        .throttle
        .expect_admit()
        .withf(|keys, _| {
            keys == [
                ThrottleKey::Client(CLIENT),
                ThrottleKey::Hashes(CLIENT),
                ThrottleKey::AccountFromClient("ada@example.com".to_owned(), CLIENT),
                ThrottleKey::Account("ada@example.com".to_owned()),
            ]
        })
        .returning(|_, _| {
            Err(Throttled {
                retry_after: Duration::from_secs(42),
            })
        });
    mocks.users.expect_find_by_email().never();

    let result = auth(mocks, false)
        .login("Ada@Example.com", &password(), CLIENT, None)
        .await;

    assert!(
        matches!(result, Err(LoginError::Throttled { retry_after }) if retry_after == Duration::from_secs(42))
    );
}

/// The session a token grants, with the token's claims as issued.
fn authenticating(mocks: &mut Mocks, session: &Session) {
    let valid = session.clone();
    mocks
        .tokens
        .expect_authenticate()
        .returning(move |_, _| Ok(valid.clone()));
}

#[tokio::test]
async fn authentication_takes_the_users_current_role_and_refuses_a_void_session() {
    let session = Session::fake(UserId::generate(), Role::Admin);
    let mut mocks = Mocks::new();
    authenticating(&mut mocks, &session);
    mocks
        .revocations
        .expect_standing()
        .times(1)
        .returning(|_| Ok(Standing::Current(Role::Admin)));
    let actor = auth(mocks, false)
        .authenticate("token")
        .await
        .expect("valid");
    assert_eq!(actor, Actor::User(session.clone()));

    // Demoted since the token was issued: the session carries the role now.
    let mut mocks = Mocks::new();
    authenticating(&mut mocks, &session);
    mocks
        .revocations
        .expect_standing()
        .returning(|_| Ok(Standing::Current(Role::Member)));
    let actor = auth(mocks, false)
        .authenticate("token")
        .await
        .expect("valid");
    let Actor::User(demoted) = actor else {
        panic!("{actor:?}");
    };
    assert_eq!(demoted.role, Role::Member);

    // Revoked, or the user disabled or gone.
    let mut mocks = Mocks::new();
    authenticating(&mut mocks, &session);
    mocks
        .revocations
        .expect_standing()
        .returning(|_| Ok(Standing::Void));
    let result = auth(mocks, false).authenticate("token").await;
    assert!(
        matches!(
            result,
            Err(AuthError::Invalid(AuthenticationError::Revoked))
        ),
        "{result:?}"
    );

    let mut mocks = Mocks::new();
    mocks
        .tokens
        .expect_authenticate()
        .returning(|_, _| Err(AuthenticationError::Expired));
    mocks.revocations.expect_standing().never();
    let result = auth(mocks, false).authenticate("token").await;
    assert!(
        matches!(
            result,
            Err(AuthError::Invalid(AuthenticationError::Expired))
        ),
        "{result:?}"
    );
}

#[tokio::test]
async fn registration_creates_active_members_only_when_enabled() {
    let result = auth(Mocks::new(), false)
        .register(new_user("ada@example.com"), CLIENT)
        .await
        .expect("closed");
    assert_eq!(result, None);

    let mut mocks = Mocks::new();
    mocks
        .users
        .expect_insert()
        .withf(|u, _| u.role == Role::Member && u.status == Status::Active)
        .times(1)
        .returning(|_, _| Ok(()));
    // Each registration costs a hash, counted against the client.
    mocks.admitting_one_hash();
    let created = auth(mocks, true)
        .register(new_user("ada@example.com"), CLIENT)
        .await
        .expect("open");
    assert_eq!(created.map(|u| u.role), Some(Role::Member));

    let mut mocks = Mocks::new();
    mocks.users.expect_insert().never();
    mocks.throttle.expect_admit().returning(|_, _| {
        Err(Throttled {
            retry_after: Duration::from_secs(9),
        })
    });
    let throttled = auth(mocks, true)
        .register(new_user("ada@example.com"), CLIENT)
        .await;
    assert!(
        matches!(throttled, Err(UsersError::Throttled { .. })),
        "{throttled:?}"
    );

    // Asking for a role or status is refused, not quietly ignored.
    for (role, status) in [
        (Role::Admin, Status::Active),
        (Role::Member, Status::Disabled),
    ] {
        let mut mocks = Mocks::new();
        mocks.users.expect_insert().never();
        let asking = NewUser {
            role,
            status,
            ..new_user("ada@example.com")
        };
        let refused = auth(mocks, true).register(asking, CLIENT).await;
        assert!(
            matches!(refused, Err(UsersError::Forbidden)),
            "{role:?} {status:?}"
        );
    }
}

#[tokio::test]
async fn the_first_administrator_is_created_only_into_an_empty_store() {
    let mut mocks = Mocks::new();
    mocks.users.expect_has_users().returning(|| Ok(false));
    mocks
        .users
        .expect_insert()
        .withf(|u, _| u.role == Role::Admin)
        .times(1)
        .returning(|_, _| Ok(()));
    let created = auth(mocks, false)
        .bootstrap_admin(new_user("root@example.com"))
        .await
        .expect("bootstrap");
    assert_eq!(created.map(|u| u.role), Some(Role::Admin));

    let mut mocks = Mocks::new();
    mocks.users.expect_has_users().returning(|| Ok(true));
    mocks.users.expect_insert().never();
    let created = auth(mocks, false)
        .bootstrap_admin(new_user("root@example.com"))
        .await
        .expect("bootstrap");
    assert_eq!(created, None);
}

mod counting;
mod sessions;
