//! Conditional requests (RFC 9110 §13): every user representation has an `ETag` made
//! from the user's id and version, so that no two users' tags are alike; writes honour
//! `If-Match` and reads `If-None-Match`.

use actix_web::{
    HttpMessage, HttpRequest,
    http::header::{self, EntityTag, Header as _, IfMatch, IfNoneMatch},
};

use roster_domain::UserId;

use crate::settings::ApiSettings;

/// Why a write's precondition cannot be evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PreconditionError {
    /// No `If-Match`, while `api.require_if_match` is on.
    Required,
    /// `If-Match` is neither `*` nor a list of entity tags.
    Malformed,
}

/// The entity tag of user `id` at `version`: `"01JD4ZK3M2Q8V6W1T9X5Y7B0CE.7"`. A
/// shared cache keyed on tags can then never answer for one user with another.
pub(crate) fn etag(id: UserId, version: u64) -> EntityTag {
    EntityTag::new_strong(format!("{id}.{version}"))
}

/// The version of user `id` an entity tag of ours names; `None` for weak tags (which
/// `If-Match` never matches: it compares strongly), another user's, or foreign ones.
fn version_of(tag: &EntityTag, id: UserId) -> Option<u64> {
    if tag.weak {
        return None;
    }
    let (tagged, version) = tag.tag().rsplit_once('.')?;
    (tagged == id.to_string()).then_some(())?;
    version.parse().ok()
}

/// The versions of user `id` a write may apply to, from `If-Match`: `None` when any
/// will do (`*`, or no header when it is optional). An empty list matches nothing.
pub(crate) fn if_match(
    request: &HttpRequest,
    rules: ApiSettings,
    id: UserId,
) -> Result<Option<Vec<u64>>, PreconditionError> {
    // An empty field is an empty list (RFC 9110 §5.6.1): as if none was sent.
    let sent = request
        .headers()
        .get_all(header::IF_MATCH)
        .any(|value| !value.as_bytes().trim_ascii().is_empty());
    if !sent {
        return if rules.require_if_match {
            Err(PreconditionError::Required)
        } else {
            Ok(None)
        };
    }
    let well_formed = request
        .headers()
        .get_all(header::IF_MATCH)
        .filter(|value| !value.as_bytes().trim_ascii().is_empty())
        .all(|value| value.to_str().is_ok_and(is_entity_tag_list));
    if !well_formed {
        return Err(PreconditionError::Malformed);
    }
    match IfMatch::parse(request) {
        Ok(IfMatch::Any) => Ok(None),
        Ok(IfMatch::Items(tags)) => Ok(Some(
            tags.iter().filter_map(|tag| version_of(tag, id)).collect(),
        )),
        Err(_) => Err(PreconditionError::Malformed),
    }
}

/// `*`, or a comma-separated list of (possibly weak) entity tags (RFC 9110 §8.8.3):
/// actix's parser skips what it cannot read, which would turn a typo into a 412.
fn is_entity_tag_list(value: &str) -> bool {
    let value = value.trim();
    if value == "*" {
        return true;
    }
    !value.is_empty()
        && value.split(',').map(str::trim).all(|tag| {
            let opaque = tag.strip_prefix("W/").unwrap_or(tag);
            opaque.len() >= 2
                && opaque.starts_with('"')
                && opaque.ends_with('"')
                && opaque[1..opaque.len() - 1]
                    .bytes()
                    .all(|b| b == 0x21 || (0x23..=0x7e).contains(&b) || b >= 0x80)
        })
}

/// Whether a read may answer 304: `If-None-Match` names the current representation
/// (weak comparison), or is `*`. A malformed header is ignored, as RFC 9110 allows.
pub(crate) fn not_modified(request: &impl HttpMessage, id: UserId, version: u64) -> bool {
    match IfNoneMatch::parse(request) {
        Ok(IfNoneMatch::Any) => true,
        Ok(IfNoneMatch::Items(tags)) => {
            let current = etag(id, version);
            tags.iter().any(|tag| tag.weak_eq(&current))
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    const ADA: &str = "01JD4ZK3M2Q8V6W1T9X5Y7B0CE";
    const GRACE: &str = "01JD4ZK3M2Q8V6W1T9X5Y7B0CF";

    fn id(text: &str) -> UserId {
        UserId::parse(text).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn tags_name_the_user_and_the_version() {
        assert_eq!(etag(id(ADA), 7).to_string(), format!("\"{ADA}.7\""));
        assert_ne!(etag(id(ADA), 1), etag(id(GRACE), 1));
    }

    #[test]
    fn if_match_gives_the_acceptable_versions() {
        let optional = ApiSettings::default();
        let required = ApiSettings {
            require_if_match: true,
            ..ApiSettings::default()
        };
        let ada = id(ADA);
        let none = TestRequest::default().to_http_request();
        assert!(matches!(if_match(&none, optional, ada), Ok(None)));
        assert!(matches!(
            if_match(&none, required, ada),
            Err(PreconditionError::Required)
        ));
        let any = TestRequest::default()
            .insert_header(("if-match", "*"))
            .to_http_request();
        assert!(matches!(if_match(&any, required, ada), Ok(None)));
        // Weak, foreign and another user's tags match nothing.
        let list = TestRequest::default()
            .insert_header((
                "if-match",
                format!(
                    "\"{ADA}.3\", W/\"{ADA}.4\", \"other\", \"{GRACE}.6\", \"v7\", \"{ADA}.5\""
                ),
            ))
            .to_http_request();
        assert_eq!(if_match(&list, optional, ada).ok(), Some(Some(vec![3, 5])));
        let empty = TestRequest::default()
            .insert_header(("if-match", ""))
            .to_http_request();
        assert!(
            matches!(if_match(&empty, optional, ada), Ok(None)),
            "empty: not sent"
        );
        for malformed in ["v3", "\"v3", "\"v3\", v4", "W/v3"] {
            let bad = TestRequest::default()
                .insert_header(("if-match", malformed))
                .to_http_request();
            assert!(
                matches!(
                    if_match(&bad, optional, ada),
                    Err(PreconditionError::Malformed)
                ),
                "{malformed:?}"
            );
        }
    }

    #[test]
    fn if_none_match_compares_weakly() {
        let request = |value: &str| {
            TestRequest::default()
                .insert_header(("if-none-match", value))
                .to_http_request()
        };
        let ada = id(ADA);
        assert!(not_modified(&request(&format!("\"{ADA}.2\"")), ada, 2));
        assert!(not_modified(&request(&format!("W/\"{ADA}.2\"")), ada, 2));
        assert!(not_modified(&request("*"), ada, 2));
        assert!(!not_modified(
            &request(&format!("\"{ADA}.1\", \"{ADA}.3\"")),
            ada,
            2
        ));
        assert!(!not_modified(&request(&format!("\"{GRACE}.2\"")), ada, 2));
        assert!(!not_modified(&request("\"v2\""), ada, 2));
        assert!(!not_modified(
            &TestRequest::default().to_http_request(),
            ada,
            2
        ));
    }
}
