//! Security: `config.api_key.secret_key` widened to text (it holds AES-256-GCM ciphertext)
//! and `config.service_token`, the hashed service tokens. Rolling back drops the tokens
//! and keeps the wider column.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::layout::{id, string, table};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite does not enforce varchar lengths; PostgreSQL needs the wider type.
        if manager.get_database_backend() == DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared("ALTER TABLE config.api_key ALTER COLUMN secret_key TYPE text")
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(table(manager, "config", "service_token"))
                    .col(id())
                    .col(string("name", 100).unique_key())
                    .col(string("role", 16))
                    .col(string("token_hash", 64).unique_key())
                    .col(string("token_prefix", 16))
                    .col(
                        ColumnDef::new("created_at")
                            .timestamp_with_time_zone()
                            .not_null()
                            .default(Expr::current_timestamp()),
                    )
                    .col(string("created_by", 100))
                    .col(
                        ColumnDef::new("last_used_at")
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new("revoked_at")
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(
                Table::drop()
                    .table(table(manager, "config", "service_token"))
                    .take(),
            )
            .await
        // `secret_key` stays text: encrypted secrets do not fit the old varchar(255), and
        // the wider type is harmless to the earlier schema.
    }
}
