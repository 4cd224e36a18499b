//! The `server` section of the configuration.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::cors::CorsSettings;

/// How the HTTP server listens and behaves.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSettings {
    /// Address to bind; `0.0.0.0` to listen on every interface (as in the container).
    pub host: String,
    /// Port to bind; 0 picks a free one.
    pub port: u16,
    /// How long a client may take to send a connection's first request head before it
    /// gets 408. A later request on a kept-alive connection must begin to be answered
    /// within `request_timeout + request_deadline` (+1 s) of its first byte, or the
    /// connection is closed (`crate::connection`).
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// How long an idle keep-alive connection stays open.
    #[serde(with = "humantime_serde")]
    pub keep_alive: Duration,
    /// How long a request may take once its head is read: reading its body (however
    /// slowly the client sends it) and running its handler. Past it, 503; the handler
    /// is dropped, and no further database call is made for it.
    #[serde(with = "humantime_serde")]
    pub request_deadline: Duration,
    /// How long the server keeps serving after a shutdown signal, with `/ready`
    /// already answering 503, before it stops accepting: time for load balancers to
    /// stop sending traffic. 0 where a `preStop` hook already waits.
    #[serde(with = "humantime_serde")]
    pub shutdown_delay: Duration,
    /// How long in-flight requests may run on once the listener is closed.
    #[serde(with = "humantime_serde")]
    pub shutdown_timeout: Duration,
    /// Worker threads; the number of CPUs when absent.
    pub workers: Option<usize>,
    /// Largest JSON request body, in bytes; larger bodies get 413.
    pub json_body_limit: usize,
    /// How long each readiness check may take before it counts as failed.
    #[serde(with = "humantime_serde")]
    pub readiness_timeout: Duration,
    /// Proxies (addresses or CIDR ranges) whose `X-Forwarded-For` names the client;
    /// from any other peer the header is ignored.
    #[serde(deserialize_with = "addresses_or_networks")]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Which browser applications on other origins may call the API (none by default).
    pub cors: CorsSettings,
}

/// Networks (`10.0.0.0/8`) or single addresses (`192.0.2.7`, taken as a `/32` or
/// `/128`): `IpNet` alone refuses the latter.
fn addresses_or_networks<'de, D>(deserializer: D) -> Result<Vec<ipnet::IpNet>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let texts = Vec::<String>::deserialize(deserializer)?;
    texts
        .iter()
        .map(|text| {
            text.parse::<ipnet::IpNet>()
                .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    serde::de::Error::custom(format!(
                        "{text:?} is neither an IP address nor a CIDR network"
                    ))
                })
        })
        .collect()
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".to_owned(),
            port: 8080,
            request_timeout: Duration::from_secs(5),
            keep_alive: Duration::from_secs(75),
            request_deadline: Duration::from_secs(30),
            shutdown_delay: Duration::ZERO,
            shutdown_timeout: Duration::from_secs(30),
            workers: None,
            json_body_limit: 64 * 1024,
            readiness_timeout: Duration::from_secs(2),
            trusted_proxies: Vec::new(),
            cors: CorsSettings::default(),
        }
    }
}

impl ServerSettings {
    /// Checks what deserialisation cannot; each message names its key.
    pub fn validate(&self) -> Result<(), String> {
        if self.host.parse::<std::net::IpAddr>().is_err() && self.host != "localhost" {
            return Err(format!(
                "server.host must be an IP address or localhost, not {:?}",
                self.host
            ));
        }
        if self.workers == Some(0) {
            return Err("server.workers must be at least 1".to_owned());
        }
        if self.json_body_limit == 0 {
            return Err("server.json_body_limit must be at least 1 byte".to_owned());
        }
        for (key, value) in [
            ("server.request_timeout", self.request_timeout),
            ("server.request_deadline", self.request_deadline),
            ("server.shutdown_timeout", self.shutdown_timeout),
            ("server.readiness_timeout", self.readiness_timeout),
        ] {
            if value.is_zero() {
                return Err(format!("{key} must be greater than zero"));
            }
        }
        self.cors.validate()
    }
}

/// The `api` section: how the REST API treats its clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiSettings {
    /// Writes to a user (`PUT`, `PATCH`, `DELETE`) must carry `If-Match` (428 without).
    pub require_if_match: bool,
    /// Serve the interactive API explorer (Swagger UI) at `/api-docs/`.
    pub explorer: bool,
}

impl Default for ApiSettings {
    fn default() -> Self {
        Self {
            require_if_match: false,
            explorer: true,
        }
    }
}
