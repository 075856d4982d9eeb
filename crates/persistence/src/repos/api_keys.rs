//! `config.api_key`.

use std::collections::HashMap;

use fustat_domain::{ApiKey, ApiKeyInput, Audit, DomainError, Secret};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, Set, TransactionTrait,
};
use uuid::Uuid;

use super::convert::audit_of;
use super::{new_id, now};
use crate::entities::{agent, api_key, orchestrator};
use crate::error::{PersistenceError, Result};

const ENTITY: &str = "API key";

/// The one place where the `secret_key` column is read and written: encrypted with the
/// process's master key (see [`crate::secrets`]).
struct SecretColumn;

impl SecretColumn {
    fn write(secret: &Secret) -> Result<String> {
        crate::secrets::seal(secret.expose()).map_err(|e| PersistenceError::Corrupt(e.to_string()))
    }

    fn read(stored: String) -> Result<Secret> {
        crate::secrets::open(&stored)
            .map(Secret::new)
            .map_err(|e| PersistenceError::Corrupt(format!("api_key.secret_key: {e}")))
    }
}

pub(crate) fn from_row(m: api_key::Model) -> Result<ApiKey> {
    Ok(ApiKey {
        id: m.id,
        audit: audit_of!(m),
        name: m.name,
        provider_name: m.provider_name,
        model_name: m.model_name,
        base_url: m.base_url,
        secret_key: SecretColumn::read(m.secret_key)?,
    })
}

/// The API keys with these ids, by id.
pub(crate) async fn load_by_ids<C: ConnectionTrait>(
    db: &C,
    ids: impl IntoIterator<Item = Uuid>,
) -> Result<HashMap<Uuid, ApiKey>> {
    let ids: Vec<Uuid> = ids.into_iter().collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    api_key::Entity::find()
        .filter(api_key::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|m| from_row(m).map(|k| (k.id, k)))
        .collect()
}

/// The API key `id` referenced by the request field `api_key_id`; a missing one is a
/// validation error of that field.
pub(crate) async fn require_reference<C: ConnectionTrait>(db: &C, id: Uuid) -> Result<ApiKey> {
    api_key::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(from_row)
        .transpose()?
        .ok_or_else(|| {
            DomainError::validation("api_key_id", format!("no API key with id {id}")).into()
        })
}

async fn ensure_name_free<C: ConnectionTrait>(
    db: &C,
    name: &str,
    except: Option<Uuid>,
) -> Result<()> {
    let mut query = api_key::Entity::find().filter(api_key::Column::Name.eq(name));
    if let Some(id) = except {
        query = query.filter(api_key::Column::Id.ne(id));
    }
    if query.count(db).await? > 0 {
        return Err(duplicate_name(name).into());
    }
    Ok(())
}

fn duplicate_name(name: &str) -> DomainError {
    DomainError::conflict(format!("an API key named '{name}' already exists"))
}

/// Maps a unique violation on insert/update (a concurrent duplicate) to the same
/// conflict as the pre-check.
fn on_write_error(name: &str) -> impl Fn(sea_orm::DbErr) -> crate::PersistenceError + '_ {
    move |e| match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => duplicate_name(name).into(),
        _ => e.into(),
    }
}

/// LLM provider credentials.
#[derive(Debug, Clone)]
pub struct ApiKeyRepo {
    db: DatabaseConnection,
}

impl ApiKeyRepo {
    pub(crate) fn new(db: DatabaseConnection) -> Self {
        ApiKeyRepo { db }
    }

    /// Encrypts, with the installed master key, every secret still stored in plain text
    /// (rows written before encryption was configured). Returns how many were encrypted.
    pub async fn encrypt_plaintext(&self) -> Result<usize> {
        let Some(cipher) = crate::secrets::installed() else {
            return Ok(0);
        };
        self.reencrypt(|stored| {
            if crate::secrets::is_encrypted(stored) {
                Ok(None)
            } else {
                cipher.encrypt(stored).map(Some)
            }
        })
        .await
    }

    /// Re-encrypts every secret from the master key `from` to `to` in one transaction
    /// (plain-text rows are encrypted too). Either every row changes or none does.
    pub async fn rotate(
        &self,
        from: &crate::secrets::SecretCipher,
        to: &crate::secrets::SecretCipher,
    ) -> Result<usize> {
        self.reencrypt(|stored| {
            let plain = from.decrypt(stored)?;
            to.encrypt(&plain).map(Some)
        })
        .await
    }

    async fn reencrypt(
        &self,
        change: impl Fn(&str) -> std::result::Result<Option<String>, crate::secrets::SecretError>,
    ) -> Result<usize> {
        let txn = self.db.begin().await?;
        let rows = api_key::Entity::find().all(&txn).await?;
        let mut changed = 0;
        for row in rows {
            let new = change(&row.secret_key)
                .map_err(|e| PersistenceError::Corrupt(format!("api_key '{}': {e}", row.name)))?;
            if let Some(new) = new {
                api_key::ActiveModel {
                    id: Set(row.id),
                    secret_key: Set(new),
                    ..Default::default()
                }
                .update(&txn)
                .await?;
                changed += 1;
            }
        }
        txn.commit().await?;
        Ok(changed)
    }

    /// The stored (possibly encrypted) form of key `id`'s secret, for checks and tools.
    pub async fn stored_secret(&self, id: Uuid) -> Result<Option<String>> {
        Ok(api_key::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .map(|m| m.secret_key))
    }

    /// All API keys, by name.
    pub async fn list_by_name(&self) -> Result<Vec<ApiKey>> {
        api_key::Entity::find()
            .order_by_asc(api_key::Column::Name)
            .order_by_asc(api_key::Column::Id)
            .all(&self.db)
            .await?
            .into_iter()
            .map(from_row)
            .collect()
    }

    /// The API key `id`.
    pub async fn get(&self, id: Uuid) -> Result<ApiKey> {
        api_key::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .map(from_row)
            .transpose()?
            .ok_or_else(|| DomainError::not_found(ENTITY, id).into())
    }

    /// The API key named `name`, if any.
    pub async fn find_by_name(&self, name: &str) -> Result<Option<ApiKey>> {
        api_key::Entity::find()
            .filter(api_key::Column::Name.eq(name))
            .one(&self.db)
            .await?
            .map(from_row)
            .transpose()
    }

    /// Stores a new API key; its name must be unused.
    pub async fn create(&self, input: ApiKeyInput, actor: &str) -> Result<ApiKey> {
        let input = input.validate()?;
        let txn = self.db.begin().await?;
        ensure_name_free(&txn, &input.name, None).await?;
        let key = ApiKey {
            id: new_id(),
            secret_key: Secret::new(input.secret_key),
            name: input.name,
            provider_name: input.provider_name,
            model_name: input.model_name,
            base_url: input.base_url,
            audit: Audit::new(now(), actor),
        };
        api_key::Entity::insert(api_key::ActiveModel {
            id: Set(key.id),
            name: Set(key.name.clone()),
            provider_name: Set(key.provider_name.clone()),
            model_name: Set(key.model_name.clone()),
            base_url: Set(key.base_url.clone()),
            secret_key: Set(SecretColumn::write(&key.secret_key)?),
            created_at: Set(key.audit.created_at),
            created_by: Set(key.audit.created_by.clone()),
            modified_at: Set(key.audit.modified_at),
            modified_by: Set(key.audit.modified_by.clone()),
        })
        .exec_without_returning(&txn)
        .await
        .map_err(on_write_error(&key.name))?;
        txn.commit().await?;
        Ok(key)
    }

    /// Replaces the API key `id`. A `secret_key` equal to the mask of the stored secret
    /// keeps the stored secret.
    pub async fn update(&self, id: Uuid, input: ApiKeyInput, actor: &str) -> Result<ApiKey> {
        let input = input.validate()?;
        let txn = self.db.begin().await?;
        let stored = api_key::Entity::find_by_id(id)
            .one(&txn)
            .await?
            .map(from_row)
            .transpose()?
            .ok_or_else(|| DomainError::not_found(ENTITY, id))?;
        ensure_name_free(&txn, &input.name, Some(id)).await?;
        let key = ApiKey {
            id,
            secret_key: stored.secret_key.updated_with(&input.secret_key),
            name: input.name,
            provider_name: input.provider_name,
            model_name: input.model_name,
            base_url: input.base_url,
            audit: Audit {
                modified_at: now(),
                modified_by: actor.to_owned(),
                ..stored.audit
            },
        };
        api_key::ActiveModel {
            id: Set(id),
            name: Set(key.name.clone()),
            provider_name: Set(key.provider_name.clone()),
            model_name: Set(key.model_name.clone()),
            base_url: Set(key.base_url.clone()),
            secret_key: Set(SecretColumn::write(&key.secret_key)?),
            modified_at: Set(key.audit.modified_at),
            modified_by: Set(key.audit.modified_by.clone()),
            ..Default::default()
        }
        .update(&txn)
        .await
        .map_err(on_write_error(&key.name))?;
        txn.commit().await?;
        Ok(key)
    }

    /// Deletes the API key `id` and returns it; refused while an agent or orchestrator
    /// uses it.
    pub async fn delete(&self, id: Uuid) -> Result<ApiKey> {
        let txn = self.db.begin().await?;
        let stored = api_key::Entity::find_by_id(id)
            .one(&txn)
            .await?
            .map(from_row)
            .transpose()?
            .ok_or_else(|| DomainError::not_found(ENTITY, id))?;
        let agents = agent::Entity::find()
            .filter(agent::Column::ApiKeyId.eq(id))
            .count(&txn)
            .await?;
        let orchestrators = orchestrator::Entity::find()
            .filter(orchestrator::Column::ApiKeyId.eq(id))
            .count(&txn)
            .await?;
        if agents + orchestrators > 0 {
            return Err(DomainError::conflict(format!(
                "API key '{}' is used by {agents} agent(s) and {orchestrators} \
                 orchestrator(s); change or delete them first",
                stored.name
            ))
            .into());
        }
        api_key::Entity::delete_by_id(id).exec(&txn).await?;
        txn.commit().await?;
        Ok(stored)
    }
}
