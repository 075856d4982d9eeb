//! `config.mcp_server`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "mcp_server")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub description: Option<String>,
    pub transport: String,
    pub mode: String,
    #[sea_orm(column_type = "JsonBinary")]
    pub config_json: Json,
    pub created_at: DateTimeUtc,
    pub created_by: String,
    pub modified_at: DateTimeUtc,
    pub modified_by: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
