//! Throw-away databases for the scenarios: a SQLite file, or a database created on the
//! PostgreSQL server named by the harness's admin URL (the test kit's, removed when
//! dropped).

use anyhow::{Result, anyhow};
use fustat_testkit::db::TestDatabase;

/// A database that lives as long as this value.
#[derive(Debug)]
pub struct BenchDb {
    /// The URL to connect to.
    pub url: String,
    _db: TestDatabase,
}

impl From<TestDatabase> for BenchDb {
    fn from(db: TestDatabase) -> Self {
        BenchDb {
            url: db.url().to_owned(),
            _db: db,
        }
    }
}

/// A new SQLite file.
pub fn sqlite() -> BenchDb {
    fustat_testkit::db::sqlite().into()
}

/// A new PostgreSQL database on the server of `admin_url`.
pub async fn postgres(admin_url: &str) -> Result<BenchDb> {
    fustat_testkit::db::postgres_on(admin_url)
        .await
        .map(BenchDb::from)
        .map_err(|e| {
            anyhow!(
                "PostgreSQL at {}: {e}",
                fustat_persistence::redact_database_url(admin_url)
            )
        })
}
