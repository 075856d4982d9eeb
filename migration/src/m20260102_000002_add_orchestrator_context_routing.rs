//! `agents.orchestrator.context_input` and `context_output`: how context flows between an
//! orchestrator and its sub-agents (NULL: the pattern's default).

use sea_orm_migration::prelude::*;

use crate::layout::{string_null, table};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        for column in ["context_input", "context_output"] {
            manager
                .alter_table(
                    Table::alter()
                        .table(table(manager, "agents", "orchestrator"))
                        .add_column(string_null(column, 32))
                        .take(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in ["context_input", "context_output"] {
            manager
                .alter_table(
                    Table::alter()
                        .table(table(manager, "agents", "orchestrator"))
                        .drop_column(column)
                        .take(),
                )
                .await?;
        }
        Ok(())
    }
}
