//! `POST /api/v1/auth/register`: self-registration.

use actix_web::{HttpRequest, HttpResponse, web};
use roster_application::AuthService;
use roster_domain::Actor;

use crate::{
    caller::client_of,
    components::{BodyErrors, IdempotencyKeyHeader},
    error::ApiError,
    idempotency::Idempotency,
    problem::Problem,
    users::{CreateUserRequest, CreationErrors, UserResponse, created},
};

/// `POST /api/v1/auth/register`: a new member, when registration is enabled.
#[utoipa::path(
    post, path = "/api/v1/auth/register", operation_id = "register", tag = "auth",
    summary = "Register as a member, when `auth.allow_registration` is on",
    params(IdempotencyKeyHeader),
    request_body = CreateUserRequest,
    responses(
        (status = 201, description = "Registered", body = UserResponse, headers(("Location" = String, description = "The new user's URL"), ("ETag" = String, description = "The user's entity tag"), ("Idempotent-Replayed" = String, description = "`true` on a replay"))),
        (status = 403, description = "Registration is disabled, or a role or status other than `member` and `active` was asked for", body = Problem, content_type = "application/problem+json"),
        CreationErrors,
        BodyErrors,
        (status = 429, description = "Too many password hashes asked for by this client", body = Problem, content_type = "application/problem+json", headers(("Retry-After" = String, description = "Seconds to wait"))),
    ),
)]
pub(super) async fn register(
    request: HttpRequest,
    auth: web::Data<AuthService>,
    idempotency: web::Data<Idempotency>,
    body: web::Json<CreateUserRequest>,
) -> Result<HttpResponse, ApiError> {
    // Closed registration is refused before the request is looked at any further: an
    // Idempotency-Key must not turn the 403 into another answer.
    let disabled = || ApiError::Forbidden("self-registration is disabled".to_owned());
    if !auth.allows_registration() {
        return Err(disabled());
    }
    let body = body.into_inner();
    let canonical = serde_json::to_vec(&body).unwrap_or_default();
    // Invalid fields are answered before the idempotency store is touched: an anonymous
    // caller's mistakes are not worth a row.
    let new = body.try_into_domain()?;
    let client = client_of(&request)?;
    idempotency
        .run(&request, &Actor::Anonymous, &canonical, async {
            auth.register(new, client)
                .await?
                .map(created)
                .ok_or_else(disabled)
        })
        .await
}
