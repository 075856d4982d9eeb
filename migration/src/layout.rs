//! Where tables go on each backend, and the columns every table shares.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Schema};
use sea_orm_migration::seaql_migrations;

/// The PostgreSQL schemas Fustat creates, besides `public`.
pub const POSTGRES_SCHEMAS: [&str; 3] = ["config", "agents", "runtime"];

/// The `search_path` Fustat's PostgreSQL connections use, so that unqualified table names
/// resolve to the schemas above.
pub const POSTGRES_SEARCH_PATH: &str = "config,agents,runtime,public";

/// `table` in `schema` on PostgreSQL; plain `table` on SQLite (which has no schemas).
pub fn table(manager: &SchemaManager, schema: &'static str, table: &'static str) -> TableRef {
    match manager.get_database_backend() {
        DbBackend::Postgres => (schema, table).into_table_ref(),
        _ => table.into_table_ref(),
    }
}

/// A UUID primary key column `id`.
pub fn id() -> ColumnDef {
    ColumnDef::new("id").uuid().not_null().primary_key().take()
}

/// A non-null UUID column.
pub fn uuid(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).uuid().not_null().take()
}

/// `varchar(len) NOT NULL`.
pub fn string(name: &'static str, len: u32) -> ColumnDef {
    ColumnDef::new(name).string_len(len).not_null().take()
}

/// `varchar(len) NULL`.
pub fn string_null(name: &'static str, len: u32) -> ColumnDef {
    ColumnDef::new(name).string_len(len).null().take()
}

/// `timestamptz NOT NULL` (no default).
pub fn timestamp(name: &'static str) -> ColumnDef {
    ColumnDef::new(name)
        .timestamp_with_time_zone()
        .not_null()
        .take()
}

/// `text NOT NULL`.
pub fn text(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).text().not_null().take()
}

/// `text NULL`.
pub fn text_null(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).text().null().take()
}

/// The four audit columns (`created_at`, `created_by`, `modified_at`, `modified_by`).
pub fn audit_columns(stmt: &mut TableCreateStatement) -> &mut TableCreateStatement {
    stmt.col(
        ColumnDef::new("created_at")
            .timestamp_with_time_zone()
            .not_null()
            .default(Expr::current_timestamp()),
    )
    .col(
        ColumnDef::new("created_by")
            .string_len(100)
            .not_null()
            .default("system"),
    )
    .col(
        ColumnDef::new("modified_at")
            .timestamp_with_time_zone()
            .not_null()
            .default(Expr::current_timestamp()),
    )
    .col(
        ColumnDef::new("modified_by")
            .string_len(100)
            .not_null()
            .default("system"),
    )
}

/// A foreign key `from.column → to.id`.
pub fn foreign_key(
    name: &str,
    from: TableRef,
    column: &'static str,
    to: TableRef,
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from, column)
        .to(to, "id")
        .on_delete(on_delete)
        .on_update(ForeignKeyAction::Cascade)
        .take()
}

/// An index on `table(columns)`.
pub fn index(name: &str, table: TableRef, columns: &[&'static str]) -> IndexCreateStatement {
    let mut stmt = Index::create();
    stmt.name(name).table(table);
    for c in columns {
        stmt.col(*c);
    }
    stmt.take()
}

/// Drops every Fustat table and schema, and the migration table.
pub(crate) async fn drop_everything<C: ConnectionTrait>(db: &C) -> Result<(), DbErr> {
    match db.get_database_backend() {
        DbBackend::Postgres => {
            db.execute_unprepared(&format!(
                "DROP SCHEMA IF EXISTS {} CASCADE",
                POSTGRES_SCHEMAS.join(", ")
            ))
            .await?;
            db.execute_unprepared(
                "DROP TABLE IF EXISTS public.version CASCADE; \
                 DROP TABLE IF EXISTS public.seaql_migrations CASCADE",
            )
            .await?;
        }
        _ => {
            let tables = db
                .query_all_raw(sea_orm_migration::sea_orm::Statement::from_string(
                    db.get_database_backend(),
                    "SELECT name FROM sqlite_master WHERE type = 'table' \
                     AND name NOT LIKE 'sqlite_%'",
                ))
                .await?;
            db.execute_unprepared("PRAGMA foreign_keys = OFF").await?;
            for row in tables {
                let name: String = row.try_get("", "name")?;
                db.execute_unprepared(&format!(
                    "DROP TABLE IF EXISTS \"{}\"",
                    name.replace('"', "\"\"")
                ))
                .await?;
            }
            db.execute_unprepared("PRAGMA foreign_keys = ON").await?;
        }
    }
    Ok(())
}

/// Creates `seaql_migrations` if missing: in `public` on PostgreSQL, whatever the
/// connection's `search_path`.
pub(crate) async fn install_migration_table<C: ConnectionTrait>(db: &C) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    let mut stmt = Schema::new(backend).create_table_from_entity(seaql_migrations::Entity);
    if backend == DbBackend::Postgres {
        stmt.table(("public", "seaql_migrations"));
    }
    stmt.if_not_exists();
    db.execute(&stmt).await?;
    Ok(())
}
