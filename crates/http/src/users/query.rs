//! The listing's query string: every parameter as given, parsed into a [`UserQuery`]
//! by the domain's value objects, so that one 400 names every invalid parameter.

use std::fmt::Display;

use chrono::{DateTime, Timelike as _, Utc};
use roster_domain::{
    EmailDomain, EmailLookup, NameFragment, PageSize, Role, Sort, Status, UserFilter, UserQuery,
};
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

use super::cursor;
use crate::{
    components::{RoleName, SortName, StatusName},
    error::ApiError,
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
    #[param(value_type = Option<chrono::DateTime<Utc>>)]
    created_after: Option<String>,
    /// Created strictly before this instant (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[param(value_type = Option<chrono::DateTime<Utc>>)]
    created_before: Option<String>,
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
        let encoded = serde_urlencoded::to_string(&next).ok()?;
        Some(format!("</api/v1/users?{encoded}>; rel=\"next\""))
    }
}

/// Collects the invalid query parameters, so one 400 names all of them.
#[derive(Debug, Default)]
struct ParameterErrors(Vec<String>);

impl ParameterErrors {
    /// The parameter's value parsed, if it was given (an empty value is a value, which
    /// most parameters refuse); `None` after recording why it is invalid.
    fn parse<T, E: Display>(
        &mut self,
        name: &str,
        value: Option<&str>,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<T> {
        parse(value?)
            .map_err(|error| self.0.push(format!("{name}: {error}")))
            .ok()
    }

    fn into_result(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError::BadRequest(self.0.join("; ")))
        }
    }
}

/// An RFC 3339 date-time, as JSON Schema's `date-time` format reads one: RFC 3339's
/// grammar (chrono's parser also takes a space for the `T`), then chrono for the
/// calendar, less the leap seconds RFC 3339 does not allow (one is only ever the 60th
/// second of 23:59 UTC).
pub(crate) fn instant(text: &str) -> Result<DateTime<Utc>, &'static str> {
    Some(text)
        .filter(|text| is_rfc3339_shaped(text.as_bytes()))
        .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
        .map(|at| at.with_timezone(&Utc))
        .filter(|at| at.nanosecond() < 1_000_000_000 || (at.hour(), at.minute()) == (23, 59))
        .ok_or("must be an RFC 3339 date-time, such as 2026-01-31T12:00:00Z")
}

/// `date-time` of RFC 3339 §5.6: `YYYY-MM-DDTHH:MM:SS`, an optional fraction, then `Z`
/// or `±HH:MM` (the letters in either case).
fn is_rfc3339_shaped(text: &[u8]) -> bool {
    let digits = |range: std::ops::Range<usize>| {
        text.get(range)
            .is_some_and(|part| part.iter().all(u8::is_ascii_digit))
    };
    let at = |i: usize, allowed: &[u8]| text.get(i).is_some_and(|b| allowed.contains(b));
    let fixed = digits(0..4)
        && at(4, b"-")
        && digits(5..7)
        && at(7, b"-")
        && digits(8..10)
        && at(10, b"Tt")
        && digits(11..13)
        && at(13, b":")
        && digits(14..16)
        && at(16, b":")
        && digits(17..19);
    let fraction = if at(19, b".") {
        1 + text[20..].iter().take_while(|b| b.is_ascii_digit()).count()
    } else {
        0
    };
    let zone = text.get(19 + fraction..).unwrap_or_default();
    let zone_ok = matches!(zone, [b'Z' | b'z'])
        || (zone.len() == 6
            && matches!(zone[0], b'+' | b'-')
            && zone[1..3].iter().all(u8::is_ascii_digit)
            && zone[3] == b':'
            && zone[4..6].iter().all(u8::is_ascii_digit));
    fixed && fraction != 1 && zone_ok
}

#[cfg(test)]
mod tests {
    use super::instant;

    #[test]
    fn instants_are_rfc_3339_as_json_schema_reads_it() {
        for good in [
            "2026-01-31T12:00:00Z",
            "2026-01-31t12:00:00.123456789z",
            "2026-01-31T12:00:00+05:30",
            "2016-12-31T23:59:60Z",
        ] {
            assert!(instant(good).is_ok(), "{good:?}");
        }
        for bad in [
            "2026-01-31 12:00:00Z",
            "2026-01-31T12:00:00",
            "2026-01-31T12:00:00.Z",
            "2026-01-31T12:00:00+0530",
            "2026-01-31T12:00:60Z",
            "2026-02-30T12:00:00Z",
        ] {
            assert!(instant(bad).is_err(), "{bad:?}");
        }
    }
}
