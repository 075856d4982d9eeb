//! `agents.orchestrator`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "orchestrator")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub description: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub instructions: String,
    pub publish_as_app: bool,
    pub app_type: String,
    pub api_key_id: Uuid,
    pub pattern: String,
    pub context_input: Option<String>,
    pub context_output: Option<String>,
    pub created_at: DateTimeUtc,
    pub created_by: String,
    pub modified_at: DateTimeUtc,
    pub modified_by: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
