//! Limits shared by several instances through Redis: the login throttle and the
//! per-caller rate limit count as if one instance saw every request, and while Redis
//! is down each instance counts on its own (the documented fallback).

use std::time::Duration;

use reqwest::{Response, StatusCode};
use roster_persistence::Backend;
use roster_server::Settings;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::{
    helpers::{PASSWORD, TestApp, eventually},
    metrics,
    redis::{self, ThrowawayRedis},
};

roster_persistence::backend_tests!(
    failed_logins_on_two_instances_count_as_on_one,
    a_rate_limit_is_shared_by_two_instances,
);

/// The first instance, and a second on the same database with the same settings.
async fn two_instances(
    backend: Backend,
    configure: impl Fn(&mut Settings),
) -> Option<(TestApp, TestApp)> {
    let first = TestApp::spawn_with(backend, &configure).await?;
    let shared = first.settings.database.clone();
    let key = first.settings.auth.private_key.clone();
    let second = TestApp::spawn_with(backend, |settings| {
        configure(settings);
        settings.database = shared;
        settings.auth.private_key = key;
        settings.auth.bootstrap_admin = None;
    })
    .await
    .expect("a second instance");
    Some((first, second))
}

async fn login(app: &TestApp, on: &TestApp, password: &str) -> Response {
    app.anonymous
        .post(on.url("/api/v1/auth/token"))
        .json(&json!({ "email": "ada@example.com", "password": password }))
        .send()
        .await
        .expect("login")
}

/// Creates Ada and sends ten wrong passwords for her, alternating instances.
async fn ten_wrong_guesses(first: &TestApp, second: &TestApp) {
    first.created_user("ada@example.com", "Ada").await;
    for attempt in 0..10 {
        let on = if attempt % 2 == 0 { first } else { second };
        let guess = login(first, on, "wrong guess").await;
        assert_eq!(
            guess.status(),
            StatusCode::UNAUTHORIZED,
            "attempt {attempt}"
        );
    }
}

/// Ten wrong passwords, five on each instance, use up a budget of ten: the next
/// attempt is refused on either. Without Redis each instance would have allowed ten.
async fn failed_logins_on_two_instances_count_as_on_one(backend: Backend) {
    if !redis::shared_is_up() {
        return;
    }
    let prefix = redis::unique_prefix();
    let Some((first, second)) = two_instances(backend, |settings| {
        settings.limits.redis.url = Some(redis::SHARED_URL.to_owned());
        settings.limits.redis.key_prefix.clone_from(&prefix);
        settings.auth.throttle.max_failures_per_account_from_client = 10;
    })
    .await
    else {
        return;
    };
    ten_wrong_guesses(&first, &second).await;
    for on in [&first, &second] {
        let refused = login(&first, on, PASSWORD).await;
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        let wait: u64 = refused.headers()["retry-after"]
            .to_str()
            .expect("text")
            .parse()
            .expect("seconds");
        assert!(wait > 800 && wait <= 900, "{wait}");
    }
    second.stop().await.expect("stops");
    first.stop().await.expect("stops");

    // The same run without Redis: each instance saw five failures of its ten.
    let Some((first, second)) = two_instances(backend, |settings| {
        settings.auth.throttle.max_failures_per_account_from_client = 10;
    })
    .await
    else {
        return;
    };
    ten_wrong_guesses(&first, &second).await;
    assert_eq!(
        login(&first, &second, PASSWORD).await.status(),
        StatusCode::OK,
        "each instance alone counts only its own failures"
    );
    second.stop().await.expect("stops");
    first.stop().await.expect("stops");
}

/// `"read";r=<remaining>;t=<seconds>` of a response, as numbers.
fn state(response: &Response) -> (u64, u64) {
    let value = response.headers()["ratelimit"].to_str().expect("text");
    let field = |name: &str| {
        value
            .split(';')
            .find_map(|part| part.strip_prefix(name))
            .and_then(|n| n.parse().ok())
            .expect("the field in RateLimit")
    };
    (field("r="), field("t="))
}

async fn a_rate_limit_is_shared_by_two_instances(backend: Backend) {
    if !redis::shared_is_up() {
        return;
    }
    let prefix = redis::unique_prefix();
    let Some((first, second)) = two_instances(backend, |settings| {
        settings.limits.redis.url = Some(redis::SHARED_URL.to_owned());
        settings.limits.redis.key_prefix.clone_from(&prefix);
        settings.limits.rate.read = Some(roster_limits::QuotaSettings {
            requests: 5,
            window: Duration::from_secs(3600),
        });
    })
    .await
    else {
        return;
    };
    let me = |on: &TestApp| first.client.get(on.url("/api/v1/users/me")).send();
    // Windows are aligned on the clock: start well inside one. (Spawning the first
    // instance read /users/me once already.)
    let mut opening = me(&first).await.expect("request");
    if state(&opening).1 < 30 {
        tokio::time::sleep(Duration::from_secs(state(&opening).1 + 1)).await;
        opening = me(&first).await.expect("request");
    }
    let (mut remaining, _) = state(&opening);
    assert!(remaining >= 3, "{remaining}");
    let mut instances = [&second, &first].into_iter().cycle();
    while remaining > 0 {
        let response = me(instances.next().expect("endless"))
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()["ratelimit-policy"],
            "\"read\";q=5;w=3600"
        );
        remaining -= 1;
        assert_eq!(state(&response).0, remaining);
    }
    drop(instances);
    for on in [&first, &second] {
        let refused = me(on).await.expect("request");
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        let (remaining, reset) = state(&refused);
        assert_eq!(remaining, 0);
        assert_eq!(
            refused.headers()["retry-after"].to_str().expect("text"),
            reset.to_string()
        );
        let problem: Value = refused.json().await.expect("a problem");
        assert_eq!(problem["status"], 429);
    }
    others_are_not_counted(&first, &second).await;
    second.stop().await.expect("stops");
    first.stop().await.expect("stops");
}

/// Another caller (no token: its address) has a budget of its own; writes are not
/// limited; probes and metrics never are.
async fn others_are_not_counted(first: &TestApp, second: &TestApp) {
    let anonymous = first
        .anonymous
        .get(second.url("/api/v1/users"))
        .send()
        .await
        .expect("request");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(state(&anonymous).0, 4);
    let write = first
        .client
        .post(first.url("/api/v1/users"))
        .json(&json!({ "email": "bo@example.com", "name": "Bo", "password": PASSWORD }))
        .send()
        .await
        .expect("request");
    assert_eq!(write.status(), StatusCode::CREATED);
    assert!(!write.headers().contains_key("ratelimit"));
    for path in ["/health", "/ready", "/metrics"] {
        for _ in 0..6 {
            let probe = first
                .anonymous
                .get(first.url(path))
                .send()
                .await
                .expect("probe");
            assert_eq!(probe.status(), StatusCode::OK, "{path}");
            assert!(!probe.headers().contains_key("ratelimit"), "{path}");
        }
    }
}

async fn limits_check(app: &TestApp) -> (StatusCode, String, String) {
    let response = app.get("/ready").await;
    let status = response.status();
    let body: Value = response.json().await.expect("json");
    (
        status,
        body["status"].as_str().unwrap_or_default().to_owned(),
        body["checks"]["limits"]["status"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

/// `roster_limits_fallbacks_total` of the throttle.
async fn fallbacks(app: &TestApp) -> f64 {
    let text = metrics::scrape(app).await;
    text.lines()
        .find(|l| l.starts_with("roster_limits_fallbacks_total{") && l.contains("throttle"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("the fallback counter")
}

/// Redis killed: logins and limited requests are still answered at once, counted in the
/// instance's memory (a fresh budget: the shared counts are out of reach), and the
/// outage shows in `/ready` (degraded, still ready) and in a metric. Redis back: the
/// counts are shared again.
#[tokio::test]
async fn while_redis_is_down_each_instance_counts_alone() {
    let Some(mut server) = ThrowawayRedis::start() else {
        return;
    };
    let url = server.url();
    let Some(app) = TestApp::spawn_with(Backend::Sqlite, |settings| {
        settings.limits.redis.url = Some(url.clone());
        settings.limits.redis.retry_interval = Duration::from_millis(500);
        settings.auth.throttle.max_failures_per_account_from_client = 3;
    })
    .await
    else {
        return;
    };
    app.created_user("ada@example.com", "Ada").await;
    assert_eq!(
        limits_check(&app).await,
        (StatusCode::OK, "ready".to_owned(), "up".to_owned())
    );
    for _ in 0..3 {
        assert_eq!(
            login(&app, &app, "wrong guess").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        login(&app, &app, PASSWORD).await.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "three failures counted in Redis"
    );

    server.kill();
    let started = Instant::now();
    for _ in 0..3 {
        assert_eq!(
            login(&app, &app, "wrong guess").await.status(),
            StatusCode::UNAUTHORIZED,
            "the instance's own budget, from zero"
        );
    }
    assert_eq!(
        login(&app, &app, PASSWORD).await.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "and it is enforced"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "an outage costs at most a timeout per retry interval: {:?}",
        started.elapsed()
    );
    assert_eq!(
        limits_check(&app).await,
        (StatusCode::OK, "degraded".to_owned(), "degraded".to_owned())
    );
    let fallbacks = fallbacks(&app).await;
    assert!(fallbacks >= 4.0, "{fallbacks}");

    // Back, empty: shared counting resumes once the retry interval has passed.
    server.resume();
    eventually(Duration::from_secs(10), "/ready is ready again", || async {
        limits_check(&app).await.1 == "ready"
    })
    .await;
    assert_eq!(
        login(&app, &app, PASSWORD).await.status(),
        StatusCode::OK,
        "the new Redis holds no failures"
    );
    app.stop().await.expect("stops");
}
