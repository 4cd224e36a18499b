//! `/api/v1/auth`: tokens, logout, registration; the routes and this resource's part
//! of the OpenAPI description.

mod register;
mod revoke;
mod token;

use actix_web::web::{self, ServiceConfig};
use utoipa::OpenApi;

use crate::routing::resource;

/// This resource's operations, merged into the served description.
#[derive(OpenApi)]
#[openapi(paths(token::token, revoke::revoke, register::register))]
pub(crate) struct AuthApi;

/// The routes, under `/api/v1`.
pub(crate) fn configure(config: &mut ServiceConfig) {
    config
        .service(resource("/auth/token", "POST").route(web::post().to(token::token)))
        .service(resource("/auth/revoke", "POST").route(web::post().to(revoke::revoke)))
        .service(resource("/auth/register", "POST").route(web::post().to(register::register)));
}
