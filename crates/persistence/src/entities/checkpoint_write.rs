//! `runtime.checkpoint_write`: what a step changed, one row per channel change.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "checkpoint_write")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub thread_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub checkpoint_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub seq: i32,
    pub channel: String,
    pub op: String,
    pub message_id: Option<String>,
    pub message: Option<Json>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
