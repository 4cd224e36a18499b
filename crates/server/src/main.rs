//! `roster`: the user-management service and its administration commands.

#![expect(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "the administration commands answer on the terminal"
)]

use std::{
    collections::HashMap,
    io::{IsTerminal as _, Write as _},
    path::PathBuf,
    process::ExitCode,
    time::Duration,
};

use anyhow::Context as _;
use clap::{CommandFactory as _, Parser, Subcommand};
use roster_domain::{Actor, Email, NewUser, Password, Role, Status, UserName};
use roster_persistence::Database;
use roster_server::{Application, Settings, redact::redact_url};
use roster_telemetry::Telemetry;

mod copy;
mod transfer;

/// `roster --version`: the version, the commit it was built from, and the build date.
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("ROSTER_GIT_COMMIT"),
    ", built ",
    env!("ROSTER_BUILD_DATE"),
    ")"
);

/// Roster: a user-management REST service.
#[derive(Debug, Parser)]
#[command(version = VERSION, about, long_about = None)]
struct Cli {
    /// Configuration file (YAML). Default: `$ROSTER_CONFIG`, else `./roster.yaml` if present.
    /// Environment variables (`ROSTER__SECTION__KEY`, `DATABASE_URL`) override it.
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP server (the default). Stops gracefully on SIGTERM or SIGINT.
    Serve,
    /// Apply, revert or list the embedded database migrations.
    Migrate {
        #[command(subcommand)]
        action: MigrateAction,
    },
    /// Copy or inspect databases.
    Db {
        #[command(subcommand)]
        action: DbAction,
    },
    /// Inspect the configuration.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Print a new Ed25519 key pair for signing tokens (`auth.private_key`).
    Keygen,
    /// Print the OpenAPI 3.1 description of the API (as served at /api-docs/openapi.json).
    Openapi,
    /// Manage users from the command line.
    Users {
        #[command(subcommand)]
        action: UsersAction,
    },
    /// Print a completion script for a shell: `roster completions bash >
    /// /etc/bash_completion.d/roster`, `roster completions zsh > "${fpath[1]}/_roster"`,
    /// `roster completions fish > ~/.config/fish/completions/roster.fish`.
    Completions { shell: clap_complete::Shell },
    /// Probe the local server's /health; exit 0 if it answers 200, 1 otherwise.
    /// For container HEALTHCHECKs: the runtime image has no curl.
    Healthcheck {
        /// Give up after this long.
        #[arg(long, default_value = "3s", value_parser = humantime::parse_duration)]
        timeout: Duration,
    },
}

#[derive(Debug, Subcommand)]
enum MigrateAction {
    /// Apply every pending migration.
    Run,
    /// Revert the last applied migration.
    Revert,
    /// List the migrations and whether each is applied.
    Status,
}

#[derive(Debug, Subcommand)]
enum UsersAction {
    /// Create an administrator. The password is read from `ROSTER_ADMIN_PASSWORD`; else,
    /// on a terminal, asked for twice without echo; else from the first line of
    /// standard input.
    CreateAdmin {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "Administrator")]
        name: String,
    },
    /// Import users from NDJSON or CSV: with a password (hashed now) or the hash they
    /// had elsewhere (argon2id/argon2i, bcrypt, scrypt, PBKDF2-SHA256; replaced by an
    /// argon2id hash at their first login). Exit status 2 when a row was invalid.
    Import(transfer::ImportArgs),
    /// Export every user as NDJSON or CSV, in id order; without password hashes unless
    /// asked.
    Export(transfer::ExportArgs),
}

#[derive(Debug, Subcommand)]
enum DbAction {
    /// Copy every table Roster owns from one database into another (SQLite to
    /// PostgreSQL, typically), keeping ids, versions and times, and verify each table's
    /// row count and checksum; nothing is written unless all match. See
    /// docs/operations.md, "Moving from SQLite to PostgreSQL".
    Copy(copy::CopyArgs),
}

#[derive(Debug, Subcommand)]
enum ConfigAction {
    /// Validate the configuration and print the effective values, secrets redacted.
    Check,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Completions { shell }) = cli.command {
        // Needs no configuration: it must work before there is one. Written through a
        // buffer: clap_complete panics when its writer fails (a closed pipe).
        let mut script = Vec::new();
        clap_complete::generate(shell, &mut Cli::command(), "roster", &mut script);
        return match std::io::stdout().write_all(&script) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("error: cannot write the completion script: {error}");
                ExitCode::FAILURE
            }
        };
    }
    let env: HashMap<String, String> = std::env::vars().collect();
    let result =
        Settings::load(cli.config.as_deref(), &env).and_then(|settings| run(cli.command, settings));
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Option<Command>, settings: Settings) -> anyhow::Result<ExitCode> {
    match command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let runtime = runtime()?;
            let telemetry =
                runtime.block_on(async { Telemetry::init(&settings.log, &settings.telemetry) })?;
            let served = runtime.block_on(serve(settings));
            if let Err(error) = &served {
                tracing::error!(
                    error = format!("{error:#}"),
                    "the server stopped on an error"
                );
            }
            // Outside `block_on`, with the runtime still up: the gRPC exporter runs on it.
            telemetry.shutdown();
            served.map(|()| ExitCode::SUCCESS)
        }
        Command::Migrate { action } => runtime()?.block_on(migrate(action, &settings)),
        Command::Db {
            action: DbAction::Copy(args),
        } => runtime()?.block_on(copy::copy(&settings, args)),
        Command::Config {
            action: ConfigAction::Check,
        } => {
            println!("{}", serde_json::to_string_pretty(&settings.redacted())?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Healthcheck { timeout } => Ok(healthcheck(&settings, timeout)),
        Command::Completions { .. } => Ok(ExitCode::SUCCESS),
        Command::Openapi => {
            let policy = roster_domain::PasswordPolicy::new(settings.auth.password_min_length);
            print!("{}", roster_http::openapi_text(policy));
            Ok(ExitCode::SUCCESS)
        }
        Command::Keygen => {
            let (private, public) = roster_security::generate_key_pair();
            println!("private key (auth.private_key, keep secret): {private}");
            println!("public key (for auth.previous_public_keys when rotating): {public}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Users {
            action: UsersAction::CreateAdmin { email, name },
        } => {
            let password = admin_password(&email)?;
            runtime()?.block_on(create_admin(&settings, &email, &name, password))
        }
        Command::Users {
            action: UsersAction::Import(args),
        } => runtime()?.block_on(async {
            let service = roster_server::startup::admin_transfer(&settings).await?;
            transfer::import(&service, args).await
        }),
        Command::Users {
            action: UsersAction::Export(args),
        } => runtime()?.block_on(async {
            let service = roster_server::startup::admin_transfer(&settings).await?;
            transfer::export(&service, args).await
        }),
    }
}

fn admin_password(email: &str) -> anyhow::Result<String> {
    if let Ok(password) = std::env::var("ROSTER_ADMIN_PASSWORD") {
        return Ok(password);
    }
    if std::io::stdin().is_terminal() {
        let password = rpassword::prompt_password(format!("Password for {email}: "))
            .context("cannot read the password from the terminal")?;
        let again = rpassword::prompt_password("The same password again: ")
            .context("cannot read the password from the terminal")?;
        anyhow::ensure!(password == again, "the two passwords differ");
        anyhow::ensure!(!password.is_empty(), "no password given");
        return Ok(password);
    }
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let password = line.trim_end_matches(['\n', '\r']).to_owned();
    anyhow::ensure!(
        !password.is_empty(),
        "no password: set ROSTER_ADMIN_PASSWORD or pipe it on standard input"
    );
    Ok(password)
}

async fn create_admin(
    settings: &Settings,
    email: &str,
    name: &str,
    password: String,
) -> anyhow::Result<ExitCode> {
    let users = roster_server::startup::admin_users(settings).await?;
    let new = NewUser {
        email: Email::parse(email).context("--email")?,
        name: UserName::parse(name).context("--name")?,
        role: Role::Admin,
        status: Status::Active,
        password: Password::new(password),
    };
    let user = users
        .create(&Actor::System, new)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("created administrator {}", user.id);
    Ok(ExitCode::SUCCESS)
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        database = %redact_url(&settings.database.url),
        "starting"
    );
    let application = Application::build(&settings).await?;
    application.run_until_stopped().await
}

async fn migrate(action: MigrateAction, settings: &Settings) -> anyhow::Result<ExitCode> {
    let database = Database::connect(&settings.database).await?;
    match action {
        MigrateAction::Run => {
            let applied = database.run_migrations().await?;
            if applied.is_empty() {
                println!("nothing to apply: every migration is applied");
            }
            for name in applied {
                println!("applied  {name}");
            }
        }
        MigrateAction::Revert => match database.revert_last_migration().await? {
            Some(name) => println!("reverted {name}"),
            None => println!("nothing to revert: no migration is applied"),
        },
        MigrateAction::Status => {
            for migration in database.migration_status().await? {
                let state = if migration.applied {
                    "applied"
                } else {
                    "pending"
                };
                println!("{state:<8} {}", migration.name);
            }
        }
    }
    database.close();
    Ok(ExitCode::SUCCESS)
}

/// Probes `http://HOST:PORT/health` of the configured server; a wildcard host is
/// reached through the loopback address.
fn healthcheck(settings: &Settings, timeout: Duration) -> ExitCode {
    let host = match settings.server.host.as_str() {
        "0.0.0.0" => "127.0.0.1",
        "::" => "[::1]",
        host if host.contains(':') => {
            return probe(
                &format!("http://[{host}]:{}/health", settings.server.port),
                timeout,
            );
        }
        host => host,
    };
    probe(
        &format!("http://{host}:{}/health", settings.server.port),
        timeout,
    )
}

fn probe(url: &str, timeout: Duration) -> ExitCode {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .build()
        .into();
    match agent.get(url).call() {
        Ok(response) if response.status() == 200 => ExitCode::SUCCESS,
        Ok(response) => {
            eprintln!("unhealthy: {url} answered {}", response.status());
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("unhealthy: {url}: {error}");
            ExitCode::FAILURE
        }
    }
}
