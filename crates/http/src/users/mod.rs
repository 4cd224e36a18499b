//! `/api/v1/users`: one module per operation, the bodies they share, the routes and
//! this resource's part of the OpenAPI description.

mod create;
mod cursor;
mod delete;
mod dto;
mod list;
mod password;
mod patch;
mod query;
mod read;
mod replace;
mod revoke_tokens;

use actix_web::{
    HttpRequest, HttpResponse,
    http::header::{self, ETag},
    web::{self, ServiceConfig},
};
use roster_domain::{User, UserId};
use utoipa::OpenApi;

pub(crate) use dto::{CreateUserRequest, UserResponse};

use crate::{components::UserIdPath, conditional, error::ApiError, routing::resource};

/// This resource's operations, merged into the served description.
#[derive(OpenApi)]
#[openapi(paths(
    read::me,
    list::list,
    create::create,
    read::get,
    replace::replace,
    patch::patch,
    delete::delete,
    password::change_password,
    revoke_tokens::revoke_tokens,
))]
pub(crate) struct UsersApi;

/// The routes, under `/api/v1`. `/users/me` comes before `/users/{id}`, which would
/// otherwise take it.
pub(crate) fn configure(config: &mut ServiceConfig) {
    config
        .service(resource("/users/me", "GET").route(web::get().to(read::me)))
        .service(
            resource("/users/{id}/password", "PUT").route(web::put().to(password::change_password)),
        )
        .service(
            resource("/users/{id}/revoke-tokens", "POST")
                .route(web::post().to(revoke_tokens::revoke_tokens)),
        )
        .service(
            resource("/users", "GET, POST")
                .route(web::get().to(list::list))
                .route(web::post().to(create::create)),
        )
        .service(
            resource("/users/{id}", "GET, PUT, PATCH, DELETE")
                .route(web::get().to(read::get))
                .route(web::put().to(replace::replace))
                .route(web::patch().to(patch::patch))
                .route(web::delete().to(delete::delete)),
        );
}

/// A path id that is not a ULID names no user: 404, like any other unknown id.
fn user_id(path: &UserIdPath) -> Result<UserId, ApiError> {
    UserId::parse(&path.id).map_err(|_| ApiError::NotFound(format!("no user with id {}", path.id)))
}

/// 201 with the new user, its `Location` and its `ETag`.
pub(crate) fn created(user: User) -> HttpResponse {
    HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/users/{}", user.id)))
        .insert_header(ETag(conditional::etag(user.version)))
        .json(UserResponse::from(user))
}

/// 200 with the user and its `ETag`, or 304 when `If-None-Match` names it.
fn representation(request: &HttpRequest, user: User) -> HttpResponse {
    let tag = ETag(conditional::etag(user.version));
    if conditional::not_modified(request, user.version) {
        return HttpResponse::NotModified().insert_header(tag).finish();
    }
    HttpResponse::Ok()
        .insert_header(tag)
        .json(UserResponse::from(user))
}

/// 200 with the changed user and its new `ETag`.
fn changed(user: User) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(ETag(conditional::etag(user.version)))
        .json(UserResponse::from(user))
}
