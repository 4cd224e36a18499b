//! Conditional requests (RFC 9110 §13): every user representation has an `ETag` made
//! from its version; writes honour `If-Match` and reads `If-None-Match`.

use actix_web::{
    HttpMessage, HttpRequest,
    http::header::{self, EntityTag, Header as _, IfMatch, IfNoneMatch},
};

use crate::error::ApiError;

/// The `api` settings a handler needs.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct WriteRules {
    /// Writes without `If-Match` get 428.
    pub(crate) require_if_match: bool,
}

/// The entity tag of a user at `version`: `"v7"`.
pub(crate) fn etag(version: u64) -> EntityTag {
    EntityTag::new_strong(format!("v{version}"))
}

/// The version an entity tag of ours names; `None` for weak or foreign tags, which
/// `If-Match` never matches (it compares strongly).
fn version_of(tag: &EntityTag) -> Option<u64> {
    if tag.weak {
        return None;
    }
    tag.tag().strip_prefix('v')?.parse().ok()
}

/// The versions a write may apply to, from `If-Match`: `None` when any will do
/// (`*`, or no header when it is optional). An empty list matches nothing.
pub(crate) fn if_match(
    request: &HttpRequest,
    rules: WriteRules,
) -> Result<Option<Vec<u64>>, ApiError> {
    if !request.headers().contains_key(header::IF_MATCH) {
        return if rules.require_if_match {
            Err(ApiError::PreconditionRequired)
        } else {
            Ok(None)
        };
    }
    match IfMatch::parse(request) {
        Ok(IfMatch::Any) => Ok(None),
        Ok(IfMatch::Items(tags)) => Ok(Some(tags.iter().filter_map(version_of).collect())),
        Err(_) => Err(ApiError::BadRequest(
            "If-Match: must be * or a list of entity tags".to_owned(),
        )),
    }
}

/// Whether a read may answer 304: `If-None-Match` names the current representation
/// (weak comparison), or is `*`. A malformed header is ignored, as RFC 9110 allows.
pub(crate) fn not_modified(request: &impl HttpMessage, version: u64) -> bool {
    match IfNoneMatch::parse(request) {
        Ok(IfNoneMatch::Any) => true,
        Ok(IfNoneMatch::Items(tags)) => {
            let current = etag(version);
            tags.iter().any(|tag| tag.weak_eq(&current))
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    #[test]
    fn if_match_gives_the_acceptable_versions() {
        let optional = WriteRules::default();
        let required = WriteRules {
            require_if_match: true,
        };
        let none = TestRequest::default().to_http_request();
        assert!(matches!(if_match(&none, optional), Ok(None)));
        assert!(matches!(
            if_match(&none, required),
            Err(ApiError::PreconditionRequired)
        ));
        let any = TestRequest::default()
            .insert_header(("if-match", "*"))
            .to_http_request();
        assert!(matches!(if_match(&any, required), Ok(None)));
        let list = TestRequest::default()
            .insert_header(("if-match", "\"v3\", W/\"v4\", \"other\", \"v5\""))
            .to_http_request();
        assert_eq!(if_match(&list, optional).ok(), Some(Some(vec![3, 5])));
        // Not an entity tag: it names no version, so nothing matches (412).
        let bad = TestRequest::default()
            .insert_header(("if-match", "v3"))
            .to_http_request();
        assert_eq!(if_match(&bad, optional).ok(), Some(Some(vec![])));
    }

    #[test]
    fn if_none_match_compares_weakly() {
        let request = |value: &str| {
            TestRequest::default()
                .insert_header(("if-none-match", value))
                .to_http_request()
        };
        assert!(not_modified(&request("\"v2\""), 2));
        assert!(not_modified(&request("W/\"v2\""), 2));
        assert!(not_modified(&request("*"), 2));
        assert!(!not_modified(&request("\"v1\", \"v3\""), 2));
        assert!(!not_modified(&TestRequest::default().to_http_request(), 2));
    }
}
