//! The `WHERE` clause of a listing: a [`UserFilter`] as a boxed query.

use diesel::prelude::*;
use diesel::result::Error as DieselError;
use roster_domain::{SortField, SortKey, UserFilter, UserQuery};

use crate::{
    connection::MultiBackend,
    instant::{Instant, Stamp},
    schema::{lower, users},
};

/// The users that pass a [`UserFilter`].
pub(super) fn filtered(filter: &UserFilter) -> users::BoxedQuery<'static, MultiBackend> {
    let mut select = users::table.into_boxed();
    if let Some(email) = &filter.email {
        select = select.filter(lower(users::email).eq(email.as_str().to_owned()));
    }
    if let Some(domain) = &filter.email_domain {
        select = select.filter(users::email_domain.eq(domain.as_str().to_owned()));
    }
    if let Some(text) = &filter.name_contains {
        select = select.filter(
            lower(users::name)
                .like(lower(like_pattern(text.as_str())))
                .escape('\\'),
        );
    }
    if let Some(role) = filter.role {
        select = select.filter(users::role.eq(role.as_str()));
    }
    if let Some(status) = filter.status {
        select = select.filter(users::status.eq(status.as_str()));
    }
    if let Some(after) = filter.created_after {
        select = select.filter(users::created_at.gt(Stamp(after)));
    }
    if let Some(before) = filter.created_before {
        select = select.filter(users::created_at.lt(Stamp(before)));
    }
    if let Some(external_id) = &filter.external_id {
        select = select.filter(users::external_id.eq(external_id.as_str().to_owned()));
    }
    select
}

/// `%text%` for LIKE, with LIKE's own characters escaped (by `\`).
fn like_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// The users of one page: those that pass the filter, after the cursor, in order.
pub(super) fn page(
    query: &UserQuery,
) -> Result<users::BoxedQuery<'static, MultiBackend>, DieselError> {
    let mut select = filtered(&query.filter);
    if let Some(after) = &query.after {
        // Row values: (key, id) > (cursor key, cursor id), which an index on
        // (key, id) answers with one range scan, in either direction.
        let fragment = |column: &str| {
            let operator = if query.sort.descending { "<" } else { ">" };
            diesel::dsl::sql::<diesel::sql_types::Bool>(&format!("({column}, id) {operator} ("))
        };
        let id = after.id().to_string();
        match (after.key(), query.sort.field) {
            (SortKey::Instant(at), SortField::CreatedAt) => {
                select = select.filter(
                    fragment("created_at")
                        .bind::<Instant, _>(Stamp(*at))
                        .sql(", ")
                        .bind::<diesel::sql_types::Text, _>(id)
                        .sql(")"),
                );
            }
            (SortKey::Text(text), SortField::Email | SortField::Name) => {
                let column = if query.sort.field == SortField::Email {
                    "email"
                } else {
                    "name"
                };
                select = select.filter(
                    fragment(column)
                        .bind::<diesel::sql_types::Text, _>(text.clone())
                        .sql(", ")
                        .bind::<diesel::sql_types::Text, _>(id)
                        .sql(")"),
                );
            }
            _ => {
                return Err(DieselError::QueryBuilderError(
                    "the cursor's key does not fit its sort field".into(),
                ));
            }
        }
    }
    select = match (query.sort.field, query.sort.descending) {
        (SortField::CreatedAt, false) => select.order((users::created_at.asc(), users::id.asc())),
        (SortField::CreatedAt, true) => select.order((users::created_at.desc(), users::id.desc())),
        (SortField::Email, false) => select.order((users::email.asc(), users::id.asc())),
        (SortField::Email, true) => select.order((users::email.desc(), users::id.desc())),
        (SortField::Name, false) => select.order((users::name.asc(), users::id.asc())),
        (SortField::Name, true) => select.order((users::name.desc(), users::id.desc())),
    };
    Ok(select)
}
