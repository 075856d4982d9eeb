//! The LangGraph Platform protocol's records in the `runtime` schema: threads (one per
//! conversation, with their metadata and status), runs (with their request and status)
//! and the events of resumable runs (replayed to clients that reconnect).

use sea_orm_migration::prelude::*;

use crate::layout::{index, string, table, text, text_null, timestamp};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let thread = table(manager, "runtime", "thread");
        let run = table(manager, "runtime", "run");
        let run_event = table(manager, "runtime", "run_event");

        manager
            .create_table(
                Table::create()
                    .table(thread.clone())
                    .col(string("thread_id", 64).primary_key())
                    .col(ColumnDef::new("metadata").json_binary().not_null())
                    .col(string("status", 16))
                    .col(ColumnDef::new("error").json_binary().null())
                    .col(timestamp("created_at"))
                    .col(timestamp("updated_at"))
                    .col(timestamp("state_updated_at"))
                    .take(),
            )
            .await?;
        manager
            .create_index(index("idx_thread_updated", thread.clone(), &["updated_at"]))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(run.clone())
                    .col(string("run_id", 64).primary_key())
                    .col(string("thread_id", 64))
                    .col(string("assistant_id", 64))
                    .col(string("status", 16))
                    .col(string("multitask_strategy", 16))
                    .col(ColumnDef::new("metadata").json_binary().not_null())
                    .col(ColumnDef::new("kwargs").json_binary().not_null())
                    .col(text_null("error"))
                    .col(timestamp("created_at"))
                    .col(timestamp("updated_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_run_thread")
                            .from_tbl(run.clone())
                            .from_col("thread_id")
                            .to_tbl(thread.clone())
                            .to_col("thread_id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_run_thread",
                run.clone(),
                &["thread_id", "created_at"],
            ))
            .await?;
        manager
            .create_index(index("idx_run_status", run.clone(), &["status"]))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(run_event.clone())
                    .col(string("run_id", 64))
                    .col(ColumnDef::new("seq").big_integer().not_null())
                    .col(text("event"))
                    .col(ColumnDef::new("data").text().not_null())
                    .col(timestamp("created_at"))
                    .primary_key(Index::create().col("run_id").col("seq"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_run_event_run")
                            .from_tbl(run_event.clone())
                            .from_col("run_id")
                            .to_tbl(run.clone())
                            .to_col("run_id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in ["run_event", "run", "thread"] {
            manager
                .drop_table(Table::drop().table(table(manager, "runtime", name)).take())
                .await?;
        }
        Ok(())
    }
}
