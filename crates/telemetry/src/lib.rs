//! Observability adapter: the one `tracing` subscriber (JSON or pretty logs, and the
//! OpenTelemetry layer that turns spans into traces exported over OTLP), the W3C
//! trace-context propagator, and the metrics pipeline (OTLP push and Prometheus text).
//!
//! The rest of Roster only uses `tracing` macros and the OpenTelemetry *API* (for
//! metric instruments and trace-context propagation); the SDK, the exporters and
//! their settings live here, with the adapter of the domain's `BusinessMetrics` port.

mod business;
mod metrics;
mod settings;

use std::{collections::HashMap, io::IsTerminal as _, sync::LazyLock};

use anyhow::Context as _;
use opentelemetry::{KeyValue, trace::TraceContextExt as _, trace::TracerProvider as _};
use opentelemetry_otlp::{WithExportConfig as _, WithHttpConfig as _, WithTonicConfig as _};
use opentelemetry_sdk::{
    Resource,
    propagation::TraceContextPropagator,
    resource::TelemetryResourceDetector,
    trace::{Sampler as SdkSampler, SdkTracerProvider},
};
use tracing::Subscriber;
use tracing_subscriber::{
    EnvFilter, Layer as _, fmt::MakeWriter, layer::SubscriberExt as _, registry::LookupSpan,
    util::SubscriberInitExt as _,
};

pub use business::OpenTelemetryBusinessMetrics;
pub use metrics::Metrics;
pub use settings::{
    LogFormat, LogSettings, MetricsSettings, OtlpSettings, Protocol, Sampler, TelemetrySettings,
    TraceSettings,
};

/// Targets that never feed the OpenTelemetry layer: the exporter's own HTTP and gRPC
/// stacks would otherwise trace their exports, which would be exported, and so on.
const EXPORTER_TARGETS: &[&str] = &[
    "h2",
    "hyper",
    "hyper_util",
    "tonic",
    "tower",
    "reqwest",
    "opentelemetry",
    "opentelemetry_sdk",
    "opentelemetry_otlp",
];

/// The installed trace pipeline. Call [`Telemetry::shutdown`] on exit: it flushes the
/// spans still queued for export.
#[derive(Debug)]
pub struct Telemetry {
    tracer_provider: SdkTracerProvider,
}

impl Telemetry {
    /// Installs the global subscriber (writing to stdout) and the W3C trace-context
    /// propagator. Call once, inside the tokio runtime (the gRPC exporter runs on it).
    pub fn init(log: &LogSettings, settings: &TelemetrySettings) -> anyhow::Result<Self> {
        let filter = match std::env::var("RUST_LOG") {
            Ok(directives) if !directives.is_empty() => EnvFilter::try_new(directives)?,
            _ => EnvFilter::try_new(&log.level)?,
        };
        let tracer_provider = tracer_provider(settings)?;
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        let terminal = std::io::stdout().is_terminal();
        subscriber(
            log.format.on(terminal),
            terminal,
            filter,
            std::io::stdout,
            &tracer_provider,
        )
        .try_init()?;
        if let Some(endpoint) = settings.traces_endpoint() {
            tracing::info!(%endpoint, protocol = ?settings.otlp.protocol, "exporting traces over OTLP");
        }
        Ok(Self { tracer_provider })
    }

    /// Flushes queued spans and stops the exporter. A dead collector costs the
    /// exporter's timeout here, never a request.
    pub fn shutdown(self) {
        if let Err(error) = self.tracer_provider.shutdown() {
            tracing::warn!(%error, "cannot flush the last spans");
        }
    }
}

/// The tracer provider: batch export over OTLP when an endpoint is configured. Without
/// one, spans still get trace and span ids (for the logs and the `traceparent` answer)
/// but are never recorded or exported.
pub fn tracer_provider(settings: &TelemetrySettings) -> anyhow::Result<SdkTracerProvider> {
    let builder = SdkTracerProvider::builder().with_resource(resource(settings));
    let Some(endpoint) = settings.traces_endpoint() else {
        return Ok(builder.with_sampler(SdkSampler::AlwaysOff).build());
    };
    let exporter = match settings.otlp.protocol {
        Protocol::Grpc => {
            let mut exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_endpoint(endpoint)
                .with_metadata(grpc_metadata(&settings.otlp.headers)?);
            if let Some(timeout) = settings.otlp.timeout {
                exporter = exporter.with_timeout(timeout);
            }
            exporter.build()
        }
        Protocol::HttpProtobuf => {
            let mut exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
                .with_endpoint(endpoint)
                .with_headers(http_headers(&settings.otlp.headers));
            if let Some(timeout) = settings.otlp.timeout {
                exporter = exporter.with_timeout(timeout);
            }
            exporter.build()
        }
    }
    .context("cannot build the OTLP trace exporter")?;
    Ok(builder
        .with_sampler(sampler(&settings.traces))
        .with_batch_exporter(exporter)
        .build())
}

/// The subscriber production uses: logs to `writer` filtered by `filter` (`Auto` taken
/// as JSON: see [`LogFormat::on`]; pretty lines coloured when `colours`), and spans to
/// the OpenTelemetry layer (INFO and up, whatever the log level). Tests capture its
/// output.
pub fn subscriber<W>(
    format: LogFormat,
    colours: bool,
    filter: EnvFilter,
    writer: W,
    tracer_provider: &SdkTracerProvider,
) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'writer> MakeWriter<'writer> + Send + Sync + 'static,
{
    let traces_filter = EXPORTER_TARGETS
        .iter()
        .fold(EnvFilter::new("info"), |filter, target| {
            filter.add_directive(
                format!("{target}=off")
                    .parse()
                    .unwrap_or_else(|_| tracing::Level::ERROR.into()),
            )
        });
    let traces = tracing_opentelemetry::layer()
        .with_tracer(tracer_provider.tracer("roster"))
        .with_location(false)
        .with_threads(false)
        .with_target(false)
        .with_filter(traces_filter);
    let registry = tracing_subscriber::registry().with(traces);
    match format {
        LogFormat::Json | LogFormat::Auto => {
            let mut logs = json_subscriber::fmt::layer()
                .with_current_span(false)
                .with_span_list(true)
                .with_writer(writer);
            logs.inner_layer_mut()
                .add_multiple_dynamic_fields(|_event, context, fields| {
                    if let Some((trace_id, span_id)) = current_ids(context.lookup_current()) {
                        let _ = fields.write_field("trace_id", trace_id);
                        let _ = fields.write_field("span_id", span_id);
                    }
                });
            Box::new(registry.with(logs.with_filter(filter)))
        }
        LogFormat::Pretty => Box::new(
            registry.with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(colours)
                    .with_writer(writer)
                    .with_filter(filter),
            ),
        ),
    }
}

/// The OpenTelemetry trace and span ids of `span`, as lowercase hex.
fn current_ids<'a, R: LookupSpan<'a>>(
    span: Option<tracing_subscriber::registry::SpanRef<'a, R>>,
) -> Option<(String, String)> {
    let span = span?;
    let context = tracing::dispatcher::get_default(|dispatch| {
        tracing_opentelemetry::get_otel_context(&span.id(), dispatch)
    })?;
    let otel_span = context.span();
    let span_context = otel_span.span_context();
    span_context.is_valid().then(|| {
        (
            span_context.trace_id().to_string(),
            span_context.span_id().to_string(),
        )
    })
}

fn sampler(settings: &TraceSettings) -> SdkSampler {
    let ratio = SdkSampler::TraceIdRatioBased(settings.sampler_arg);
    match settings.sampler {
        Sampler::AlwaysOn => SdkSampler::AlwaysOn,
        Sampler::AlwaysOff => SdkSampler::AlwaysOff,
        Sampler::Traceidratio => ratio,
        Sampler::ParentbasedAlwaysOn => SdkSampler::ParentBased(Box::new(SdkSampler::AlwaysOn)),
        Sampler::ParentbasedAlwaysOff => SdkSampler::ParentBased(Box::new(SdkSampler::AlwaysOff)),
        Sampler::ParentbasedTraceidratio => SdkSampler::ParentBased(Box::new(ratio)),
    }
}

/// This process, as telemetry backends tell replicas apart: one id for its lifetime,
/// shared by its traces and metrics.
static INSTANCE_ID: LazyLock<String> = LazyLock::new(|| ulid::Ulid::generate().to_string());

/// `service.name`, `service.version`, `service.instance.id`, the SDK's `telemetry.sdk.*`
/// (its own detector) and the configured attributes, which win (so that
/// `OTEL_RESOURCE_ATTRIBUTES=service.instance.id=...` can name the instance).
fn resource(settings: &TelemetrySettings) -> Resource {
    Resource::builder_empty()
        .with_detectors(&[Box::new(TelemetryResourceDetector)])
        .with_service_name(settings.service_name.clone())
        .with_attributes([
            KeyValue::new("service.version", env!("CARGO_PKG_VERSION")),
            KeyValue::new("service.instance.id", INSTANCE_ID.clone()),
        ])
        .with_attributes(
            settings
                .resource_attributes
                .iter()
                .map(|(key, value)| KeyValue::new(key.clone(), value.clone())),
        )
        .build()
}

fn http_headers(headers: &std::collections::BTreeMap<String, String>) -> HashMap<String, String> {
    headers
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn grpc_metadata(
    headers: &std::collections::BTreeMap<String, String>,
) -> anyhow::Result<tonic::metadata::MetadataMap> {
    let mut map = http::HeaderMap::new();
    for (name, value) in headers {
        map.insert(
            http::HeaderName::from_bytes(name.as_bytes()).with_context(|| {
                format!("telemetry.otlp.headers: `{name}` is not a header name")
            })?,
            http::HeaderValue::from_str(value).with_context(|| {
                format!("telemetry.otlp.headers: the value of `{name}` is not valid")
            })?,
        );
    }
    Ok(tonic::metadata::MetadataMap::from_headers(map))
}
