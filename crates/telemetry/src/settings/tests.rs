//! Tests of the log and telemetry settings: defaults, validation, the OTLP endpoint.

use super::*;

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn no_endpoint_means_no_export() {
    let settings = TelemetrySettings::default();
    assert_eq!(settings.traces_endpoint(), None);
    assert_eq!(settings.metrics_endpoint(), None);
}

#[test]
fn the_standard_variables_override_the_file() {
    let mut settings = TelemetrySettings::default();
    settings
        .apply_otel_env(&env(&[
            ("OTEL_SERVICE_NAME", "roster-eu"),
            (
                "OTEL_RESOURCE_ATTRIBUTES",
                "deployment.environment=prod, team=id",
            ),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "0.25"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "15000"),
        ]))
        .expect("valid");
    settings.validate().expect("valid");
    assert_eq!(settings.service_name, "roster-eu");
    assert_eq!(
        settings.resource_attributes["deployment.environment"],
        "prod"
    );
    assert_eq!(settings.resource_attributes["team"], "id");
    assert_eq!(settings.traces.sampler, Sampler::ParentbasedTraceidratio);
    assert!((settings.traces.sampler_arg - 0.25).abs() < f64::EPSILON);
    assert_eq!(settings.metrics.export_interval, Duration::from_secs(15));
    assert_eq!(
        settings.traces_endpoint().as_deref(),
        Some("http://collector:4318/v1/traces")
    );
    assert_eq!(
        settings.metrics_endpoint().as_deref(),
        Some("http://collector:4318/v1/metrics")
    );
}

#[test]
fn signal_endpoints_are_used_as_given_and_grpc_gets_no_path() {
    let mut settings = TelemetrySettings::default();
    settings
        .apply_otel_env(&env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317"),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://tempo:4317"),
        ]))
        .expect("valid");
    assert_eq!(
        settings.traces_endpoint().as_deref(),
        Some("http://tempo:4317")
    );
    assert_eq!(
        settings.metrics_endpoint().as_deref(),
        Some("http://collector:4317")
    );
}

#[test]
fn sdk_disabled_turns_export_off() {
    let mut settings = TelemetrySettings::default();
    settings
        .apply_otel_env(&env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317"),
            ("OTEL_SDK_DISABLED", "true"),
        ]))
        .expect("valid");
    assert_eq!(settings.traces_endpoint(), None);
}

#[test]
fn bad_values_name_their_variable_or_key() {
    let cases = [
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
        ("OTEL_TRACES_SAMPLER", "jaeger_remote"),
        ("OTEL_TRACES_SAMPLER_ARG", "half"),
        ("OTEL_RESOURCE_ATTRIBUTES", "novalue"),
        ("OTEL_METRIC_EXPORT_INTERVAL", "1m"),
    ];
    for (name, value) in cases {
        let error = TelemetrySettings::default()
            .apply_otel_env(&env(&[(name, value)]))
            .expect_err("invalid");
        assert!(error.contains(name), "{error}");
    }
    let mut settings = TelemetrySettings::default();
    settings.traces.sampler_arg = 2.0;
    assert!(
        settings
            .validate()
            .expect_err("ratio")
            .contains("sampler_arg")
    );
    let mut settings = TelemetrySettings::default();
    settings.otlp.endpoint = Some("https://vendor.example:4317".to_owned());
    assert!(
        settings
            .validate()
            .expect_err("tls")
            .contains("telemetry.otlp.endpoint")
    );
    let mut settings = TelemetrySettings::default();
    settings.metrics.address = Some("everywhere".to_owned());
    assert!(
        settings
            .validate()
            .expect_err("address")
            .contains("metrics.address")
    );
}

#[test]
fn header_values_are_redacted() {
    let mut settings = TelemetrySettings::default();
    settings
        .otlp
        .headers
        .insert("x-api-key".to_owned(), "secret".to_owned());
    assert_eq!(settings.redacted().otlp.headers["x-api-key"], "***");
}

#[test]
fn resource_attribute_values_are_percent_decoded() {
    let mut settings = TelemetrySettings::default();
    settings
        .apply_otel_env(&env(&[(
            "OTEL_RESOURCE_ATTRIBUTES",
            "deployment.environment.name=eu%20west%2C%201,owner=a%3Db",
        )]))
        .expect("valid");
    assert_eq!(
        settings.resource_attributes["deployment.environment.name"],
        "eu west, 1"
    );
    assert_eq!(settings.resource_attributes["owner"], "a=b");
}
