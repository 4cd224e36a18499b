//! Layered configuration: compiled-in defaults, then an optional YAML file, then the
//! environment (`ROSTER__SECTION__KEY`, and the conventional `DATABASE_URL`).

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::Context as _;
use config::{Config, Environment, File, FileFormat};
use roster_http::{ApiSettings, ServerSettings};

use crate::{
    auth_config::AuthSettings, limits_config::LimitsSettings, redact::redact_url,
    relay::EventsSettings,
};
use roster_persistence::DatabaseSettings;
pub use roster_telemetry::{LogFormat, LogSettings, TelemetrySettings};
use serde::{Deserialize, Serialize};

/// The file read when neither `--config` nor `ROSTER_CONFIG` names one, if it exists.
const DEFAULT_FILE: &str = "roster.yaml";

/// Every setting of the service.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub server: ServerSettings,
    pub api: ApiSettings,
    pub database: DatabaseSettings,
    pub auth: AuthSettings,
    pub log: LogSettings,
    pub telemetry: TelemetrySettings,
    pub events: EventsSettings,
    pub limits: LimitsSettings,
    pub audit: AuditSettings,
}

/// `audit`: how long the audit log keeps its entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditSettings {
    /// Entries older than this are removed (every ten minutes, in bounded steps).
    #[serde(with = "humantime_serde")]
    pub retention: Duration,
}

impl Default for AuditSettings {
    fn default() -> Self {
        Self {
            // humantime's `1year`: 365.25 days.
            retention: Duration::from_secs(31_557_600),
        }
    }
}

impl AuditSettings {
    fn validate(self) -> Result<(), String> {
        // Failed logins are counted per hour: a shorter retention would trim open
        // entries.
        if self.retention < Duration::from_secs(60 * 60) {
            return Err("audit.retention must be at least 1h".to_owned());
        }
        Ok(())
    }
}

impl Settings {
    /// The keys whose environment variable holds a comma-separated list.
    const LIST_KEYS: [&str; 5] = [
        "server.trusted_proxies",
        "server.cors.allowed_origins",
        "server.cors.allowed_methods",
        "server.cors.allowed_headers",
        "server.cors.exposed_headers",
    ];

    /// Reads the layers. `file` is `--config`; `env` is the process environment
    /// (passed in so tests need not touch the real one).
    pub fn load(file: Option<&Path>, env: &HashMap<String, String>) -> anyhow::Result<Self> {
        let mut builder = Config::builder().add_source(
            Config::try_from(&Self::default()).context("cannot serialise the defaults")?,
        );
        if let Some((path, required)) = Self::file_to_read(file, env) {
            builder = builder.add_source(
                File::from(path.as_path())
                    .format(FileFormat::Yaml)
                    .required(required),
            );
        }
        let mut roster_env: HashMap<String, String> = env
            .iter()
            .filter(|(k, _)| k.starts_with("ROSTER__"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        // Values stay text until a field's type reads them, so a digit-only secret keeps
        // its leading zeros (the source's `try_parsing` would make it a number, and it
        // is also the only way that source splits lists: the list-valued keys are split
        // here instead, at commas).
        let mut lists = Vec::new();
        for key in Self::LIST_KEYS {
            let variable = format!("ROSTER__{}", key.replace('.', "__").to_uppercase());
            if let Some(value) = roster_env.remove(&variable) {
                let items: Vec<String> = value
                    .split(',')
                    .map(str::trim)
                    .filter(|item| !item.is_empty())
                    .map(str::to_owned)
                    .collect();
                lists.push((key, items));
            }
        }
        builder = builder.add_source(
            Environment::with_prefix("ROSTER")
                .separator("__")
                .source(Some(roster_env)),
        );
        for (key, items) in lists {
            builder = builder.set_override(key, items)?;
        }
        // The conventional variable, unless the specific one is set.
        if let (Some(url), false) = (
            env.get("DATABASE_URL"),
            env.contains_key("ROSTER__DATABASE__URL"),
        ) {
            builder = builder.set_override("database.url", url.as_str())?;
        }
        let mut settings: Self = builder
            .build()
            .and_then(Config::try_deserialize)
            .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
        settings
            .telemetry
            .apply_otel_env(env)
            .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
        settings
            .validate()
            .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
        Ok(settings)
    }

    /// `--config`, else `ROSTER_CONFIG` (both must exist), else `./roster.yaml` if present.
    fn file_to_read(file: Option<&Path>, env: &HashMap<String, String>) -> Option<(PathBuf, bool)> {
        if let Some(path) = file {
            return Some((path.to_owned(), true));
        }
        if let Some(path) = env.get("ROSTER_CONFIG") {
            return Some((PathBuf::from(path), true));
        }
        Path::new(DEFAULT_FILE)
            .exists()
            .then(|| (PathBuf::from(DEFAULT_FILE), false))
    }

    fn validate(&self) -> Result<(), String> {
        self.server.validate()?;
        self.database.validate()?;
        self.auth.validate()?;
        self.log.validate()?;
        self.events.validate()?;
        self.limits.validate()?;
        self.audit.validate()?;
        self.telemetry.validate()
    }

    /// The settings with secrets replaced by `***`, fit to print or log.
    #[must_use]
    pub fn redacted(&self) -> Self {
        let mut copy = self.clone();
        copy.database.url = redact_url(&self.database.url);
        copy.events.nats.url = self.events.nats.url.as_deref().map(redact_url);
        copy.auth = self.auth.redacted();
        copy.limits.redis.url = self.limits.redis.url.as_deref().map(redact_url);
        copy.telemetry = self.telemetry.redacted();
        let otlp = &mut copy.telemetry.otlp;
        for endpoint in [
            &mut otlp.endpoint,
            &mut otlp.traces_endpoint,
            &mut otlp.metrics_endpoint,
        ] {
            if let Some(url) = endpoint.as_mut() {
                *url = redact_url(url);
            }
        }
        copy
    }
}

#[cfg(test)]
mod tests {
    use std::{io::Write as _, time::Duration};

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn yaml(text: &str) -> tempfile::NamedTempFile {
        let mut file = tempfile::Builder::new()
            .suffix(".yaml")
            .tempfile()
            .expect("temp file");
        file.write_all(text.as_bytes()).expect("write");
        file
    }

    #[test]
    fn defaults_run_on_embedded_sqlite() {
        let settings = Settings::load(None, &env(&[])).expect("defaults");
        assert_eq!(settings, Settings::default());
        assert_eq!(settings.server.port, 8080);
        assert_eq!(settings.server.shutdown_timeout, Duration::from_secs(30));
        assert!(settings.database.url.starts_with("sqlite://"));
        assert!(settings.database.auto_migrate);
    }

    #[test]
    fn the_environment_overrides_the_file_which_overrides_the_defaults() {
        let file = yaml(
            "server:\n  port: 9000\n  shutdown_timeout: 10s\ndatabase:\n  max_connections: 3\n",
        );
        let settings = Settings::load(
            Some(file.path()),
            &env(&[
                ("ROSTER__SERVER__PORT", "9100"),
                ("ROSTER__LOG__FORMAT", "pretty"),
            ]),
        )
        .expect("settings");
        assert_eq!(settings.server.port, 9100);
        assert_eq!(settings.server.shutdown_timeout, Duration::from_secs(10));
        assert_eq!(settings.database.max_connections, 3);
        assert_eq!(settings.log.format, LogFormat::Pretty);
    }

    /// Every kind of value a documented variable holds arrives as written: numbers,
    /// booleans, durations, enums, optional numbers, a list, a map entry and a
    /// digit-only secret (which used to lose its leading zeros to a number).
    #[test]
    fn every_kind_of_value_arrives_from_the_environment_as_written() {
        let settings = Settings::load(
            None,
            &env(&[
                ("ROSTER__SERVER__PORT", "9100"),
                ("ROSTER__SERVER__WORKERS", "3"),
                ("ROSTER__SERVER__REQUEST_TIMEOUT", "2s"),
                (
                    "ROSTER__SERVER__TRUSTED_PROXIES",
                    "10.0.0.0/8, 192.168.1.7,fd00::/8",
                ),
                (
                    "ROSTER__SERVER__CORS__ALLOWED_ORIGINS",
                    "https://app.example.com, http://localhost:3000",
                ),
                ("ROSTER__AUTH__ALLOW_REGISTRATION", "true"),
                ("ROSTER__LOG__FORMAT", "pretty"),
                ("ROSTER__TELEMETRY__TRACES__SAMPLER_ARG", "0.25"),
                ("ROSTER__TELEMETRY__OTLP__HEADERS__API_KEY", "0012345678"),
                ("ROSTER__DATABASE__URL", "postgres://roster:0012@db/0012"),
            ]),
        )
        .expect("settings");
        assert_eq!(settings.server.port, 9100);
        assert_eq!(settings.server.workers, Some(3));
        assert_eq!(settings.server.request_timeout, Duration::from_secs(2));
        let proxies: Vec<String> = settings
            .server
            .trusted_proxies
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(proxies, ["10.0.0.0/8", "192.168.1.7/32", "fd00::/8"]);
        assert_eq!(
            settings.server.cors.allowed_origins,
            ["https://app.example.com", "http://localhost:3000"]
        );
        assert!(settings.auth.allow_registration);
        assert_eq!(settings.log.format, LogFormat::Pretty);
        assert!((settings.telemetry.traces.sampler_arg - 0.25).abs() < f64::EPSILON);
        assert_eq!(
            settings
                .telemetry
                .otlp
                .headers
                .get("api_key")
                .map(String::as_str),
            Some("0012345678")
        );
        assert_eq!(settings.database.url, "postgres://roster:0012@db/0012");

        let one = Settings::load(
            None,
            &env(&[("ROSTER__SERVER__TRUSTED_PROXIES", "10.1.2.3")]),
        )
        .expect("settings");
        assert_eq!(one.server.trusted_proxies.len(), 1);
    }

    /// A quota arrives as two variables; a Redis password is redacted by `config check`.
    #[test]
    fn limits_arrive_from_the_environment() {
        let settings = Settings::load(
            None,
            &env(&[
                ("ROSTER__LIMITS__RATE__READ__REQUESTS", "600"),
                ("ROSTER__LIMITS__RATE__READ__WINDOW", "1m"),
                ("ROSTER__LIMITS__REDIS__URL", "redis://:s3cret@cache:6379/2"),
            ]),
        )
        .expect("settings");
        assert_eq!(
            settings.limits.rate.read,
            Some(roster_limits::QuotaSettings {
                requests: 600,
                window: Duration::from_secs(60),
            })
        );
        assert_eq!(settings.limits.rate.write, None);
        assert_eq!(
            settings.redacted().limits.redis.url.as_deref(),
            Some("redis://:***@cache:6379/2")
        );
        let error = Settings::load(
            None,
            &env(&[
                ("ROSTER__LIMITS__RATE__READ__REQUESTS", "0"),
                ("ROSTER__LIMITS__RATE__READ__WINDOW", "1m"),
            ]),
        )
        .expect_err("no request could pass");
        assert!(
            format!("{error:#}").contains("limits.rate.read"),
            "{error:#}"
        );
    }

    /// The variables the Kubernetes manifests set load as they are, the list included.
    #[test]
    fn the_shipped_config_map_loads() {
        let manifest = include_str!("../../../deploy/k8s/base/configmap.yaml");
        let variables: Vec<(String, String)> = manifest
            .lines()
            .filter_map(|line| line.trim().split_once(": "))
            .filter(|(key, _)| key.starts_with("ROSTER__"))
            .map(|(key, value)| (key.to_owned(), value.trim_matches('"').to_owned()))
            .collect();
        assert!(variables.len() > 5, "{variables:?}");
        let settings = Settings::load(None, &variables.into_iter().collect()).expect("settings");
        assert_eq!(settings.server.host, "0.0.0.0");
        assert!(!settings.server.trusted_proxies.is_empty());
    }

    #[test]
    fn database_url_is_honoured_unless_the_specific_variable_is_set() {
        let conventional = env(&[("DATABASE_URL", "postgres://a@h/db")]);
        assert_eq!(
            Settings::load(None, &conventional)
                .expect("settings")
                .database
                .url,
            "postgres://a@h/db"
        );
        let both = env(&[
            ("DATABASE_URL", "postgres://a@h/db"),
            ("ROSTER__DATABASE__URL", "sqlite://x.db"),
        ]);
        assert_eq!(
            Settings::load(None, &both).expect("settings").database.url,
            "sqlite://x.db"
        );
    }

    #[test]
    fn the_config_file_may_come_from_roster_config() {
        let file = yaml("server:\n  port: 9200\n");
        let path = file.path().to_str().expect("utf-8 path");
        let settings = Settings::load(None, &env(&[("ROSTER_CONFIG", path)])).expect("settings");
        assert_eq!(settings.server.port, 9200);
    }

    #[test]
    fn invalid_values_are_reported_with_their_key() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("ROSTER__SERVER__PORT", "eighty")], "server.port"),
            (&[("ROSTER__SERVER__PORT", "70000")], "server.port"),
            (
                &[("ROSTER__SERVER__SHUTDOWN_TIMEOUT", "soon")],
                "server.shutdown_timeout",
            ),
            (
                &[("ROSTER__DATABASE__MAX_CONNECTIONS", "0")],
                "database.max_connections",
            ),
            (&[("ROSTER__LOG__FORMAT", "xml")], "log.format"),
            (&[("ROSTER__SERVER__HOST", "not a host")], "server.host"),
        ];
        for (vars, key) in cases {
            let error = Settings::load(None, &env(vars))
                .expect_err("invalid")
                .to_string();
            assert!(error.contains(key), "{vars:?}: {error}");
        }
    }

    #[test]
    fn unknown_keys_and_missing_files_are_errors() {
        let file = yaml("server:\n  prot: 80\n");
        let error = Settings::load(Some(file.path()), &env(&[]))
            .expect_err("unknown key")
            .to_string();
        assert!(error.contains("prot"), "{error}");
        let error = Settings::load(Some(Path::new("/nonexistent/roster.yaml")), &env(&[]))
            .expect_err("missing");
        assert!(error.to_string().contains("roster.yaml"), "{error}");
    }

    /// The example file documents every key with its default value, so it cannot drift.
    #[test]
    fn the_example_file_lists_every_key_with_its_default() {
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../roster.example.yaml");
        let settings = Settings::load(Some(&example), &env(&[])).expect("the example parses");
        assert_eq!(
            settings,
            Settings::default(),
            "roster.example.yaml must show the defaults"
        );

        let text = std::fs::read_to_string(&example).expect("readable");
        let defaults = serde_json::to_value(Settings::default()).expect("serialisable");
        for (section, keys) in defaults.as_object().expect("sections") {
            assert!(
                text.contains(&format!("\n{section}:\n")),
                "section {section} is not documented"
            );
            for key in keys.as_object().expect("keys").keys() {
                assert!(
                    text.contains(&format!("\n  {key}:")),
                    "{section}.{key} is not documented"
                );
            }
        }
    }

    /// Every leaf key of the defaults as (dotted key, default shown as text).
    fn leaf_keys(prefix: &str, value: &serde_json::Value, out: &mut Vec<(String, String)>) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, value) in map {
                    let key = if prefix.is_empty() {
                        key.clone()
                    } else {
                        format!("{prefix}.{key}")
                    };
                    leaf_keys(&key, value, out);
                }
            }
            serde_json::Value::String(text) => out.push((prefix.to_owned(), text.clone())),
            other => out.push((prefix.to_owned(), other.to_string())),
        }
    }

    /// docs/configuration.md names every key, its variable and its default.
    #[test]
    fn the_configuration_page_documents_every_key() {
        let page = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/configuration.md");
        let text = std::fs::read_to_string(page).expect("docs/configuration.md");
        let mut keys = Vec::new();
        leaf_keys(
            "",
            &serde_json::to_value(Settings::default()).expect("serialisable"),
            &mut keys,
        );
        assert!(keys.len() > 20, "{keys:?}");
        for (key, default) in keys {
            let variable = format!("ROSTER__{}", key.replace('.', "__").to_uppercase());
            let row = format!("| `{key}` | `{variable}`");
            let line = text
                .lines()
                .find(|line| line.starts_with(&row))
                .unwrap_or_else(|| panic!("no row for {key} with {variable}"));
            assert!(
                line.contains(&format!("| `{default}` |")),
                "{key}: default {default} not shown"
            );
        }
    }

    #[test]
    fn config_check_shows_no_secret() {
        let file = yaml(
            "telemetry:\n  otlp:\n    endpoint: http://collector:s3cret@otel:4317\n    headers:\n      api-key: s3cret\n",
        );
        let settings = Settings::load(
            Some(file.path()),
            &env(&[(
                "DATABASE_URL",
                "postgres://roster:s3cret@db/roster?password=s3cret",
            )]),
        )
        .expect("settings");
        let printed = serde_json::to_string(&settings.redacted()).expect("json");
        assert!(!printed.contains("s3cret"), "{printed}");
        assert!(
            printed.contains("http://collector:***@otel:4317"),
            "{printed}"
        );
    }
}
