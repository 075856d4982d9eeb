//! The seed is idempotent on both backends.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use fustat_persistence::{DbOptions, Repos, connect, migrate_up};
use fustat_testkit::db::{self, TestDatabase};

async fn seed_twice(db: TestDatabase) {
    let conn = connect(db.url(), &DbOptions::default()).await.unwrap();
    migrate_up(&conn, None).await.unwrap();
    let repos = Repos::new(conn.clone());

    let first = fustat_seed::run(&repos).await.unwrap();
    assert!(first.skipped.is_empty(), "{first:?}");
    assert_eq!(first.created.len(), 5, "{first:?}");

    let second = fustat_seed::run(&repos).await.unwrap();
    assert!(second.created.is_empty(), "{second:?}");
    assert_eq!(second.skipped, first.created);

    assert_eq!(repos.versions.list_newest_first().await.unwrap().len(), 1);
    assert_eq!(repos.api_keys.list_by_name().await.unwrap().len(), 3);
    assert_eq!(repos.mcp_servers.list().await.unwrap().len(), 1);
    let current = repos.versions.current().await.unwrap().unwrap();
    assert_eq!(current.version_number, "0.1.0");
    conn.close().await.unwrap();
}

#[tokio::test]
async fn seed_is_idempotent_on_sqlite() {
    seed_twice(db::sqlite()).await;
}

#[tokio::test]
async fn seed_is_idempotent_on_postgres() {
    if let Some(db) = db::postgres().await.expect("test PostgreSQL") {
        seed_twice(db).await;
    }
}
