//! What every `UserRepository` must do with text, credentials and logins.

use chrono::Duration;
use roster_domain::{
    Email, LoginAttempt, PasswordHash, Provenance, UserName, ports::UserRepository,
};
use roster_persistence::Backend;

use crate::{Context, record, user};

roster_persistence::backend_tests!(
    text_round_trips_exactly,
    credentials_round_trip_and_lookup_by_email_ignores_case,
    a_password_change_is_an_update,
    recording_a_login_keeps_the_version_and_stores_a_rehash,
    has_users_tells_an_empty_store,
);

async fn text_round_trips_exactly(backend: Backend) {
    let Some(ctx) = Context::new(backend).await else {
        return;
    };
    let mut u = user("o'brien+tag.Zoë@xn--exmple-cua.com");
    u.name = UserName::parse("Zoë 'Robert'; DROP TABLE users; -- 李").expect("name");

    ctx.users.insert(&u, &record()).await.expect("insert");

    assert_eq!(ctx.users.find(u.id).await.expect("find"), Some(u));
}

fn hash(text: &str) -> PasswordHash {
    PasswordHash::from_phc(format!("$argon2id$v=19$m=19456,t=2,p=1${text}")).expect("phc")
}

async fn credentials_round_trip_and_lookup_by_email_ignores_case(backend: Backend) {
    let Some(ctx) = Context::new(backend).await else {
        return;
    };
    let ada = user("Ada@Example.com").with_password(
        hash("first"),
        chrono::SubsecRound::trunc_subsecs(chrono::Utc::now(), 6),
    );
    ctx.users.insert(&ada, &record()).await.expect("insert");
    ctx.users
        .insert(&user("grace@example.com"), &record())
        .await
        .expect("insert");

    let found = ctx
        .users
        .find_by_email(&Email::parse("ADA@EXAMPLE.COM").expect("email"))
        .await
        .expect("find");

    assert_eq!(found, Some(ada));
    let missing = ctx
        .users
        .find_by_email(&Email::parse("nobody@example.com").expect("email"))
        .await;
    assert_eq!(missing.expect("find"), None);
}

async fn a_password_change_is_an_update(backend: Backend) {
    let Some(ctx) = Context::new(backend).await else {
        return;
    };
    let original = user("ada@example.com").with_password(
        hash("first"),
        chrono::SubsecRound::trunc_subsecs(chrono::Utc::now(), 6),
    );
    ctx.users
        .insert(&original, &record())
        .await
        .expect("insert");

    let changed = original
        .clone()
        .with_password(hash("second"), original.updated_at + Duration::seconds(1));
    let stored = ctx
        .users
        .update(&changed, None, &record())
        .await
        .expect("update");

    assert_eq!(stored.password_hash, Some(hash("second")));
    assert_eq!(stored.password_changed_at, changed.password_changed_at);
    assert_eq!(stored.version, 2);
    assert_eq!(
        ctx.users.find(original.id).await.expect("find"),
        Some(stored)
    );
}

async fn recording_a_login_keeps_the_version_and_stores_a_rehash(backend: Backend) {
    let Some(ctx) = Context::new(backend).await else {
        return;
    };
    let original = user("ada@example.com").with_password(
        hash("old-params"),
        chrono::SubsecRound::trunc_subsecs(chrono::Utc::now(), 6),
    );
    ctx.users
        .insert(&original, &record())
        .await
        .expect("insert");
    let at = original.updated_at + Duration::minutes(5);
    let login = LoginAttempt {
        account: Some(original.id),
        client: "192.0.2.1".to_owned(),
        at,
        provenance: Provenance::default(),
    };

    ctx.users
        .record_login(original.id, &login, None)
        .await
        .expect("login");
    let after_login = ctx
        .users
        .find(original.id)
        .await
        .expect("find")
        .expect("user");
    assert_eq!(after_login.last_login_at, Some(at));
    assert_eq!(
        (after_login.version, &after_login.password_hash),
        (1, &original.password_hash)
    );

    ctx.users
        .record_login(original.id, &login, Some(hash("new-params")))
        .await
        .expect("login");
    let rehashed = ctx
        .users
        .find(original.id)
        .await
        .expect("find")
        .expect("user");
    assert_eq!(rehashed.password_hash, Some(hash("new-params")));
    assert_eq!(
        rehashed.password_changed_at, original.password_changed_at,
        "the password itself did not change"
    );
    assert_eq!(rehashed.version, 1);
}

async fn has_users_tells_an_empty_store(backend: Backend) {
    let Some(ctx) = Context::new(backend).await else {
        return;
    };
    assert!(!ctx.users.has_users().await.expect("query"));
    ctx.users
        .insert(&user("ada@example.com"), &record())
        .await
        .expect("insert");
    assert!(ctx.users.has_users().await.expect("query"));
}
