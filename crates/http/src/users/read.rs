//! `GET /api/v1/users/{id}` and `GET /api/v1/users/me`.

use actix_web::{HttpRequest, HttpResponse, web};
use roster_application::UserService;

use super::{
    dto::UserResponse,
    representation::{representation, user_id},
};
use crate::{
    caller::Caller,
    components::{IfNoneMatchHeader, UserIdPath},
    error::ApiError,
    problem::Problem,
};

#[utoipa::path(
    get, path = "/api/v1/users/{id}", operation_id = "getUser", tag = "users",
    summary = "Get a user (administrators, or the user)",
    security(("bearer" = [])),
    params(UserIdPath, IfNoneMatchHeader),
    responses(
        (status = 200, description = "The user", body = UserResponse, headers(("ETag" = String, description = "The new version's entity tag"))),
        (status = 304, description = "Not modified: `If-None-Match` names the current version", headers(("ETag" = String, description = "The new version's entity tag"))),
        (status = 403, description = "Another user, and not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(super) async fn get(
    request: HttpRequest,
    users: web::Data<UserService>,
    caller: Caller,
    path: web::Path<UserIdPath>,
) -> Result<HttpResponse, ApiError> {
    let user = users.get(&caller.0, user_id(&path)?).await?;
    Ok(representation(&request, user))
}

#[utoipa::path(
    get, path = "/api/v1/users/me", operation_id = "getCurrentUser", tag = "users",
    summary = "The caller",
    security(("bearer" = [])),
    params(IfNoneMatchHeader),
    responses(
        (status = 200, description = "The caller", body = UserResponse, headers(("ETag" = String, description = "The new version's entity tag"))),
        (status = 304, description = "Not modified", headers(("ETag" = String, description = "The new version's entity tag"))),
        (status = 403, description = "The token does not allow reading the caller", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The caller's user no longer exists", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(super) async fn me(
    request: HttpRequest,
    users: web::Data<UserService>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    let user = users.me(&caller.0).await?;
    Ok(representation(&request, user))
}
