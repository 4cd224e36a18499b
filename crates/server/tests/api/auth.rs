//! Logging in, tokens, revocation, throttling.

use std::time::Duration;

use reqwest::StatusCode;
use roster_domain::{
    Email, NewUser, Password, Role, Status, User, UserId, UserName,
    ports::{Clock as _, PasswordHasher as _, SystemClock, UserRepository as _},
};
use roster_persistence::{Backend, Database, DieselUserRepository};
use roster_security::{Argon2Hasher, PasswordHashingSettings};
use serde_json::{Value, json};

use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, PASSWORD, TestApp, assert_problem};

roster_persistence::backend_tests!(
    a_login_issues_a_bearer_token_for_the_user,
    failed_logins_look_the_same_whatever_the_reason,
    a_login_rehashes_a_password_hashed_with_other_parameters,
    changing_the_password_revokes_earlier_tokens,
    logging_out_revokes_the_token,
    failed_logins_are_throttled_until_the_window_passes,
);

async fn a_login_issues_a_bearer_token_for_the_user(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let ada = app.created_user("ada@example.com", "Ada").await;

    let response = app.try_login("ADA@example.com", PASSWORD).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["token_type"], "Bearer");
    assert!(
        (890..=900).contains(&body["expires_in"].as_i64().expect("seconds")),
        "{body}"
    );
    let me: Value = TestApp::client_with(body["access_token"].as_str().expect("token"))
        .get(app.url("/api/v1/users/me"))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(me["id"], ada["id"]);
    assert!(
        me.get("password_hash").is_none() && !me.to_string().contains("argon2"),
        "{me}"
    );
}

async fn failed_logins_look_the_same_whatever_the_reason(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.created_user("grace@example.com", "Grace").await;
    app.created_user("gone@example.com", "Disabled").await;
    let disabled = app.login("gone@example.com", PASSWORD).await;
    let id = TestApp::client_with(&disabled)
        .get(app.url("/api/v1/users/me"))
        .send()
        .await
        .expect("me");
    let id = id.json::<Value>().await.expect("json")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let body = json!({ "email": "gone@example.com", "name": "Disabled", "role": "member", "status": "disabled" });
    let put = app
        .client
        .put(app.url(&format!("/api/v1/users/{id}")))
        .json(&body)
        .send()
        .await
        .expect("put");
    assert_eq!(put.status(), StatusCode::OK);

    let mut bodies = Vec::new();
    for (email, password) in [
        ("grace@example.com", "not her password"),
        ("nobody@example.com", PASSWORD),
        ("gone@example.com", PASSWORD),
        ("not an address", PASSWORD),
    ] {
        let response = app.try_login(email, password).await;
        assert!(response.headers().contains_key("www-authenticate"));
        bodies.push(assert_problem(response, StatusCode::UNAUTHORIZED).await);
    }
    assert!(
        bodies.windows(2).all(|pair| pair[0] == pair[1]),
        "{bodies:?}"
    );
    let stale = TestApp::client_with(&disabled)
        .get(app.url("/api/v1/users/me"))
        .send()
        .await
        .expect("me");
    assert_eq!(
        stale.status(),
        StatusCode::UNAUTHORIZED,
        "disabling revoked the user's token"
    );
}

async fn a_login_rehashes_a_password_hashed_with_other_parameters(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let database = Database::connect(&app.database.settings())
        .await
        .expect("pool");
    let users = DieselUserRepository::new(database.clone());
    let old = Argon2Hasher::new(&PasswordHashingSettings {
        memory_kib: 2048,
        iterations: 2,
        ..PasswordHashingSettings::default()
    })
    .expect("hasher");
    let now = SystemClock.now();
    let new = NewUser {
        email: Email::parse("old@example.com").expect("email"),
        name: UserName::parse("Old Timer").expect("name"),
        role: Role::Member,
        status: Status::Active,
        password: Password::new(PASSWORD),
    };
    let user = User::create(UserId::generate(), new, now)
        .with_password(old.hash(&Password::new(PASSWORD)).await.expect("hash"), now);
    users
        .insert(
            &user,
            &roster_domain::ChangeRecord::new(
                &roster_domain::Actor::System,
                now,
                vec![roster_domain::UserChange::Created],
            ),
        )
        .await
        .expect("insert");

    app.login("old@example.com", PASSWORD).await;

    let stored = users.find(user.id).await.expect("find").expect("user");
    let hash = stored.password_hash.expect("hash");
    assert!(
        hash.as_str().starts_with("$argon2id$v=19$m=1024,t=1,p=1$"),
        "rehashed with the app's parameters"
    );
    assert!(stored.last_login_at.is_some());
    assert_eq!(stored.version, 1, "a login is not a change of the user");
    app.login("old@example.com", PASSWORD).await;
    database.close();
}

async fn changing_the_password_revokes_earlier_tokens(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let ada = app.created_user("ada@example.com", "Ada").await;
    let token = app.login("ada@example.com", PASSWORD).await;
    let ada_client = TestApp::client_with(&token);

    let change = ada_client
        .put(app.url(&format!(
            "/api/v1/users/{}/password",
            ada["id"].as_str().expect("id")
        )))
        .json(&json!({ "current_password": PASSWORD, "new_password": "my new, better password" }))
        .send()
        .await
        .expect("request");
    assert_eq!(change.status(), StatusCode::NO_CONTENT);

    let stale = ada_client
        .get(app.url("/api/v1/users/me"))
        .send()
        .await
        .expect("request");
    let challenge = stale.headers()["www-authenticate"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(
        challenge.contains("error=\"invalid_token\"") && challenge.contains("revoked"),
        "{challenge}"
    );
    assert_problem(stale, StatusCode::UNAUTHORIZED).await;
    assert_eq!(
        app.try_login("ada@example.com", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    app.login("ada@example.com", "my new, better password")
        .await;

    let weak = app
        .client
        .put(app.url(&format!(
            "/api/v1/users/{}/password",
            ada["id"].as_str().expect("id")
        )))
        .json(&json!({ "new_password": "short" }))
        .send()
        .await
        .expect("request");
    let problem = assert_problem(weak, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(problem["errors"][0]["rule"], "min_length", "{problem}");
}

async fn logging_out_revokes_the_token(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let first = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let second = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;

    let out = TestApp::client_with(&first)
        .post(app.url("/api/v1/auth/revoke"))
        .send()
        .await
        .expect("revoke");
    assert_eq!(out.status(), StatusCode::NO_CONTENT);

    let after = TestApp::client_with(&first)
        .get(app.url("/api/v1/users/me"))
        .send()
        .await
        .expect("me");
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
    let other = TestApp::client_with(&second)
        .get(app.url("/api/v1/users/me"))
        .send()
        .await
        .expect("me");
    assert_eq!(
        other.status(),
        StatusCode::OK,
        "only the presented token is revoked"
    );
}

async fn failed_logins_are_throttled_until_the_window_passes(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |s| {
        s.auth.throttle.window = Duration::from_secs(2);
        s.auth.throttle.max_failures_per_account_from_client = 2;
    })
    .await
    else {
        return;
    };
    app.created_user("ada@example.com", "Ada").await;
    for _ in 0..2 {
        assert_eq!(
            app.try_login("ada@example.com", "wrong guess")
                .await
                .status(),
            StatusCode::UNAUTHORIZED
        );
    }

    for (email, password) in [
        ("ada@example.com", PASSWORD),
        ("ada@example.com", "wrong guess"),
    ] {
        let throttled = app.try_login(email, password).await;
        let retry_after: u64 = throttled.headers()["retry-after"]
            .to_str()
            .expect("ascii")
            .parse()
            .expect("seconds");
        assert!((1..=2).contains(&retry_after), "{retry_after}");
        assert_problem(throttled, StatusCode::TOO_MANY_REQUESTS).await;
    }
    let unknown = app.try_login("nobody@example.com", "x").await;
    assert_eq!(
        unknown.status(),
        StatusCode::UNAUTHORIZED,
        "other accounts are not throttled"
    );

    tokio::time::sleep(Duration::from_millis(2100)).await;
    app.login("ada@example.com", PASSWORD).await;
}
