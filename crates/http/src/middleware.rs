//! The request's span, its id, its access-log line, and the last line of defence
//! against panics.

use std::{panic::AssertUnwindSafe, time::Instant};

use actix_web::{
    Error, HttpMessage as _,
    body::{EitherBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    http::header::{ACCEPT_ENCODING, CONTENT_ENCODING, HeaderName, HeaderValue},
    middleware::Next,
};
use futures_util::FutureExt as _;
use tracing::{Span, field::Empty};
use tracing_actix_web::RootSpanBuilder;

use crate::{
    caller::TrustedProxies,
    error::ApiError,
    observability::{self, Observability},
};

pub(crate) static REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The request's id: the caller's `X-Request-Id` when it is sane, else a new ULID.
#[derive(Debug, Clone)]
pub(crate) struct RequestId(pub(crate) String);

impl RequestId {
    const MAX_LEN: usize = 128;

    fn from_request(request: &ServiceRequest) -> Self {
        let incoming = request
            .headers()
            .get(&REQUEST_ID_HEADER)
            .and_then(|value| value.to_str().ok())
            .filter(|id| Self::is_sane(id));
        Self(incoming.map_or_else(|| ulid::Ulid::generate().to_string(), ToOwned::to_owned))
    }

    /// Short, and made of characters that cannot forge log lines or headers.
    fn is_sane(id: &str) -> bool {
        (1..=Self::MAX_LEN).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
    }
}

/// When the request arrived, for the access log's latency.
#[derive(Debug, Clone, Copy)]
struct Arrival(Instant);

/// Paths whose requests are not access-logged unless `log.probes` is set: probes and
/// scrapes arrive every few seconds.
fn is_probe(path: &str) -> bool {
    matches!(path, "/health" | "/ready" | "/metrics")
}

/// The host and port of a `Host` header (`[v6]:port` included); the header as it is
/// when it does not parse.
fn split_host_port(authority: &str) -> (String, Option<u16>) {
    match authority.parse::<actix_web::http::uri::Authority>() {
        Ok(parsed) => (
            parsed
                .host()
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
            parsed.port_u16(),
        ),
        Err(_) => (authority.to_owned(), None),
    }
}

/// Builds the request's span with OpenTelemetry semantic-convention field names, and
/// writes the access-log line when the response is ready.
#[derive(Debug)]
pub(crate) struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let request_id = RequestId::from_request(request);
        // No route for unmatched paths: never the raw path, whose values are unbounded.
        let route = observability::route(request);
        // `_OTHER` for a method outside the conventions' list, which keeps the sent
        // one in `http.request.method_original`.
        let method = observability::method_label(request.method());
        let original_method = (method == "_OTHER").then(|| request.method().as_str().to_owned());
        let scheme = request
            .app_data::<actix_web::web::Data<TrustedProxies>>()
            .map_or("http", |proxies| proxies.scheme(request.request()));
        let connection = request.connection_info().clone();
        let (host, port) = split_host_port(connection.host());
        let span = tracing::info_span!(
            "HTTP request",
            otel.name = match (&route, method) {
                (_, "_OTHER") => "HTTP".to_owned(),
                (Some(route), _) => format!("{method} {route}"),
                (None, _) => method.to_owned(),
            },
            otel.kind = "server",
            otel.status_code = Empty,
            request_id = %request_id.0,
            http.request.method = method,
            http.request.method_original = original_method,
            http.route = route,
            http.response.status_code = Empty,
            url.path = request.path(),
            url.scheme = scheme,
            server.address = %host,
            server.port = port.map(i64::from),
            client.address = request.peer_addr().map(|a| a.ip().to_string()),
            user_agent.original = request
                .headers()
                .get(actix_web::http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok()),
        );
        observability::continue_trace(&span, request.headers());
        request.extensions_mut().insert(request_id);
        request.extensions_mut().insert(Arrival(Instant::now()));
        span
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        let (status, request) = match outcome {
            Ok(response) => (response.status(), response.request()),
            // Middleware errors only: handler errors are already responses here.
            Err(error) => {
                let status = error.as_response_error().status_code();
                span.record("http.response.status_code", i64::from(status.as_u16()));
                span.record("otel.status_code", "ERROR");
                span.in_scope(|| {
                    tracing::info!(
                        http.response.status_code = i64::from(status.as_u16()),
                        "request completed"
                    );
                });
                return;
            }
        };
        span.record("http.response.status_code", i64::from(status.as_u16()));
        if status.is_server_error() {
            span.record("otel.status_code", "ERROR");
        }
        let log_probes = request
            .app_data::<actix_web::web::Data<Observability>>()
            .is_some_and(|o| o.log_probes);
        if is_probe(request.path()) && !log_probes {
            return;
        }
        let latency_ms = request
            .extensions()
            .get::<Arrival>()
            .map(|arrival| arrival.0.elapsed().as_secs_f64() * 1000.0);
        span.in_scope(|| {
            tracing::info!(
                http.request.method = %request.method(),
                http.route = request
                    .extensions()
                    .get::<observability::MatchedRoute>()
                    .and_then(|matched| matched.0.clone()),
                http.response.status_code = i64::from(status.as_u16()),
                latency_ms,
                "request completed"
            );
        });
    }
}

/// Request bodies are read as sent, never inflated: a body with a content coding other
/// than `identity` is refused with 415 and `Accept-Encoding: identity` (RFC 9110
/// §15.5.16) before anything reads it, so that a small compressed body cannot become a
/// large one past the size limits.
pub(crate) async fn identity_bodies_only(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let coded = request.headers().get_all(CONTENT_ENCODING).any(|value| {
        value.to_str().map_or(true, |codings| {
            codings
                .split(',')
                .map(str::trim)
                .any(|coding| !coding.is_empty() && !coding.eq_ignore_ascii_case("identity"))
        })
    });
    if coded {
        let mut refusal = ApiError::UnsupportedMediaType(
            "Content-Encoding: request bodies are accepted only as sent (identity)".to_owned(),
        )
        .problem_response();
        refusal
            .headers_mut()
            .insert(ACCEPT_ENCODING, HeaderValue::from_static("identity"));
        return Ok(request.into_response(refusal).map_into_right_body());
    }
    next.call(request)
        .await
        .map(ServiceResponse::map_into_left_body)
}

/// How long a request may take once its head is read ([`ServerSettings::request_deadline`]).
///
/// [`ServerSettings::request_deadline`]: crate::ServerSettings
#[derive(Debug, Clone, Copy)]
pub(crate) struct RequestDeadline(pub(crate) std::time::Duration);

/// Bounds a request's whole run after its head: reading the body (a client sending
/// one byte a second no longer holds a worker's request open for hours) and the
/// handler. Past the deadline the handler's future is dropped, so it makes no further
/// database call, and the client gets 503 with `Retry-After`.
pub(crate) async fn deadline(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let limit = request
        .app_data::<actix_web::web::Data<RequestDeadline>>()
        .map_or(std::time::Duration::MAX, |deadline| deadline.0);
    // The request cannot be kept aside (routing needs it unshared): past the deadline
    // the answer is an error, which actix renders through `ApiError`.
    tokio::time::timeout(limit, next.call(request))
        .await
        .unwrap_or_else(|_| {
            tracing::warn!(deadline = ?limit, "request past its deadline");
            Err(
                ApiError::Unavailable(anyhow::anyhow!("the request took longer than {limit:?}"))
                    .into(),
            )
        })
}

static TRACEPARENT_HEADER: HeaderName = HeaderName::from_static("traceparent");

/// Echoes the request id, answers with the request's `traceparent`, records the HTTP
/// metrics, and turns a panic in a handler into a 500 problem response (the connection
/// stays up, and the panic is logged once, inside the request's span).
pub(crate) async fn guard(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let request_id = request.extensions().get::<RequestId>().cloned();
    let in_flight = request
        .app_data::<actix_web::web::Data<Observability>>()
        .map(|observability| observability.start(&request));
    let traceparent = observability::traceparent(&Span::current());
    let outcome = AssertUnwindSafe(next.call(request)).catch_unwind().await;
    if let Some(in_flight) = in_flight {
        in_flight.finish(match &outcome {
            Ok(Ok(response)) => response.status(),
            Ok(Err(error)) => error.as_response_error().status_code(),
            Err(_) => actix_web::http::StatusCode::INTERNAL_SERVER_ERROR,
        });
    }
    let request_id = request_id.and_then(|id| HeaderValue::from_str(&id.0).ok());
    match outcome {
        Ok(Ok(mut response)) => {
            let headers = response.headers_mut();
            if let Some(value) = request_id {
                headers.insert(REQUEST_ID_HEADER.clone(), value);
            }
            if let Some(value) = traceparent {
                headers.insert(TRACEPARENT_HEADER.clone(), value);
            }
            Ok(response)
        }
        // An error from further in (the deadline's 503) is rendered after the request
        // is gone: it carries the headers to its response.
        Ok(Err(error)) => Err(Tagged {
            error,
            request_id,
            traceparent,
        }
        .into()),
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "non-text panic payload".to_owned());
            tracing::error!(panic = %message, "request handler panicked");
            Err(Tagged {
                error: HandlerPanicked.into(),
                request_id,
                traceparent,
            }
            .into())
        }
    }
}

/// A handler panicked (and the panic is logged): a generic 500 problem.
#[derive(Debug, thiserror::Error)]
#[error("request handler panicked")]
struct HandlerPanicked;

impl actix_web::ResponseError for HandlerPanicked {
    fn status_code(&self) -> actix_web::http::StatusCode {
        actix_web::http::StatusCode::INTERNAL_SERVER_ERROR
    }

    fn error_response(&self) -> actix_web::HttpResponse {
        // Not `ApiError::error_response`, which would log it a second time.
        ApiError::Internal(anyhow::anyhow!("request handler panicked")).problem_response()
    }
}

/// An error that left the guard unrendered (a middleware's, such as the deadline's
/// 503, or a handler's panic, as a generic 500 problem), with the request id and
/// `traceparent` its response must carry like any other.
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
struct Tagged {
    error: Error,
    request_id: Option<HeaderValue>,
    traceparent: Option<HeaderValue>,
}

impl actix_web::ResponseError for Tagged {
    fn status_code(&self) -> actix_web::http::StatusCode {
        self.error.as_response_error().status_code()
    }

    fn error_response(&self) -> actix_web::HttpResponse {
        let mut response = self.error.error_response();
        let headers = response.headers_mut();
        if let Some(value) = &self.request_id {
            headers.insert(REQUEST_ID_HEADER.clone(), value.clone());
        }
        if let Some(value) = &self.traceparent {
            headers.insert(TRACEPARENT_HEADER.clone(), value.clone());
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use actix_web::{
        App, HttpResponse, body::to_bytes, middleware::from_fn, test as actix_test, web,
    };
    use tracing_actix_web::TracingLogger;

    use super::{RequestId, RequestSpan, guard};

    /// As the server does: an error that reaches the top becomes its response.
    async fn respond(
        app: &impl actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody + 'static>,
            Error = actix_web::Error,
        >,
        request: actix_http::Request,
    ) -> (u16, Option<String>, serde_json::Value) {
        let response = match actix_test::try_call_service(app, request).await {
            Ok(response) => response.into_parts().1.map_into_boxed_body(),
            Err(error) => error.as_response_error().error_response(),
        };
        let status = response.status().as_u16();
        let request_id = response
            .headers()
            .get("x-request-id")
            .map(|v| v.to_str().unwrap_or_default().to_owned());
        let body = to_bytes(response.into_body()).await.unwrap_or_default();
        (
            status,
            request_id,
            serde_json::from_slice(&body).unwrap_or_default(),
        )
    }

    async fn boom() -> HttpResponse {
        panic!("secret internals")
    }

    #[actix_web::test]
    async fn a_panicking_handler_gets_a_generic_500_problem_and_the_worker_lives_on() {
        let app = actix_test::init_service(
            App::new()
                .wrap(from_fn(guard))
                .wrap(TracingLogger::<RequestSpan>::new())
                .route("/boom", web::get().to(boom))
                .route(
                    "/fine",
                    web::get().to(|| async { HttpResponse::Ok().json(serde_json::json!({})) }),
                ),
        )
        .await;

        let boom = actix_test::TestRequest::get()
            .uri("/boom")
            .insert_header(("x-request-id", "req-1"))
            .to_request();
        let (status, request_id, body) = respond(&app, boom).await;
        assert_eq!(status, 500);
        assert_eq!(request_id.as_deref(), Some("req-1"));
        assert_eq!(body["title"], "Internal Server Error");
        assert!(
            !body.to_string().contains("secret internals"),
            "the cause stays in the log: {body}"
        );

        let fine = actix_test::TestRequest::get().uri("/fine").to_request();
        let (status, request_id, _) = respond(&app, fine).await;
        assert_eq!(status, 200);
        assert_eq!(request_id.map(|id| id.len()), Some(26), "a generated ULID");
    }

    #[test]
    fn the_host_header_splits_into_address_and_port() {
        use super::split_host_port;
        let split = split_host_port;
        assert_eq!(
            split("api.example.com"),
            ("api.example.com".to_owned(), None)
        );
        assert_eq!(
            split("127.0.0.1:8080"),
            ("127.0.0.1".to_owned(), Some(8080))
        );
        assert_eq!(split("[::1]:8080"), ("::1".to_owned(), Some(8080)));
        assert_eq!(split("[::1]"), ("::1".to_owned(), None));
        assert_eq!(split("not a host"), ("not a host".to_owned(), None));
    }

    #[test]
    fn only_short_plain_request_ids_are_honoured() {
        assert!(RequestId::is_sane("01HZX3J5Q7Y6V0D2N4M8K9P1RS"));
        assert!(RequestId::is_sane("abc-123_x.y:z"));
        assert!(!RequestId::is_sane(""));
        assert!(!RequestId::is_sane(&"a".repeat(129)));
        assert!(!RequestId::is_sane("a b"));
        assert!(!RequestId::is_sane("id\"injected"));
        assert!(!RequestId::is_sane("line\nbreak"));
    }
}
