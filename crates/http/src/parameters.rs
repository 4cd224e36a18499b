//! Query parameters, checked all at once: [`ParameterErrors`] collects what is wrong
//! with each, so that one 400 names every invalid parameter; and the instants they
//! carry.

use std::fmt::Display;

use chrono::{DateTime, Timelike as _, Utc};
use serde::Serialize;

use crate::error::ApiError;

/// The `Link` to a listing's next page: `path` with `query`, which carries the next
/// page's cursor and every other parameter as given.
pub(crate) fn next_page_link(path: &str, query: &impl Serialize) -> Option<String> {
    let encoded = serde_urlencoded::to_string(query).ok()?;
    Some(format!("<{path}?{encoded}>; rel=\"next\""))
}

/// Collects the invalid query parameters, so one 400 names all of them.
#[derive(Debug, Default)]
pub(crate) struct ParameterErrors(Vec<String>);

impl ParameterErrors {
    /// The parameter's value parsed, if it was given (an empty value is a value, which
    /// most parameters refuse); `None` after recording why it is invalid.
    pub(crate) fn parse<T, E: Display>(
        &mut self,
        name: &str,
        value: Option<&str>,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<T> {
        parse(value?)
            .map_err(|error| self.0.push(format!("{name}: {error}")))
            .ok()
    }

    pub(crate) fn into_result(self) -> Result<(), ApiError> {
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
