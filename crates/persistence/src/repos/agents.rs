//! `agents.agent` and its MCP servers (`agents.agent_mcp_server`).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use fustat_domain::{Agent, AgentDetails, AgentInput, Audit, DomainError};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, Set, TransactionTrait,
};
use uuid::Uuid;

use super::{api_keys, convert, mcp_servers, new_id, now};
use crate::entities::{agent, agent_mcp_server, orchestrator_sub_agent};
use crate::error::{PersistenceError, Result};

const ENTITY: &str = "Agent";

fn active(a: &Agent) -> agent::ActiveModel {
    agent::ActiveModel {
        id: Set(a.id),
        name: Set(a.name.clone()),
        description: Set(a.description.clone()),
        role: Set(a.role.clone()),
        task: Set(a.task.clone()),
        instructions: Set(a.instructions.clone()),
        publish_as_app: Set(a.publish_as_app),
        app_type: Set(a.app_type.clone()),
        api_key_id: Set(a.api_key_id),
        created_at: Set(a.audit.created_at),
        created_by: Set(a.audit.created_by.clone()),
        modified_at: Set(a.audit.modified_at),
        modified_by: Set(a.audit.modified_by.clone()),
    }
}

fn record(id: Uuid, input: &AgentInput, audit: Audit) -> Agent {
    Agent {
        id,
        name: input.name.clone(),
        description: input.description.clone(),
        role: input.role.clone(),
        task: input.task.clone(),
        instructions: input.instructions.clone(),
        publish_as_app: input.publish_as_app(),
        app_type: input.app_type().to_owned(),
        api_key_id: input.api_key_id,
        audit,
    }
}

/// Attaches API keys and MCP servers to agent rows, keeping their order.
pub(crate) async fn load_details<C: ConnectionTrait>(
    db: &C,
    rows: Vec<agent::Model>,
) -> Result<Vec<AgentDetails>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let agent_ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let keys = api_keys::load_by_ids(db, rows.iter().map(|r| r.api_key_id)).await?;
    let links = agent_mcp_server::Entity::find()
        .filter(agent_mcp_server::Column::AgentId.is_in(agent_ids))
        .order_by_asc(agent_mcp_server::Column::Position)
        .all(db)
        .await?;
    let servers = mcp_servers::load_by_ids(db, links.iter().map(|l| l.mcp_server_id)).await?;
    let mut servers_of: HashMap<Uuid, Vec<_>> = HashMap::new();
    for link in links {
        if let Some(server) = servers.get(&link.mcp_server_id) {
            servers_of
                .entry(link.agent_id)
                .or_default()
                .push(server.clone());
        }
    }
    rows.into_iter()
        .map(|row| {
            let api_key = keys.get(&row.api_key_id).cloned().ok_or_else(|| {
                PersistenceError::Corrupt(format!("agent {} has no API key", row.id))
            })?;
            let mcp_servers = servers_of.remove(&row.id).unwrap_or_default();
            Ok(AgentDetails {
                agent: convert::agent(row),
                api_key,
                mcp_servers,
            })
        })
        .collect()
}

/// The agents with these ids and their relations, by id.
pub(crate) async fn load_details_by_ids<C: ConnectionTrait>(
    db: &C,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, AgentDetails>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = agent::Entity::find()
        .filter(agent::Column::Id.is_in(ids.to_vec()))
        .all(db)
        .await?;
    Ok(load_details(db, rows)
        .await?
        .into_iter()
        .map(|d| (d.agent.id, d))
        .collect())
}

/// Every id in `ids` (the request list `mcp_servers`) must name an MCP server.
async fn require_mcp_servers<C: ConnectionTrait>(db: &C, ids: &[Uuid]) -> Result<()> {
    let found = mcp_servers::load_by_ids(db, ids.iter().copied()).await?;
    for (i, id) in ids.iter().enumerate() {
        if !found.contains_key(id) {
            return Err(DomainError::validation(
                format!("mcp_servers[{i}].mcp_server_id"),
                format!("no MCP server with id {id}"),
            )
            .into());
        }
    }
    Ok(())
}

/// Replaces the MCP servers of `agent_id` with `ids`, in that order.
async fn set_mcp_servers<C: ConnectionTrait>(
    db: &C,
    agent_id: Uuid,
    ids: &[Uuid],
    at: DateTime<Utc>,
    actor: &str,
) -> Result<()> {
    agent_mcp_server::Entity::delete_many()
        .filter(agent_mcp_server::Column::AgentId.eq(agent_id))
        .exec(db)
        .await?;
    if ids.is_empty() {
        return Ok(());
    }
    let links = ids
        .iter()
        .zip(0..)
        .map(|(id, position)| agent_mcp_server::ActiveModel {
            agent_id: Set(agent_id),
            mcp_server_id: Set(*id),
            position: Set(position),
            created_at: Set(at),
            created_by: Set(actor.to_owned()),
            modified_at: Set(at),
            modified_by: Set(actor.to_owned()),
        });
    agent_mcp_server::Entity::insert_many(links)
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Agents with their API key and MCP servers.
#[derive(Debug, Clone)]
pub struct AgentRepo {
    db: DatabaseConnection,
}

impl AgentRepo {
    pub(crate) fn new(db: DatabaseConnection) -> Self {
        AgentRepo { db }
    }

    /// All agents with their relations, most recently changed first.
    pub async fn list_with_relations(&self) -> Result<Vec<AgentDetails>> {
        let rows = agent::Entity::find()
            .order_by_desc(agent::Column::ModifiedAt)
            .order_by_desc(agent::Column::Id)
            .all(&self.db)
            .await?;
        load_details(&self.db, rows).await
    }

    /// The agent `id` with its relations.
    pub async fn get_with_relations(&self, id: Uuid) -> Result<AgentDetails> {
        load_details_by_ids(&self.db, &[id])
            .await?
            .remove(&id)
            .ok_or_else(|| DomainError::not_found(ENTITY, id).into())
    }

    /// Published agents (rows only), most recently changed first.
    pub async fn list_published(&self) -> Result<Vec<Agent>> {
        Ok(agent::Entity::find()
            .filter(agent::Column::PublishAsApp.eq(true))
            .order_by_desc(agent::Column::ModifiedAt)
            .order_by_desc(agent::Column::Id)
            .all(&self.db)
            .await?
            .into_iter()
            .map(convert::agent)
            .collect())
    }

    /// The first agent named `name`, if any (rows only).
    pub async fn find_by_name(&self, name: &str) -> Result<Option<Agent>> {
        Ok(agent::Entity::find()
            .filter(agent::Column::Name.eq(name))
            .order_by_asc(agent::Column::Id)
            .one(&self.db)
            .await?
            .map(convert::agent))
    }

    /// Stores a new agent and its MCP servers, all or nothing.
    pub async fn create(&self, input: AgentInput, actor: &str) -> Result<AgentDetails> {
        let input = input.validate()?;
        let server_ids = input.mcp_server_ids();
        let txn = self.db.begin().await?;
        api_keys::require_reference(&txn, input.api_key_id).await?;
        require_mcp_servers(&txn, &server_ids).await?;
        let audit = Audit::new(now(), actor);
        let agent = record(new_id(), &input, audit.clone());
        agent::Entity::insert(active(&agent))
            .exec_without_returning(&txn)
            .await?;
        set_mcp_servers(&txn, agent.id, &server_ids, audit.created_at, actor).await?;
        let details = load_details_by_ids(&txn, &[agent.id])
            .await?
            .remove(&agent.id)
            .ok_or_else(|| DomainError::not_found(ENTITY, agent.id))?;
        txn.commit().await?;
        Ok(details)
    }

    /// Replaces the agent `id` and its MCP servers, all or nothing.
    pub async fn update(&self, id: Uuid, input: AgentInput, actor: &str) -> Result<AgentDetails> {
        let input = input.validate()?;
        let server_ids = input.mcp_server_ids();
        let txn = self.db.begin().await?;
        let stored = agent::Entity::find_by_id(id)
            .one(&txn)
            .await?
            .ok_or_else(|| DomainError::not_found(ENTITY, id))?;
        api_keys::require_reference(&txn, input.api_key_id).await?;
        require_mcp_servers(&txn, &server_ids).await?;
        let at = now();
        let agent = record(
            id,
            &input,
            Audit {
                modified_at: at,
                modified_by: actor.to_owned(),
                ..convert::audit_of!(stored)
            },
        );
        active(&agent).update(&txn).await?;
        set_mcp_servers(&txn, id, &server_ids, at, actor).await?;
        let details = load_details_by_ids(&txn, &[id])
            .await?
            .remove(&id)
            .ok_or_else(|| DomainError::not_found(ENTITY, id))?;
        txn.commit().await?;
        Ok(details)
    }

    /// Deletes the agent `id` (and its MCP server links); refused while an orchestrator
    /// uses it.
    pub async fn delete(&self, id: Uuid) -> Result<()> {
        let txn = self.db.begin().await?;
        let stored = agent::Entity::find_by_id(id)
            .one(&txn)
            .await?
            .ok_or_else(|| DomainError::not_found(ENTITY, id))?;
        let users = orchestrator_sub_agent::Entity::find()
            .filter(orchestrator_sub_agent::Column::AgentId.eq(id))
            .count(&txn)
            .await?;
        if users > 0 {
            return Err(DomainError::conflict(format!(
                "agent '{}' is used by {users} orchestrator(s); remove it from them first",
                stored.name
            ))
            .into());
        }
        agent::Entity::delete_by_id(id).exec(&txn).await?;
        txn.commit().await?;
        Ok(())
    }
}
