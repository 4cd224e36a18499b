//! The log subscriber: JSON lines or human-readable output, filtered by `RUST_LOG` or
//! `log.level`.

use tracing_subscriber::{EnvFilter, fmt, layer::SubscriberExt as _, util::SubscriberInitExt as _};

use crate::config::{LogFormat, LogSettings};

/// Installs the global subscriber; call once, first thing.
pub fn init(settings: &LogSettings) -> anyhow::Result<()> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(directives) if !directives.is_empty() => EnvFilter::try_new(directives)?,
        _ => EnvFilter::try_new(&settings.level)?,
    };
    let registry = tracing_subscriber::registry().with(filter);
    match settings.format {
        // The span list carries the request's fields (request_id, route) on every line.
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .with_current_span(false)
                    .with_span_list(true)
                    .with_writer(std::io::stdout),
            )
            .try_init()?,
        LogFormat::Pretty => registry
            .with(fmt::layer().with_writer(std::io::stdout))
            .try_init()?,
    }
    Ok(())
}
