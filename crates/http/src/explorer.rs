//! The API explorer: Swagger UI at `/api-docs/`, over the served OpenAPI document
//! (`/api-docs/openapi.json`). Its files are compiled into the binary (utoipa-swagger-ui's
//! `vendored` feature), so it works offline and behind strict egress; `api.explorer:
//! false` leaves it out.

use std::{borrow::Cow, sync::Arc};

use actix_web::{
    HttpResponse,
    http::header::{self, HeaderName},
    web::{self, ServiceConfig},
};
use utoipa_swagger_ui::Config;

use crate::{
    error::ApiError,
    routing::{self, resource},
};

/// What the explorer's pages may load: its own scripts and styles, the document from
/// this origin, and the `data:` images of its stylesheet. Swagger UI sets `style`
/// attributes, hence `'unsafe-inline'` for styles (never for scripts).
const POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
    font-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

static CONTENT_SECURITY_POLICY: HeaderName = HeaderName::from_static("content-security-policy");

/// The explorer's routes, after `/api-docs/openapi.json` (which they would otherwise take).
pub(crate) fn configure(config: &mut ServiceConfig) {
    let swagger = web::Data::new(Arc::new(
        Config::new(["/api-docs/openapi.json"])
            .display_operation_id(true)
            .display_request_duration(true)
            // The badge would send the document to validator.swagger.io.
            .validator_url("none")
            // Tokens pasted into "Authorize" stay in the page, not in local storage.
            .persist_authorization(false),
    ));
    config
        .service(resource("/api-docs", "GET").route(routing::get().to(to_folder)))
        .service(
            resource("/api-docs/{file:.*}", "GET")
                .app_data(swagger)
                .route(routing::get().to(file)),
        );
}

/// `/api-docs` → `/api-docs/`: the page's links are relative to the folder.
async fn to_folder() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, "/api-docs/"))
        .finish()
}

async fn file(
    path: web::Path<String>,
    swagger: web::Data<Arc<Config<'static>>>,
) -> Result<HttpResponse, ApiError> {
    let name = path.into_inner();
    let found = utoipa_swagger_ui::serve(&name, Arc::clone(&swagger))
        .map_err(|error| ApiError::Internal(anyhow::anyhow!("Swagger UI's {name}: {error}")))?;
    let Some(file) = found else {
        return Err(ApiError::NotFound(
            "no such file in the API explorer".to_owned(),
        ));
    };
    let mut response = HttpResponse::Ok();
    response
        .content_type(file.content_type)
        .insert_header((CONTENT_SECURITY_POLICY.clone(), POLICY))
        // The files change with the binary only; an hour keeps upgrades visible.
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"));
    if file.gzpipped {
        response.insert_header((header::CONTENT_ENCODING, "gzip"));
    }
    Ok(response.body(match file.bytes {
        Cow::Borrowed(bytes) => web::Bytes::from_static(bytes),
        Cow::Owned(bytes) => web::Bytes::from(bytes),
    }))
}
