//! `roster db copy`: every table from one database into another, with a progress bar
//! per table on a terminal.

use std::{
    io::{self, IsTerminal as _},
    process::ExitCode,
    sync::{Arc, Mutex},
    time::Instant,
};

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};
use roster_persistence::{CopyProgress, Database, TableCopy};
use roster_server::{Settings, redact::redact_url};

/// What `roster db copy` was asked.
#[derive(Debug, clap::Args)]
pub(crate) struct CopyArgs {
    /// The database to copy from (`sqlite://…` or `postgres://…`).
    #[arg(long, value_name = "URL")]
    from: String,
    /// The database to copy into; migrated first. It must hold no users.
    #[arg(long, value_name = "URL")]
    to: String,
    /// Empty the target first (in the copy's transaction) when it holds users.
    #[arg(long)]
    replace: bool,
}

/// A bar per table on a terminal; a line per table otherwise.
struct Bars {
    terminal: bool,
    current: Mutex<Option<ProgressBar>>,
}

impl CopyProgress for Bars {
    fn table(&self, table: &'static str, rows: u64) {
        if !self.terminal {
            return;
        }
        let bar = ProgressBar::new(rows);
        if let Ok(style) = ProgressStyle::with_template(
            "{prefix:>18} [{wide_bar}] {pos}/{len} rows ({per_sec}, ETA {eta})",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix(table);
        if let Ok(mut current) = self.current.lock() {
            *current = Some(bar);
        }
    }

    fn copied(&self, rows: u64) {
        if let Ok(current) = self.current.lock()
            && let Some(bar) = current.as_ref()
        {
            bar.inc(rows);
        }
    }

    fn verified(&self, copy: &TableCopy) {
        let line = format!(
            "{:>18}: {} rows copied, count and checksum {} verified",
            copy.table, copy.rows, copy.checksum
        );
        match self.current.lock().ok().and_then(|mut c| c.take()) {
            Some(bar) => bar.finish_with_message(line.clone()),
            None => eprintln!("{line}"),
        }
        if self.terminal {
            eprintln!("{line}");
        }
    }
}

/// Migrates both databases, copies, and reports each table.
pub(crate) async fn copy(settings: &Settings, args: CopyArgs) -> anyhow::Result<ExitCode> {
    let connect = |url: &str, what: &'static str| {
        let mut database = settings.database.clone();
        url.clone_into(&mut database.url);
        async move {
            let connected = Database::connect(&database).await.with_context(|| {
                format!(
                    "cannot open the {what} database {}",
                    redact_url(&database.url)
                )
            })?;
            connected
                .run_migrations()
                .await
                .with_context(|| format!("cannot migrate the {what} database"))?;
            Ok::<_, anyhow::Error>(connected)
        }
    };
    let source = connect(&args.from, "source").await?;
    let target = connect(&args.to, "target").await?;
    eprintln!(
        "copying {} into {}",
        redact_url(&args.from),
        redact_url(&args.to)
    );
    let started = Instant::now();
    let bars = Arc::new(Bars {
        terminal: io::stderr().is_terminal(),
        current: Mutex::new(None),
    });
    let copied = source.copy_into(&target, args.replace, bars).await;
    source.close();
    target.close();
    let tables = copied?;
    let rows: u64 = tables.iter().map(|t| t.rows).sum();
    println!(
        "copied and verified {} tables, {rows} rows, in {:.1} s",
        tables.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}
