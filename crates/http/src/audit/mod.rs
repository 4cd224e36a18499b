//! `/api/v1/audit`: the audit log, read by administrators with the listing conventions
//! of `/users` (filters, newest first, cursor pages with `Link`).

mod dto;
mod list;

use actix_web::web::ServiceConfig;
use utoipa::OpenApi;

use crate::routing::{self, resource};

/// This resource's operations, merged into the served description.
#[derive(OpenApi)]
#[openapi(paths(list::list))]
pub(crate) struct AuditApi;

/// The routes, under `/api/v1`.
pub(crate) fn configure(config: &mut ServiceConfig) {
    config.service(resource("/audit", "GET").route(routing::get().to(list::list)));
}
