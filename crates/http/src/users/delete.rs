//! `DELETE /api/v1/users/{id}`.

use actix_web::{HttpRequest, HttpResponse, web};
use roster_application::UserService;

use super::representation::user_id;
use crate::{
    caller::Caller,
    components::{IfMatchHeader, PreconditionErrors, UserIdPath},
    conditional,
    error::ApiError,
    problem::Problem,
    settings::ApiSettings,
};

#[utoipa::path(
    delete, path = "/api/v1/users/{id}", operation_id = "deleteUser", tag = "users",
    summary = "Delete a user (administrators); their tokens stop working",
    security(("bearer" = [])),
    params(UserIdPath, IfMatchHeader),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "A malformed `If-Match`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The last active administrator (`urn:roster:problem:last-admin`)", body = Problem, content_type = "application/problem+json"),
        PreconditionErrors,
    ),
)]
pub(super) async fn delete(
    request: HttpRequest,
    users: web::Data<UserService>,
    api: web::Data<ApiSettings>,
    caller: Caller,
    path: web::Path<UserIdPath>,
) -> Result<HttpResponse, ApiError> {
    let id = user_id(&path)?;
    let if_version = conditional::if_match(&request, **api, id)?;
    users.delete(&caller.0, id, if_version).await?;
    Ok(HttpResponse::NoContent().finish())
}
