//! Schemas, `config.api_key`, `config.mcp_server` and `public.version`.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::layout::{POSTGRES_SCHEMAS, audit_columns, id, string, string_null, table, text_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            for schema in POSTGRES_SCHEMAS {
                manager
                    .get_connection()
                    .execute_unprepared(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
                    .await?;
            }
        }

        manager
            .create_table(
                audit_columns(
                    Table::create()
                        .table(table(manager, "config", "api_key"))
                        .col(id())
                        .col(string("name", 100).unique_key())
                        .col(string("provider_name", 100))
                        .col(string("model_name", 100))
                        .col(string_null("base_url", 255))
                        .col(string("secret_key", 255)),
                )
                .take(),
            )
            .await?;

        manager
            .create_table(
                audit_columns(
                    Table::create()
                        .table(table(manager, "config", "mcp_server"))
                        .col(id())
                        .col(string("name", 100))
                        .col(text_null("description"))
                        .col(string("transport", 50).default("stdio"))
                        .col(string("mode", 50).default("autonomous"))
                        .col(ColumnDef::new("config_json").json_binary().not_null()),
                )
                .take(),
            )
            .await?;

        manager
            .create_table(
                audit_columns(
                    Table::create()
                        .table(table(manager, "public", "version"))
                        .col(id())
                        .col(string("version_number", 50))
                        .col(
                            ColumnDef::new("release_date")
                                .date()
                                .not_null()
                                .default(Expr::current_date()),
                        )
                        .col(string_null("release_description", 255)),
                )
                .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (schema, name) in [
            ("public", "version"),
            ("config", "mcp_server"),
            ("config", "api_key"),
        ] {
            manager
                .drop_table(Table::drop().table(table(manager, schema, name)).take())
                .await?;
        }
        if manager.get_database_backend() == DbBackend::Postgres {
            for schema in POSTGRES_SCHEMAS.iter().rev() {
                manager
                    .get_connection()
                    .execute_unprepared(&format!("DROP SCHEMA IF EXISTS {schema}"))
                    .await?;
            }
        }
        Ok(())
    }
}
