//! Published agents and orchestrators, as Hub lists them.

use fustat_domain::PublishedApp;
use sea_orm::DatabaseConnection;

use super::{AgentRepo, OrchestratorRepo};
use crate::error::Result;

/// Hub's app list.
#[derive(Debug, Clone)]
pub struct AppRepo {
    agents: AgentRepo,
    orchestrators: OrchestratorRepo,
}

impl AppRepo {
    pub(crate) fn new(db: DatabaseConnection) -> Self {
        AppRepo {
            agents: AgentRepo::new(db.clone()),
            orchestrators: OrchestratorRepo::new(db),
        }
    }

    /// Published orchestrators, then published agents (each with its own `app_type`).
    pub async fn list_published(&self) -> Result<Vec<PublishedApp>> {
        let orchestrators = self.orchestrators.list_published().await?;
        let agents = self.agents.list_published().await?;
        Ok(orchestrators
            .iter()
            .map(PublishedApp::from_orchestrator)
            .chain(agents.iter().map(PublishedApp::from_agent))
            .collect())
    }

    /// Published agents, with `app_type` `agent`.
    pub async fn list_published_agents(&self) -> Result<Vec<PublishedApp>> {
        Ok(self
            .agents
            .list_published()
            .await?
            .iter()
            .map(PublishedApp::agent_only)
            .collect())
    }
}
