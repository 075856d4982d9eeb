//! `agents.agent`, `agents.agent_mcp_server`, `agents.orchestrator` and
//! `agents.orchestrator_sub_agent`.

use sea_orm_migration::prelude::*;

use crate::layout::{audit_columns, foreign_key, id, index, string, table, text, text_null, uuid};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let api_key = table(manager, "config", "api_key");
        let mcp_server = table(manager, "config", "mcp_server");
        let agent = table(manager, "agents", "agent");
        let agent_mcp_server = table(manager, "agents", "agent_mcp_server");
        let orchestrator = table(manager, "agents", "orchestrator");
        let orchestrator_sub_agent = table(manager, "agents", "orchestrator_sub_agent");

        manager
            .create_table(
                audit_columns(
                    Table::create()
                        .table(agent.clone())
                        .col(id())
                        .col(string("name", 150))
                        .col(text_null("description"))
                        .col(text("role"))
                        .col(text("task"))
                        .col(text("instructions"))
                        .col(
                            ColumnDef::new("publish_as_app")
                                .boolean()
                                .not_null()
                                .default(false),
                        )
                        .col(string("app_type", 50).default("Productivity"))
                        .col(uuid("api_key_id"))
                        .foreign_key(&mut foreign_key(
                            "fk_agent_api_key",
                            agent.clone(),
                            "api_key_id",
                            api_key.clone(),
                            ForeignKeyAction::Restrict,
                        )),
                )
                .take(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_agent_api_key_id",
                agent.clone(),
                &["api_key_id"],
            ))
            .await?;

        manager
            .create_table(
                audit_columns(
                    Table::create()
                        .table(agent_mcp_server.clone())
                        .col(uuid("agent_id"))
                        .col(uuid("mcp_server_id"))
                        .col(ColumnDef::new("position").integer().not_null().default(0))
                        .primary_key(Index::create().col("agent_id").col("mcp_server_id"))
                        .foreign_key(&mut foreign_key(
                            "fk_agent_mcp_server_agent",
                            agent_mcp_server.clone(),
                            "agent_id",
                            agent.clone(),
                            ForeignKeyAction::Cascade,
                        ))
                        .foreign_key(&mut foreign_key(
                            "fk_agent_mcp_server_mcp_server",
                            agent_mcp_server.clone(),
                            "mcp_server_id",
                            mcp_server,
                            ForeignKeyAction::Restrict,
                        )),
                )
                .take(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_agent_mcp_server_mcp_server_id",
                agent_mcp_server,
                &["mcp_server_id"],
            ))
            .await?;

        manager
            .create_table(
                audit_columns(
                    Table::create()
                        .table(orchestrator.clone())
                        .col(id())
                        .col(string("name", 100))
                        .col(text_null("description"))
                        .col(text("instructions"))
                        .col(
                            ColumnDef::new("publish_as_app")
                                .boolean()
                                .not_null()
                                .default(true),
                        )
                        .col(string("app_type", 50).default("Productivity"))
                        .col(uuid("api_key_id"))
                        .col(string("pattern", 50).default("supervisor"))
                        .foreign_key(&mut foreign_key(
                            "fk_orchestrator_api_key",
                            orchestrator.clone(),
                            "api_key_id",
                            api_key,
                            ForeignKeyAction::Restrict,
                        )),
                )
                .take(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_orchestrator_api_key_id",
                orchestrator.clone(),
                &["api_key_id"],
            ))
            .await?;

        manager
            .create_table(
                audit_columns(
                    Table::create()
                        .table(orchestrator_sub_agent.clone())
                        .col(uuid("orchestrator_id"))
                        .col(uuid("agent_id"))
                        .col(ColumnDef::new("position").integer().not_null().default(0))
                        .primary_key(Index::create().col("orchestrator_id").col("agent_id"))
                        .foreign_key(&mut foreign_key(
                            "fk_orchestrator_sub_agent_orchestrator",
                            orchestrator_sub_agent.clone(),
                            "orchestrator_id",
                            orchestrator,
                            ForeignKeyAction::Cascade,
                        ))
                        .foreign_key(&mut foreign_key(
                            "fk_orchestrator_sub_agent_agent",
                            orchestrator_sub_agent.clone(),
                            "agent_id",
                            agent,
                            ForeignKeyAction::Restrict,
                        )),
                )
                .take(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_orchestrator_sub_agent_agent_id",
                orchestrator_sub_agent,
                &["agent_id"],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in [
            "orchestrator_sub_agent",
            "orchestrator",
            "agent_mcp_server",
            "agent",
        ] {
            manager
                .drop_table(Table::drop().table(table(manager, "agents", name)).take())
                .await?;
        }
        Ok(())
    }
}
