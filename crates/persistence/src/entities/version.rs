//! `public.version`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "version")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub version_number: String,
    pub release_date: Date,
    pub release_description: Option<String>,
    pub created_at: DateTimeUtc,
    pub created_by: String,
    pub modified_at: DateTimeUtc,
    pub modified_by: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
