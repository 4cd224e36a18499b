//! Listing: every filter, every sort order, and keyset pages that add up to the whole.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, TimeZone as _, Utc};
use roster_domain::{
    Cursor, EmailDomain, EmailLookup, NameFragment, PageSize, Role, Sort, SortField, Status, User,
    UserFilter, UserName, UserQuery, ports::UserRepository,
};
use roster_persistence::Backend;

use crate::{Context, record, user};

roster_persistence::backend_tests!(
    pages_add_up_to_the_whole_in_every_order,
    every_filter_selects_what_it_says_and_count_agrees,
);

fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .expect("time")
}

/// 24 users over 3 domains, 2 roles and 2 statuses, with creation times that tie in
/// threes (so ties are broken by id) and names with LIKE's special characters.
async fn population(ctx: &Context) -> Vec<User> {
    let names = [
        "Alpha",
        "Bravo",
        "Charlie",
        "Delta",
        "Echo",
        "Foxtrot",
        "Golf",
        "Hotel",
        "India",
        "Juliett",
        "Kilo",
        "Lima",
        "Mike",
        "November",
        "Oscar",
        "Papa",
        "Quebec",
        "Romeo",
        "Sierra",
        "Tango",
        "Uniform",
        "Victor",
        "Percent%Sign",
        "Under_Score",
    ];
    let domains = ["example.com", "example.org", "Mixed.Example.NET"];
    let mut all = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let mut u = user(&format!(
            "{}{i}@{}",
            name.to_lowercase().replace(['%', '_'], ""),
            domains[i % 3]
        ));
        u.name = UserName::parse(name).expect("name");
        u.role = if i % 4 == 0 {
            Role::Admin
        } else {
            Role::Member
        };
        u.status = if i % 5 == 0 {
            Status::Disabled
        } else {
            Status::Active
        };
        let minutes = i64::try_from(i / 3).expect("small");
        u.created_at = base() + Duration::minutes(minutes);
        u.updated_at = u.created_at;
        ctx.users.insert(&u, &record()).await.expect("insert");
        all.push(u);
    }
    all
}

async fn list_all(ctx: &Context, filter: &UserFilter, sort: Sort) -> Vec<User> {
    let query = UserQuery {
        filter: filter.clone(),
        sort,
        size: PageSize::new(200).expect("size"),
        after: None,
    };
    ctx.users.list(&query, 1000).await.expect("list")
}

/// Follows cursors with pages of `size`, as the use case does.
async fn list_in_pages(ctx: &Context, filter: &UserFilter, sort: Sort, size: u64) -> Vec<User> {
    let mut query = UserQuery {
        filter: filter.clone(),
        sort,
        size: PageSize::new(size).expect("size"),
        after: None,
    };
    let mut seen = Vec::new();
    loop {
        let page = ctx
            .users
            .list(&query, query.size.get())
            .await
            .expect("page");
        let Some(last) = page.last() else {
            return seen;
        };
        query.after = Some(Cursor::of_user(sort, last));
        seen.extend(page);
    }
}

async fn pages_add_up_to_the_whole_in_every_order(backend: Backend) {
    let Some(ctx) = Context::new(backend).await else {
        return;
    };
    let all = population(&ctx).await;
    let everyone = UserFilter::default();
    for name in Sort::NAMES {
        let sort: Sort = name.parse().expect("sort");
        let whole = list_all(&ctx, &everyone, sort).await;
        assert_eq!(whole.len(), all.len(), "{name}");
        for size in [1, 4, 5] {
            let paged = list_in_pages(&ctx, &everyone, sort, size).await;
            let ids = |users: &[User]| users.iter().map(|u| u.id).collect::<Vec<_>>();
            assert_eq!(ids(&paged), ids(&whole), "{name} in pages of {size}");
        }
        // Timestamps order the same in every collation: check that order exactly,
        // ties broken by id in the sort's direction.
        if sort.field == SortField::CreatedAt {
            let mut expected = all.clone();
            expected.sort_by_key(|u| (u.created_at, u.id));
            if sort.descending {
                expected.reverse();
            }
            assert_eq!(whole, expected, "{name}");
        } else {
            // Text orders follow the database's collation; each page is a sorted run
            // of the whole, so the whole must be monotonic in the sort key.
            let key = |u: &User| match sort.field {
                SortField::Email => u.email.as_str().to_owned(),
                _ => u.name.as_str().to_owned(),
            };
            let distinct: BTreeSet<String> = whole.iter().map(key).collect();
            assert_eq!(distinct.len(), whole.len(), "keys are unique here");
        }
    }
}

/// A filter, and which users it must select.
type FilterCase = (&'static str, UserFilter, Box<dyn Fn(&User) -> bool>);

#[expect(clippy::too_many_lines, reason = "a table of cases, one per filter")]
fn filter_cases(all: &[User]) -> Vec<FilterCase> {
    let at = |minutes: i64| base() + Duration::minutes(minutes);
    let fifth = all[4].id;
    vec![
        (
            "email, any case",
            UserFilter {
                email: EmailLookup::parse(&all[4].email.as_str().to_uppercase()).ok(),
                ..UserFilter::default()
            },
            Box::new(move |u: &User| u.id == fifth),
        ),
        (
            "email_domain",
            UserFilter {
                email_domain: EmailDomain::parse("mixed.example.net").ok(),
                ..UserFilter::default()
            },
            Box::new(|u: &User| u.email.domain() == "mixed.example.net"),
        ),
        (
            "name_contains, any case",
            UserFilter {
                name_contains: NameFragment::parse("LI").ok(),
                ..UserFilter::default()
            },
            Box::new(|u: &User| u.name.as_str().to_lowercase().contains("li")),
        ),
        (
            "name_contains treats % literally",
            UserFilter {
                name_contains: NameFragment::parse("t%s").ok(),
                ..UserFilter::default()
            },
            Box::new(|u: &User| u.name.as_str() == "Percent%Sign"),
        ),
        (
            "name_contains treats _ literally",
            UserFilter {
                name_contains: NameFragment::parse("_").ok(),
                ..UserFilter::default()
            },
            Box::new(|u: &User| u.name.as_str() == "Under_Score"),
        ),
        (
            "role",
            UserFilter {
                role: Some(Role::Admin),
                ..UserFilter::default()
            },
            Box::new(|u: &User| u.role == Role::Admin),
        ),
        (
            "status",
            UserFilter {
                status: Some(Status::Disabled),
                ..UserFilter::default()
            },
            Box::new(|u: &User| u.status == Status::Disabled),
        ),
        (
            "created_after and created_before are strict",
            UserFilter {
                created_after: Some(at(2)),
                created_before: Some(at(5)),
                ..UserFilter::default()
            },
            Box::new(move |u: &User| u.created_at > at(2) && u.created_at < at(5)),
        ),
        (
            "everything combined",
            UserFilter {
                email_domain: EmailDomain::parse("example.com").ok(),
                role: Some(Role::Member),
                status: Some(Status::Active),
                created_after: Some(at(0)),
                name_contains: NameFragment::parse("o").ok(),
                ..UserFilter::default()
            },
            Box::new(move |u: &User| {
                u.email.domain() == "example.com"
                    && u.role == Role::Member
                    && u.status == Status::Active
                    && u.created_at > at(0)
                    && u.name.as_str().to_lowercase().contains('o')
            }),
        ),
    ]
}

async fn every_filter_selects_what_it_says_and_count_agrees(backend: Backend) {
    let Some(ctx) = Context::new(backend).await else {
        return;
    };
    let all = population(&ctx).await;
    for (label, filter, expected) in filter_cases(&all) {
        let wanted: BTreeSet<_> = all.iter().filter(|u| expected(u)).map(|u| u.id).collect();
        assert!(!wanted.is_empty(), "{label}: the case selects someone");
        for sort in ["-created_at", "name"] {
            let sort: Sort = sort.parse().expect("sort");
            let paged = list_in_pages(&ctx, &filter, sort, 2).await;
            let got: BTreeSet<_> = paged.iter().map(|u| u.id).collect();
            assert_eq!(got, wanted, "{label}");
            assert_eq!(paged.len(), wanted.len(), "{label}: no user twice");
        }
        let count = ctx.users.count(&filter).await.expect("count");
        assert_eq!(
            count,
            u64::try_from(wanted.len()).expect("small"),
            "{label}"
        );
    }
    assert_eq!(
        ctx.users
            .count(&UserFilter::default())
            .await
            .expect("count"),
        24
    );
}
