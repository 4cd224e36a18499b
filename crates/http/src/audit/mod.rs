//! `/api/v1/audit`: the audit log, read by administrators with the listing conventions
//! of `/users` (filters, newest first, cursor pages with `Link`).

mod dto;
mod list;

use actix_web::web::{self, ServiceConfig};
use utoipa::OpenApi;

use crate::routing::resource;

/// This resource's operations, merged into the served description.
#[derive(OpenApi)]
#[openapi(paths(list::list))]
pub(crate) struct AuditApi;

/// The routes, under `/api/v1`.
pub(crate) fn configure(config: &mut ServiceConfig) {
    config.service(resource("/audit", "GET").route(web::get().to(list::list)));
}
