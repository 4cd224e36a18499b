//! Login throttling as clients behind a trusted proxy see it: per address (an IPv6
//! /64), per account from an address, per account from everywhere; counted as
//! attempts are admitted, so concurrent guesses cannot overrun a limit.

use reqwest::{Response, StatusCode};
use roster_persistence::Backend;
use serde_json::json;

use crate::helpers::{PASSWORD, TestApp};

roster_persistence::backend_tests!(
    an_attacker_locks_an_account_for_its_own_address_only,
    concurrent_wrong_guesses_cannot_overrun_the_limit,
    hashing_is_budgeted_and_a_password_change_is_no_oracle,
);

/// The test app, behind a "proxy" on loopback whose `X-Forwarded-For` names clients.
async fn behind_a_proxy(backend: Backend) -> Option<TestApp> {
    TestApp::spawn_with(backend, |s| {
        s.server.trusted_proxies = vec!["127.0.0.1/32".parse().expect("net")];
    })
    .await
}

async fn login_from(app: &TestApp, client: &str, password: &str) -> Response {
    app.anonymous
        .post(app.url("/api/v1/auth/token"))
        .header("x-forwarded-for", client)
        .json(&json!({ "email": "ada@example.com", "password": password }))
        .send()
        .await
        .expect("login")
}

async fn an_attacker_locks_an_account_for_its_own_address_only(backend: Backend) {
    let Some(app) = behind_a_proxy(backend).await else {
        return;
    };
    app.created_user("ada@example.com", "Ada").await;
    for attacker in ["203.0.113.1", "2001:db8:1:2::1"] {
        for _ in 0..5 {
            let guess = login_from(&app, attacker, "wrong guess").await;
            assert_eq!(guess.status(), StatusCode::UNAUTHORIZED, "{attacker}");
        }
    }
    // The same address with a port, and another address of the same IPv6 /64, are the
    // same client: no fresh budget.
    for same in [
        "203.0.113.1:5678",
        "[2001:db8:1:2::99]:443",
        "2001:db8:1:2:ffff::1",
    ] {
        let refused = login_from(&app, same, PASSWORD).await;
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS, "{same}");
        assert!(refused.headers().contains_key("retry-after"));
    }
    // The owner, elsewhere, logs in; so does the next /64.
    for owner in ["198.51.100.2", "2001:db8:1:3::1"] {
        let ok = login_from(&app, owner, PASSWORD).await;
        assert_eq!(ok.status(), StatusCode::OK, "{owner}");
    }
}

async fn concurrent_wrong_guesses_cannot_overrun_the_limit(backend: Backend) {
    let Some(app) = behind_a_proxy(backend).await else {
        return;
    };
    app.created_user("ada@example.com", "Ada").await;
    let guesses = (0..24).map(|_| login_from(&app, "203.0.113.7", "wrong guess"));
    let statuses: Vec<StatusCode> = futures_util::future::join_all(guesses)
        .await
        .iter()
        .map(Response::status)
        .collect();
    let tried = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((tried, refused), (5, 19), "{statuses:?}");
}

/// Registrations hash: a client's budget of hashes runs out (429), another client's
/// does not. A member's wrong current passwords count against the account like wrong
/// logins, so a stolen token cannot test passwords without limit.
async fn hashing_is_budgeted_and_a_password_change_is_no_oracle(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |s| {
        s.server.trusted_proxies = vec!["127.0.0.1/32".parse().expect("net")];
        s.auth.allow_registration = true;
        s.auth.throttle.max_hashes_per_client = 3;
    })
    .await
    else {
        return;
    };
    let register = |client: &'static str, n: usize| {
        app.anonymous
            .post(app.url("/api/v1/auth/register"))
            .header("x-forwarded-for", client)
            .json(
                &json!({ "email": format!("r{n}@example.com"), "name": "R", "password": PASSWORD }),
            )
            .send()
    };
    for n in 0..3 {
        let created = register("203.0.113.9", n).await.expect("register");
        assert_eq!(created.status(), StatusCode::CREATED, "{n}");
    }
    let refused = register("203.0.113.9", 3).await.expect("register");
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let elsewhere = register("198.51.100.9", 4).await.expect("register");
    assert_eq!(elsewhere.status(), StatusCode::CREATED);

    // With r0's token, each password change attempt costs a hash: the wrong current
    // passwords run the budget out, and then the right one is refused too.
    let token = app.login("r0@example.com", PASSWORD).await;
    let member = TestApp::client_with(&token);
    let me: serde_json::Value = member
        .get(app.url("/api/v1/users/me"))
        .send()
        .await
        .expect("me")
        .json()
        .await
        .expect("json");
    let path = format!("/api/v1/users/{}/password", me["id"].as_str().expect("id"));
    let change = |current: &'static str| {
        member
            .put(app.url(&path))
            .header("x-forwarded-for", "192.0.2.50")
            .json(&json!({ "current_password": current, "new_password": "an entirely new one" }))
            .send()
    };
    for _ in 0..3 {
        let wrong = change("not it").await.expect("put");
        assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    for current in ["not it", PASSWORD] {
        let refused = change(current).await.expect("put");
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS, "{current}");
    }
}
