//! The audit log: every change and successful login stores its entry in its own
//! transaction, a refused one stores none; failed logins are aggregated; listing
//! filters and pages newest first; trimming removes old entries only.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, SubsecRound as _, Utc};
use roster_domain::{
    Actor, AuditAction, AuditEntry, AuditFilter, AuditOutcome, AuditQuery, ChangeRecord,
    LoginAttempt, PageSize, Principal, Provenance, Session, User, UserChange, UserField,
    ports::{AuditLog, Clock as _, InsertUserError, SystemClock, UserRepository},
};
use roster_persistence::{Backend, DieselAuditLog};

use crate::{Context, user};

roster_persistence::backend_tests!(
    a_change_or_login_commits_its_entry_and_a_refused_one_none,
    failed_logins_are_counted_per_account_client_and_window,
    listing_filters_and_pages_newest_first_and_trimming_keeps_the_recent,
);

fn audit(ctx: &Context) -> DieselAuditLog {
    DieselAuditLog::new(ctx.database.clone())
}

fn from_request(id: &str) -> Provenance {
    Provenance {
        request_id: Some(id.to_owned()),
        trace_id: Some("4bf92f3577b34da6a3ce929d0e0e4736".to_owned()),
    }
}

async fn everything(ctx: &Context) -> Vec<AuditEntry> {
    let query = AuditQuery {
        size: PageSize::new(200).expect("size"),
        ..AuditQuery::default()
    };
    audit(ctx).list(&query, 200).await.expect("list")
}

/// Ada created by `by_admin` at `now` (from request `req-1`), a second insert of her
/// address refused, her name changed a second later (from no request), and her login
/// two seconds later (from `req-3`).
async fn ada_created_refused_renamed_and_logged_in(
    ctx: &Context,
    by_admin: &Actor,
    ada: &User,
    now: DateTime<Utc>,
) {
    let created = ChangeRecord::new(by_admin, now, vec![UserChange::Created])
        .from_request(from_request("req-1"));
    ctx.users.insert(ada, &created).await.expect("insert");

    let duplicate = user("ADA@example.com");
    let refused = ctx.users.insert(&duplicate, &created).await;
    assert!(
        matches!(refused, Err(InsertUserError::EmailTaken)),
        "{refused:?}"
    );
    let renamed = User {
        name: roster_domain::UserName::parse("Ada").expect("name"),
        ..ada.clone()
    };
    let fields = vec![UserField::Name, UserField::Email];
    let updated = ChangeRecord::new(
        by_admin,
        now + Duration::seconds(1),
        vec![UserChange::Updated { fields }],
    );
    ctx.users
        .update(&renamed, None, &updated)
        .await
        .expect("update");
    let login = LoginAttempt {
        account: Some(ada.id),
        client: "192.0.2.7".to_owned(),
        at: now + Duration::seconds(2),
        provenance: from_request("req-3"),
    };
    ctx.users
        .record_login(ada.id, &login, None)
        .await
        .expect("login");
}

async fn a_change_or_login_commits_its_entry_and_a_refused_one_none(backend: Backend) {
    let Some(ctx) = Context::new(backend).await else {
        return;
    };
    let admin = user("root@example.com");
    let by_admin = Actor::User(Session::fake(admin.id, roster_domain::Role::Admin));
    let now = SystemClock.now().trunc_subsecs(6);
    let ada = user("ada@example.com");
    ada_created_refused_renamed_and_logged_in(&ctx, &by_admin, &ada, now).await;

    let entries = everything(&ctx).await;
    let summary: Vec<_> = entries
        .iter()
        .map(|e| (e.action, e.actor.to_string(), e.target, e.outcome))
        .collect();
    let actor = format!("user:{}", admin.id);
    assert_eq!(
        summary,
        [
            (
                AuditAction::LoginSucceeded,
                format!("user:{}", ada.id),
                Some(ada.id),
                AuditOutcome::Success
            ),
            (
                AuditAction::UserUpdated,
                actor.clone(),
                Some(ada.id),
                AuditOutcome::Success
            ),
            (
                AuditAction::UserCreated,
                actor,
                Some(ada.id),
                AuditOutcome::Success
            ),
        ],
        "newest first; the refused insert left nothing"
    );
    let [logged_in, renamed, created] = entries.as_slice() else {
        panic!("three entries");
    };
    assert_eq!(logged_in.client.as_deref(), Some("192.0.2.7"));
    assert_eq!(logged_in.provenance, from_request("req-3"));
    assert_eq!(logged_in.at, now + Duration::seconds(2));
    assert_eq!(renamed.fields, ["name", "email"]);
    assert_eq!(renamed.provenance, Provenance::default());
    assert_eq!(created.provenance, from_request("req-1"));
    assert_eq!((created.attempts, created.at), (1, now));
    assert!(created.fields.is_empty());
}

async fn failed_logins_are_counted_per_account_client_and_window(backend: Backend) {
    let Some(ctx) = Context::new(backend).await else {
        return;
    };
    let ada = user("ada@example.com");
    let start = SystemClock.now().trunc_subsecs(6);
    let attempt = |account, client: &str, seconds| LoginAttempt {
        account,
        client: client.to_owned(),
        at: start + Duration::seconds(seconds),
        provenance: from_request("req"),
    };
    let hour = StdDuration::from_secs(3600);
    let log = audit(&ctx);
    for second in 0..5 {
        let failed = attempt(Some(ada.id), "192.0.2.1", second);
        log.failed_login(&failed, hour).await.expect("failed");
    }
    let elsewhere = attempt(Some(ada.id), "192.0.2.2", 5);
    log.failed_login(&elsewhere, hour).await.expect("failed");
    for second in 6..9 {
        let unknown = attempt(None, "192.0.2.1", second);
        log.failed_login(&unknown, hour).await.expect("failed");
    }
    let next_hour = attempt(Some(ada.id), "192.0.2.1", 3601);
    log.failed_login(&next_hour, hour).await.expect("failed");

    let entries = everything(&ctx).await;
    let summary: Vec<_> = entries
        .iter()
        .map(|e| {
            (
                e.target,
                e.client.clone().unwrap_or_default(),
                e.attempts,
                (e.last_at - e.at).num_seconds(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (Some(ada.id), "192.0.2.1".to_owned(), 1, 0),
            (None, "192.0.2.1".to_owned(), 3, 2),
            (Some(ada.id), "192.0.2.2".to_owned(), 1, 0),
            (Some(ada.id), "192.0.2.1".to_owned(), 5, 4),
        ]
    );
    assert!(entries.iter().all(|e| e.action == AuditAction::LoginFailed
        && e.outcome == AuditOutcome::Failure
        && e.actor.as_str() == "anonymous"));
}

/// Four users created by the system a day apart, from ten days ago; each with the
/// time of its creation.
async fn four_users_a_day_apart(ctx: &Context) -> Vec<(User, DateTime<Utc>)> {
    let start: DateTime<Utc> = SystemClock.now().trunc_subsecs(6) - Duration::days(10);
    let mut users = Vec::new();
    for (day, email) in [
        "a@example.com",
        "b@example.com",
        "c@example.com",
        "d@example.com",
    ]
    .into_iter()
    .enumerate()
    {
        let stored = user(email);
        let at = start + Duration::days(i64::try_from(day).expect("day"));
        let created = ChangeRecord::new(&Actor::System, at, vec![UserChange::Created]);
        ctx.users.insert(&stored, &created).await.expect("insert");
        users.push((stored, at));
    }
    users
}

async fn listing_filters_and_pages_newest_first_and_trimming_keeps_the_recent(backend: Backend) {
    let Some(ctx) = Context::new(backend).await else {
        return;
    };
    let users = four_users_a_day_apart(&ctx).await;
    let (first, first_at) = &users[0];
    let log = audit(&ctx);
    let list = |filter: AuditFilter, before| {
        let query = AuditQuery {
            filter,
            size: PageSize::DEFAULT,
            before,
        };
        let log = log.clone();
        async move { log.list(&query, 2).await.expect("list") }
    };
    let targets = |entries: Vec<AuditEntry>| -> Vec<_> {
        entries.into_iter().filter_map(|e| e.target).collect()
    };

    let page = list(AuditFilter::default(), None).await;
    assert_eq!(targets(page.clone()), [users[3].0.id, users[2].0.id]);
    let next = list(AuditFilter::default(), Some(page[1].id)).await;
    assert_eq!(targets(next), [users[1].0.id, users[0].0.id]);
    let of_first = AuditFilter {
        target: Some(first.id),
        actor: Some("system".parse().expect("principal")),
        action: Some(AuditAction::UserCreated),
        ..AuditFilter::default()
    };
    assert_eq!(targets(list(of_first, None).await), [first.id]);
    let other_actor = AuditFilter {
        actor: Some(Principal::user(first.id)),
        ..AuditFilter::default()
    };
    assert!(list(other_actor, None).await.is_empty());
    let deleted = AuditFilter {
        action: Some(AuditAction::UserDeleted),
        ..AuditFilter::default()
    };
    assert!(list(deleted, None).await.is_empty());
    let days_one_and_two = AuditFilter {
        since: Some(*first_at + Duration::days(1)),
        until: Some(*first_at + Duration::days(3)),
        ..AuditFilter::default()
    };
    assert_eq!(
        targets(list(days_one_and_two, None).await),
        [users[2].0.id, users[1].0.id],
        "since is inclusive, until exclusive"
    );

    let removed = log.trim(*first_at + Duration::days(2)).await.expect("trim");
    assert_eq!(removed, 2);
    let left = targets(everything(&ctx).await);
    assert_eq!(left, [users[3].0.id, users[2].0.id]);
}
