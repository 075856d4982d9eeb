//! The `fustat` command: `serve` (the default), `migrate`, `seed`.

mod logging;
mod settings;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

use actix_web::HttpServer;
use clap::{Args, Parser, Subcommand};
use std::sync::Arc;

use fustat_api::auth::AuthMode;
use fustat_api::engine::{Engine, McpTools, OpenAiModels};
use fustat_api::{AppState, build_app};
use fustat_mcp_client::McpPool;
use fustat_persistence::secrets::{SecretCipher, SecretError};
use fustat_persistence::tokens::Role;
use fustat_persistence::{
    DatabaseConnection, PersistenceError, Repos, connect, has_pending_migrations, migrate_down,
    migrate_fresh, migrate_up, migration_status, redact_database_url,
};

use crate::settings::{Overrides, Settings, SettingsError};

/// Fustat: agent orchestration service.
#[derive(Debug, Parser)]
#[command(name = "fustat", version, about)]
struct Cli {
    /// Settings file (default: ./fustat.toml if present; also FUSTAT_CONFIG).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the HTTP API (the default command).
    Serve(ServeArgs),
    /// Manage the database schema.
    Migrate {
        #[command(subcommand)]
        action: MigrateAction,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Insert the example data (idempotent).
    Seed(DbArgs),
    /// Manage service tokens.
    Token {
        #[command(subcommand)]
        action: TokenAction,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Manage the master key that encrypts API key secrets.
    Secrets {
        #[command(subcommand)]
        action: SecretsAction,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Debug, Subcommand)]
enum TokenAction {
    /// Create a token and print it (it is shown only once).
    Create {
        /// A unique name: who or what uses the token.
        #[arg(long)]
        name: String,
        /// `admin` (everything) or `user` (chat, apps, read-only listings).
        #[arg(long, default_value = "user")]
        role: String,
    },
    /// List tokens (never the tokens themselves).
    List,
    /// Revoke a token by id or name.
    Revoke {
        /// The token's id or name.
        token: String,
    },
}

#[derive(Debug, Subcommand)]
enum SecretsAction {
    /// Generate a new master key and re-encrypt every stored secret with it, in one
    /// transaction.
    Rotate,
}

#[derive(Debug, Default, Args)]
struct ServeArgs {
    /// Address to listen on (FUSTAT_HOST).
    #[arg(long)]
    host: Option<String>,
    /// Port to listen on (FUSTAT_PORT).
    #[arg(long)]
    port: Option<u16>,
    #[command(flatten)]
    db: DbArgs,
}

#[derive(Debug, Default, Args)]
struct DbArgs {
    /// Database URL, sqlite://… or postgres://… (DATABASE_URL).
    #[arg(long, global = true)]
    database_url: Option<String>,
}

#[derive(Debug, Subcommand)]
enum MigrateAction {
    /// Apply pending migrations.
    Up {
        /// Apply at most this many.
        #[arg(short, long)]
        num: Option<u32>,
    },
    /// Roll back migrations.
    Down {
        /// How many to roll back.
        #[arg(short, long, default_value_t = 1)]
        num: u32,
    },
    /// Show which migrations are applied.
    Status,
    /// Drop every Fustat table, then apply all migrations (destroys data).
    Fresh,
}

#[derive(Debug, thiserror::Error)]
enum Error {
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error("{0}")]
    Logging(String),
    #[error(transparent)]
    Persistence(#[from] PersistenceError),
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Secrets(#[from] SecretError),
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Startup(String),
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fustat: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Error> {
    // `.env` never overrides variables already set.
    let _ = dotenvy::dotenv();
    let env: HashMap<String, String> = std::env::vars().collect();
    let cli = Cli::parse();
    let command = cli
        .command
        .unwrap_or_else(|| Command::Serve(ServeArgs::default()));
    let mut overrides = Overrides {
        config_file: cli.config,
        ..Default::default()
    };
    match &command {
        Command::Serve(args) => {
            overrides.host.clone_from(&args.host);
            overrides.port = args.port;
            overrides.database_url.clone_from(&args.db.database_url);
        }
        Command::Migrate { db, .. }
        | Command::Seed(db)
        | Command::Token { db, .. }
        | Command::Secrets { db, .. } => {
            overrides.database_url.clone_from(&db.database_url);
        }
    }
    let settings = Settings::load(&env, &overrides)?;
    logging::init(&settings.log_level, settings.log_format).map_err(Error::Logging)?;
    tracing::debug!(?settings, "settings loaded");

    actix_web::rt::System::new().block_on(async move {
        match command {
            Command::Serve(_) => serve(settings).await,
            Command::Migrate { action, .. } => migrate(&settings, action).await,
            Command::Seed(_) => seed(&settings).await,
            Command::Token { action, .. } => token(&settings, action).await,
            Command::Secrets { action, .. } => secrets(&settings, action).await,
        }
    })
}

async fn open(settings: &Settings) -> Result<DatabaseConnection, Error> {
    let db = connect(&settings.database_url, &settings.db_options()).await?;
    tracing::info!(
        database = %redact_database_url(&settings.database_url),
        "database connected"
    );
    Ok(db)
}

async fn prepare_schema(settings: &Settings, db: &DatabaseConnection) -> Result<(), Error> {
    if settings.auto_migrate {
        migrate_up(db, None).await?;
        tracing::info!("database schema is up to date");
    } else if has_pending_migrations(db).await? {
        tracing::warn!(
            "migrations are pending and FUSTAT_AUTO_MIGRATE is off; run `fustat migrate up`"
        );
    }
    Ok(())
}

async fn serve(settings: Settings) -> Result<(), Error> {
    let db = open(&settings).await?;
    prepare_schema(&settings, &db).await?;
    install_cipher(&settings)?;
    let repos = Repos::new(db.clone());
    let encrypted = repos.api_keys.encrypt_plaintext().await?;
    if encrypted > 0 {
        tracing::info!(
            count = encrypted,
            "encrypted API key secrets stored in plain text"
        );
    }
    let auth = settings.auth_mode();
    match auth {
        AuthMode::Off => tracing::warn!(
            "authentication is OFF (listening on a loopback address); set FUSTAT_AUTH=required \
             to require service tokens"
        ),
        AuthMode::Required => {
            let live = repos
                .tokens
                .list()
                .await?
                .iter()
                .filter(|t| t.revoked_at.is_none())
                .count();
            tracing::info!(tokens = live, "authentication is required (service tokens)");
            if live == 0 {
                tracing::warn!(
                    "no service token exists yet: create one with \
                     `fustat token create --role admin --name NAME`"
                );
            }
        }
    }
    let mcp = McpPool::new(settings.mcp_policy());
    let engine = Engine::over_database(
        db.clone(),
        Arc::new(OpenAiModels::default().with_network(settings.network_policy())),
        Arc::new(McpTools(mcp.clone())),
        settings.run_limits(),
    );
    let state = AppState::new(repos, engine, mcp.clone())
        .with_auth(auth)
        .with_limits(settings.input_limits());
    match state.hub.recover().await {
        Ok(0) => {}
        Ok(n) => tracing::warn!(
            threads = n,
            "runs left unfinished by the previous process were marked as failed"
        ),
        Err(e) => {
            return Err(Error::Startup(format!(
                "cannot recover unfinished runs: {e}"
            )));
        }
    }
    let http = settings.http_config();
    let mut server = HttpServer::new(move || build_app(state.clone(), http.clone()));
    if let Some(workers) = settings.workers {
        server = server.workers(workers);
    }
    let server = server.bind((settings.host.as_str(), settings.port))?;
    tracing::info!(
        "listening on http://{}:{} (API docs at /docs)",
        settings.host,
        settings.port
    );
    let result = server.run().await;
    // Stop every MCP server process before exiting, whatever ended the server.
    mcp.shutdown().await;
    tracing::info!("stopped");
    result?;
    Ok(())
}

async fn migrate(settings: &Settings, action: MigrateAction) -> Result<(), Error> {
    let db = open(settings).await?;
    match action {
        MigrateAction::Up { num } => migrate_up(&db, num).await?,
        MigrateAction::Down { num } => migrate_down(&db, Some(num)).await?,
        MigrateAction::Fresh => migrate_fresh(&db).await?,
        MigrateAction::Status => {}
    }
    for (name, applied) in migration_status(&db).await? {
        println!("{} {name}", if applied { "applied" } else { "pending" });
    }
    Ok(())
}

async fn seed(settings: &Settings) -> Result<(), Error> {
    let db = open(settings).await?;
    prepare_schema(settings, &db).await?;
    install_cipher(settings)?;
    let report = fustat_seed::run(&Repos::new(db)).await?;
    for row in &report.created {
        println!("created {row}");
    }
    for row in &report.skipped {
        println!("exists  {row}");
    }
    Ok(())
}

/// The master key from `FUSTAT_MASTER_KEY`, else the key file (created when missing).
fn load_cipher(settings: &Settings) -> Result<SecretCipher, Error> {
    Ok(match &settings.master_key {
        Some(key) => SecretCipher::from_base64(key)?,
        None => SecretCipher::load_or_create_file(std::path::Path::new(&settings.master_key_file))?,
    })
}

/// Installs the master key for this process.
fn install_cipher(settings: &Settings) -> Result<(), Error> {
    let cipher = load_cipher(settings)?;
    tracing::info!(
        key_id = cipher.key_id(),
        "API key secrets are encrypted at rest"
    );
    fustat_persistence::secrets::install(cipher)?;
    Ok(())
}

async fn token(settings: &Settings, action: TokenAction) -> Result<(), Error> {
    let db = open(settings).await?;
    prepare_schema(settings, &db).await?;
    let repos = Repos::new(db);
    match action {
        TokenAction::Create { name, role } => {
            let role: Role = role.parse().map_err(Error::Usage)?;
            let created = repos
                .tokens
                .create(&name, role, fustat_domain::SYSTEM_ACTOR)
                .await?;
            println!("{}", created.token);
            eprintln!(
                "created {} token '{}' ({}); it is shown only once",
                role.as_str(),
                created.info.name,
                created.info.id
            );
        }
        TokenAction::List => {
            for t in repos.tokens.list().await? {
                let status = if t.revoked_at.is_some() {
                    "revoked"
                } else {
                    "active"
                };
                println!(
                    "{}\t{}\t{}\t{}…\t{}\tcreated {}",
                    t.id,
                    t.name,
                    t.role.as_str(),
                    t.token_prefix,
                    status,
                    t.created_at.to_rfc3339()
                );
            }
        }
        TokenAction::Revoke { token } => {
            let t = repos.tokens.revoke(&token).await?;
            println!("revoked token '{}' ({})", t.name, t.id);
        }
    }
    Ok(())
}

async fn secrets(settings: &Settings, action: SecretsAction) -> Result<(), Error> {
    let SecretsAction::Rotate = action;
    let db = open(settings).await?;
    prepare_schema(settings, &db).await?;
    let repos = Repos::new(db);
    let current = load_cipher(settings)?;
    let encoded = SecretCipher::generate_encoded()?;
    let next = SecretCipher::from_base64(&encoded)?;
    if settings.master_key.is_some() {
        let n = repos.api_keys.rotate(&current, &next).await?;
        eprintln!(
            "re-encrypted {n} secrets from key {} to key {}; set FUSTAT_MASTER_KEY to the new key \
             (printed on stdout) before the next start",
            current.key_id(),
            next.key_id()
        );
        println!("{encoded}");
        return Ok(());
    }
    let path = std::path::PathBuf::from(&settings.master_key_file);
    let pending = path.with_extension("key.new");
    fustat_persistence::secrets::write_key_file(&pending, &encoded)?;
    match repos.api_keys.rotate(&current, &next).await {
        Ok(n) => {
            std::fs::rename(&pending, &path)?;
            println!(
                "re-encrypted {n} secrets from key {} to key {}; the new key is in {}",
                current.key_id(),
                next.key_id(),
                path.display()
            );
            Ok(())
        }
        Err(e) => {
            let _ = std::fs::remove_file(&pending);
            Err(e.into())
        }
    }
}
