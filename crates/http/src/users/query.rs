//! The listing's query string: every parameter as given, parsed into a [`UserQuery`]
//! by the domain's value objects, so that one 400 names every invalid parameter.

use roster_domain::{
    EmailDomain, EmailLookup, ExternalId, NameFragment, PageSize, Role, Sort, Status, UserFilter,
    UserQuery,
};
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

use super::cursor;
use crate::{
    components::{RoleName, SortName, StatusName},
    error::ApiError,
    parameters::{ParameterErrors, instant, next_page_link},
};

/// `GET /api/v1/users` parameters as given; [`ListUsersQuery::parse`] checks them, so
/// that every error names its parameter.
#[derive(Debug, Default, Deserialize, Serialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct ListUsersQuery {
    /// This address, compared ignoring case.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[param(value_type = Option<String>, max_length = 254, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    email: Option<String>,
    /// Addresses at this domain, ignoring case.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[param(value_type = Option<String>, max_length = 253, pattern = r"^[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63})*$", example = "example.com")]
    email_domain: Option<String>,
    /// Names containing this text, ignoring case; `%` and `_` are literal.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[param(value_type = Option<String>, max_length = 100, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    name_contains: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[param(value_type = Option<RoleName>)]
    role: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[param(value_type = Option<StatusName>)]
    status: Option<String>,
    /// Created strictly after this instant (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[param(value_type = Option<chrono::DateTime<chrono::Utc>>)]
    created_after: Option<String>,
    /// Created strictly before this instant (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[param(value_type = Option<chrono::DateTime<chrono::Utc>>)]
    created_before: Option<String>,
    /// The user with this id in the system they were imported from (exact).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[param(value_type = Option<String>, min_length = 1, max_length = 255, pattern = r"^[^\u0000-\u001f\u007f-\u009f]+$")]
    external_id: Option<String>,
    /// The order (default `created_at`); ties are broken by id.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[param(value_type = Option<SortName>)]
    sort: Option<String>,
    /// Users per page (default 50).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[param(value_type = Option<u16>, minimum = 1, maximum = 200)]
    limit: Option<String>,
    /// The `next_cursor` of the previous page, with the same `sort`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[param(value_type = Option<String>, min_length = 1, max_length = 2048, pattern = "^[A-Za-z0-9_-]+$")]
    cursor: Option<String>,
    /// Adds `total`, the number of users that pass the filters (a second query).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[param(value_type = Option<bool>)]
    include_total: Option<String>,
}

impl ListUsersQuery {
    /// The listing asked for, and whether to count it.
    pub(super) fn parse(&self) -> Result<(UserQuery, bool), ApiError> {
        let mut errors = ParameterErrors::default();
        let filter = UserFilter {
            email: errors.parse("email", self.email.as_deref(), EmailLookup::parse),
            email_domain: errors.parse(
                "email_domain",
                self.email_domain.as_deref(),
                EmailDomain::parse,
            ),
            name_contains: errors.parse(
                "name_contains",
                self.name_contains.as_deref(),
                NameFragment::parse,
            ),
            role: errors.parse("role", self.role.as_deref(), str::parse::<Role>),
            status: errors.parse("status", self.status.as_deref(), str::parse::<Status>),
            created_after: errors.parse("created_after", self.created_after.as_deref(), instant),
            created_before: errors.parse("created_before", self.created_before.as_deref(), instant),
            external_id: errors.parse(
                "external_id",
                self.external_id.as_deref(),
                ExternalId::parse,
            ),
        };
        let sort = errors.parse("sort", self.sort.as_deref(), str::parse::<Sort>);
        let sort = sort.unwrap_or_default();
        let size = errors.parse("limit", self.limit.as_deref(), str::parse::<PageSize>);
        let include_total = errors.parse("include_total", self.include_total.as_deref(), |v| {
            v.parse::<bool>().map_err(|_| "must be true or false")
        });
        let after = errors.parse("cursor", self.cursor.as_deref(), |v| {
            let cursor = cursor::decode(v).map_err(str::to_owned)?;
            cursor.continuing(sort).map_err(|e| e.to_string())
        });
        errors.into_result()?;
        let size = size.unwrap_or_default();
        let query = UserQuery {
            filter,
            sort,
            size,
            after,
        };
        Ok((query, include_total.unwrap_or(false)))
    }
}

impl ListUsersQuery {
    /// The `Link` to the next page: the same query, from `cursor` on.
    pub(super) fn next_page_link(self, cursor: String) -> Option<String> {
        let next = Self {
            cursor: Some(cursor),
            ..self
        };
        next_page_link("/api/v1/users", &next)
    }
}
