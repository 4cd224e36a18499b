//! The metrics pipeline: one meter provider read by Prometheus (`GET /metrics`) and,
//! when an endpoint is configured, pushed over OTLP periodically.

use std::fmt;

use anyhow::Context as _;
use opentelemetry::metrics::{Meter, MeterProvider as _};
use opentelemetry_otlp::{WithExportConfig as _, WithHttpConfig as _, WithTonicConfig as _};
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use prometheus::{Encoder as _, TextEncoder};

use crate::settings::{Protocol, TelemetrySettings};

/// Metric names that break a Prometheus convention once translated, and their names in
/// `/metrics`. The semantic conventions' `db.client.connection.count` is a gauge, and
/// only histograms and summaries may end in `_count` (`promtool check metrics` says
/// so); it keeps the name it had in the conventions before 1.26. OTLP keeps the
/// current name.
const PROMETHEUS_RENAMES: &[(&str, &str)] =
    &[("db_client_connection_count", "db_client_connections_usage")];

/// The service's meter provider. Cloning shares it.
#[derive(Clone)]
pub struct Metrics {
    provider: SdkMeterProvider,
    registry: prometheus::Registry,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// Builds the pipeline. Call inside the tokio runtime when exporting over gRPC.
    pub fn new(settings: &TelemetrySettings) -> anyhow::Result<Self> {
        let registry = prometheus::Registry::new();
        let prometheus = opentelemetry_prometheus::exporter()
            .with_registry(registry.clone())
            .build()
            .context("cannot build the Prometheus exporter")?;
        let mut builder = SdkMeterProvider::builder()
            .with_resource(crate::resource(settings))
            .with_reader(prometheus);
        if let Some(endpoint) = settings.metrics_endpoint() {
            let exporter = match settings.otlp.protocol {
                Protocol::Grpc => {
                    let mut exporter = opentelemetry_otlp::MetricExporter::builder()
                        .with_tonic()
                        .with_endpoint(endpoint)
                        .with_metadata(crate::grpc_metadata(&settings.otlp.headers)?);
                    if let Some(timeout) = settings.otlp.timeout {
                        exporter = exporter.with_timeout(timeout);
                    }
                    exporter.build()
                }
                Protocol::HttpProtobuf => {
                    let mut exporter = opentelemetry_otlp::MetricExporter::builder()
                        .with_http()
                        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
                        .with_endpoint(endpoint)
                        .with_headers(crate::http_headers(&settings.otlp.headers));
                    if let Some(timeout) = settings.otlp.timeout {
                        exporter = exporter.with_timeout(timeout);
                    }
                    exporter.build()
                }
            }
            .context("cannot build the OTLP metric exporter")?;
            builder = builder.with_reader(
                PeriodicReader::builder(exporter)
                    .with_interval(settings.metrics.export_interval)
                    .build(),
            );
        }
        Ok(Self {
            provider: builder.build(),
            registry,
        })
    }

    /// Metrics that go nowhere but `/metrics`: for tests and command-line tools.
    pub fn local() -> anyhow::Result<Self> {
        Self::new(&TelemetrySettings::default())
    }

    /// The meter the adapters create their instruments with.
    pub fn meter(&self) -> Meter {
        self.provider.meter("roster")
    }

    /// The current values in the Prometheus text exposition format.
    pub fn render(&self) -> anyhow::Result<String> {
        let mut families = self.registry.gather();
        for family in &mut families {
            if let Some((_, renamed)) = PROMETHEUS_RENAMES
                .iter()
                .find(|(name, _)| *name == family.name())
            {
                family.set_name((*renamed).to_owned());
            }
        }
        let mut text = Vec::new();
        TextEncoder::new()
            .encode(&families, &mut text)
            .context("cannot encode the metrics")?;
        String::from_utf8(text).context("the metrics are not UTF-8")
    }

    /// Pushes the last values (when exporting) and stops the pipeline.
    pub fn shutdown(&self) {
        if let Err(error) = self.provider.shutdown() {
            tracing::debug!(%error, "metrics shutdown");
        }
    }
}
