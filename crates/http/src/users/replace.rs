//! `PUT /api/v1/users/{id}`: replace a user's fields.

use actix_web::{HttpRequest, HttpResponse, web};
use roster_application::UserService;

use super::{
    dto::ReplaceUserRequest,
    outcomes::ChangeOutcomes,
    representation::{changed, user_id},
};
use crate::{
    caller::Caller,
    components::{BodyErrors, IfMatchHeader, PreconditionErrors, UserIdPath},
    conditional,
    error::ApiError,
    problem::Problem,
    settings::ApiSettings,
};

#[utoipa::path(
    put, path = "/api/v1/users/{id}", operation_id = "replaceUser", tag = "users",
    summary = "Replace a user's fields (role and status: administrators)",
    security(("bearer" = [])),
    params(UserIdPath, IfMatchHeader),
    request_body = ReplaceUserRequest,
    responses(
        ChangeOutcomes,
        (status = 400, description = "Malformed JSON or an unknown field", body = Problem, content_type = "application/problem+json"),
        PreconditionErrors,
        BodyErrors,
        (status = 422, description = "Invalid fields, all listed", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(super) async fn replace(
    request: HttpRequest,
    users: web::Data<UserService>,
    api: web::Data<ApiSettings>,
    caller: Caller,
    path: web::Path<UserIdPath>,
    body: web::Json<ReplaceUserRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = user_id(&path)?;
    let if_version = conditional::if_match(&request, **api, id)?;
    let replacement = body.into_inner().try_into_domain()?;
    let user = users
        .replace(&caller.0, id, replacement, if_version)
        .await?;
    Ok(changed(user))
}
