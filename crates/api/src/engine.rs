//! The engine: builds runnable graphs from the stored configuration and runs them.
//!
//! Graphs are built for every run from the current rows (no cache of built agents), so an
//! edit made in Studio reaches the next message. Building is cheap: models are HTTP
//! clients and MCP tools come from the shared session pool.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix_web::http::StatusCode;
use chrono::{DateTime, Utc};
use fustat_domain::{
    AgentDetails, AgentInput, ApiKey, ContextInput, ContextOutput, McpServer, OrchestratorDetails,
    OrchestratorPattern,
};
use fustat_persistence::Repos;
use fustat_runtime::agent::{Agent, AgentProfile, supervisor_prompt};
use fustat_runtime::graph::DynGraph;
use fustat_runtime::message::Message;
use fustat_runtime::model::{ChatModel, ModelError, ResponseSchema, complete_json};
use fustat_runtime::openai::{OpenAiCompatible, ProviderConfig};
use fustat_runtime::patterns::{
    ContextRouting, InputMode, OutputMode, Parallel, Router, Sequential, Supervisor, Swarm,
};
use fustat_runtime::react::AgentGraph;
use fustat_runtime::run::Runtime;
use fustat_runtime::store::Store;
use fustat_runtime::tool::ToolProvider;
use serde_json::json;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};

/// Builds the chat model an API key describes.
pub trait ModelFactory: Send + Sync {
    /// The model for `key`, or why it cannot be used.
    fn model(&self, key: &ApiKey) -> Result<Arc<dyn ChatModel>, String>;
}

/// Supplies the tools of an agent's MCP servers.
pub trait ToolFactory: Send + Sync {
    /// A provider of the tools of `servers` (fetched when a run starts), or None when
    /// there are none to offer.
    fn tools(&self, servers: &[McpServer]) -> Option<Arc<dyn ToolProvider>>;
}

/// The tools of MCP servers, from a shared session pool.
#[derive(Debug, Clone)]
pub struct McpTools(pub fustat_mcp_client::McpPool);

impl ToolFactory for McpTools {
    fn tools(&self, servers: &[McpServer]) -> Option<Arc<dyn ToolProvider>> {
        if servers.is_empty() {
            return None;
        }
        Some(Arc::new(fustat_mcp_client::McpToolProvider::new(
            self.0.clone(),
            servers.to_vec(),
        )))
    }
}

/// Models for API keys over the OpenAI chat-completions protocol (every provider Fustat
/// supports speaks it).
#[derive(Debug, Clone)]
pub struct OpenAiModels {
    /// How long to wait for a provider connection.
    pub connect_timeout: std::time::Duration,
    /// How long a provider may stay silent mid-answer.
    pub idle_timeout: std::time::Duration,
    /// Retries of a request that failed before its answer started.
    pub max_retries: u32,
    /// Which provider addresses may be reached.
    pub network: fustat_runtime::net::NetworkPolicy,
}

impl Default for OpenAiModels {
    fn default() -> Self {
        OpenAiModels {
            connect_timeout: std::time::Duration::from_secs(10),
            idle_timeout: std::time::Duration::from_secs(120),
            max_retries: 3,
            network: fustat_runtime::net::NetworkPolicy::open(),
        }
    }
}

impl OpenAiModels {
    /// The same factory with provider addresses checked against `network`.
    pub fn with_network(mut self, network: fustat_runtime::net::NetworkPolicy) -> Self {
        self.network = network;
        self
    }
}

impl ModelFactory for OpenAiModels {
    fn model(&self, key: &ApiKey) -> Result<Arc<dyn ChatModel>, String> {
        let mut cfg = ProviderConfig::new(
            key.provider_name.clone(),
            key.model_name.clone(),
            key.secret_key.expose(),
        )
        .with_connect_timeout(self.connect_timeout)
        .with_idle_timeout(self.idle_timeout)
        .with_max_retries(self.max_retries);
        if let Some(url) = key.base_url.as_deref().filter(|u| !u.trim().is_empty()) {
            cfg = cfg.with_base_url(url);
        }
        let model: Arc<dyn ChatModel> =
            Arc::new(OpenAiCompatible::new(cfg).map_err(|e| e.to_string())?);
        if self.network.allow_private {
            return Ok(model);
        }
        let endpoint =
            fustat_runtime::openai::resolve_base_url(&key.provider_name, key.base_url.as_deref())
                .map_err(|e| e.to_string())?;
        let endpoint = url::Url::parse(&endpoint).map_err(|e| format!("base_url: {e}"))?;
        Ok(Arc::new(fustat_runtime::net::GuardedModel::new(
            model,
            self.network.clone(),
            endpoint,
        )))
    }
}

/// A tool factory for deployments without MCP.
#[derive(Debug, Default)]
pub struct NoTools;

impl ToolFactory for NoTools {
    fn tools(&self, _servers: &[McpServer]) -> Option<Arc<dyn ToolProvider>> {
        None
    }
}

/// Body of `POST /api/v1/agents/ai-generate`.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
pub struct GenerateAgentRequest {
    /// What the agent should be, in a sentence.
    #[schema(example = "An agent that plans weekend trips on a budget")]
    pub user_prompt: String,
    /// The API key whose model writes the agent, and which the agent will use (default:
    /// the most recently changed key).
    #[serde(default)]
    pub api_key_id: Option<Uuid>,
    /// MCP servers to give the agent.
    #[serde(default)]
    pub mcp_servers: Vec<fustat_domain::McpServerRef>,
}

/// Whether an assistant is an agent or an orchestrator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssistantKind {
    /// A single agent.
    Agent,
    /// A multi-agent orchestrator.
    Orchestrator,
}

/// A configured agent or orchestrator, ready to run.
#[derive(Clone)]
pub struct Assistant {
    /// Its id.
    pub id: Uuid,
    /// Agent or orchestrator.
    pub kind: AssistantKind,
    /// Its name.
    pub name: String,
    /// Its description.
    pub description: Option<String>,
    /// The graph kind: `agent`, or the orchestrator's pattern.
    pub graph_id: String,
    /// The runnable graph.
    pub graph: DynGraph,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub modified_at: DateTime<Utc>,
}

impl std::fmt::Debug for Assistant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Assistant")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("name", &self.name)
            .field("graph_id", &self.graph_id)
            .finish_non_exhaustive()
    }
}

/// The run working on a thread.
#[derive(Debug, Clone)]
pub struct ActiveRun {
    /// The run.
    pub run_id: String,
    /// Cancels it.
    pub cancel: CancellationToken,
}

/// Which threads have a run working on them: at most one run per thread.
#[derive(Debug, Default, Clone)]
pub struct ActiveRuns {
    inner: Arc<Mutex<HashMap<String, ActiveRun>>>,
}

/// Keeps a thread marked busy until dropped.
#[derive(Debug)]
pub struct RunSlot {
    runs: ActiveRuns,
    thread_id: String,
    run_id: String,
}

impl Drop for RunSlot {
    fn drop(&mut self) {
        if let Ok(mut map) = self.runs.inner.lock()
            && map
                .get(&self.thread_id)
                .is_some_and(|r| r.run_id == self.run_id)
        {
            map.remove(&self.thread_id);
        }
    }
}

impl ActiveRuns {
    /// Marks `thread_id` busy with `run`; None when another run works on it.
    pub fn claim(&self, thread_id: &str, run: ActiveRun) -> Option<RunSlot> {
        let mut map = self.inner.lock().ok()?;
        if map.contains_key(thread_id) {
            return None;
        }
        let run_id = run.run_id.clone();
        map.insert(thread_id.to_owned(), run);
        Some(RunSlot {
            runs: self.clone(),
            thread_id: thread_id.to_owned(),
            run_id,
        })
    }

    /// The run working on `thread_id`, if any.
    pub fn get(&self, thread_id: &str) -> Option<ActiveRun> {
        self.inner.lock().ok()?.get(thread_id).cloned()
    }

    /// Every thread with a run, and its run.
    pub fn all(&self) -> Vec<(String, ActiveRun)> {
        self.inner
            .lock()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default()
    }
}

/// Builds and runs assistants. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    repos: Repos,
    runtime: Runtime,
    store: Arc<dyn Store>,
    models: Arc<dyn ModelFactory>,
    tools: Arc<dyn ToolFactory>,
    active: ActiveRuns,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("runtime", &self.runtime)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine keeping run state and long-term memory in the database `db`.
    pub fn over_database(
        db: fustat_persistence::DatabaseConnection,
        models: Arc<dyn ModelFactory>,
        tools: Arc<dyn ToolFactory>,
        limits: fustat_runtime::graph::RunLimits,
    ) -> Self {
        let runtime = Runtime::new(Arc::new(fustat_persistence::DbCheckpointer::new(
            db.clone(),
        )))
        .with_limits(limits);
        Engine::new(
            Repos::new(db.clone()),
            runtime,
            Arc::new(fustat_persistence::DbStore::new(db)),
            models,
            tools,
        )
    }

    /// An engine over the stored configuration.
    pub fn new(
        repos: Repos,
        runtime: Runtime,
        store: Arc<dyn Store>,
        models: Arc<dyn ModelFactory>,
        tools: Arc<dyn ToolFactory>,
    ) -> Self {
        Engine {
            repos,
            runtime,
            store,
            models,
            tools,
            active: ActiveRuns::default(),
        }
    }

    /// The runtime (and through it the checkpointer).
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// The long-term memory store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The threads with a run working on them.
    pub fn active_runs(&self) -> &ActiveRuns {
        &self.active
    }

    /// The model of an API key.
    pub fn model(&self, key: &ApiKey) -> ApiResult<Arc<dyn ChatModel>> {
        self.models.model(key).map_err(|why| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("the API key '{}' cannot be used: {why}", key.name),
            )
        })
    }

    fn build_agent(&self, details: &AgentDetails) -> ApiResult<Agent> {
        let a = &details.agent;
        let profile = AgentProfile {
            name: a.name.clone(),
            role: a.role.clone(),
            task: a.task.clone(),
            instructions: a.instructions.clone(),
            servers: details
                .mcp_servers
                .iter()
                .map(|s| (s.name.clone(), s.description.clone().unwrap_or_default()))
                .collect(),
        };
        let mut b = Agent::builder(a.name.clone(), self.model(&details.api_key)?)
            .profile(&profile)
            .description(
                a.description
                    .clone()
                    .filter(|d| !d.trim().is_empty())
                    .unwrap_or_else(|| a.role.clone()),
            );
        if let Some(provider) = self.tools.tools(&details.mcp_servers) {
            b = b.tool_provider(provider);
        }
        Ok(b.build())
    }

    /// The agent `id`, ready to run (404 when unknown).
    pub async fn agent(&self, id: Uuid) -> ApiResult<Assistant> {
        let details = self.repos.agents.get_with_relations(id).await?;
        let agent = self.build_agent(&details)?;
        let a = &details.agent;
        Ok(Assistant {
            id: a.id,
            kind: AssistantKind::Agent,
            name: a.name.clone(),
            description: a.description.clone(),
            graph_id: "agent".to_owned(),
            graph: Arc::new(AgentGraph::new(agent)),
            created_at: a.audit.created_at,
            modified_at: a.audit.modified_at,
        })
    }

    /// The orchestrator `id`, ready to run (404 when unknown).
    pub async fn orchestrator(&self, id: Uuid) -> ApiResult<Assistant> {
        let details = self.repos.orchestrators.get_with_relations(id).await?;
        let graph = self.build_orchestrator(&details)?;
        let o = &details.orchestrator;
        Ok(Assistant {
            id: o.id,
            kind: AssistantKind::Orchestrator,
            name: o.name.clone(),
            description: o.description.clone(),
            graph_id: o.pattern.as_str().to_owned(),
            graph,
            created_at: o.audit.created_at,
            modified_at: o.audit.modified_at,
        })
    }

    /// The agent or orchestrator `id` (404 when neither).
    pub async fn assistant(&self, id: Uuid) -> ApiResult<Assistant> {
        match self.agent(id).await {
            Err(e) if e.status == StatusCode::NOT_FOUND => self.orchestrator(id).await,
            other => other,
        }
    }

    /// Writes an agent from a one-line description with the model of an API key
    /// (`api_key_id`, else the most recently changed key) and saves it.
    pub async fn generate_agent(
        &self,
        request: &GenerateAgentRequest,
        actor: &str,
    ) -> ApiResult<AgentDetails> {
        let prompt = request.user_prompt.trim();
        if prompt.is_empty() {
            return Err(ApiError::validation("user_prompt", "must not be empty"));
        }
        if prompt.chars().count() > 4000 {
            return Err(ApiError::validation(
                "user_prompt",
                "must be at most 4000 characters",
            ));
        }
        let key = match request.api_key_id {
            Some(id) => self
                .repos
                .api_keys
                .get(id)
                .await
                .map_err(|e| match ApiError::from(e) {
                    e if e.status == StatusCode::NOT_FOUND => {
                        ApiError::validation("api_key_id", format!("no API key with id {id}"))
                    }
                    e => e,
                })?,
            None => {
                let mut keys = self.repos.api_keys.list_by_name().await?;
                keys.sort_by_key(|k| std::cmp::Reverse(k.audit.modified_at));
                keys.into_iter().next().ok_or_else(|| {
                    ApiError::validation(
                        "api_key_id",
                        "no API key is configured: create one, then generate the agent with it",
                    )
                })?
            }
        };
        let model = self.model(&key)?;
        let schema = ResponseSchema {
            name: "agent".into(),
            schema: json!({
                "type": "object",
                "properties": {
                    "name": {"type": "string", "description": "A short name, at most 60 characters"},
                    "description": {"type": "string", "description": "What the agent is for, in one sentence"},
                    "role": {"type": "string", "description": "The agent's role, e.g. 'a senior travel planner'"},
                    "task": {"type": "string", "description": "The agent's task, in one or two sentences"},
                    "instructions": {"type": "string", "description": "Concrete rules the agent always follows, one per line"}
                },
                "required": ["name", "description", "role", "task", "instructions"],
                "additionalProperties": false
            }),
        };
        let messages = vec![
            Message::system(
                "You design AI agents for Agent Studio. From the user's description, write the \
                 agent's name (short, at most 60 characters), a one-sentence description, its \
                 role, its task and its instructions (several concrete rules, one per line). \
                 Answer with JSON only.",
            ),
            Message::user(prompt),
        ];
        let answer = complete_json(model.as_ref(), messages, schema)
            .await
            .map_err(|e| match e {
                ModelError::Protocol { message } => ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!("the model's answer was not a usable agent: {message}"),
                ),
                other => ApiError::new(
                    StatusCode::BAD_GATEWAY,
                    format!("the LLM provider failed: {other}"),
                ),
            })?;
        let field = |name: &str| -> ApiResult<String> {
            match answer
                .get(name)
                .and_then(serde_json::Value::as_str)
                .map(str::trim)
            {
                Some(v) if !v.is_empty() => Ok(v.to_owned()),
                _ => Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!(
                        "the model's answer was not a usable agent: '{name}' is missing or empty"
                    ),
                )),
            }
        };
        let name: String = field("name")?.chars().take(150).collect();
        let input = AgentInput {
            name,
            description: answer
                .get("description")
                .and_then(serde_json::Value::as_str)
                .map(|d| d.trim().to_owned())
                .filter(|d| !d.is_empty()),
            role: field("role")?,
            task: field("task")?,
            instructions: field("instructions")?,
            publish_as_app: None,
            app_type: None,
            api_key_id: key.id,
            mcp_servers: request.mcp_servers.clone(),
        };
        Ok(self.repos.agents.create(input, actor).await?)
    }

    fn build_orchestrator(&self, details: &OrchestratorDetails) -> ApiResult<DynGraph> {
        let o = &details.orchestrator;
        let description = o.description.clone().unwrap_or_default();
        let own = Agent::builder(o.name.clone(), self.model(&details.api_key)?)
            .system_prompt(supervisor_prompt(&o.name, &description, &o.instructions))
            .description(description)
            .build();
        if details.agents.is_empty() {
            return Ok(Arc::new(AgentGraph::new(own)));
        }
        let subs = details
            .agents
            .iter()
            .map(|a| self.build_agent(a))
            .collect::<ApiResult<Vec<_>>>()?;
        let configured = o.context_routing;
        let routing = ContextRouting {
            input: match configured.input {
                Some(ContextInput::LatestRequest) => InputMode::LatestRequest,
                Some(ContextInput::Brief) => InputMode::Brief,
                Some(ContextInput::FullHistory) | None => InputMode::FullHistory,
            },
            output: match configured.output {
                Some(ContextOutput::FinalAnswer) => OutputMode::FinalAnswer,
                Some(ContextOutput::FullHistory) => OutputMode::FullHistory,
                // Pipelines and parallel teams answer with one reply by default.
                None if matches!(
                    o.pattern,
                    OrchestratorPattern::Sequential | OrchestratorPattern::Parallel
                ) =>
                {
                    OutputMode::FinalAnswer
                }
                None => OutputMode::FullHistory,
            },
        };
        let invalid = |e: fustat_runtime::RunError| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("orchestrator '{}' cannot run: {e}", o.name),
            )
        };
        let graph: DynGraph = match o.pattern {
            OrchestratorPattern::Supervisor => Arc::new(
                Supervisor::builder(own)
                    .agents(subs)
                    .routing(routing)
                    .build()
                    .map_err(invalid)?,
            ),
            OrchestratorPattern::Swarm => {
                Arc::new(Swarm::new(o.name.clone(), subs).map_err(invalid)?)
            }
            OrchestratorPattern::Sequential => Arc::new(
                Sequential::new(o.name.clone(), subs)
                    .map_err(invalid)?
                    .with_routing(routing),
            ),
            OrchestratorPattern::Parallel => Arc::new(
                Parallel::new(own, subs)
                    .map_err(invalid)?
                    .with_routing(routing),
            ),
            OrchestratorPattern::Router => Arc::new(Router::new(own, subs).map_err(invalid)?),
        };
        Ok(graph)
    }
}
