//! Apps (`/apps`): published agents and orchestrators as Hub lists them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::agent::Agent;
use crate::orchestrator::Orchestrator;

/// The icon Hub shows for every app.
pub const APP_ICON: &str = "Bot";

/// The `app_type` of agents listed by `/apps/agents`.
pub const AGENT_APP_TYPE: &str = "agent";

/// A published agent or orchestrator, as Hub lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PublishedApp {
    /// The agent's or orchestrator's id (the `assistant_id` to chat with).
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Icon name; always `Bot`.
    #[schema(example = "Bot")]
    pub icon: String,
    /// App category (`agent` in `/apps/agents`).
    pub app_type: String,
}

impl PublishedApp {
    /// An orchestrator as an app.
    pub fn from_orchestrator(o: &Orchestrator) -> Self {
        PublishedApp {
            id: o.id,
            name: o.name.clone(),
            description: o.description.clone(),
            icon: APP_ICON.to_owned(),
            app_type: o.app_type.clone(),
        }
    }

    /// An agent as an app, with its own `app_type`.
    pub fn from_agent(a: &Agent) -> Self {
        PublishedApp {
            id: a.id,
            name: a.name.clone(),
            description: a.description.clone(),
            icon: APP_ICON.to_owned(),
            app_type: a.app_type.clone(),
        }
    }

    /// An agent as listed by `/apps/agents` (`app_type` is `agent`).
    pub fn agent_only(a: &Agent) -> Self {
        PublishedApp {
            app_type: AGENT_APP_TYPE.to_owned(),
            ..PublishedApp::from_agent(a)
        }
    }
}
