//! The log subscriber: JSON lines or human-readable output, filtered by `RUST_LOG` or
//! `log.level`.

use tracing::Subscriber;
use tracing_subscriber::{
    EnvFilter, fmt, fmt::MakeWriter, layer::SubscriberExt as _, util::SubscriberInitExt as _,
};

use crate::config::{LogFormat, LogSettings};

/// Installs the global subscriber, writing to stdout; call once, first thing.
pub fn init(settings: &LogSettings) -> anyhow::Result<()> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(directives) if !directives.is_empty() => EnvFilter::try_new(directives)?,
        _ => EnvFilter::try_new(&settings.level)?,
    };
    subscriber(settings.format, filter, std::io::stdout).try_init()?;
    Ok(())
}

/// The subscriber production uses, writing to `writer` (tests capture its output).
pub fn subscriber<W>(
    format: LogFormat,
    filter: EnvFilter,
    writer: W,
) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'writer> MakeWriter<'writer> + Send + Sync + 'static,
{
    let registry = tracing_subscriber::registry().with(filter);
    match format {
        // The span list carries the request's fields (request_id, route) on every line.
        LogFormat::Json => Box::new(
            registry.with(
                fmt::layer()
                    .json()
                    .with_current_span(false)
                    .with_span_list(true)
                    .with_writer(writer),
            ),
        ),
        LogFormat::Pretty => Box::new(registry.with(fmt::layer().with_writer(writer))),
    }
}
