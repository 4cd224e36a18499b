//! [`ApiError`]: every failure the API can answer with, and the one place where each
//! error of the use cases, the ports and the extractors becomes one of them.
//! [`crate::problem`] renders them as RFC 9457 problems.

use std::fmt;

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use roster_application::{AuthError, LoginError, UsersError};
use roster_domain::{
    UserId,
    ports::{AuthenticationError, RepositoryError},
};
use serde::Serialize;
use utoipa::ToSchema;

use crate::conditional::PreconditionError;

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
    /// The rule broken, where a client may react to it (`min_length`, `not_common`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub rule: Option<&'static str>,
}

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
    MethodNotAllowed { allowed: std::sync::Arc<str> },
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
    /// An unknown or spent refresh token, or one whose session is over (401).
    #[error("the refresh token is invalid, spent, or its session is over: log in again")]
    InvalidRefreshToken,
    /// Authenticated but not allowed (403).
    #[error("{0}")]
    Forbidden(String),
    /// Too many attempts: failed logins or password hashes (429).
    #[error("too many attempts; retry in {retry_after_secs} s")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("{0}")]
    EmailTaken(String),
    #[error("{0}")]
    Conflict(String),
    /// The change would leave no active administrator (409).
    #[error("this is the last active administrator: promote or enable another first")]
    LastAdmin,
    /// `If-Match` names another version (412); the response carries the current `ETag`.
    #[error("the user's version is {current}; If-Match names another")]
    PreconditionFailed { id: UserId, current: u64 },
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

impl From<UsersError> for ApiError {
    fn from(error: UsersError) -> Self {
        match error {
            UsersError::NotFound(id) => Self::NotFound(format!("no user with id {id}")),
            UsersError::SessionNotFound(_) => Self::NotFound(error.to_string()),
            UsersError::EmailTaken => {
                Self::EmailTaken("another user already has this e-mail address".to_owned())
            }
            UsersError::Conflict => Self::Conflict(error.to_string()),
            UsersError::LastAdmin => Self::LastAdmin,
            UsersError::Throttled { retry_after } => Self::TooManyRequests {
                retry_after_secs: retry_after.as_secs().max(1),
            },
            UsersError::PreconditionFailed { id, current } => {
                Self::PreconditionFailed { id, current }
            }
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

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::Invalid(error) => Self::Unauthenticated {
                error: Some("invalid_token"),
                description: match error {
                    AuthenticationError::Malformed => "the token is malformed",
                    AuthenticationError::InvalidSignature => "the token signature is invalid",
                    AuthenticationError::Expired => "the token has expired",
                    AuthenticationError::Revoked => "the token has been revoked",
                }
                .to_owned(),
            },
            AuthError::Unavailable(e) => Self::Unavailable(e),
            AuthError::Unexpected(e) => Self::Internal(e),
        }
    }
}

impl From<LoginError> for ApiError {
    fn from(error: LoginError) -> Self {
        match error {
            LoginError::InvalidCredentials => Self::InvalidCredentials,
            LoginError::InvalidRefreshToken => Self::InvalidRefreshToken,
            LoginError::Throttled { retry_after } => Self::TooManyRequests {
                retry_after_secs: retry_after.as_secs().max(1),
            },
            LoginError::Unavailable(e) => Self::Unavailable(e),
            LoginError::Unexpected(e) => Self::Internal(e),
        }
    }
}

impl From<RepositoryError> for ApiError {
    fn from(error: RepositoryError) -> Self {
        match error {
            RepositoryError::Unavailable(e) => Self::Unavailable(e),
            RepositoryError::Unexpected(e) => Self::Internal(e),
        }
    }
}

impl From<PreconditionError> for ApiError {
    fn from(error: PreconditionError) -> Self {
        match error {
            PreconditionError::Required => Self::PreconditionRequired,
            PreconditionError::Malformed => Self::BadRequest(
                "If-Match: must be * or a list of entity tags, such as \"01JD4ZK3M2Q8V6W1T9X5Y7B0CE.3\"".to_owned(),
            ),
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
