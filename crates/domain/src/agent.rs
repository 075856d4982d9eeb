//! Agents (`/agents`): an LLM with a role, a task, instructions and MCP servers.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::DEFAULT_APP_TYPE;
use crate::api_key::{ApiKey, ApiKeyOut};
use crate::audit::Audit;
use crate::error::DomainError;
use crate::limits;
use crate::mcp::McpServer;
use crate::validate;

/// A stored agent row (without its relations).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agent {
    /// Row id.
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// What it is for.
    pub description: Option<String>,
    /// Its role, in the system prompt.
    pub role: String,
    /// Its task, in the system prompt.
    pub task: String,
    /// Instructions it always follows.
    pub instructions: String,
    /// Whether Hub lists it as an app.
    pub publish_as_app: bool,
    /// App category shown in Hub.
    pub app_type: String,
    /// The API key (LLM) it uses.
    pub api_key_id: Uuid,
    /// Audit columns.
    pub audit: Audit,
}

/// An agent with what it needs to run: its API key and its MCP servers, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentDetails {
    /// The agent row.
    pub agent: Agent,
    /// Its API key, secret included.
    pub api_key: ApiKey,
    /// Its MCP servers, in the order they were given.
    pub mcp_servers: Vec<McpServer>,
}

/// A reference to an MCP server in an agent body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct McpServerRef {
    /// Id of an existing MCP server.
    pub mcp_server_id: Uuid,
}

/// Body of `POST /agents` and `PUT /agents/{id}`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct AgentInput {
    /// Display name (at most 150 characters).
    #[schema(example = "Researcher", max_length = 150)]
    pub name: String,
    /// What it is for.
    #[serde(default)]
    pub description: Option<String>,
    /// Its role.
    pub role: String,
    /// Its task.
    pub task: String,
    /// Instructions it always follows.
    pub instructions: String,
    /// Whether Hub lists it as an app (default false).
    #[serde(default)]
    #[schema(default = false)]
    pub publish_as_app: Option<bool>,
    /// App category (default `Productivity`, at most 50 characters).
    #[serde(default)]
    #[schema(default = "Productivity", max_length = 50)]
    pub app_type: Option<String>,
    /// The API key (LLM) it uses.
    pub api_key_id: Uuid,
    /// Its MCP servers, in order (the whole list; an update replaces it).
    #[serde(default)]
    pub mcp_servers: Vec<McpServerRef>,
}

impl AgentInput {
    /// `publish_as_app`, defaulted.
    pub fn publish_as_app(&self) -> bool {
        self.publish_as_app.unwrap_or(false)
    }

    /// `app_type`, defaulted.
    pub fn app_type(&self) -> &str {
        self.app_type.as_deref().unwrap_or(DEFAULT_APP_TYPE)
    }

    /// The MCP server ids, in order.
    pub fn mcp_server_ids(&self) -> Vec<Uuid> {
        self.mcp_servers.iter().map(|r| r.mcp_server_id).collect()
    }

    /// Checks every field; an MCP server listed twice is refused.
    pub fn validate(mut self) -> Result<Self, DomainError> {
        validate::required("name", &self.name, limits::AGENT_NAME)?;
        self.app_type = validate::non_blank(self.app_type);
        validate::max_len("app_type", self.app_type(), limits::APP_TYPE)?;
        validate::no_duplicate_ids("mcp_servers", "mcp_server_id", &self.mcp_server_ids())?;
        Ok(self)
    }
}

/// An MCP server of an agent, as returned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AgentMcpServerOut {
    /// The server's id.
    pub mcp_server_id: Uuid,
    /// The whole server.
    pub mcp_server: McpServer,
}

/// An agent as returned, with its API key (masked) and its MCP servers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AgentOut {
    /// Row id.
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// What it is for.
    pub description: Option<String>,
    /// Its role.
    pub role: String,
    /// Its task.
    pub task: String,
    /// Instructions it always follows.
    pub instructions: String,
    /// Whether Hub lists it as an app.
    pub publish_as_app: bool,
    /// App category.
    pub app_type: String,
    /// The API key it uses.
    pub api_key_id: Uuid,
    /// That API key (secret masked).
    pub api_key: ApiKeyOut,
    /// Its MCP servers, in order.
    pub mcp_servers: Vec<AgentMcpServerOut>,
    /// Audit columns.
    #[serde(flatten)]
    pub audit: Audit,
}

impl From<&AgentDetails> for AgentOut {
    fn from(d: &AgentDetails) -> Self {
        let a = &d.agent;
        AgentOut {
            id: a.id,
            name: a.name.clone(),
            description: a.description.clone(),
            role: a.role.clone(),
            task: a.task.clone(),
            instructions: a.instructions.clone(),
            publish_as_app: a.publish_as_app,
            app_type: a.app_type.clone(),
            api_key_id: a.api_key_id,
            api_key: ApiKeyOut::from(&d.api_key),
            mcp_servers: d
                .mcp_servers
                .iter()
                .map(|s| AgentMcpServerOut {
                    mcp_server_id: s.id,
                    mcp_server: s.clone(),
                })
                .collect(),
            audit: a.audit.clone(),
        }
    }
}
