//! OpenAPI components that several operations share: value sets that travel as text,
//! common responses and parameters. A leaf: it imports nothing of the resources.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, IntoResponses, ToSchema};

use crate::problem::Problem;

/// A user's role.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[expect(dead_code, reason = "describes values that travel as text")]
pub(crate) enum RoleName {
    Admin,
    Member,
}

/// A user's status: disabled users cannot log in.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[expect(dead_code, reason = "describes values that travel as text")]
pub(crate) enum StatusName {
    Active,
    Disabled,
}

/// An action the audit log records: changes to users, logins, session endings and
/// imports.
#[derive(Debug, Serialize, ToSchema)]
#[expect(dead_code, reason = "describes values that travel as text")]
pub(crate) enum AuditActionName {
    #[serde(rename = "user.created")]
    UserCreated,
    #[serde(rename = "user.updated")]
    UserUpdated,
    #[serde(rename = "user.password_changed")]
    UserPasswordChanged,
    #[serde(rename = "user.tokens_revoked")]
    UserTokensRevoked,
    #[serde(rename = "user.deleted")]
    UserDeleted,
    #[serde(rename = "auth.login_succeeded")]
    LoginSucceeded,
    #[serde(rename = "auth.login_failed")]
    LoginFailed,
    #[serde(rename = "auth.logged_out")]
    LoggedOut,
    #[serde(rename = "auth.session_ended")]
    SessionEnded,
    #[serde(rename = "auth.refresh_token_reused")]
    RefreshTokenReused,
    #[serde(rename = "users.imported")]
    UsersImported,
}

/// What an import does with a row whose user exists.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[expect(dead_code, reason = "describes values that travel as text")]
pub(crate) enum OnConflictName {
    Skip,
    Update,
    Fail,
}

/// How an audited action ended.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[expect(dead_code, reason = "describes values that travel as text")]
pub(crate) enum AuditOutcomeName {
    Success,
    Failure,
}

/// A listing's order; `-` for descending. Ties are broken by id.
#[derive(Debug, Serialize, ToSchema)]
#[expect(dead_code, reason = "describes values that travel as text")]
pub(crate) enum SortName {
    #[serde(rename = "created_at")]
    CreatedAt,
    #[serde(rename = "-created_at")]
    CreatedAtDescending,
    #[serde(rename = "email")]
    Email,
    #[serde(rename = "-email")]
    EmailDescending,
    #[serde(rename = "name")]
    Name,
    #[serde(rename = "-name")]
    NameDescending,
}

/// What any operation with a JSON body may answer about the body itself.
#[derive(IntoResponses)]
#[expect(dead_code, reason = "describes responses, never built")]
pub(crate) enum BodyErrors {
    /// The body is larger than `server.json_body_limit`.
    #[response(status = 413, content_type = "application/problem+json")]
    TooLarge(Problem),
    /// The body is not of the media type the operation takes.
    #[response(status = 415, content_type = "application/problem+json")]
    UnsupportedMediaType(Problem),
}

/// What a conditional write may answer about its precondition.
#[derive(IntoResponses)]
#[expect(dead_code, reason = "describes responses, never built")]
pub(crate) enum PreconditionErrors {
    /// `If-Match` names another version (the `ETag` header has the current one).
    #[response(status = 412, content_type = "application/problem+json", headers(("ETag" = String, description = "The current version's entity tag")))]
    Failed(Problem),
    /// `If-Match` is required (`api.require_if_match`).
    #[response(status = 428, content_type = "application/problem+json")]
    Required(Problem),
}

/// The user a path names.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct UserIdPath {
    /// The user's id: a ULID, in either case. Anything else names no user (404).
    #[param(pattern = "^[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}$")]
    pub(crate) id: String,
}

/// The precondition of a write.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Header)]
#[expect(
    dead_code,
    reason = "describes a header, which handlers read themselves"
)]
pub(crate) struct IfMatchHeader {
    #[doc = "Apply only to these versions: the user's `ETag` (`\"01JD4ZK3M2Q8V6W1T9X5Y7B0CE.3\"`), a list of them, or `*`; empty counts as absent. An entity tag with a comma inside is refused (400): ours never have one, and a list is split at commas."]
    #[serde(rename = "If-Match")]
    #[param(
        pattern = r#"^[ \t]*(\*|(W/)?"[!#-+\--~]*"([ \t]*,[ \t]*(W/)?"[!#-+\--~]*")*)?[ \t]*$"#
    )]
    if_match: Option<String>,
}

/// The condition of a read.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Header)]
#[expect(
    dead_code,
    reason = "describes a header, which handlers read themselves"
)]
pub(crate) struct IfNoneMatchHeader {
    /// 304 when it names the current version.
    #[serde(rename = "If-None-Match")]
    if_none_match: Option<String>,
}

/// The key that makes a create safe to retry.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Header)]
#[expect(
    dead_code,
    reason = "describes a header, which handlers read themselves"
)]
pub(crate) struct IdempotencyKeyHeader {
    /// Makes retries safe: the first response is replayed for 24 hours.
    #[serde(rename = "Idempotency-Key")]
    #[param(min_length = 1, max_length = 255, pattern = "^[!-~]+$")]
    idempotency_key: Option<String>,
}
