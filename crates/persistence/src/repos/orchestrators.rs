//! `agents.orchestrator` and its sub-agents (`agents.orchestrator_sub_agent`).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use fustat_domain::{Audit, DomainError, Orchestrator, OrchestratorDetails, OrchestratorInput};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, Set, TransactionTrait,
};
use uuid::Uuid;

use super::{agents, api_keys, convert, new_id, now};
use crate::entities::{agent, orchestrator, orchestrator_sub_agent};
use crate::error::{PersistenceError, Result};

const ENTITY: &str = "Orchestrator";

fn active(o: &Orchestrator) -> orchestrator::ActiveModel {
    orchestrator::ActiveModel {
        id: Set(o.id),
        name: Set(o.name.clone()),
        description: Set(o.description.clone()),
        instructions: Set(o.instructions.clone()),
        publish_as_app: Set(o.publish_as_app),
        app_type: Set(o.app_type.clone()),
        api_key_id: Set(o.api_key_id),
        pattern: Set(o.pattern.as_str().to_owned()),
        context_input: Set(o.context_routing.input.map(|i| i.as_str().to_owned())),
        context_output: Set(o.context_routing.output.map(|i| i.as_str().to_owned())),
        created_at: Set(o.audit.created_at),
        created_by: Set(o.audit.created_by.clone()),
        modified_at: Set(o.audit.modified_at),
        modified_by: Set(o.audit.modified_by.clone()),
    }
}

fn record(id: Uuid, input: &OrchestratorInput, audit: Audit) -> Orchestrator {
    Orchestrator {
        id,
        name: input.name.clone(),
        description: input.description.clone(),
        instructions: input.instructions.clone(),
        publish_as_app: input.publish_as_app(),
        app_type: input.app_type().to_owned(),
        api_key_id: input.api_key_id,
        pattern: input.pattern(),
        context_routing: input.context_routing.unwrap_or_default(),
        audit,
    }
}

/// Attaches API keys and sub-agents (with their own relations) to orchestrator rows.
async fn load_details<C: ConnectionTrait>(
    db: &C,
    rows: Vec<orchestrator::Model>,
) -> Result<Vec<OrchestratorDetails>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let keys = api_keys::load_by_ids(db, rows.iter().map(|r| r.api_key_id)).await?;
    let links = orchestrator_sub_agent::Entity::find()
        .filter(orchestrator_sub_agent::Column::OrchestratorId.is_in(ids))
        .order_by_asc(orchestrator_sub_agent::Column::Position)
        .all(db)
        .await?;
    let agent_ids: Vec<Uuid> = links.iter().map(|l| l.agent_id).collect();
    let agents = agents::load_details_by_ids(db, &agent_ids).await?;
    let mut agents_of: HashMap<Uuid, Vec<_>> = HashMap::new();
    for link in links {
        if let Some(agent) = agents.get(&link.agent_id) {
            agents_of
                .entry(link.orchestrator_id)
                .or_default()
                .push(agent.clone());
        }
    }
    rows.into_iter()
        .map(|row| {
            let api_key = keys.get(&row.api_key_id).cloned().ok_or_else(|| {
                PersistenceError::Corrupt(format!("orchestrator {} has no API key", row.id))
            })?;
            let agents = agents_of.remove(&row.id).unwrap_or_default();
            Ok(OrchestratorDetails {
                orchestrator: convert::orchestrator(row)?,
                api_key,
                agents,
            })
        })
        .collect()
}

async fn load_one<C: ConnectionTrait>(db: &C, id: Uuid) -> Result<OrchestratorDetails> {
    let rows = orchestrator::Entity::find_by_id(id).all(db).await?;
    load_details(db, rows)
        .await?
        .pop()
        .ok_or_else(|| DomainError::not_found(ENTITY, id).into())
}

/// Every id in `ids` (the request list `agents`) must name an agent.
async fn require_agents<C: ConnectionTrait>(db: &C, ids: &[Uuid]) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let found: Vec<Uuid> = agent::Entity::find()
        .filter(agent::Column::Id.is_in(ids.to_vec()))
        .all(db)
        .await?
        .into_iter()
        .map(|a| a.id)
        .collect();
    for (i, id) in ids.iter().enumerate() {
        if !found.contains(id) {
            return Err(DomainError::validation(
                format!("agents[{i}].agent_id"),
                format!("no agent with id {id}"),
            )
            .into());
        }
    }
    Ok(())
}

/// Replaces the sub-agents of `orchestrator_id` with `ids`, in that order.
async fn set_agents<C: ConnectionTrait>(
    db: &C,
    orchestrator_id: Uuid,
    ids: &[Uuid],
    at: DateTime<Utc>,
    actor: &str,
) -> Result<()> {
    orchestrator_sub_agent::Entity::delete_many()
        .filter(orchestrator_sub_agent::Column::OrchestratorId.eq(orchestrator_id))
        .exec(db)
        .await?;
    if ids.is_empty() {
        return Ok(());
    }
    let links = ids
        .iter()
        .zip(0..)
        .map(|(id, position)| orchestrator_sub_agent::ActiveModel {
            orchestrator_id: Set(orchestrator_id),
            agent_id: Set(*id),
            position: Set(position),
            created_at: Set(at),
            created_by: Set(actor.to_owned()),
            modified_at: Set(at),
            modified_by: Set(actor.to_owned()),
        });
    orchestrator_sub_agent::Entity::insert_many(links)
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Orchestrators with their API key and sub-agents.
#[derive(Debug, Clone)]
pub struct OrchestratorRepo {
    db: DatabaseConnection,
}

impl OrchestratorRepo {
    pub(crate) fn new(db: DatabaseConnection) -> Self {
        OrchestratorRepo { db }
    }

    /// All orchestrators with their relations, most recently changed first.
    pub async fn list_with_relations(&self) -> Result<Vec<OrchestratorDetails>> {
        let rows = orchestrator::Entity::find()
            .order_by_desc(orchestrator::Column::ModifiedAt)
            .order_by_desc(orchestrator::Column::Id)
            .all(&self.db)
            .await?;
        load_details(&self.db, rows).await
    }

    /// The orchestrator `id` with its relations.
    pub async fn get_with_relations(&self, id: Uuid) -> Result<OrchestratorDetails> {
        load_one(&self.db, id).await
    }

    /// Published orchestrators (rows only), most recently changed first.
    pub async fn list_published(&self) -> Result<Vec<Orchestrator>> {
        orchestrator::Entity::find()
            .filter(orchestrator::Column::PublishAsApp.eq(true))
            .order_by_desc(orchestrator::Column::ModifiedAt)
            .order_by_desc(orchestrator::Column::Id)
            .all(&self.db)
            .await?
            .into_iter()
            .map(convert::orchestrator)
            .collect()
    }

    /// Stores a new orchestrator and its sub-agents, all or nothing.
    pub async fn create(
        &self,
        input: OrchestratorInput,
        actor: &str,
    ) -> Result<OrchestratorDetails> {
        let input = input.validate()?;
        let agent_ids = input.agent_ids();
        let txn = self.db.begin().await?;
        api_keys::require_reference(&txn, input.api_key_id).await?;
        require_agents(&txn, &agent_ids).await?;
        let audit = Audit::new(now(), actor);
        let orchestrator = record(new_id(), &input, audit.clone());
        orchestrator::Entity::insert(active(&orchestrator))
            .exec_without_returning(&txn)
            .await?;
        set_agents(&txn, orchestrator.id, &agent_ids, audit.created_at, actor).await?;
        let details = load_one(&txn, orchestrator.id).await?;
        txn.commit().await?;
        Ok(details)
    }

    /// Replaces the orchestrator `id` and its sub-agents, all or nothing.
    pub async fn update(
        &self,
        id: Uuid,
        input: OrchestratorInput,
        actor: &str,
    ) -> Result<OrchestratorDetails> {
        let input = input.validate()?;
        let agent_ids = input.agent_ids();
        let txn = self.db.begin().await?;
        let stored = orchestrator::Entity::find_by_id(id)
            .one(&txn)
            .await?
            .ok_or_else(|| DomainError::not_found(ENTITY, id))?;
        api_keys::require_reference(&txn, input.api_key_id).await?;
        require_agents(&txn, &agent_ids).await?;
        let at = now();
        let orchestrator = record(
            id,
            &input,
            Audit {
                modified_at: at,
                modified_by: actor.to_owned(),
                ..convert::audit_of!(stored)
            },
        );
        active(&orchestrator).update(&txn).await?;
        set_agents(&txn, id, &agent_ids, at, actor).await?;
        let details = load_one(&txn, id).await?;
        txn.commit().await?;
        Ok(details)
    }

    /// Deletes the orchestrator `id` (and its sub-agent links; the agents stay).
    pub async fn delete(&self, id: Uuid) -> Result<()> {
        let result = orchestrator::Entity::delete_by_id(id)
            .exec(&self.db)
            .await?;
        if result.rows_affected == 0 {
            return Err(DomainError::not_found(ENTITY, id).into());
        }
        Ok(())
    }
}
