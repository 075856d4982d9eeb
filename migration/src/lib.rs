//! Fustat's database migrations, for PostgreSQL and SQLite from one set of definitions.
//!
//! On PostgreSQL the tables live in schemas: `config` (api_key, mcp_server), `agents`
//! (agent, agent_mcp_server, orchestrator, orchestrator_sub_agent), `public` (version),
//! and `runtime` (run state, filled by later migrations). SQLite has no schemas, so the
//! same tables are created unqualified. Entities use unqualified names and PostgreSQL
//! connections find the tables through their `search_path`
//! (see [`POSTGRES_SEARCH_PATH`]).
//!
//! Run with `sea-orm-cli migrate up|down|status` from the repository root, with
//! `cargo run -p migration -- up`, or with `fustat migrate up|down|status|fresh`.

pub use sea_orm_migration::prelude::*;

mod layout;
mod m20260101_000001_create_config_tables;
mod m20260101_000002_create_agent_tables;
mod m20260102_000001_create_runtime_tables;
mod m20260102_000002_add_orchestrator_context_routing;
mod m20260103_000001_security;
mod m20260104_000001_create_hub_tables;

pub use layout::{POSTGRES_SCHEMAS, POSTGRES_SEARCH_PATH};
pub use sea_orm_migration::MigrationStatus;

/// Fustat's migrator.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20260101_000001_create_config_tables::Migration),
            Box::new(m20260101_000002_create_agent_tables::Migration),
            Box::new(m20260102_000001_create_runtime_tables::Migration),
            Box::new(m20260102_000002_add_orchestrator_context_routing::Migration),
            Box::new(m20260103_000001_security::Migration),
            Box::new(m20260104_000001_create_hub_tables::Migration),
        ]
    }

    /// Creates the migration table. On PostgreSQL it is always `public.seaql_migrations`:
    /// the default unqualified `CREATE TABLE IF NOT EXISTS` would create a second, empty
    /// table in `config` (the first schema of Fustat's `search_path`) once that exists.
    async fn install<C>(db: &C) -> Result<(), DbErr>
    where
        C: ConnectionTrait,
    {
        layout::install_migration_table(db).await
    }

    /// Drops every table and schema of Fustat, then applies all migrations.
    ///
    /// The default `fresh` only drops the tables of the connection's current schema,
    /// which on PostgreSQL would leave `config`, `agents` and `runtime` behind.
    async fn fresh<'c, C>(db: C) -> Result<(), DbErr>
    where
        C: IntoSchemaManagerConnection<'c>,
    {
        let db = db.into_database_executor();
        layout::drop_everything(&db).await?;
        Self::up(db, None).await
    }
}
