//! `roster users import` and `roster users export`: users in bulk, from the command
//! line, with a progress bar on a terminal and plain progress lines otherwise.

use std::{
    fs::File,
    io::{self, BufRead, BufReader, IsTerminal as _, Write},
    path::{Path, PathBuf},
    process::ExitCode,
    time::{Duration, Instant},
};

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};
use roster_application::{
    BatchReport, ImportOptions, MAX_BATCH_ROWS, RawUser, RowError, RowOutcome, TransferService,
};
use roster_domain::{Actor, ImportCounts, OnConflict, UserId};
use roster_transfer::{Format, UserWriter};

/// What `roster users import` was asked.
#[derive(Debug, clap::Args)]
pub(crate) struct ImportArgs {
    /// The file to read, or `-` for standard input.
    #[arg(default_value = "-")]
    file: PathBuf,
    /// `ndjson` (one JSON object per line) or `csv` (with a header row). Default: by
    /// the file's extension (`.csv`), else NDJSON.
    #[arg(long)]
    format: Option<Format>,
    /// What to do with a row whose user exists (same e-mail address or id).
    #[arg(long, default_value_t = OnConflict::Skip)]
    on_conflict: OnConflict,
    /// Validate every row against the database and report, writing nothing.
    #[arg(long)]
    dry_run: bool,
    /// Exit 0 even when some rows were invalid or conflicting.
    #[arg(long)]
    allow_invalid: bool,
    /// Rows per transaction.
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u16).range(1..=2000))]
    batch_size: u16,
}

/// What `roster users export` was asked.
#[derive(Debug, clap::Args)]
pub(crate) struct ExportArgs {
    /// The file to write (replaced if it exists); standard output if absent.
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// `ndjson` or `csv`. Default: by the output's extension, else NDJSON.
    #[arg(long)]
    format: Option<Format>,
    /// Include each user's password hash, so that an import elsewhere keeps their
    /// passwords. The file is then created readable by its owner only.
    #[arg(long)]
    include_password_hashes: bool,
}

/// How often progress is reported when standard error is not a terminal.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// Progress on a terminal (a bar), or plain lines every few seconds in a log.
struct Progress {
    bar: Option<ProgressBar>,
    started: Instant,
    last_line: Instant,
}

impl Progress {
    fn new(total_bytes: Option<u64>) -> Self {
        let bar = io::stderr().is_terminal().then(|| {
            let bar = total_bytes.map_or_else(ProgressBar::new_spinner, ProgressBar::new);
            let template = if total_bytes.is_some() {
                "{elapsed_precise} [{wide_bar}] {percent}% {msg} (ETA {eta})"
            } else {
                "{elapsed_precise} {spinner} {msg}"
            };
            if let Ok(style) = ProgressStyle::with_template(template) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar
        });
        let now = Instant::now();
        Self {
            bar,
            started: now,
            last_line: now,
        }
    }

    fn rate(&self, rows: u64) -> f64 {
        let seconds = self.started.elapsed().as_secs_f64();
        if seconds > 0.0 {
            f64::from(u32::try_from(rows).unwrap_or(u32::MAX)) / seconds
        } else {
            0.0
        }
    }

    fn update(&mut self, bytes: u64, rows: u64) {
        let rate = self.rate(rows);
        match &self.bar {
            Some(bar) => {
                bar.set_position(bytes);
                bar.set_message(format!("{rows} rows, {rate:.0} rows/s"));
            }
            None if self.last_line.elapsed() >= PROGRESS_EVERY => {
                self.last_line = Instant::now();
                eprintln!("progress: {rows} rows, {rate:.0} rows/s");
            }
            None => {}
        }
    }

    /// Prints a line above the bar (or plainly).
    fn say(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// The input (a file, or standard input for `-`) and its size if known.
fn open(path: &Path) -> anyhow::Result<(Box<dyn BufRead>, Option<u64>)> {
    if path == Path::new("-") {
        return Ok((Box::new(BufReader::new(io::stdin())), None));
    }
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let size = file.metadata().ok().map(|m| m.len());
    Ok((Box::new(BufReader::with_capacity(256 * 1024, file)), size))
}

/// Reads the rows, imports them batch by batch, reports every invalid or conflicting
/// row with its line, and sums up. Exit status 2 when a row failed (unless
/// `--allow-invalid`).
pub(crate) async fn import(
    transfer: &TransferService,
    args: ImportArgs,
) -> anyhow::Result<ExitCode> {
    let (input, size) = open(&args.file)?;
    let format = args.format.unwrap_or_else(|| Format::of_path(&args.file));
    let mut rows =
        roster_transfer::rows(format, input).map_err(|e| anyhow::anyhow!("line 1: {e}"))?;
    let options = ImportOptions {
        on_conflict: args.on_conflict,
        dry_run: args.dry_run,
    };
    let batch_size = usize::from(args.batch_size).min(MAX_BATCH_ROWS);
    let mut progress = Progress::new(size);
    let mut total = ImportCounts::default();
    let mut batch: Vec<RawUser> = Vec::with_capacity(batch_size);
    // Rows that could not be read, reported with the batch they came in, in line order.
    let mut unread: Vec<(u64, RowError)> = Vec::new();
    loop {
        let next = rows.next().transpose().context("cannot read the input")?;
        let at_end = next.is_none();
        match next {
            Some(Ok(raw)) => batch.push(raw),
            Some(Err((line, error))) => unread.push((line, error)),
            None => {}
        }
        if batch.len() >= batch_size || at_end {
            let mut report = transfer
                .import_batch(&Actor::System, std::mem::take(&mut batch), options)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))
                .context("the import stopped; every batch before this one is stored, and running the same import again finishes it")?;
            report.add_unreadable(unread.drain(..));
            say_failures(&progress, &report, args.on_conflict);
            total.add(&report.counts);
            progress.update(rows.bytes_read(), total.rows());
        }
        if at_end {
            break;
        }
    }
    progress.finish();
    summarize(&progress, &total, args.dry_run);
    let failed = total.invalid + total.conflicts;
    Ok(if failed > 0 && !args.allow_invalid {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

fn summarize(progress: &Progress, total: &ImportCounts, dry_run: bool) {
    let rate = progress.rate(total.rows());
    println!(
        "{}{} rows in {:.1} s ({rate:.0} rows/s): {} created, {} updated, {} unchanged, {} skipped, {} conflicting, {} invalid",
        if dry_run {
            "dry run, nothing written: "
        } else {
            ""
        },
        total.rows(),
        progress.started.elapsed().as_secs_f64(),
        total.created,
        total.updated,
        total.unchanged,
        total.skipped,
        total.conflicts,
        total.invalid,
    );
}

fn say_failures(progress: &Progress, report: &BatchReport, policy: OnConflict) {
    for row in &report.rows {
        match &row.outcome {
            RowOutcome::Invalid(error) => progress.say(&format!("line {}: {error}", row.line)),
            RowOutcome::Conflict { id, reason } => progress.say(&format!(
                "line {}: user {id} {}",
                row.line,
                match *reason {
                    "admin_demotion" => "is an active administrator: change their role or status through the API, which keeps the last one",
                    _ if policy == OnConflict::Fail => "exists (--on-conflict fail)",
                    _ => "exists",
                }
            )),
            RowOutcome::Created(_)
            | RowOutcome::Updated(_)
            | RowOutcome::Unchanged(_)
            | RowOutcome::Skipped(_) => {}
        }
    }
}

/// Writes every user, in id order, a page at a time.
pub(crate) async fn export(
    transfer: &TransferService,
    args: ExportArgs,
) -> anyhow::Result<ExitCode> {
    let format = args.format.unwrap_or_else(|| {
        args.output
            .as_deref()
            .map_or(Format::Ndjson, Format::of_path)
    });
    let output: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(io::BufWriter::new(create(
            path,
            args.include_password_hashes,
        )?)),
        None => Box::new(io::BufWriter::new(io::stdout().lock())),
    };
    if args.include_password_hashes {
        eprintln!(
            "warning: the export holds password hashes: keep it as secret as the database{}",
            if args.output.is_some() {
                " (the file is readable by its owner only)"
            } else {
                ""
            }
        );
    }
    let mut writer = UserWriter::new(format, output, args.include_password_hashes)?;
    let mut after: Option<UserId> = None;
    let mut count = 0_u64;
    loop {
        let page = transfer
            .export_page(&Actor::System, after, 1000)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        for user in &page {
            writer.write(user)?;
        }
        count += page.len() as u64;
    }
    writer.finish()?.flush()?;
    eprintln!("exported {count} users");
    Ok(ExitCode::SUCCESS)
}

/// Creates (or empties) the export file; with hashes, readable by its owner only,
/// whatever its permissions were.
fn create(path: &Path, secret: bool) -> anyhow::Result<File> {
    let mut options = File::options();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
        options.mode(0o600);
        let file = options
            .open(path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("cannot restrict {}", path.display()))?;
        return Ok(file);
    }
    options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))
}
