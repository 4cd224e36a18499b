//! The `log` and `telemetry` sections, and the standard `OTEL_*` variables that
//! override them.

use std::{collections::BTreeMap, collections::HashMap, time::Duration};

use serde::{Deserialize, Serialize};

/// The `log` section.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSettings {
    /// A `tracing` filter (`info`, `roster=debug,actix_web=warn`); `RUST_LOG` wins.
    pub level: String,
    pub format: LogFormat,
    /// Whether `/health`, `/ready` and `/metrics` requests get an access-log line.
    pub probes: bool,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            level: "info".to_owned(),
            format: LogFormat::Auto,
            probes: false,
        }
    }
}

impl LogSettings {
    pub fn validate(&self) -> Result<(), String> {
        tracing_subscriber::EnvFilter::try_new(&self.level)
            .map(drop)
            .map_err(|e| format!("log.level is not a valid filter: {e}"))
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable with colours when standard output (where logs go) is a terminal,
    /// JSON otherwise (a pipe, a file, a container's log).
    Auto,
    /// One JSON object per line, for log pipelines.
    Json,
    /// Human-readable, for a terminal (coloured only when it is one).
    Pretty,
}

impl LogFormat {
    /// `Auto` decided: `Pretty` on a terminal, `Json` otherwise.
    #[must_use]
    pub fn on(self, terminal: bool) -> Self {
        match self {
            Self::Auto if terminal => Self::Pretty,
            Self::Auto => Self::Json,
            chosen => chosen,
        }
    }
}

/// The `telemetry` section: OpenTelemetry traces and metrics.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetrySettings {
    /// `service.name` of traces and metrics (`OTEL_SERVICE_NAME`).
    pub service_name: String,
    /// More resource attributes (`OTEL_RESOURCE_ATTRIBUTES`, `key=value,...`).
    pub resource_attributes: BTreeMap<String, String>,
    pub otlp: OtlpSettings,
    pub traces: TraceSettings,
    pub metrics: MetricsSettings,
}

impl Default for TelemetrySettings {
    fn default() -> Self {
        Self {
            service_name: "roster".to_owned(),
            resource_attributes: BTreeMap::new(),
            otlp: OtlpSettings::default(),
            traces: TraceSettings::default(),
            metrics: MetricsSettings::default(),
        }
    }
}

/// Where and how traces and metrics are exported. No endpoint: nothing is exported.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct OtlpSettings {
    /// The collector, for both signals (`OTEL_EXPORTER_OTLP_ENDPOINT`). Over
    /// `http/protobuf`, `/v1/traces` and `/v1/metrics` are appended.
    pub endpoint: Option<String>,
    /// The traces endpoint, used as given (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`).
    pub traces_endpoint: Option<String>,
    /// The metrics endpoint, used as given (`OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`).
    pub metrics_endpoint: Option<String>,
    pub protocol: Protocol,
    /// Sent with every export, e.g. an API key (`OTEL_EXPORTER_OTLP_HEADERS`, which the
    /// exporter merges over these).
    pub headers: BTreeMap<String, String>,
    /// Per export; unset: the exporter's default (10 s, or `OTEL_EXPORTER_OTLP_TIMEOUT`).
    #[serde(with = "humantime_serde")]
    pub timeout: Option<Duration>,
}

/// The OTLP transport (`OTEL_EXPORTER_OTLP_PROTOCOL`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
pub enum Protocol {
    #[default]
    #[serde(rename = "grpc")]
    Grpc,
    #[serde(rename = "http/protobuf")]
    HttpProtobuf,
}

/// Which traces are kept.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TraceSettings {
    /// `OTEL_TRACES_SAMPLER`: `always_on`, `always_off`, `traceidratio`, or one of
    /// those behind `parentbased_` (follow the caller's decision when there is one).
    pub sampler: Sampler,
    /// The ratio for the `traceidratio` samplers, 0.0 to 1.0 (`OTEL_TRACES_SAMPLER_ARG`).
    pub sampler_arg: f64,
}

impl Default for TraceSettings {
    fn default() -> Self {
        Self {
            sampler: Sampler::ParentbasedAlwaysOn,
            sampler_arg: 1.0,
        }
    }
}

/// The standard sampler names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Sampler {
    AlwaysOn,
    AlwaysOff,
    Traceidratio,
    ParentbasedAlwaysOn,
    ParentbasedAlwaysOff,
    ParentbasedTraceidratio,
}

/// Metrics: exported over OTLP when an endpoint is set, and scraped at `/metrics`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsSettings {
    /// How often metrics are pushed over OTLP (`OTEL_METRIC_EXPORT_INTERVAL`, in ms).
    #[serde(with = "humantime_serde")]
    pub export_interval: Duration,
    /// Serve the Prometheus text format at `GET /metrics`.
    pub prometheus: bool,
    /// Serve `/metrics` on this address (`0.0.0.0:9464`) instead of the API's port.
    pub address: Option<String>,
}

impl Default for MetricsSettings {
    fn default() -> Self {
        Self {
            export_interval: Duration::from_secs(60),
            prometheus: true,
            address: None,
        }
    }
}

impl TelemetrySettings {
    /// Applies the standard OpenTelemetry variables, which win over the file and the
    /// `ROSTER__TELEMETRY__*` variables. `OTEL_SDK_DISABLED=true` turns export off.
    pub fn apply_otel_env(&mut self, env: &HashMap<String, String>) -> Result<(), String> {
        let var = |name: &str| env.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
        if let Some(name) = var("OTEL_SERVICE_NAME") {
            name.clone_into(&mut self.service_name);
        }
        if let Some(attributes) = var("OTEL_RESOURCE_ATTRIBUTES") {
            for pair in attributes.split(',').filter(|p| !p.trim().is_empty()) {
                let (key, value) = pair.split_once('=').ok_or_else(|| {
                    format!("OTEL_RESOURCE_ATTRIBUTES: `{pair}` is not key=value")
                })?;
                // Values are percent-encoded (the SDK's environment detector decodes
                // them the same way).
                let value = percent_encoding::percent_decode_str(value.trim())
                    .decode_utf8()
                    .map_err(|_| format!("OTEL_RESOURCE_ATTRIBUTES: `{pair}` is not UTF-8"))?;
                self.resource_attributes
                    .insert(key.trim().to_owned(), value.into_owned());
            }
        }
        for (name, target) in [
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &mut self.otlp.endpoint),
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                &mut self.otlp.traces_endpoint,
            ),
            (
                "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
                &mut self.otlp.metrics_endpoint,
            ),
        ] {
            if let Some(value) = var(name) {
                *target = Some(value.to_owned());
            }
        }
        if let Some(protocol) = var("OTEL_EXPORTER_OTLP_PROTOCOL") {
            self.otlp.protocol = match protocol {
                "grpc" => Protocol::Grpc,
                "http/protobuf" => Protocol::HttpProtobuf,
                other => {
                    return Err(format!(
                        "OTEL_EXPORTER_OTLP_PROTOCOL: `{other}` is not supported (grpc, http/protobuf)"
                    ));
                }
            };
        }
        if let Some(sampler) = var("OTEL_TRACES_SAMPLER") {
            self.traces.sampler = serde_json::from_value(serde_json::Value::from(sampler))
                .map_err(|_| format!("OTEL_TRACES_SAMPLER: `{sampler}` is not a known sampler"))?;
        }
        if let Some(arg) = var("OTEL_TRACES_SAMPLER_ARG") {
            self.traces.sampler_arg = arg
                .parse()
                .map_err(|_| format!("OTEL_TRACES_SAMPLER_ARG: `{arg}` is not a number"))?;
        }
        if let Some(interval) = var("OTEL_METRIC_EXPORT_INTERVAL") {
            let millis: u64 = interval.parse().map_err(|_| {
                format!("OTEL_METRIC_EXPORT_INTERVAL: `{interval}` is not milliseconds")
            })?;
            self.metrics.export_interval = Duration::from_millis(millis);
        }
        if var("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
            self.otlp.endpoint = None;
            self.otlp.traces_endpoint = None;
            self.otlp.metrics_endpoint = None;
        }
        Ok(())
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.service_name.trim().is_empty() {
            return Err("telemetry.service_name must not be empty".to_owned());
        }
        if !(0.0..=1.0).contains(&self.traces.sampler_arg) {
            return Err("telemetry.traces.sampler_arg must be between 0.0 and 1.0".to_owned());
        }
        if self.metrics.export_interval < Duration::from_secs(1) {
            return Err("telemetry.metrics.export_interval must be at least 1s".to_owned());
        }
        for (key, endpoint) in [
            ("telemetry.otlp.endpoint", &self.otlp.endpoint),
            ("telemetry.otlp.traces_endpoint", &self.otlp.traces_endpoint),
            (
                "telemetry.otlp.metrics_endpoint",
                &self.otlp.metrics_endpoint,
            ),
        ] {
            if let Some(endpoint) = endpoint {
                let url = url::Url::parse(endpoint)
                    .map_err(|e| format!("{key}: `{endpoint}` is not a URL: {e}"))?;
                if url.scheme() != "http" {
                    return Err(format!(
                        "{key}: only http:// collectors are supported (this build has no TLS for OTLP); \
                         put a local collector or sidecar in front of a TLS endpoint"
                    ));
                }
            }
        }
        if let Some(address) = &self.metrics.address {
            address.parse::<std::net::SocketAddr>().map_err(|e| {
                format!("telemetry.metrics.address: `{address}` is not host:port: {e}")
            })?;
        }
        Ok(())
    }

    /// The traces endpoint to export to, if any.
    pub fn traces_endpoint(&self) -> Option<String> {
        self.signal_endpoint(self.otlp.traces_endpoint.as_ref(), "v1/traces")
    }

    /// The metrics endpoint to export to, if any.
    pub fn metrics_endpoint(&self) -> Option<String> {
        self.signal_endpoint(self.otlp.metrics_endpoint.as_ref(), "v1/metrics")
    }

    fn signal_endpoint(&self, specific: Option<&String>, path: &str) -> Option<String> {
        if let Some(endpoint) = specific {
            return Some(endpoint.clone());
        }
        let base = self.otlp.endpoint.as_ref()?;
        Some(match self.otlp.protocol {
            Protocol::Grpc => base.clone(),
            Protocol::HttpProtobuf => format!("{}/{path}", base.trim_end_matches('/')),
        })
    }

    /// The settings with header values (often API keys) replaced by `***`.
    #[must_use]
    pub fn redacted(&self) -> Self {
        let mut copy = self.clone();
        for value in copy.otlp.headers.values_mut() {
            "***".clone_into(value);
        }
        copy
    }
}

#[cfg(test)]
mod tests;
