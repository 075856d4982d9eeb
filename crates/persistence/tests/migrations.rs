//! Migrations go up, down and up again, and `fresh` rebuilds, on both backends.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use fustat_domain::{ApiKeyInput, SYSTEM_ACTOR};
use fustat_persistence::{
    DbOptions, Repos, connect, migrate_down, migrate_fresh, migrate_up, migration_status,
};
use fustat_testkit::db::{self, TestDatabase};

fn key(name: &str) -> ApiKeyInput {
    ApiKeyInput {
        name: name.to_owned(),
        provider_name: "OpenAI".to_owned(),
        model_name: "gpt-4o-mini".to_owned(),
        base_url: None,
        secret_key: "sk-test-secret".to_owned(),
    }
}

async fn applied(conn: &fustat_persistence::DatabaseConnection) -> Vec<bool> {
    migration_status(conn)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, applied)| applied)
        .collect()
}

async fn up_down_up(db: TestDatabase) {
    let conn = connect(db.url(), &DbOptions::default()).await.unwrap();
    let repos = Repos::new(conn.clone());
    assert!(applied(&conn).await.iter().all(|a| !a));

    migrate_up(&conn, None).await.unwrap();
    assert!(applied(&conn).await.iter().all(|a| *a));
    repos.api_keys.create(key("a"), SYSTEM_ACTOR).await.unwrap();

    migrate_down(&conn, Some(1)).await.unwrap();
    let status = applied(&conn).await;
    assert_eq!(status.first(), Some(&true));
    assert_eq!(status.last(), Some(&false));
    // The config tables survive a one-step rollback.
    assert_eq!(repos.api_keys.list_by_name().await.unwrap().len(), 1);

    migrate_down(&conn, None).await.unwrap();
    assert!(applied(&conn).await.iter().all(|a| !a));
    assert!(repos.api_keys.list_by_name().await.is_err());

    migrate_up(&conn, None).await.unwrap();
    assert!(repos.api_keys.list_by_name().await.unwrap().is_empty());
    repos.api_keys.create(key("b"), SYSTEM_ACTOR).await.unwrap();

    migrate_fresh(&conn).await.unwrap();
    assert!(applied(&conn).await.iter().all(|a| *a));
    assert!(repos.api_keys.list_by_name().await.unwrap().is_empty());
    conn.close().await.unwrap();
}

#[tokio::test]
async fn migrations_go_up_down_and_up_on_sqlite() {
    up_down_up(db::sqlite()).await;
}

#[tokio::test]
async fn migrations_go_up_down_and_up_on_postgres() {
    if let Some(db) = db::postgres().await.expect("test PostgreSQL") {
        up_down_up(db).await;
    }
}

/// On PostgreSQL the tables live in their schemas, and `runtime` exists.
#[tokio::test]
async fn postgres_tables_live_in_their_schemas() {
    use sea_orm::{ConnectionTrait, Statement};
    let Some(db) = db::postgres().await.expect("test PostgreSQL") else {
        return;
    };
    let conn = connect(db.url(), &DbOptions::default()).await.unwrap();
    migrate_up(&conn, None).await.unwrap();
    let rows = conn
        .query_all_raw(Statement::from_string(
            conn.get_database_backend(),
            "SELECT table_schema || '.' || table_name AS t FROM information_schema.tables \
             WHERE table_schema IN ('config', 'agents', 'public') ORDER BY 1",
        ))
        .await
        .unwrap();
    let tables: Vec<String> = rows.iter().map(|r| r.try_get("", "t").unwrap()).collect();
    assert_eq!(
        tables,
        [
            "agents.agent",
            "agents.agent_mcp_server",
            "agents.orchestrator",
            "agents.orchestrator_sub_agent",
            "config.api_key",
            "config.mcp_server",
            "config.service_token",
            "public.seaql_migrations",
            "public.version",
        ]
    );
    let schema = conn
        .query_one_raw(Statement::from_string(
            conn.get_database_backend(),
            "SELECT count(*) AS n FROM information_schema.schemata WHERE schema_name = 'runtime'",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(schema.try_get::<i64>("", "n").unwrap(), 1);
    let ty = conn
        .query_one_raw(Statement::from_string(
            conn.get_database_backend(),
            "SELECT data_type AS t FROM information_schema.columns \
             WHERE table_schema = 'config' AND table_name = 'mcp_server' \
             AND column_name = 'config_json'",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ty.try_get::<String>("", "t").unwrap(), "jsonb");
    conn.close().await.unwrap();
}
