//! S6: checkpoint growth. One 200-turn conversation on a SQLite database; after each turn
//! the harness sums the bytes of every value stored in the checkpoint tables (column
//! payloads, without SQLite's page and index overhead). The LangGraph peer measures its
//! own SQLite saver's tables the same way.

use std::sync::Arc;

use anyhow::{Result, bail};
use fustat_persistence::{DatabaseConnection, DbCheckpointer, DbOptions, connect, migrate_up};
use fustat_runtime::agent::Agent;
use fustat_runtime::event::RunStatus;
use fustat_runtime::react::AgentGraph;
use fustat_runtime::run::{RunRequest, Runtime};
use sea_orm::{ConnectionTrait, Statement};

use crate::db;

/// Bytes stored and checkpoints written per turn.
#[derive(Debug, Clone)]
pub struct Growth {
    /// Bytes added to the checkpoint tables by each turn.
    pub bytes_per_turn: Vec<f64>,
    /// Checkpoints written by each turn.
    pub checkpoints_per_turn: Vec<f64>,
}

const TABLES: [&str; 3] = ["checkpoint", "checkpoint_write", "pending_write"];

async fn stored(conn: &DatabaseConnection) -> Result<(f64, f64)> {
    let backend = conn.get_database_backend();
    let mut total = 0i64;
    for table in TABLES {
        let cols = conn
            .query_all_raw(Statement::from_string(
                backend,
                format!("PRAGMA table_info({table})"),
            ))
            .await?;
        let mut parts = Vec::new();
        for c in cols {
            let name: String = c.try_get("", "name")?;
            parts.push(format!("IFNULL(LENGTH(CAST(\"{name}\" AS BLOB)), 0)"));
        }
        if parts.is_empty() {
            bail!("no table {table}");
        }
        let sql = format!(
            "SELECT CAST(COALESCE(SUM({}), 0) AS INTEGER) AS n FROM {table}",
            parts.join(" + ")
        );
        if let Some(row) = conn
            .query_one_raw(Statement::from_string(backend, sql))
            .await?
        {
            total += row.try_get::<i64>("", "n")?;
        }
    }
    let count = conn
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT COUNT(*) AS n FROM checkpoint",
        ))
        .await?
        .map(|r| r.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0);
    Ok((total as f64, count as f64))
}

/// Runs `turns` turns of one conversation with an agent without tools.
pub async fn fustat(base_url: &str, turns: usize) -> Result<Growth> {
    let db = db::sqlite();
    let conn = connect(&db.url, &DbOptions::default()).await?;
    migrate_up(&conn, None).await?;
    let runtime = Runtime::new(Arc::new(DbCheckpointer::new(conn.clone())));
    let agent = Agent::builder("chat", crate::orchestration::model(base_url)?)
        .system_prompt("You chat.")
        .build();
    let graph = Arc::new(AgentGraph::new(agent));
    let (mut before, mut count_before) = stored(&conn).await?;
    let mut growth = Growth {
        bytes_per_turn: Vec::with_capacity(turns),
        checkpoints_per_turn: Vec::with_capacity(turns),
    };
    for turn in 0..turns {
        let outcome = runtime
            .run(
                graph.clone(),
                RunRequest::message("growth", format!("Turn {turn}: tell me more.")),
            )
            .await?;
        if outcome.status != RunStatus::Success {
            bail!("turn {turn} ended with {:?}", outcome.status);
        }
        let (after, count_after) = stored(&conn).await?;
        growth.bytes_per_turn.push(after - before);
        growth.checkpoints_per_turn.push(count_after - count_before);
        (before, count_before) = (after, count_after);
    }
    conn.close().await?;
    drop(db);
    Ok(growth)
}
