//! `POST /api/v1/users`: an administrator creates a user.

use actix_web::{HttpRequest, HttpResponse, web};
use roster_application::UserService;

use super::{
    dto::{CreateUserRequest, UserResponse},
    outcomes::CreationErrors,
    representation::created,
};
use crate::{
    caller::Caller,
    components::{BodyErrors, IdempotencyKeyHeader},
    error::ApiError,
    idempotency::Idempotency,
    problem::Problem,
};

#[utoipa::path(
    post, path = "/api/v1/users", operation_id = "createUser", tag = "users",
    summary = "Create a user (administrators)",
    security(("bearer" = [])),
    params(IdempotencyKeyHeader),
    request_body = CreateUserRequest,
    responses(
        (status = 201, description = "Created", body = UserResponse, headers(("Location" = String, description = "The new user's URL"), ("ETag" = String, description = "The user's entity tag"), ("Idempotent-Replayed" = String, description = "`true` on a replay"))),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        CreationErrors,
        BodyErrors,
    ),
)]
pub(super) async fn create(
    request: HttpRequest,
    users: web::Data<UserService>,
    idempotency: web::Data<Idempotency>,
    caller: Caller,
    body: web::Json<CreateUserRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    // The fingerprint of a retry: the parsed body, so formatting does not matter.
    let canonical = serde_json::to_vec(&body).unwrap_or_default();
    idempotency
        .run(&request, &caller.0, &canonical, async {
            let new = body.try_into_domain()?;
            let user = users.create(&caller.0, new).await?;
            Ok(created(user))
        })
        .await
}
