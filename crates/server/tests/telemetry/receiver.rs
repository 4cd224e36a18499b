//! An in-process OTLP receiver: the collector's gRPC `TraceService` and
//! `MetricsService`, and the same over HTTP/protobuf. It records what arrives.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use actix_web::{App, HttpResponse, HttpServer, web};
use opentelemetry_proto::tonic::{
    collector::{
        metrics::v1::{
            ExportMetricsServiceRequest, ExportMetricsServiceResponse,
            metrics_service_server::{MetricsService, MetricsServiceServer},
        },
        trace::v1::{
            ExportTraceServiceRequest, ExportTraceServiceResponse,
            trace_service_server::{TraceService, TraceServiceServer},
        },
    },
    common::v1::{AnyValue, KeyValue, any_value::Value},
    trace::v1::Span,
};
use prost::Message as _;

/// Everything received so far.
#[derive(Debug, Clone, Default)]
pub(crate) struct Collector {
    traces: Arc<Mutex<Vec<ExportTraceServiceRequest>>>,
    metrics: Arc<Mutex<Vec<ExportMetricsServiceRequest>>>,
}

/// A received span with its resource's `service.name` and attributes.
#[derive(Debug, Clone)]
pub(crate) struct ReceivedSpan {
    pub(crate) service_name: Option<String>,
    pub(crate) resource: Vec<KeyValue>,
    pub(crate) span: Span,
}

impl ReceivedSpan {
    pub(crate) fn trace_id(&self) -> String {
        hex(&self.span.trace_id)
    }

    pub(crate) fn span_id(&self) -> String {
        hex(&self.span.span_id)
    }

    pub(crate) fn parent_span_id(&self) -> Option<String> {
        (!self.span.parent_span_id.is_empty()).then(|| hex(&self.span.parent_span_id))
    }

    pub(crate) fn attribute(&self, key: &str) -> Option<String> {
        attribute(&self.span.attributes, key)
    }

    /// An attribute of the span's resource.
    pub(crate) fn resource_attribute(&self, key: &str) -> Option<String> {
        attribute(&self.resource, key)
    }

    /// The attribute, when it was exported as an integer (not as text that reads as one).
    pub(crate) fn int_attribute(&self, key: &str) -> Option<i64> {
        self.span
            .attributes
            .iter()
            .find(|kv| kv.key == key)
            .and_then(|kv| kv.value.as_ref())
            .and_then(|value| match value.value {
                Some(Value::IntValue(number)) => Some(number),
                _ => None,
            })
    }
}

impl Collector {
    pub(crate) fn spans(&self) -> Vec<ReceivedSpan> {
        let traces = self.traces.lock().expect("lock");
        let mut spans = Vec::new();
        for request in traces.iter() {
            for resource_spans in &request.resource_spans {
                let resource = resource_spans
                    .resource
                    .as_ref()
                    .map(|resource| resource.attributes.clone())
                    .unwrap_or_default();
                let service_name = attribute(&resource, "service.name");
                for scope_spans in &resource_spans.scope_spans {
                    for span in &scope_spans.spans {
                        spans.push(ReceivedSpan {
                            service_name: service_name.clone(),
                            resource: resource.clone(),
                            span: span.clone(),
                        });
                    }
                }
            }
        }
        spans
    }

    /// The names of the metrics received.
    pub(crate) fn metric_names(&self) -> Vec<String> {
        let metrics = self.metrics.lock().expect("lock");
        metrics
            .iter()
            .flat_map(|request| &request.resource_metrics)
            .flat_map(|resource| &resource.scope_metrics)
            .flat_map(|scope| &scope.metrics)
            .map(|metric| metric.name.clone())
            .collect()
    }

    /// Serves gRPC on a free local port; returns the endpoint.
    pub(crate) async fn serve_grpc(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let address = listener.local_addr().expect("address");
        let server = tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(self.clone()))
            .add_service(MetricsServiceServer::new(self.clone()))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener));
        tokio::spawn(server);
        format!("http://{address}")
    }

    /// Serves HTTP/protobuf (`/v1/traces`, `/v1/metrics`) on a free local port; returns
    /// the base endpoint.
    pub(crate) fn serve_http(&self) -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        let address: SocketAddr = listener.local_addr().expect("address");
        let collector = web::Data::new(self.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(collector.clone())
                .route("/v1/traces", web::post().to(http_traces))
                .route("/v1/metrics", web::post().to(http_metrics))
        })
        .workers(1)
        .listen(listener)
        .expect("listen")
        .run();
        tokio::spawn(server);
        format!("http://{address}")
    }
}

async fn http_traces(collector: web::Data<Collector>, body: web::Bytes) -> HttpResponse {
    match ExportTraceServiceRequest::decode(body) {
        Ok(request) => {
            collector.traces.lock().expect("lock").push(request);
            protobuf(&ExportTraceServiceResponse::default())
        }
        Err(_) => HttpResponse::BadRequest().finish(),
    }
}

async fn http_metrics(collector: web::Data<Collector>, body: web::Bytes) -> HttpResponse {
    match ExportMetricsServiceRequest::decode(body) {
        Ok(request) => {
            collector.metrics.lock().expect("lock").push(request);
            protobuf(&ExportMetricsServiceResponse::default())
        }
        Err(_) => HttpResponse::BadRequest().finish(),
    }
}

fn protobuf(message: &impl prost::Message) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/x-protobuf")
        .body(message.encode_to_vec())
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.traces.lock().expect("lock").push(request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl MetricsService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        self.metrics
            .lock()
            .expect("lock")
            .push(request.into_inner());
        Ok(tonic::Response::new(ExportMetricsServiceResponse::default()))
    }
}

fn attribute(attributes: &[KeyValue], key: &str) -> Option<String> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|value: &AnyValue| value.value.as_ref())
        .map(|value| match value {
            Value::StringValue(text) => text.clone(),
            Value::IntValue(number) => number.to_string(),
            Value::BoolValue(flag) => flag.to_string(),
            Value::DoubleValue(number) => number.to_string(),
            other => format!("{other:?}"),
        })
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut text, byte| {
        let _ = write!(text, "{byte:02x}");
        text
    })
}
