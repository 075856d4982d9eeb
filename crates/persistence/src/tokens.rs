//! Service tokens: who may call the API, stored as SHA-256 hashes.
//!
//! A token reads `fst_` followed by 43 URL-safe base64 characters (256 random bits). Only
//! its hash and its first characters (to recognise it in listings) are stored; the token
//! itself is shown once, when it is created.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use fustat_domain::DomainError;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::entities::service_token;
use crate::error::{PersistenceError, Result};
use crate::repos::{new_id, now};

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything, configuration writes and token management included.
    Admin,
    /// Chat, apps and read-only listings.
    User,
}

impl Role {
    /// The stored spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::User => "user",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s {
            "admin" => Ok(Role::Admin),
            "user" => Ok(Role::User),
            other => Err(format!(
                "unknown role '{other}': expected 'admin' or 'user'"
            )),
        }
    }
}

/// A stored token (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ServiceToken {
    /// Row id.
    pub id: Uuid,
    /// A unique name (who or what uses it).
    pub name: String,
    /// What it may do.
    pub role: Role,
    /// The token's first characters.
    pub token_prefix: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Who created it.
    pub created_by: String,
    /// When it was last used (updated at most once a minute).
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked; a revoked token is refused.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A token just created: the only time its secret is available.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NewToken {
    /// The stored token.
    #[serde(flatten)]
    pub info: ServiceToken,
    /// The token to send as `Authorization: Bearer …` or `X-Api-Key: …`. Shown once.
    pub token: String,
}

fn from_row(m: service_token::Model) -> Result<ServiceToken> {
    Ok(ServiceToken {
        id: m.id,
        role: m
            .role
            .parse()
            .map_err(|e: String| PersistenceError::Corrupt(format!("service_token.role: {e}")))?,
        name: m.name,
        token_prefix: m.token_prefix,
        created_at: m.created_at,
        created_by: m.created_by,
        last_used_at: m.last_used_at,
        revoked_at: m.revoked_at,
    })
}

/// The SHA-256 of a token, hex.
pub fn hash_token(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Service tokens.
#[derive(Debug, Clone)]
pub struct TokenRepo {
    db: DatabaseConnection,
}

impl TokenRepo {
    /// Tokens over `db`.
    pub fn new(db: DatabaseConnection) -> Self {
        TokenRepo { db }
    }

    /// Creates a token named `name` with `role`.
    pub async fn create(&self, name: &str, role: Role, actor: &str) -> Result<NewToken> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(DomainError::validation("name", "must be 1 to 100 characters").into());
        }
        if service_token::Entity::find()
            .filter(service_token::Column::Name.eq(name))
            .count(&self.db)
            .await?
            > 0
        {
            return Err(
                DomainError::conflict(format!("a token named '{name}' already exists")).into(),
            );
        }
        let mut random = [0u8; 32];
        getrandom::fill(&mut random)
            .map_err(|e| PersistenceError::Corrupt(format!("no randomness: {e}")))?;
        let token = format!("fst_{}", URL_SAFE_NO_PAD.encode(random));
        let row = service_token::Model {
            id: new_id(),
            name: name.to_owned(),
            role: role.as_str().to_owned(),
            token_hash: hash_token(&token),
            token_prefix: token.chars().take(8).collect(),
            created_at: now(),
            created_by: actor.to_owned(),
            last_used_at: None,
            revoked_at: None,
        };
        service_token::Entity::insert(service_token::ActiveModel::from(row.clone()))
            .exec_without_returning(&self.db)
            .await?;
        Ok(NewToken {
            info: from_row(row)?,
            token,
        })
    }

    /// Every token, newest first.
    pub async fn list(&self) -> Result<Vec<ServiceToken>> {
        service_token::Entity::find()
            .order_by_desc(service_token::Column::CreatedAt)
            .all(&self.db)
            .await?
            .into_iter()
            .map(from_row)
            .collect()
    }

    /// Revokes the token with this id or name.
    pub async fn revoke(&self, id_or_name: &str) -> Result<ServiceToken> {
        let query = match id_or_name.parse::<Uuid>() {
            Ok(id) => service_token::Entity::find_by_id(id),
            Err(_) => {
                service_token::Entity::find().filter(service_token::Column::Name.eq(id_or_name))
            }
        };
        let Some(row) = query.one(&self.db).await? else {
            return Err(DomainError::NotFound {
                entity: "Token",
                id: id_or_name.to_owned(),
            }
            .into());
        };
        let revoked_at = row.revoked_at.unwrap_or_else(now);
        service_token::ActiveModel {
            id: Set(row.id),
            revoked_at: Set(Some(revoked_at)),
            ..Default::default()
        }
        .update(&self.db)
        .await?;
        from_row(service_token::Model {
            revoked_at: Some(revoked_at),
            ..row
        })
    }

    /// The live token `token`, if it is one. Records its use (at most once a minute).
    pub async fn verify(&self, token: &str) -> Result<Option<ServiceToken>> {
        let Some(row) = service_token::Entity::find()
            .filter(service_token::Column::TokenHash.eq(hash_token(token)))
            .filter(service_token::Column::RevokedAt.is_null())
            .one(&self.db)
            .await?
        else {
            return Ok(None);
        };
        let stale = row
            .last_used_at
            .is_none_or(|t| Utc::now() - t > chrono::Duration::seconds(60));
        if stale {
            let _ = service_token::ActiveModel {
                id: Set(row.id),
                last_used_at: Set(Some(now())),
                ..Default::default()
            }
            .update(&self.db)
            .await;
        }
        from_row(row).map(Some)
    }
}
