//! `GET /api/v1/audit`: filtered, newest first, in cursor pages.

use actix_web::{
    HttpResponse,
    http::header::{self, CacheControl, CacheDirective},
    web,
};
use roster_application::{AuditPage, UserService};
use roster_domain::{AuditAction, AuditFilter, AuditId, AuditQuery, PageSize, Principal, UserId};
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

use super::dto::{AuditEntryResponse, AuditListResponse};
use crate::{
    caller::Caller,
    components::AuditActionName,
    error::ApiError,
    parameters::{ParameterErrors, instant, next_page_link},
    problem::Problem,
};

/// `GET /api/v1/audit` parameters as given; [`AuditParameters::parse`] checks them,
/// so that every error names its parameter.
#[derive(Debug, Default, Deserialize, Serialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct AuditParameters {
    /// Entries of this actor: `system`, `anonymous` or `user:<id>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[param(value_type = Option<String>, pattern = "^(system|anonymous|user:[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25})$")]
    actor: Option<String>,
    /// Entries about this user (their id).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[param(value_type = Option<String>, pattern = "^[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}$")]
    target: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[param(value_type = Option<AuditActionName>)]
    action: Option<String>,
    /// At or after this instant (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[param(value_type = Option<chrono::DateTime<chrono::Utc>>)]
    since: Option<String>,
    /// Strictly before this instant (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[param(value_type = Option<chrono::DateTime<chrono::Utc>>)]
    until: Option<String>,
    /// Entries per page (default 50).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[param(value_type = Option<u16>, minimum = 1, maximum = 200)]
    limit: Option<String>,
    /// The `next_cursor` of the previous page.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[param(value_type = Option<String>, pattern = "^[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}$")]
    cursor: Option<String>,
}

impl AuditParameters {
    /// The page asked for.
    pub(super) fn parse(&self) -> Result<AuditQuery, ApiError> {
        let mut errors = ParameterErrors::default();
        let filter = AuditFilter {
            actor: errors.parse("actor", self.actor.as_deref(), str::parse::<Principal>),
            target: errors.parse("target", self.target.as_deref(), UserId::parse),
            action: errors.parse("action", self.action.as_deref(), str::parse::<AuditAction>),
            since: errors.parse("since", self.since.as_deref(), instant),
            until: errors.parse("until", self.until.as_deref(), instant),
        };
        let size = errors.parse("limit", self.limit.as_deref(), str::parse::<PageSize>);
        let before = errors.parse("cursor", self.cursor.as_deref(), str::parse::<AuditId>);
        errors.into_result()?;
        Ok(AuditQuery {
            filter,
            size: size.unwrap_or_default(),
            before,
        })
    }

    /// The `Link` to the next page: the same query, from `cursor` on.
    fn next_page_link(self, cursor: String) -> Option<String> {
        let next = Self {
            cursor: Some(cursor),
            ..self
        };
        next_page_link("/api/v1/audit", &next)
    }
}

#[utoipa::path(
    get, path = "/api/v1/audit", operation_id = "listAuditEntries", tag = "audit",
    summary = "List the audit log (administrators): filters, newest first, cursor pages",
    security(("bearer" = [])),
    params(AuditParameters),
    responses(
        (status = 200, description = "A page of entries", body = AuditListResponse, headers(("Link" = String, description = "`rel=\"next\"`: the next page, when there is one"))),
        (status = 400, description = "Invalid parameters, all named", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(super) async fn list(
    users: web::Data<UserService>,
    caller: Caller,
    parameters: web::Query<AuditParameters>,
) -> Result<HttpResponse, ApiError> {
    let given = parameters.into_inner();
    let query = given.parse()?;
    let AuditPage { items, next } = users.audit(&caller.0, &query).await?;
    let next_cursor = next.map(|id| id.to_string());
    let mut response = HttpResponse::Ok();
    // The log grows with every action: no cache may keep a page of it.
    response.insert_header(CacheControl(vec![CacheDirective::NoStore]));
    if let Some(link) = next_cursor.clone().and_then(|c| given.next_page_link(c)) {
        response.insert_header((header::LINK, link));
    }
    Ok(response.json(AuditListResponse {
        items: items.into_iter().map(AuditEntryResponse::from).collect(),
        next_cursor,
    }))
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;

    fn parameters(query: &str) -> Result<AuditParameters, String> {
        serde_urlencoded::from_str(query).map_err(|e| e.to_string())
    }

    #[test]
    fn every_invalid_parameter_is_named_in_one_answer() {
        let given = parameters(
            "actor=root&target=nobody&action=user.exploded&since=yesterday&until=2026-13-01T00:00:00Z&limit=0&cursor=x",
        )
        .expect("known parameters");
        let Err(ApiError::BadRequest(message)) = given.parse() else {
            panic!("a 400");
        };
        for name in [
            "actor", "target", "action", "since", "until", "limit", "cursor",
        ] {
            assert!(
                message.contains(&format!("{name}: ")),
                "{name} in {message}"
            );
        }
    }

    #[test]
    fn valid_parameters_make_the_query_and_the_next_link_keeps_them() {
        let user = UserId::generate();
        let given = parameters(&format!(
            "actor=user:{user}&action=auth.login_failed&since=2026-01-01T00:00:00Z&limit=2"
        ))
        .expect("known parameters");
        let query = given.parse().expect("valid");
        assert_eq!(query.filter.actor, Some(Principal::user(user)));
        assert_eq!(query.filter.action, Some(AuditAction::LoginFailed));
        assert_eq!(query.size.get(), 2);
        let cursor = AuditId::at(Utc::now()).to_string();
        let link = given.next_page_link(cursor.clone()).expect("a link");
        assert!(link.contains(&format!("cursor={cursor}")), "{link}");
        assert!(link.contains("action=auth.login_failed"), "{link}");
        assert!(parameters("unknown=1").is_err());
    }
}
