//! [`ApiError`]: every failure as an RFC 9457 `application/problem+json` response.
//!
//! Client mistakes get a precise status and detail; 500s get a generic body while the
//! cause is logged once, inside the request's span (so with its request id).

use std::fmt;

use actix_web::{
    HttpResponse, ResponseError,
    error::{JsonPayloadError, PathError, QueryPayloadError},
    http::{StatusCode, header},
};
use roster_application::UsersError;
use serde::Serialize;

/// Seconds a client should wait before retrying a 503.
const RETRY_AFTER_SECONDS: &str = "1";

/// One invalid field of a request body or query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
    /// The rule broken, where a client may want to react to it (`min_length`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<&'static str>,
}

/// The realm of every `WWW-Authenticate` challenge.
const REALM: &str = "roster";

/// A failure, as the client will see it.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is well-formed but some fields are invalid (422).
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    /// The request cannot be parsed: malformed JSON, unknown fields, bad parameters (400).
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("the body exceeds {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("{0}")]
    NotFound(String),
    #[error("{allowed}")]
    MethodNotAllowed { allowed: &'static str },
    /// No or unusable credentials (401). `error` is the RFC 6750 error code, absent
    /// when no credentials were presented at all.
    #[error("{description}")]
    Unauthenticated {
        error: Option<&'static str>,
        description: String,
    },
    /// Wrong e-mail address or password at login (401).
    #[error("invalid e-mail address or password")]
    InvalidCredentials,
    /// Authenticated but not allowed (403).
    #[error("{0}")]
    Forbidden(String),
    /// Too many failed logins (429).
    #[error("too many failed logins; retry in {retry_after_secs} s")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("{0}")]
    EmailTaken(String),
    #[error("{0}")]
    Conflict(String),
    /// `If-Match` names another version (412); the response carries the current `ETag`.
    #[error("the user's version is {current}; If-Match names another")]
    PreconditionFailed { current: u64 },
    /// The `Idempotency-Key` was used for a different request (422).
    #[error("this Idempotency-Key was used for a different request; use a new key")]
    IdempotencyKeyReused,
    /// The first request with this `Idempotency-Key` is still running (409).
    #[error("a request with this Idempotency-Key is still being processed; retry shortly")]
    IdempotencyKeyInUse,
    /// A write without `If-Match` while `api.require_if_match` is on (428).
    #[error("this write needs an If-Match header with the user's ETag")]
    PreconditionRequired,
    /// A dependency is overloaded or down; the client should retry (503).
    #[error("the service is temporarily unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// A bug or an unexpected failure (500); the body says nothing more.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

/// The body of every error response.
#[derive(Debug, Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    title: &'a str,
    status: u16,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<&'a [FieldError]>,
}

impl ApiError {
    /// The problem type URI and title. Plain HTTP failures use `about:blank` with the
    /// status phrase as the title (RFC 9457 §4.2.1); Roster's own kinds are URNs.
    fn kind(&self) -> (&'static str, &'static str) {
        match self {
            Self::Validation(_) => ("urn:roster:problem:validation-failed", "Validation failed"),
            Self::BadRequest(_) => ("urn:roster:problem:malformed-request", "Malformed request"),
            Self::EmailTaken(_) => ("urn:roster:problem:email-taken", "E-mail address taken"),
            Self::Conflict(_) => ("urn:roster:problem:conflict", "Concurrent modification"),
            Self::PreconditionFailed { .. } => (
                "urn:roster:problem:precondition-failed",
                "Precondition failed",
            ),
            Self::IdempotencyKeyReused => (
                "urn:roster:problem:idempotency-key-reused",
                "Idempotency key reused",
            ),
            Self::IdempotencyKeyInUse => (
                "urn:roster:problem:idempotency-key-in-use",
                "Request in progress",
            ),
            Self::PreconditionRequired => (
                "urn:roster:problem:precondition-required",
                "Precondition required",
            ),
            Self::Unauthenticated { .. } => (
                "urn:roster:problem:unauthenticated",
                "Authentication required",
            ),
            Self::InvalidCredentials => (
                "urn:roster:problem:invalid-credentials",
                "Invalid credentials",
            ),
            Self::Forbidden(_) => ("urn:roster:problem:forbidden", "Forbidden"),
            Self::TooManyRequests { .. } => (
                "urn:roster:problem:too-many-attempts",
                "Too many failed logins",
            ),
            Self::UnsupportedMediaType(_) => ("about:blank", "Unsupported Media Type"),
            Self::PayloadTooLarge { .. } => ("about:blank", "Payload Too Large"),
            Self::NotFound(_) => ("about:blank", "Not Found"),
            Self::MethodNotAllowed { .. } => ("about:blank", "Method Not Allowed"),
            Self::Unavailable(_) => ("about:blank", "Service Unavailable"),
            Self::Internal(_) => ("about:blank", "Internal Server Error"),
        }
    }

    fn detail(&self) -> String {
        match self {
            Self::Validation(errors) => {
                format!("{} field(s) are invalid; see errors", errors.len())
            }
            Self::MethodNotAllowed { allowed } => format!("allowed methods: {allowed}"),
            Self::Unavailable(_) => {
                "the service is temporarily unavailable; retry later".to_owned()
            }
            Self::Internal(_) => "an unexpected error occurred; it has been logged".to_owned(),
            other => other.to_string(),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Validation(_) | Self::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::EmailTaken(_) | Self::Conflict(_) | Self::IdempotencyKeyInUse => {
                StatusCode::CONFLICT
            }
            Self::PreconditionFailed { .. } => StatusCode::PRECONDITION_FAILED,
            Self::PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
            Self::Unauthenticated { .. } | Self::InvalidCredentials => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Internal(cause) => {
                tracing::error!(error = format!("{cause:#}"), "request failed");
            }
            Self::Unavailable(cause) => {
                tracing::warn!(error = format!("{cause:#}"), "dependency unavailable");
            }
            _ => {}
        }
        self.problem_response()
    }
}

impl ApiError {
    /// The response, without logging the cause (for callers that already did).
    pub(crate) fn problem_response(&self) -> HttpResponse {
        let status = self.status_code();
        let (kind, title) = self.kind();
        let errors = match self {
            Self::Validation(errors) => Some(errors.as_slice()),
            _ => None,
        };
        let problem = Problem {
            kind,
            title,
            status: status.as_u16(),
            detail: self.detail(),
            errors,
        };
        let mut response = HttpResponse::build(status);
        response.content_type("application/problem+json");
        match self {
            Self::Unavailable(_) => {
                response.insert_header((header::RETRY_AFTER, RETRY_AFTER_SECONDS));
            }
            Self::MethodNotAllowed { allowed } => {
                response.insert_header((header::ALLOW, *allowed));
            }
            Self::Unauthenticated { error: None, .. } | Self::InvalidCredentials => {
                response.insert_header((
                    header::WWW_AUTHENTICATE,
                    format!("Bearer realm=\"{REALM}\""),
                ));
            }
            Self::Unauthenticated {
                error: Some(error),
                description,
            } => {
                response.insert_header((
                    header::WWW_AUTHENTICATE,
                    format!("Bearer realm=\"{REALM}\", error=\"{error}\", error_description=\"{description}\""),
                ));
            }
            Self::Forbidden(_) => {
                response.insert_header((
                    header::WWW_AUTHENTICATE,
                    format!("Bearer realm=\"{REALM}\", error=\"insufficient_scope\""),
                ));
            }
            Self::TooManyRequests { retry_after_secs } => {
                response.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            Self::IdempotencyKeyInUse => {
                response.insert_header((header::RETRY_AFTER, "1"));
            }
            Self::PreconditionFailed { current } => {
                response.insert_header(header::ETag(crate::conditional::etag(*current)));
            }
            _ => {}
        }
        response.json(problem)
    }
}

impl From<UsersError> for ApiError {
    fn from(error: UsersError) -> Self {
        match error {
            UsersError::NotFound(id) => Self::NotFound(format!("no user with id {id}")),
            UsersError::EmailTaken => {
                Self::EmailTaken("another user already has this e-mail address".to_owned())
            }
            UsersError::Conflict => Self::Conflict(error.to_string()),
            UsersError::PreconditionFailed { current } => Self::PreconditionFailed { current },
            UsersError::Unauthenticated => Self::Unauthenticated {
                error: None,
                description: error.to_string(),
            },
            UsersError::Forbidden => Self::Forbidden("you may not do this".to_owned()),
            UsersError::InvalidField {
                field,
                message,
                rule,
            } => Self::Validation(vec![FieldError {
                field: field.to_owned(),
                message,
                rule: Some(rule),
            }]),
            UsersError::Unavailable(cause) => Self::Unavailable(cause),
            UsersError::Unexpected(cause) => Self::Internal(cause),
        }
    }
}

/// Collects the invalid fields of a request, so one response names all of them.
#[derive(Debug, Default)]
pub(crate) struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    /// The value, or `None` after recording why `field` is invalid.
    pub(crate) fn check<T, E: fmt::Display>(
        &mut self,
        field: &str,
        parsed: Result<T, E>,
    ) -> Option<T> {
        match parsed {
            Ok(value) => Some(value),
            Err(error) => {
                self.0.push(FieldError {
                    field: field.to_owned(),
                    message: error.to_string(),
                    rule: None,
                });
                None
            }
        }
    }

    /// Records that `field` is invalid.
    pub(crate) fn push(&mut self, field: &str, message: &str) {
        self.0.push(FieldError {
            field: field.to_owned(),
            message: message.to_owned(),
            rule: None,
        });
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn into_error(self) -> ApiError {
        ApiError::Validation(self.0)
    }
}

/// Body problems found by actix's JSON extractor.
pub(crate) fn json_error(error: JsonPayloadError) -> ApiError {
    match error {
        JsonPayloadError::ContentType => ApiError::UnsupportedMediaType(
            "the body must be JSON (Content-Type: application/json)".to_owned(),
        ),
        JsonPayloadError::OverflowKnownLength { limit, .. }
        | JsonPayloadError::Overflow { limit } => ApiError::PayloadTooLarge { limit },
        JsonPayloadError::Deserialize(e) if e.is_data() => {
            ApiError::BadRequest(format!("invalid body: {e}"))
        }
        JsonPayloadError::Deserialize(e) => ApiError::BadRequest(format!("malformed JSON: {e}")),
        other => ApiError::BadRequest(format!("unreadable body: {other}")),
    }
}

pub(crate) fn query_error(error: &QueryPayloadError) -> ApiError {
    ApiError::BadRequest(format!("invalid query string: {error}"))
}

pub(crate) fn path_error(error: &PathError) -> ApiError {
    ApiError::NotFound(format!("no such resource: {error}"))
}
