//! Cross-origin resource sharing (`server.cors`), through actix-cors: which browser
//! applications on other origins may call the API. None by default.

use std::time::Duration;

use actix_cors::Cors;
use actix_web::http::{Method, header::HeaderName};
use serde::{Deserialize, Serialize};

/// The `server.cors` section.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct CorsSettings {
    /// Origins (`https://app.example.com`: scheme, host and port, no path) whose pages
    /// may call the API; `*` for any. Empty: no CORS headers, cross-origin browser
    /// calls fail.
    pub allowed_origins: Vec<String>,
    /// Methods a cross-origin page may use.
    pub allowed_methods: Vec<String>,
    /// Request headers a cross-origin page may send.
    pub allowed_headers: Vec<String>,
    /// Response headers a cross-origin page may read.
    pub exposed_headers: Vec<String>,
    /// How long a browser may cache a preflight answer.
    #[serde(with = "humantime_serde")]
    pub max_age: Duration,
}

impl Default for CorsSettings {
    fn default() -> Self {
        let texts = |names: &[&str]| names.iter().map(|&name| name.to_owned()).collect();
        Self {
            allowed_origins: Vec::new(),
            allowed_methods: texts(&["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]),
            allowed_headers: texts(&[
                "Authorization",
                "Content-Type",
                "If-Match",
                "If-None-Match",
                "Idempotency-Key",
                "traceparent",
                "tracestate",
            ]),
            exposed_headers: texts(&[
                "ETag",
                "Location",
                "Link",
                "Retry-After",
                "WWW-Authenticate",
                "X-Request-Id",
                "traceparent",
                "RateLimit",
                "RateLimit-Policy",
            ]),
            max_age: Duration::from_secs(3600),
        }
    }
}

impl CorsSettings {
    /// Whether any origin may call: without one, no middleware is installed.
    pub fn enabled(&self) -> bool {
        !self.allowed_origins.is_empty()
    }

    /// Checks what deserialisation cannot, so that a mistake stops the start-up with the
    /// key named (actix-cors would only log it and refuse every request).
    pub fn validate(&self) -> Result<(), String> {
        for origin in &self.allowed_origins {
            if origin != "*" && !is_origin(origin) {
                return Err(format!(
                    "server.cors.allowed_origins: {origin:?} is not an origin \
                     (scheme://host[:port], no path), nor *"
                ));
            }
        }
        for method in &self.allowed_methods {
            if method.parse::<Method>().is_err() {
                return Err(format!(
                    "server.cors.allowed_methods: {method:?} is not a method"
                ));
            }
        }
        for (key, names) in [
            ("server.cors.allowed_headers", &self.allowed_headers),
            ("server.cors.exposed_headers", &self.exposed_headers),
        ] {
            if let Some(name) = names
                .iter()
                .find(|name| name.parse::<HeaderName>().is_err())
            {
                return Err(format!("{key}: {name:?} is not a header name"));
            }
        }
        if u32::try_from(self.max_age.as_secs()).is_err() {
            return Err("server.cors.max_age is too long".to_owned());
        }
        Ok(())
    }

    /// The middleware; [`Self::validate`] has accepted the settings.
    pub(crate) fn middleware(&self) -> Cors {
        let mut cors = Cors::default()
            .allowed_methods(self.allowed_methods.iter().map(String::as_str))
            .allowed_headers(self.allowed_headers.iter().map(String::as_str))
            .expose_headers(self.exposed_headers.iter().map(String::as_str))
            .max_age(usize::try_from(self.max_age.as_secs()).ok());
        for origin in &self.allowed_origins {
            cors = if origin == "*" {
                cors.allow_any_origin()
            } else {
                cors.allowed_origin(origin)
            };
        }
        cors
    }
}

/// `scheme://host[:port]`, as browsers send it in `Origin`.
fn is_origin(text: &str) -> bool {
    let Some((scheme, rest)) = text.split_once("://") else {
        return false;
    };
    matches!(scheme, "http" | "https")
        && !rest.is_empty()
        && !rest.contains(['/', '?', '#', '@', ' '])
        && text.parse::<actix_web::http::Uri>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::CorsSettings;

    fn with_origins(origins: &[&str]) -> CorsSettings {
        CorsSettings {
            allowed_origins: origins.iter().map(|&o| o.to_owned()).collect(),
            ..CorsSettings::default()
        }
    }

    #[test]
    fn origins_are_scheme_host_and_port_or_a_star() {
        for good in [
            &["https://app.example.com"][..],
            &["http://localhost:3000", "*"],
        ] {
            assert_eq!(with_origins(good).validate(), Ok(()), "{good:?}");
        }
        for bad in [
            "https://app.example.com/",
            "app.example.com",
            "ftp://example.com",
            "https://",
            "https://a.example/path",
        ] {
            let error = with_origins(&[bad]).validate().unwrap_err();
            assert!(error.starts_with("server.cors.allowed_origins"), "{error}");
        }
    }

    #[test]
    fn methods_and_headers_must_parse() {
        let mut settings = CorsSettings {
            allowed_methods: vec!["GE T".to_owned()],
            ..CorsSettings::default()
        };
        assert!(settings.validate().unwrap_err().contains("allowed_methods"));
        settings = CorsSettings {
            exposed_headers: vec!["Bad Header".to_owned()],
            ..CorsSettings::default()
        };
        assert!(settings.validate().unwrap_err().contains("exposed_headers"));
    }

    #[test]
    fn nothing_is_allowed_by_default() {
        assert!(!CorsSettings::default().enabled());
        assert_eq!(CorsSettings::default().validate(), Ok(()));
    }
}
