//! `POST /api/v1/auth/revoke`: log out.

use actix_web::{HttpResponse, web};
use roster_application::AuthService;

use crate::{caller::Caller, error::ApiError, problem::Problem};

/// `POST /api/v1/auth/revoke`: the presented token stops working.
#[utoipa::path(
    post, path = "/api/v1/auth/revoke", operation_id = "revokeToken", tag = "auth",
    summary = "Log out: the presented token stops working",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Revoked"),
        (status = 403, description = "The token does not allow this", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(super) async fn revoke(
    auth: web::Data<AuthService>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    auth.logout(&caller.0).await?;
    Ok(HttpResponse::NoContent().finish())
}
