//! [`ApiError`] as an RFC 9457 `application/problem+json` response: its status, its
//! problem type, and the headers that go with it.
//!
//! Client mistakes get a precise status and detail; 500s get a generic body while the
//! cause is logged once, inside the request's span (so with its request id).

use actix_web::{
    HttpResponse, ResponseError,
    http::{
        StatusCode,
        header::{self, HeaderName},
    },
};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{
    conditional,
    error::{ApiError, FieldError},
};

/// Seconds a client should wait before retrying a 503.
const RETRY_AFTER_SECONDS: &str = "1";

/// The realm of every `WWW-Authenticate` challenge.
const REALM: &str = "roster";

/// An RFC 9457 problem: every error response has this body.
#[derive(Debug, Serialize, ToSchema)]
#[schema(title = "Problem")]
pub(crate) struct Problem {
    /// A URN naming the kind of problem (`urn:roster:problem:...`), or `about:blank`.
    #[serde(rename = "type")]
    #[schema(value_type = String, example = "urn:roster:problem:validation-failed")]
    kind: &'static str,
    #[schema(value_type = String)]
    title: &'static str,
    status: u16,
    detail: String,
    /// Every invalid field, on 422.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<FieldError>>)]
    errors: Option<Vec<FieldError>>,
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
            Self::LastAdmin => (
                "urn:roster:problem:last-admin",
                "The last active administrator",
            ),
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
            Self::InvalidRefreshToken => (
                "urn:roster:problem:invalid-refresh-token",
                "Invalid refresh token",
            ),
            Self::Forbidden(_) => ("urn:roster:problem:forbidden", "Forbidden"),
            Self::TooManyRequests { .. } => {
                ("urn:roster:problem:too-many-attempts", "Too many attempts")
            }
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
            Self::EmailTaken(_)
            | Self::Conflict(_)
            | Self::IdempotencyKeyInUse
            | Self::LastAdmin => StatusCode::CONFLICT,
            Self::PreconditionFailed { .. } => StatusCode::PRECONDITION_FAILED,
            Self::PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
            Self::Unauthenticated { .. } | Self::InvalidCredentials | Self::InvalidRefreshToken => {
                StatusCode::UNAUTHORIZED
            }
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
        let problem = Problem {
            kind,
            title,
            status: status.as_u16(),
            detail: self.detail(),
            errors: match self {
                Self::Validation(errors) => Some(errors.clone()),
                _ => None,
            },
        };
        let mut response = HttpResponse::build(status);
        response.content_type("application/problem+json");
        if let Some(header) = self.next_step() {
            response.insert_header(header);
        }
        response.json(problem)
    }

    /// The header that tells the client what to do next, on the problems that have one.
    fn next_step(&self) -> Option<(HeaderName, String)> {
        let header = match self {
            Self::Unavailable(_) => (header::RETRY_AFTER, RETRY_AFTER_SECONDS.to_owned()),
            Self::MethodNotAllowed { allowed } => (header::ALLOW, allowed.to_string()),
            Self::Unauthenticated { error: None, .. }
            | Self::InvalidCredentials
            | Self::InvalidRefreshToken => (
                header::WWW_AUTHENTICATE,
                format!("Bearer realm=\"{REALM}\""),
            ),
            Self::Unauthenticated {
                error: Some(error),
                description,
            } => (
                header::WWW_AUTHENTICATE,
                format!(
                    "Bearer realm=\"{REALM}\", error=\"{error}\", error_description=\"{description}\""
                ),
            ),
            Self::Forbidden(_) => (
                header::WWW_AUTHENTICATE,
                format!("Bearer realm=\"{REALM}\", error=\"insufficient_scope\""),
            ),
            Self::TooManyRequests { retry_after_secs } => {
                (header::RETRY_AFTER, retry_after_secs.to_string())
            }
            Self::IdempotencyKeyInUse => (header::RETRY_AFTER, "1".to_owned()),
            Self::PreconditionFailed { id, current } => {
                (header::ETAG, conditional::etag(*id, *current).to_string())
            }
            _ => return None,
        };
        Some(header)
    }
}
