//! Agents: a name, a system prompt, a model and tools.

use std::sync::Arc;

use crate::model::ChatModel;
use crate::tool::{DynTool, ToolProvider};

/// An agent: what it is told, which model it thinks with and which tools it may call.
///
/// Agents are cheap to build; build one per run from the current configuration so an
/// edit reaches the next message.
#[derive(Clone)]
pub struct Agent {
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub(crate) system_prompt: String,
    pub(crate) model: Arc<dyn ChatModel>,
    pub(crate) tools: Vec<DynTool>,
    pub(crate) providers: Vec<Arc<dyn ToolProvider>>,
    pub(crate) temperature: Option<f32>,
    pub(crate) context_window: Option<u32>,
}

impl std::fmt::Debug for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent")
            .field("name", &self.name)
            .field("model", &self.model.model_name())
            .field("tools", &self.tools.len())
            .field("providers", &self.providers.len())
            .finish()
    }
}

impl Agent {
    /// Starts building an agent that thinks with `model`.
    pub fn builder(name: impl Into<String>, model: Arc<dyn ChatModel>) -> AgentBuilder {
        AgentBuilder {
            agent: Agent {
                name: name.into(),
                description: None,
                system_prompt: String::new(),
                model,
                tools: Vec::new(),
                providers: Vec::new(),
                temperature: None,
                context_window: None,
            },
        }
    }

    /// The agent's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What the agent is for (shown to supervisors and routers).
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// The system prompt.
    pub fn system_prompt(&self) -> &str {
        &self.system_prompt
    }

    /// The agent's model.
    pub fn model(&self) -> &Arc<dyn ChatModel> {
        &self.model
    }

    /// The context window requests are fitted to, when known.
    pub fn context_window(&self) -> Option<u32> {
        self.context_window.or_else(|| self.model.context_window())
    }
}

/// Builds an [`Agent`].
pub struct AgentBuilder {
    agent: Agent,
}

impl AgentBuilder {
    /// Sets the system prompt.
    pub fn system_prompt(mut self, prompt: impl Into<String>) -> Self {
        self.agent.system_prompt = prompt.into();
        self
    }

    /// Sets the system prompt from a profile, the way Studio's agents are written.
    pub fn profile(self, profile: &AgentProfile) -> Self {
        self.system_prompt(profile.system_prompt())
    }

    /// Sets the description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.agent.description = Some(description.into());
        self
    }

    /// Adds a tool.
    pub fn tool(mut self, tool: DynTool) -> Self {
        self.agent.tools.push(tool);
        self
    }

    /// Adds tools.
    pub fn tools(mut self, tools: impl IntoIterator<Item = DynTool>) -> Self {
        self.agent.tools.extend(tools);
        self
    }

    /// Adds a provider whose tools are fetched when a run starts.
    pub fn tool_provider(mut self, provider: Arc<dyn ToolProvider>) -> Self {
        self.agent.providers.push(provider);
        self
    }

    /// Sets the sampling temperature.
    pub fn temperature(mut self, temperature: f32) -> Self {
        self.agent.temperature = Some(temperature);
        self
    }

    /// Sets the model's context window in tokens; older turns are left out of requests
    /// that would not fit. Without it, the model's own figure is used when it has one,
    /// and a context-length refusal from the provider makes the runtime trim and retry.
    pub fn context_window(mut self, tokens: u32) -> Self {
        self.agent.context_window = Some(tokens);
        self
    }

    /// The agent.
    pub fn build(self) -> Agent {
        self.agent
    }
}

/// The fields of a Studio agent, from which its system prompt is written.
#[derive(Debug, Clone, Default)]
pub struct AgentProfile {
    /// The agent's name.
    pub name: String,
    /// Its role.
    pub role: String,
    /// Its task.
    pub task: String,
    /// Instructions it always follows.
    pub instructions: String,
    /// Its MCP servers: (name, description).
    pub servers: Vec<(String, String)>,
}

impl AgentProfile {
    /// The system prompt:
    ///
    /// ```
    /// use fustat_runtime::agent::AgentProfile;
    /// let p = AgentProfile {
    ///     name: "Ada".into(),
    ///     role: "a researcher".into(),
    ///     task: "find facts".into(),
    ///     instructions: "cite sources".into(),
    ///     servers: vec![("web".into(), "searches the web".into())],
    /// };
    /// assert!(p.system_prompt().starts_with("You are Ada. You act in a professional and concise manner."));
    /// assert!(p.system_prompt().ends_with("- **web**: searches the web."));
    /// ```
    pub fn system_prompt(&self) -> String {
        let mut lines = vec![
            format!(
                "You are {}. You act in a professional and concise manner.",
                self.name
            ),
            format!("Your role is {}.", self.role),
            format!("Your task is {}", self.task),
            format!("Always follow these Instructions: {}", self.instructions),
        ];
        if !self.servers.is_empty() {
            lines.push(
                "You can use the tools of the following MCP servers when they help with the task:"
                    .to_owned(),
            );
            for (name, description) in &self.servers {
                let description = description.trim().trim_end_matches('.');
                lines.push(format!("- **{name}**: {description}."));
            }
        }
        lines.join("\n")
    }
}

/// The system prompt of a supervisor (an orchestrator with sub-agents).
pub fn supervisor_prompt(name: &str, description: &str, instructions: &str) -> String {
    format!(
        "You are {name}.\nYour goal is {description}.\nYou always follow these Instructions: {instructions}"
    )
}
