//! What the HTTP adapter reports: the semantic-convention HTTP server metrics, the W3C
//! trace context in and out, and the Prometheus scrape endpoint.

use std::{fmt, sync::Arc, time::Instant};

use actix_web::{
    HttpResponse,
    dev::ServiceRequest,
    http::{
        StatusCode,
        header::{self, HeaderMap, HeaderValue},
    },
    web,
};
use opentelemetry::{
    KeyValue,
    metrics::{Histogram, Meter, UpDownCounter},
    propagation::Extractor,
    trace::{TraceContextExt as _, TraceFlags},
};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use crate::caller::TrustedProxies;

/// Renders the current metrics in the Prometheus text format.
pub type MetricsText = Arc<dyn Fn() -> anyhow::Result<String> + Send + Sync>;

/// The HTTP adapter's instruments, and its observability settings.
#[derive(Clone)]
pub struct Observability {
    duration: Histogram<f64>,
    active: UpDownCounter<i64>,
    /// Whether probe and scrape requests get an access-log line.
    pub log_probes: bool,
    /// Serves `GET /metrics` on the API's port when set.
    pub metrics_text: Option<MetricsText>,
}

impl fmt::Debug for Observability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Observability")
            .field("log_probes", &self.log_probes)
            .field("serves_metrics", &self.metrics_text.is_some())
            .finish_non_exhaustive()
    }
}

/// The bucket boundaries the HTTP semantic conventions recommend, in seconds.
const DURATION_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

impl Observability {
    pub fn new(meter: &Meter, log_probes: bool, metrics_text: Option<MetricsText>) -> Self {
        Self {
            duration: meter
                .f64_histogram("http.server.request.duration")
                .with_unit("s")
                .with_description("Duration of HTTP server requests")
                .with_boundaries(DURATION_BUCKETS.to_vec())
                .build(),
            active: meter
                .i64_up_down_counter("http.server.active_requests")
                .with_unit("{request}")
                .with_description("Number of HTTP server requests in flight")
                .build(),
            log_probes,
            metrics_text,
        }
    }

    /// Counts the request as active until the returned guard is dropped (also when the
    /// client goes away mid-request), and records its duration then.
    pub(crate) fn start(&self, request: &ServiceRequest) -> InFlight {
        let scheme = request
            .app_data::<actix_web::web::Data<TrustedProxies>>()
            .map_or("http", |proxies| proxies.scheme(request.request()));
        let common = vec![
            KeyValue::new("http.request.method", method_label(request.method())),
            KeyValue::new("url.scheme", scheme),
        ];
        self.active.add(1, &common);
        InFlight {
            observability: self.clone(),
            route: route(request),
            common,
            started: Instant::now(),
            status: None,
        }
    }
}

/// The route template the request matched (`/api/v1/users/{id}`), or none: found once
/// a request (the router's regular expressions are not free) and kept in its
/// extensions for the span, the access log and the metrics.
#[derive(Debug, Clone)]
pub(crate) struct MatchedRoute(pub(crate) Option<String>);

pub(crate) fn route(request: &ServiceRequest) -> Option<String> {
    use actix_web::HttpMessage as _;
    if let Some(MatchedRoute(route)) = request.extensions().get::<MatchedRoute>() {
        return route.clone();
    }
    let route = request.match_pattern();
    request.extensions_mut().insert(MatchedRoute(route.clone()));
    route
}

/// The method as the semantic conventions name it: one of RFC 9110's and PATCH, or
/// `_OTHER` (a client can send any token, and a label's values must stay few).
pub(crate) fn method_label(method: &actix_web::http::Method) -> &'static str {
    match method.as_str() {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "CONNECT" => "CONNECT",
        "OPTIONS" => "OPTIONS",
        "TRACE" => "TRACE",
        "PATCH" => "PATCH",
        _ => "_OTHER",
    }
}

/// A request being served; see [`Observability::start`].
pub(crate) struct InFlight {
    observability: Observability,
    route: Option<String>,
    common: Vec<KeyValue>,
    started: Instant,
    status: Option<StatusCode>,
}

impl InFlight {
    pub(crate) fn finish(mut self, status: StatusCode) {
        self.status = Some(status);
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.observability.active.add(-1, &self.common);
        let mut attributes = self.common.clone();
        if let Some(route) = self.route.take() {
            attributes.push(KeyValue::new("http.route", route));
        }
        match self.status {
            Some(status) => {
                attributes.push(KeyValue::new(
                    "http.response.status_code",
                    i64::from(status.as_u16()),
                ));
                if status.is_server_error() {
                    attributes.push(KeyValue::new("error.type", status.as_u16().to_string()));
                }
            }
            // The client went away before the response was ready.
            None => attributes.push(KeyValue::new("error.type", "cancelled")),
        }
        self.observability
            .duration
            .record(self.started.elapsed().as_secs_f64(), &attributes);
    }
}

/// Joins `span` to the caller's trace when the request carries a W3C `traceparent`
/// (and `tracestate`).
pub(crate) fn continue_trace(span: &tracing::Span, headers: &HeaderMap) {
    let parent = opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.extract(&HeaderExtractor(headers))
    });
    if parent.span().span_context().is_valid() {
        // Fails only without the OpenTelemetry layer, when there is no trace to join.
        let _ = span.set_parent(parent);
    }
}

/// The `traceparent` of `span`, for the response: it tells the caller which trace to
/// look up.
pub(crate) fn traceparent(span: &tracing::Span) -> Option<HeaderValue> {
    let context = span.context();
    let otel_span = context.span();
    let span_context = otel_span.span_context();
    if !span_context.is_valid() {
        return None;
    }
    let flags = if span_context.trace_flags().is_sampled() {
        TraceFlags::SAMPLED
    } else {
        TraceFlags::default()
    };
    HeaderValue::from_str(&format!(
        "00-{}-{}-{:02x}",
        span_context.trace_id(),
        span_context.span_id(),
        flags.to_u8()
    ))
    .ok()
}

struct HeaderExtractor<'a>(&'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(header::HeaderName::as_str).collect()
    }
}

/// `GET /metrics`: the Prometheus text exposition format.
#[utoipa::path(
    get, path = "/metrics", operation_id = "metrics", tag = "probes",
    summary = "Metrics in the Prometheus text format (unless moved or turned off by `telemetry.metrics`)",
    responses(
        (status = 200, description = "The current values", content_type = "text/plain; version=0.0.4", body = String),
        (status = 404, description = "Served on another port, or turned off", body = crate::problem::Problem, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn metrics(render: web::Data<MetricsText>) -> HttpResponse {
    match render.get_ref()() {
        Ok(text) => HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4; charset=utf-8")
            .body(text),
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "cannot render the metrics");
            HttpResponse::InternalServerError().finish()
        }
    }
}
