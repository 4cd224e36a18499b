//! Responses that several user operations declare alike, described once.

use utoipa::IntoResponses;

use super::dto::UserResponse;
use crate::problem::Problem;

/// What a change of a user (`PUT`, `PATCH`) answers, besides its body's errors.
#[derive(IntoResponses)]
#[expect(dead_code, reason = "describes responses, never built")]
pub(super) enum ChangeOutcomes {
    /// The changed user
    #[response(status = 200, headers(("ETag" = String, description = "The new version's entity tag")))]
    Changed(UserResponse),
    /// Not allowed
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(Problem),
    /// No such user
    #[response(status = 404, content_type = "application/problem+json")]
    NotFound(Problem),
    /// The e-mail address is taken, the user kept changing concurrently, or the change
    /// would demote or disable the last active administrator (`last-admin`)
    #[response(status = 409, content_type = "application/problem+json")]
    Conflict(Problem),
}

/// What creating a user (by an administrator, or by registering) answers about the
/// request itself.
#[derive(IntoResponses)]
#[expect(dead_code, reason = "describes responses, never built")]
pub(crate) enum CreationErrors {
    /// Malformed JSON, an unknown field, or a malformed Idempotency-Key
    #[response(status = 400, content_type = "application/problem+json")]
    Malformed(Problem),
    /// The e-mail address is taken, or a request with this Idempotency-Key is still running
    #[response(status = 409, content_type = "application/problem+json")]
    Conflict(Problem),
    /// Invalid fields (all listed), or an Idempotency-Key reused for another body
    #[response(status = 422, content_type = "application/problem+json")]
    Invalid(Problem),
}
