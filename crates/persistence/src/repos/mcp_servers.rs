//! `config.mcp_server`.

use std::collections::HashMap;

use fustat_domain::{Audit, DomainError, McpServer, McpServerInput};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, Set, TransactionTrait,
};
use uuid::Uuid;

use super::convert;
use super::{new_id, now};
use crate::entities::{agent_mcp_server, mcp_server};
use crate::error::Result;

const ENTITY: &str = "MCP server";

/// The MCP servers with these ids, by id.
pub(crate) async fn load_by_ids<C: ConnectionTrait>(
    db: &C,
    ids: impl IntoIterator<Item = Uuid>,
) -> Result<HashMap<Uuid, McpServer>> {
    let ids: Vec<Uuid> = ids.into_iter().collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    mcp_server::Entity::find()
        .filter(mcp_server::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|m| convert::mcp_server(m).map(|s| (s.id, s)))
        .collect()
}

/// MCP servers, as configured in Studio.
#[derive(Debug, Clone)]
pub struct McpServerRepo {
    db: DatabaseConnection,
}

impl McpServerRepo {
    pub(crate) fn new(db: DatabaseConnection) -> Self {
        McpServerRepo { db }
    }

    /// All MCP servers, most recently changed first.
    pub async fn list(&self) -> Result<Vec<McpServer>> {
        mcp_server::Entity::find()
            .order_by_desc(mcp_server::Column::ModifiedAt)
            .order_by_desc(mcp_server::Column::Id)
            .all(&self.db)
            .await?
            .into_iter()
            .map(convert::mcp_server)
            .collect()
    }

    /// The MCP server `id`.
    pub async fn get(&self, id: Uuid) -> Result<McpServer> {
        let row = mcp_server::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .ok_or_else(|| DomainError::not_found(ENTITY, id))?;
        convert::mcp_server(row)
    }

    /// The first MCP server named `name`, if any.
    pub async fn find_by_name(&self, name: &str) -> Result<Option<McpServer>> {
        mcp_server::Entity::find()
            .filter(mcp_server::Column::Name.eq(name))
            .order_by_asc(mcp_server::Column::Id)
            .one(&self.db)
            .await?
            .map(convert::mcp_server)
            .transpose()
    }

    /// Stores a new MCP server.
    pub async fn create(&self, input: McpServerInput, actor: &str) -> Result<McpServer> {
        let input = input.validate()?;
        let server = McpServer {
            id: new_id(),
            transport: input.transport(),
            mode: input.mode(),
            name: input.name,
            description: input.description,
            config_json: input.config_json,
            audit: Audit::new(now(), actor),
        };
        mcp_server::Entity::insert(mcp_server::ActiveModel {
            id: Set(server.id),
            name: Set(server.name.clone()),
            description: Set(server.description.clone()),
            transport: Set(server.transport.as_str().to_owned()),
            mode: Set(server.mode.as_str().to_owned()),
            config_json: Set(server.config_json.clone()),
            created_at: Set(server.audit.created_at),
            created_by: Set(server.audit.created_by.clone()),
            modified_at: Set(server.audit.modified_at),
            modified_by: Set(server.audit.modified_by.clone()),
        })
        .exec_without_returning(&self.db)
        .await?;
        Ok(server)
    }

    /// Replaces the MCP server `id`.
    pub async fn update(&self, id: Uuid, input: McpServerInput, actor: &str) -> Result<McpServer> {
        let input = input.validate()?;
        let txn = self.db.begin().await?;
        let stored = mcp_server::Entity::find_by_id(id)
            .one(&txn)
            .await?
            .ok_or_else(|| DomainError::not_found(ENTITY, id))?;
        let server = McpServer {
            id,
            transport: input.transport(),
            mode: input.mode(),
            name: input.name,
            description: input.description,
            config_json: input.config_json,
            audit: Audit {
                modified_at: now(),
                modified_by: actor.to_owned(),
                ..convert::audit_of!(stored)
            },
        };
        mcp_server::ActiveModel {
            id: Set(id),
            name: Set(server.name.clone()),
            description: Set(server.description.clone()),
            transport: Set(server.transport.as_str().to_owned()),
            mode: Set(server.mode.as_str().to_owned()),
            config_json: Set(server.config_json.clone()),
            modified_at: Set(server.audit.modified_at),
            modified_by: Set(server.audit.modified_by.clone()),
            ..Default::default()
        }
        .update(&txn)
        .await?;
        txn.commit().await?;
        Ok(server)
    }

    /// Deletes the MCP server `id`; refused while an agent uses it.
    pub async fn delete(&self, id: Uuid) -> Result<()> {
        let txn = self.db.begin().await?;
        let stored = mcp_server::Entity::find_by_id(id)
            .one(&txn)
            .await?
            .ok_or_else(|| DomainError::not_found(ENTITY, id))?;
        let users = agent_mcp_server::Entity::find()
            .filter(agent_mcp_server::Column::McpServerId.eq(id))
            .count(&txn)
            .await?;
        if users > 0 {
            return Err(DomainError::conflict(format!(
                "MCP server '{}' is used by {users} agent(s); remove it from them first",
                stored.name
            ))
            .into());
        }
        mcp_server::Entity::delete_by_id(id).exec(&txn).await?;
        txn.commit().await?;
        Ok(())
    }
}
