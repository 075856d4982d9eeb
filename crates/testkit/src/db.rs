//! Throw-away databases for tests: a SQLite file, or a PostgreSQL database created on
//! the server named by `FUSTAT_TEST_POSTGRES_URL`. Each is removed when dropped.
//!
//! This crate does not depend on `fustat-persistence` (a test would otherwise see two
//! copies of its types); it only creates and drops databases. Tests connect and migrate
//! through `fustat_persistence` with [`TestDatabase::url`].
//!
//! ```ignore
//! let Some(db) = fustat_testkit::db::postgres().await.expect("postgres") else { return };
//! let conn = fustat_persistence::connect(db.url(), &Default::default()).await?;
//! ```

use std::path::PathBuf;
use std::time::Duration;

use sea_orm::{ConnectOptions, ConnectionTrait, Database};

/// The variable naming an admin connection to a PostgreSQL server for tests, e.g.
/// `postgres://postgres@127.0.0.1:5432/postgres`.
pub const POSTGRES_URL_VAR: &str = "FUSTAT_TEST_POSTGRES_URL";

/// Which database a [`TestDatabase`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestBackend {
    /// A SQLite file in the temporary directory.
    Sqlite,
    /// A database on the test PostgreSQL server.
    Postgres,
}

/// Why a test database could not be made.
#[derive(Debug)]
pub struct TestDbError(pub String);

impl std::fmt::Display for TestDbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TestDbError {}

/// A database that exists for one test and is removed when dropped.
#[derive(Debug)]
pub struct TestDatabase {
    url: String,
    backend: TestBackend,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    Files(Vec<PathBuf>),
    DropDatabase { admin_url: String, name: String },
}

impl TestDatabase {
    /// The URL to connect to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Which backend it is.
    pub fn backend(&self) -> TestBackend {
        self.backend
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Files(paths) => {
                for p in paths {
                    let _ = std::fs::remove_file(p);
                }
            }
            Cleanup::DropDatabase { admin_url, name } => {
                // Drop may run inside an async runtime: drop the database from a thread
                // with its own runtime. FORCE ends the test's own pooled connections.
                let admin_url = admin_url.clone();
                let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                let handle = std::thread::spawn(move || {
                    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    else {
                        return;
                    };
                    rt.block_on(async move {
                        if let Ok(admin) = admin_connect(&admin_url).await {
                            let _ = admin.execute_unprepared(&sql).await;
                            let _ = admin.close().await;
                        }
                    });
                });
                let _ = handle.join();
            }
        }
    }
}

fn unique_name() -> String {
    format!("fustat_test_{}", uuid::Uuid::now_v7().simple())
}

/// A new, empty SQLite database file in the temporary directory.
pub fn sqlite() -> TestDatabase {
    let path = std::env::temp_dir().join(format!("{}.db", unique_name()));
    let files = ["", "-wal", "-shm"]
        .iter()
        .map(|suffix| PathBuf::from(format!("{}{suffix}", path.display())))
        .collect();
    TestDatabase {
        url: format!("sqlite://{}?mode=rwc", path.display()),
        backend: TestBackend::Sqlite,
        cleanup: Cleanup::Files(files),
    }
}

async fn admin_connect(admin_url: &str) -> Result<sea_orm::DatabaseConnection, sea_orm::DbErr> {
    let mut opts = ConnectOptions::new(admin_url.to_owned());
    opts.max_connections(1)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(5))
        .sqlx_logging(false);
    Database::connect(opts).await
}

/// A new, empty PostgreSQL database on the server named by [`POSTGRES_URL_VAR`].
///
/// `Ok(None)` (with a note on stderr) when the variable is unset, so a machine without
/// PostgreSQL still passes; an error when it is set but the server cannot be used.
pub async fn postgres() -> Result<Option<TestDatabase>, TestDbError> {
    let Ok(admin_url) = std::env::var(POSTGRES_URL_VAR) else {
        eprintln!("note: {POSTGRES_URL_VAR} is not set; skipping the PostgreSQL half of this test");
        return Ok(None);
    };
    postgres_on(&admin_url)
        .await
        .map(Some)
        .map_err(|e| TestDbError(format!("{POSTGRES_URL_VAR}: {e}")))
}

/// A new, empty PostgreSQL database on the server of `admin_url` (a connection that may
/// create databases), dropped with the value.
pub async fn postgres_on(admin_url: &str) -> Result<TestDatabase, TestDbError> {
    let name = unique_name();
    let admin = admin_connect(admin_url)
        .await
        .map_err(|e| TestDbError(format!("the PostgreSQL server cannot be reached: {e}")))?;
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .map_err(|e| TestDbError(format!("cannot create database {name}: {e}")))?;
    let _ = admin.close().await;
    let mut url = url::Url::parse(admin_url).map_err(|e| TestDbError(format!("not a URL: {e}")))?;
    url.set_path(&format!("/{name}"));
    Ok(TestDatabase {
        url: url.to_string(),
        backend: TestBackend::Postgres,
        cleanup: Cleanup::DropDatabase {
            admin_url: admin_url.to_owned(),
            name,
        },
    })
}
