//! Route helpers that every resource uses.

use std::sync::Arc;

use actix_web::{
    Error, HttpRequest, HttpResponse, Resource, Route,
    body::MessageBody,
    dev::{ServiceFactory, ServiceRequest, ServiceResponse},
    guard,
    http::{
        Method,
        header::{self, HeaderName},
    },
    middleware::DefaultHeaders,
    web,
};

use crate::error::ApiError;

/// The media type `PATCH` takes (RFC 7396), advertised in `Accept-Patch` (RFC 5789).
pub(crate) const MERGE_PATCH: &str = "application/merge-patch+json";

/// A resource that takes `methods` (`"GET, POST"`): `OPTIONS` answers 204 with `Allow`
/// (and `Accept-Patch` where `PATCH` is taken), other methods get 405 with `Allow`.
/// `HEAD` is allowed wherever `GET` is, through [`get`]. Cross-origin preflights never
/// get here: the CORS middleware, when configured, answers them first.
pub(crate) fn resource(
    path: &str,
    methods: &'static str,
) -> Resource<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = Error,
        InitError = (),
    >,
> {
    let allowed: Arc<str> = allow(methods).into();
    let patchable = methods.split(", ").any(|method| method == "PATCH");
    let mut headers = DefaultHeaders::new();
    if patchable {
        headers = headers.add((HeaderName::from_static("accept-patch"), MERGE_PATCH));
    }
    web::resource(path)
        .default_service(web::to(move |request: HttpRequest| {
            let allowed = allowed.clone();
            async move {
                if request.method() == Method::OPTIONS {
                    Ok(HttpResponse::NoContent()
                        .insert_header((header::ALLOW, allowed.as_ref()))
                        .finish())
                } else {
                    Err(ApiError::MethodNotAllowed { allowed })
                }
            }
        }))
        .wrap(headers)
}

/// The route for `GET` that also answers `HEAD`: the same handler runs, and actix-http
/// sends its headers (`Content-Length` included) without the body.
pub(crate) fn get() -> Route {
    web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
}

/// The `Allow` header of a resource taking `methods`: `HEAD` beside `GET`, and `OPTIONS`.
fn allow(methods: &str) -> String {
    let mut allowed: Vec<&str> = Vec::new();
    for method in methods.split(", ") {
        allowed.push(method);
        if method == "GET" {
            allowed.push("HEAD");
        }
    }
    allowed.push("OPTIONS");
    allowed.join(", ")
}

#[cfg(test)]
mod tests {
    use super::allow;

    #[test]
    fn head_follows_get_and_options_ends_every_list() {
        assert_eq!(allow("GET"), "GET, HEAD, OPTIONS");
        assert_eq!(
            allow("GET, PUT, PATCH, DELETE"),
            "GET, HEAD, PUT, PATCH, DELETE, OPTIONS"
        );
        assert_eq!(allow("POST"), "POST, OPTIONS");
    }
}
