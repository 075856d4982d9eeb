//! The `fustat` command: `serve` (the default), `migrate`, `seed`.

mod logging;
mod settings;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

use actix_web::HttpServer;
use clap::{Args, Parser, Subcommand};
use std::sync::Arc;

use fustat_api::engine::{Engine, McpTools, OpenAiModels};
use fustat_api::{AppState, build_app};
use fustat_mcp_client::McpPool;
use fustat_persistence::{
    DatabaseConnection, PersistenceError, Repos, connect, has_pending_migrations, migrate_down,
    migrate_fresh, migrate_up, migration_status, redact_database_url,
};
use fustat_runtime::graph::RunLimits;

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
    #[error("HTTP server: {0}")]
    Io(#[from] std::io::Error),
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
        Command::Migrate { db, .. } | Command::Seed(db) => {
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
    let mcp = McpPool::new(settings.mcp_policy());
    let engine = Engine::over_database(
        db.clone(),
        Arc::new(OpenAiModels::default()),
        Arc::new(McpTools(mcp.clone())),
        RunLimits::default(),
    );
    let state = AppState::new(Repos::new(db), engine, mcp.clone());
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
    let report = fustat_seed::run(&Repos::new(db)).await?;
    for row in &report.created {
        println!("created {row}");
    }
    for row in &report.skipped {
        println!("exists  {row}");
    }
    Ok(())
}
