//! `PUT /api/v1/users/{id}/password`.

use actix_web::{HttpRequest, HttpResponse, web};
use roster_application::UserService;
use roster_domain::Password;

use super::{dto::ChangePasswordRequest, representation::user_id};
use crate::{
    caller::{Caller, client_of},
    components::{BodyErrors, UserIdPath},
    error::ApiError,
    problem::Problem,
};

#[utoipa::path(
    put, path = "/api/v1/users/{id}/password", operation_id = "changePassword", tag = "users",
    summary = "Change a password; every earlier token of the user stops working",
    security(("bearer" = [])),
    params(UserIdPath),
    request_body = ChangePasswordRequest,
    responses(
        (status = 204, description = "Changed"),
        (status = 400, description = "Malformed JSON or an unknown field", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        BodyErrors,
        (status = 422, description = "A password rule is broken, or `current_password` is missing or wrong (the rules are checked first: a wrong current password gets the same answer whatever the new one is)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many password hashes from this client, or wrong current passwords for this account", body = Problem, content_type = "application/problem+json", headers(("Retry-After" = String, description = "Seconds to wait"))),
    ),
)]
pub(super) async fn change_password(
    request: HttpRequest,
    users: web::Data<UserService>,
    caller: Caller,
    path: web::Path<UserIdPath>,
    body: web::Json<ChangePasswordRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = user_id(&path)?;
    let body = body.into_inner();
    let current = body.current_password.map(Password::new);
    let client = client_of(&request)?;
    users
        .change_password(
            &caller.0,
            id,
            current,
            Password::new(body.new_password),
            client,
        )
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
