//! Run state in the `runtime` schema: checkpoints (as per-step deltas), their channel
//! writes, tool results recorded mid-step, and the long-term memory store.

use sea_orm_migration::prelude::*;

use crate::layout::{index, string, string_null, table, timestamp};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let checkpoint = table(manager, "runtime", "checkpoint");
        let checkpoint_write = table(manager, "runtime", "checkpoint_write");
        let pending_write = table(manager, "runtime", "pending_write");
        let store_item = table(manager, "runtime", "store_item");

        manager
            .create_table(
                Table::create()
                    .table(checkpoint.clone())
                    .col(string("thread_id", 255))
                    .col(string("checkpoint_id", 64))
                    .col(string_null("parent_id", 64))
                    .col(string_null("run_id", 64))
                    .col(ColumnDef::new("step").big_integer().not_null())
                    .col(string("source", 16))
                    .col(string_null("node", 255))
                    .col(ColumnDef::new("state_values").json_binary().not_null())
                    .col(ColumnDef::new("metadata").json_binary().not_null())
                    .col(timestamp("created_at"))
                    .primary_key(Index::create().col("thread_id").col("checkpoint_id"))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_checkpoint_run",
                checkpoint.clone(),
                &["thread_id", "run_id"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(checkpoint_write.clone())
                    .col(string("thread_id", 255))
                    .col(string("checkpoint_id", 64))
                    .col(ColumnDef::new("seq").integer().not_null())
                    .col(string("channel", 255))
                    .col(string("op", 16))
                    .col(string_null("message_id", 255))
                    .col(ColumnDef::new("message").json_binary().null())
                    .primary_key(
                        Index::create()
                            .col("thread_id")
                            .col("checkpoint_id")
                            .col("seq"),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_checkpoint_write_checkpoint")
                            .from_tbl(checkpoint_write.clone())
                            .from_col("thread_id")
                            .from_col("checkpoint_id")
                            .to_tbl(checkpoint.clone())
                            .to_col("thread_id")
                            .to_col("checkpoint_id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(pending_write.clone())
                    .col(string("thread_id", 255))
                    .col(string("checkpoint_id", 64))
                    .col(string("task_id", 255))
                    .col(string("channel", 255))
                    .col(ColumnDef::new("message").json_binary().not_null())
                    .col(timestamp("created_at"))
                    .primary_key(
                        Index::create()
                            .col("thread_id")
                            .col("checkpoint_id")
                            .col("task_id"),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_pending_write_checkpoint")
                            .from_tbl(pending_write.clone())
                            .from_col("thread_id")
                            .from_col("checkpoint_id")
                            .to_tbl(checkpoint.clone())
                            .to_col("thread_id")
                            .to_col("checkpoint_id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(store_item.clone())
                    .col(string("namespace", 1024))
                    .col(string("item_key", 1024))
                    .col(ColumnDef::new("value").json_binary().not_null())
                    .col(timestamp("created_at"))
                    .col(
                        ColumnDef::new("updated_at")
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(Index::create().col("namespace").col("item_key"))
                    .take(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in [
            "store_item",
            "pending_write",
            "checkpoint_write",
            "checkpoint",
        ] {
            manager
                .drop_table(Table::drop().table(table(manager, "runtime", name)).take())
                .await?;
        }
        Ok(())
    }
}
