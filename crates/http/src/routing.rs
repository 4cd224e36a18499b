//! Route helpers that every resource uses.

use actix_web::{HttpResponse, Resource, web};

use crate::error::ApiError;

/// A resource whose other methods get 405 with an `Allow` header.
pub(crate) fn resource(path: &str, allowed: &'static str) -> Resource {
    web::resource(path).default_service(web::to(move || async move {
        Err::<HttpResponse, _>(ApiError::MethodNotAllowed { allowed })
    }))
}
