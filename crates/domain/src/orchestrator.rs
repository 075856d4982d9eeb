//! Orchestrators (`/orchestrators`): a coordinating LLM over sub-agents.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::DEFAULT_APP_TYPE;
use crate::agent::{AgentDetails, AgentOut};
use crate::api_key::{ApiKey, ApiKeyOut};
use crate::audit::Audit;
use crate::error::DomainError;
use crate::limits;
use crate::validate;

/// How an orchestrator coordinates its sub-agents.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OrchestratorPattern {
    /// A supervisor LLM hands off to one sub-agent at a time and gets control back.
    #[default]
    Supervisor,
    /// Sub-agents hand off to each other directly.
    Swarm,
    /// Sub-agents run one after the other, in order.
    Sequential,
    /// Sub-agents run at the same time; their answers are combined.
    Parallel,
    /// A router picks one sub-agent, which answers.
    Router,
}

impl OrchestratorPattern {
    /// The spelling stored and returned.
    pub fn as_str(&self) -> &'static str {
        match self {
            OrchestratorPattern::Supervisor => "supervisor",
            OrchestratorPattern::Swarm => "swarm",
            OrchestratorPattern::Sequential => "sequential",
            OrchestratorPattern::Parallel => "parallel",
            OrchestratorPattern::Router => "router",
        }
    }
}

impl fmt::Display for OrchestratorPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OrchestratorPattern {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "supervisor" => Ok(OrchestratorPattern::Supervisor),
            "swarm" => Ok(OrchestratorPattern::Swarm),
            "sequential" => Ok(OrchestratorPattern::Sequential),
            "parallel" => Ok(OrchestratorPattern::Parallel),
            "router" => Ok(OrchestratorPattern::Router),
            other => Err(format!(
                "unknown pattern '{other}': expected 'supervisor', 'swarm', 'sequential', \
                 'parallel' or 'router'"
            )),
        }
    }
}

/// What a sub-agent sees when it gets control.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContextInput {
    /// The whole conversation so far.
    FullHistory,
    /// Only the latest user request.
    LatestRequest,
    /// A brief the orchestrator writes when it hands off (supervisor pattern).
    Brief,
}

/// What comes back from a sub-agent into the conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContextOutput {
    /// Everything it did: its messages, tool calls and results.
    FullHistory,
    /// Only its final answer.
    FinalAnswer,
}

macro_rules! str_enum {
    ($t:ty { $($v:ident => $s:literal),* }) => {
        impl $t {
            /// The spelling stored and returned.
            pub fn as_str(&self) -> &'static str {
                match self { $(Self::$v => $s),* }
            }
        }
        impl FromStr for $t {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($s => Ok(Self::$v),)*
                    other => Err(format!("unknown value '{other}': expected one of {}", [$($s),*].join(", "))),
                }
            }
        }
    };
}

str_enum!(ContextInput { FullHistory => "full_history", LatestRequest => "latest_request", Brief => "brief" });
str_enum!(ContextOutput { FullHistory => "full_history", FinalAnswer => "final_answer" });

/// How context flows between an orchestrator and its sub-agents. Unset fields take the
/// pattern's default (full history both ways, except that `sequential` and `parallel`
/// keep only final answers).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ContextRouting {
    /// What a sub-agent sees.
    #[serde(default)]
    pub input: Option<ContextInput>,
    /// What comes back from it.
    #[serde(default)]
    pub output: Option<ContextOutput>,
}

/// A stored orchestrator row (without its relations).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Orchestrator {
    /// Row id.
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// Its goal, in the supervisor prompt.
    pub description: Option<String>,
    /// Instructions it always follows.
    pub instructions: String,
    /// Whether Hub lists it as an app.
    pub publish_as_app: bool,
    /// App category shown in Hub.
    pub app_type: String,
    /// The API key (LLM) it uses.
    pub api_key_id: Uuid,
    /// How it coordinates its sub-agents.
    pub pattern: OrchestratorPattern,
    /// How context flows to and from its sub-agents.
    pub context_routing: ContextRouting,
    /// Audit columns.
    pub audit: Audit,
}

/// An orchestrator with what it needs to run: its API key and its sub-agents, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct OrchestratorDetails {
    /// The orchestrator row.
    pub orchestrator: Orchestrator,
    /// Its API key, secret included.
    pub api_key: ApiKey,
    /// Its sub-agents with their relations, in the order they were given.
    pub agents: Vec<AgentDetails>,
}

/// A reference to an agent in an orchestrator body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AgentRef {
    /// Id of an existing agent.
    pub agent_id: Uuid,
}

/// Body of `POST /orchestrators` and `PUT /orchestrators/{id}`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct OrchestratorInput {
    /// Display name (at most 100 characters).
    #[schema(example = "Research team", max_length = 100)]
    pub name: String,
    /// Its goal.
    #[serde(default)]
    pub description: Option<String>,
    /// Instructions it always follows.
    pub instructions: String,
    /// Whether Hub lists it as an app (default true).
    #[serde(default)]
    #[schema(default = true)]
    pub publish_as_app: Option<bool>,
    /// App category (default `Productivity`, at most 50 characters).
    #[serde(default)]
    #[schema(default = "Productivity", max_length = 50)]
    pub app_type: Option<String>,
    /// The API key (LLM) it uses.
    pub api_key_id: Uuid,
    /// Its sub-agents, in order (the whole list; an update replaces it).
    #[serde(default)]
    pub agents: Vec<AgentRef>,
    /// How it coordinates its sub-agents (default `supervisor`).
    #[serde(default)]
    #[schema(default = "supervisor")]
    pub pattern: Option<OrchestratorPattern>,
    /// How context flows to and from the sub-agents (default: the pattern's).
    #[serde(default)]
    pub context_routing: Option<ContextRouting>,
}

impl OrchestratorInput {
    /// `publish_as_app`, defaulted.
    pub fn publish_as_app(&self) -> bool {
        self.publish_as_app.unwrap_or(true)
    }

    /// `app_type`, defaulted.
    pub fn app_type(&self) -> &str {
        self.app_type.as_deref().unwrap_or(DEFAULT_APP_TYPE)
    }

    /// `pattern`, defaulted.
    pub fn pattern(&self) -> OrchestratorPattern {
        self.pattern.unwrap_or_default()
    }

    /// The sub-agent ids, in order.
    pub fn agent_ids(&self) -> Vec<Uuid> {
        self.agents.iter().map(|r| r.agent_id).collect()
    }

    /// Checks every field; an agent listed twice is refused.
    pub fn validate(mut self) -> Result<Self, DomainError> {
        validate::required("name", &self.name, limits::ORCHESTRATOR_NAME)?;
        self.app_type = validate::non_blank(self.app_type);
        validate::max_len("app_type", self.app_type(), limits::APP_TYPE)?;
        validate::no_duplicate_ids("agents", "agent_id", &self.agent_ids())?;
        Ok(self)
    }
}

/// A sub-agent of an orchestrator, as returned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OrchestratorAgentOut {
    /// The agent's id.
    pub agent_id: Uuid,
    /// The whole agent.
    pub agent: AgentOut,
}

/// An orchestrator as returned, with its API key (masked) and its sub-agents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OrchestratorOut {
    /// Row id.
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// Its goal.
    pub description: Option<String>,
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
    /// Its sub-agents, in order.
    pub agents: Vec<OrchestratorAgentOut>,
    /// How it coordinates its sub-agents.
    pub pattern: OrchestratorPattern,
    /// How context flows to and from its sub-agents.
    pub context_routing: ContextRouting,
    /// Audit columns.
    #[serde(flatten)]
    pub audit: Audit,
}

impl From<&OrchestratorDetails> for OrchestratorOut {
    fn from(d: &OrchestratorDetails) -> Self {
        let o = &d.orchestrator;
        OrchestratorOut {
            id: o.id,
            name: o.name.clone(),
            description: o.description.clone(),
            instructions: o.instructions.clone(),
            publish_as_app: o.publish_as_app,
            app_type: o.app_type.clone(),
            api_key_id: o.api_key_id,
            api_key: ApiKeyOut::from(&d.api_key),
            agents: d
                .agents
                .iter()
                .map(|a| OrchestratorAgentOut {
                    agent_id: a.agent.id,
                    agent: AgentOut::from(a),
                })
                .collect(),
            pattern: o.pattern,
            context_routing: o.context_routing,
            audit: o.audit.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_and_patterns() {
        let input: OrchestratorInput = serde_json::from_value(json!({
            "name": "o", "instructions": "i", "api_key_id": Uuid::now_v7()
        }))
        .unwrap();
        let input = input.validate().unwrap();
        assert!(input.publish_as_app());
        assert_eq!(input.app_type(), "Productivity");
        assert_eq!(input.pattern(), OrchestratorPattern::Supervisor);
        assert_eq!(
            "router".parse::<OrchestratorPattern>().unwrap().as_str(),
            "router"
        );
        assert!("mesh".parse::<OrchestratorPattern>().is_err());
    }

    #[test]
    fn duplicate_agents_are_named() {
        let id = Uuid::now_v7();
        let input: OrchestratorInput = serde_json::from_value(json!({
            "name": "o", "instructions": "i", "api_key_id": id,
            "agents": [{"agent_id": id}, {"agent_id": id}]
        }))
        .unwrap();
        let err = input.validate().unwrap_err();
        assert!(err.to_string().starts_with("agents[1].agent_id"), "{err}");
    }
}
