//! Opening the database (SQLite or PostgreSQL) and running migrations.

use std::time::Duration;

use migration::{MigratorTrait, POSTGRES_SEARCH_PATH};
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection};

use crate::error::{PersistenceError, Result};

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `sqlite:…`
    Sqlite,
    /// `postgres://…` or `postgresql://…`
    Postgres,
}

impl Backend {
    /// The backend of `url`, if supported.
    pub fn of(url: &str) -> Result<Backend> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(PersistenceError::UnsupportedUrl(redact_database_url(url)))
        }
    }
}

/// Connection pool settings.
#[derive(Debug, Clone)]
pub struct DbOptions {
    /// Pool size. `None`: 1 for SQLite (one writer, no lock contention), 10 for PostgreSQL.
    pub max_connections: Option<u32>,
    /// How long to wait for a connection to open.
    pub connect_timeout: Duration,
}

impl Default for DbOptions {
    fn default() -> Self {
        DbOptions {
            max_connections: None,
            connect_timeout: Duration::from_secs(10),
        }
    }
}

/// Opens a pool on `url`.
///
/// - SQLite: the file's directory is created if missing, the file too; foreign keys are
///   enforced and the journal is in WAL mode.
/// - PostgreSQL: every connection's `search_path` is `config,agents,runtime,public`.
pub async fn connect(url: &str, options: &DbOptions) -> Result<DatabaseConnection> {
    let backend = Backend::of(url)?;
    let connect_err = |source| PersistenceError::Connect {
        url: redact_database_url(url),
        source,
    };
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.connect_timeout(options.connect_timeout)
        .acquire_timeout(Duration::from_secs(30))
        .sqlx_logging(false);
    match backend {
        Backend::Sqlite => {
            create_sqlite_dir(url).map_err(|e| connect_err(sea_orm::DbErr::Custom(e)))?;
            opts.max_connections(options.max_connections.unwrap_or(1))
                .map_sqlx_sqlite_opts(|o: SqliteConnectOptions| {
                    o.create_if_missing(true)
                        .foreign_keys(true)
                        .journal_mode(SqliteJournalMode::Wal)
                        // In WAL mode NORMAL never corrupts the database and loses nothing
                        // when the process crashes; only a power loss or OS crash can
                        // drop the last commits. It saves an fsync per commit, which is
                        // per step of every run.
                        .synchronous(SqliteSynchronous::Normal)
                        .busy_timeout(Duration::from_secs(5))
                });
        }
        Backend::Postgres => {
            opts.max_connections(options.max_connections.unwrap_or(10))
                .set_schema_search_path(POSTGRES_SEARCH_PATH);
        }
    }
    Database::connect(opts).await.map_err(connect_err)
}

/// Creates the directory of a SQLite database file (`sqlite://data/fustat.db` →
/// `data/`).
fn create_sqlite_dir(url: &str) -> std::result::Result<(), String> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    match std::path::Path::new(path).parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create directory {}: {e}", dir.display())),
        _ => Ok(()),
    }
}

/// `url` with any password replaced by `***`, safe to log.
pub fn redact_database_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            if parsed.set_password(Some("***")).is_ok() {
                parsed.to_string()
            } else {
                "<database url>".to_owned()
            }
        }
        Ok(_) => url.to_owned(),
        Err(_) => "<database url>".to_owned(),
    }
}

/// Applies pending migrations (`steps`: at most that many).
pub async fn migrate_up(db: &DatabaseConnection, steps: Option<u32>) -> Result<()> {
    Ok(migration::Migrator::up(db, steps).await?)
}

/// Rolls back `steps` migrations (`None`: all of them).
pub async fn migrate_down(db: &DatabaseConnection, steps: Option<u32>) -> Result<()> {
    Ok(migration::Migrator::down(db, steps).await?)
}

/// Drops every Fustat table and schema, then applies all migrations.
pub async fn migrate_fresh(db: &DatabaseConnection) -> Result<()> {
    Ok(migration::Migrator::fresh(db).await?)
}

/// Each migration's name and whether it is applied, oldest first.
pub async fn migration_status(db: &DatabaseConnection) -> Result<Vec<(String, bool)>> {
    migration::Migrator::install(db).await?;
    Ok(migration::Migrator::get_migration_with_status(db)
        .await?
        .iter()
        .map(|m| {
            (
                m.name().to_owned(),
                m.status() == migration::MigrationStatus::Applied,
            )
        })
        .collect())
}

/// Whether migrations are pending.
pub async fn has_pending_migrations(db: &DatabaseConnection) -> Result<bool> {
    migration::Migrator::install(db).await?;
    Ok(!migration::Migrator::get_pending_migrations(db)
        .await?
        .is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_database_url("postgres://fustat:s3cret@db:5432/fustat"),
            "postgres://fustat:***@db:5432/fustat"
        );
        assert_eq!(
            redact_database_url("sqlite://data/fustat.db?mode=rwc"),
            "sqlite://data/fustat.db?mode=rwc"
        );
        assert_eq!(redact_database_url("::not a url"), "<database url>");
    }

    #[test]
    fn backends_are_recognised() {
        assert_eq!(Backend::of("sqlite::memory:").unwrap(), Backend::Sqlite);
        assert_eq!(Backend::of("postgresql://x/y").unwrap(), Backend::Postgres);
        let err = Backend::of("mysql://u:pw@h/d").unwrap_err().to_string();
        assert!(!err.contains("pw"), "{err}");
    }
}
