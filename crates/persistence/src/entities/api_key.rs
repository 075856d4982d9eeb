//! `config.api_key`.

use sea_orm::entity::prelude::*;

#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_key")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub name: String,
    pub provider_name: String,
    pub model_name: String,
    pub base_url: Option<String>,
    /// Read and written only through `repos::api_keys::SecretColumn`.
    pub secret_key: String,
    pub created_at: DateTimeUtc,
    pub created_by: String,
    pub modified_at: DateTimeUtc,
    pub modified_by: String,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("api_key::Model")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("secret_key", &"********")
            .finish_non_exhaustive()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
