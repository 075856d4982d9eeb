//! `agents.orchestrator_sub_agent`: an orchestrator's sub-agents, in order.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "orchestrator_sub_agent")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub orchestrator_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub agent_id: Uuid,
    pub position: i32,
    pub created_at: DateTimeUtc,
    pub created_by: String,
    pub modified_at: DateTimeUtc,
    pub modified_by: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
