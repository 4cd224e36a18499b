//! `/api/v1/users`: one module per operation, the bodies and responses they share,
//! the routes and this resource's part of the OpenAPI description.

mod create;
pub(crate) mod cursor;
mod delete;
mod dto;
mod import;
mod list;
mod outcomes;
mod password;
mod patch;
mod query;
mod read;
mod replace;
mod representation;
mod revoke_tokens;
mod sessions;

use actix_web::web::{self, ServiceConfig};
use utoipa::OpenApi;

pub(crate) use dto::{CreateUserRequest, UserResponse};
pub(crate) use outcomes::CreationErrors;
pub(crate) use representation::created;

use crate::routing::{self, resource};

/// This resource's operations, merged into the served description.
#[derive(OpenApi)]
#[openapi(paths(
    read::me,
    list::list,
    create::create,
    import::import,
    read::get,
    replace::replace,
    patch::patch,
    delete::delete,
    password::change_password,
    revoke_tokens::revoke_tokens,
    sessions::list,
    sessions::end,
))]
pub(crate) struct UsersApi;

/// The routes, under `/api/v1`. `/users/me` comes before `/users/{id}`, which would
/// otherwise take it.
pub(crate) fn configure(config: &mut ServiceConfig) {
    config
        .service(resource("/users/me", "GET").route(routing::get().to(read::me)))
        .service(
            resource("/users/{id}/password", "PUT").route(web::put().to(password::change_password)),
        )
        .service(
            resource("/users/{id}/revoke-tokens", "POST")
                .route(web::post().to(revoke_tokens::revoke_tokens)),
        )
        .service(resource("/users/{id}/sessions", "GET").route(routing::get().to(sessions::list)))
        .service(
            resource("/users/{id}/sessions/{session_id}", "DELETE")
                .route(web::delete().to(sessions::end)),
        )
        .service(resource("/users/import", "POST").route(web::post().to(import::import)))
        .service(
            resource("/users", "GET, POST")
                .route(routing::get().to(list::list))
                .route(web::post().to(create::create)),
        )
        .service(
            resource("/users/{id}", "GET, PUT, PATCH, DELETE")
                .route(routing::get().to(read::get))
                .route(web::put().to(replace::replace))
                .route(web::patch().to(patch::patch))
                .route(web::delete().to(delete::delete)),
        );
}
