//! `POST /api/v1/users/{id}/revoke-tokens`.

use actix_web::{HttpResponse, web};
use roster_application::UserService;

use super::representation::user_id;
use crate::{caller::Caller, components::UserIdPath, error::ApiError, problem::Problem};

#[utoipa::path(
    post, path = "/api/v1/users/{id}/revoke-tokens", operation_id = "revokeUserTokens", tag = "users",
    summary = "Revoke every token of a user (administrators)",
    security(("bearer" = [])),
    params(UserIdPath),
    responses(
        (status = 204, description = "Revoked"),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(super) async fn revoke_tokens(
    users: web::Data<UserService>,
    caller: Caller,
    path: web::Path<UserIdPath>,
) -> Result<HttpResponse, ApiError> {
    users.revoke_tokens(&caller.0, user_id(&path)?).await?;
    Ok(HttpResponse::NoContent().finish())
}
