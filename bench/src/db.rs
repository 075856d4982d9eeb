//! Throw-away databases for the scenarios: a SQLite file, or a database created on the
//! PostgreSQL server named by the harness's admin URL. Removed when dropped.

use std::time::Duration;

use anyhow::{Context, Result};
use fustat_testkit::db::TestDatabase;
use sea_orm::{ConnectOptions, ConnectionTrait, Database};

/// A database that lives as long as this value.
#[derive(Debug)]
pub struct BenchDb {
    /// The URL to connect to.
    pub url: String,
    _sqlite: Option<TestDatabase>,
    postgres: Option<(String, String)>,
}

/// A new SQLite file.
pub fn sqlite() -> BenchDb {
    let db = fustat_testkit::db::sqlite();
    BenchDb {
        url: db.url().to_owned(),
        _sqlite: Some(db),
        postgres: None,
    }
}

async fn admin(url: &str) -> Result<sea_orm::DatabaseConnection> {
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.max_connections(1)
        .connect_timeout(Duration::from_secs(5))
        .sqlx_logging(false);
    Database::connect(opts)
        .await
        .with_context(|| format!("connecting to PostgreSQL at {}", redact(url)))
}

fn redact(url: &str) -> String {
    fustat_persistence::redact_database_url(url)
}

/// A new PostgreSQL database on the server of `admin_url`.
pub async fn postgres(admin_url: &str) -> Result<BenchDb> {
    let name = format!("fustat_bench_{}", uuid::Uuid::now_v7().simple());
    let conn = admin(admin_url).await?;
    conn.execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .with_context(|| format!("creating database {name}"))?;
    let _ = conn.close().await;
    let mut url = url::Url::parse(admin_url).context("the PostgreSQL URL")?;
    url.set_path(&format!("/{name}"));
    Ok(BenchDb {
        url: url.to_string(),
        _sqlite: None,
        postgres: Some((admin_url.to_owned(), name)),
    })
}

impl Drop for BenchDb {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.postgres.take() else {
            return;
        };
        // Drop may run inside the async runtime: use a thread with its own runtime.
        let handle = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok(conn) = admin(&admin_url).await {
                    let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                    let _ = conn.execute_unprepared(&sql).await;
                    let _ = conn.close().await;
                }
            });
        });
        let _ = handle.join();
    }
}
