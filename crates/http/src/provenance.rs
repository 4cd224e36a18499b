//! Which request a use case serves, for the audit log: a middleware inside the
//! request's span puts the request id and trace id in a task-local while the request
//! is handled, and [`TaskRequestContext`] reads them back from the use cases.

use actix_web::{
    Error, HttpMessage as _,
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    middleware::Next,
};
use opentelemetry::trace::TraceContextExt as _;
use roster_domain::{Provenance, ports::RequestContext};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use crate::middleware::RequestId;

tokio::task_local! {
    static PROVENANCE: Provenance;
}

/// The [`RequestContext`] of requests served by this adapter: the provenance of the
/// request being handled on the current task, or none outside a request.
#[derive(Debug, Clone, Copy, Default)]
pub struct TaskRequestContext;

impl RequestContext for TaskRequestContext {
    fn provenance(&self) -> Provenance {
        PROVENANCE.try_with(Clone::clone).unwrap_or_default()
    }
}

/// Handles the request with its provenance in scope. It runs inside the request's root
/// span, which holds the trace (the caller's, when it sent a `traceparent`), and after
/// the span builder has given the request its id.
pub(crate) async fn scope(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .map(|id| id.0.clone());
    let provenance = Provenance {
        request_id,
        trace_id: current_trace_id(),
    };
    PROVENANCE.scope(provenance, next.call(request)).await
}

/// The trace id of the current span, in its W3C hex form; none without a trace (no
/// OpenTelemetry layer).
fn current_trace_id() -> Option<String> {
    let context = tracing::Span::current().context();
    let span = context.span();
    let span_context = span.span_context();
    span_context
        .is_valid()
        .then(|| span_context.trace_id().to_string())
}

#[cfg(test)]
mod tests {
    use actix_web::{App, HttpResponse, middleware::from_fn, test, web};
    use tracing_actix_web::TracingLogger;

    use super::*;
    use crate::middleware::RequestSpan;

    async fn echo() -> HttpResponse {
        let provenance = TaskRequestContext.provenance();
        HttpResponse::Ok().body(provenance.request_id.unwrap_or_default())
    }

    #[actix_web::test]
    async fn use_cases_see_the_request_they_serve_and_nothing_outside_one() {
        let app = test::init_service(
            App::new()
                .wrap(from_fn(scope))
                .wrap(TracingLogger::<RequestSpan>::new())
                .route("/", web::get().to(echo)),
        )
        .await;
        let request = test::TestRequest::get()
            .uri("/")
            .insert_header(("x-request-id", "req-42"))
            .to_request();
        let body = test::call_and_read_body(&app, request).await;
        assert_eq!(body, "req-42");
        assert_eq!(TaskRequestContext.provenance(), Provenance::default());
    }
}
