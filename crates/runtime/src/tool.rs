//! Tools an agent can call: the [`Tool`] trait, in-process tools ([`FnTool`]) and
//! [`ToolProvider`]s that supply tools from elsewhere (MCP servers, say).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

/// What the model is told about a tool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    /// The name the model calls it by (unique among an agent's tools).
    pub name: String,
    /// What it does, for the model.
    pub description: String,
    /// The JSON schema of its arguments (an object schema).
    pub parameters: Value,
}

impl ToolSpec {
    /// A spec with an arguments schema.
    pub fn new(name: impl Into<String>, description: impl Into<String>, parameters: Value) -> Self {
        ToolSpec {
            name: name.into(),
            description: description.into(),
            parameters,
        }
    }
}

/// What a tool returned.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ToolOutput {
    /// The text the model sees.
    pub content: String,
    /// Structured output, when the tool gave any (kept for clients; the model sees `content`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub structured: Option<Value>,
    /// True when the tool reports a failure (the model still sees `content`).
    #[serde(default)]
    pub is_error: bool,
}

impl ToolOutput {
    /// A successful text result.
    pub fn text(content: impl Into<String>) -> Self {
        ToolOutput {
            content: content.into(),
            structured: None,
            is_error: false,
        }
    }

    /// A failed result the model should see.
    pub fn error(content: impl Into<String>) -> Self {
        ToolOutput {
            content: content.into(),
            structured: None,
            is_error: true,
        }
    }
}

/// Why a tool call failed. The runtime turns every error into a tool message the model
/// sees, so a failing tool never ends a run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ToolError {
    /// The arguments do not fit the tool.
    #[error("invalid arguments: {0}")]
    InvalidArguments(String),
    /// The tool did not finish within its timeout.
    #[error("the tool did not answer within {0} s")]
    Timeout(u64),
    /// The tool (or the server behind it) is unavailable.
    #[error("the tool is unavailable: {0}")]
    Unavailable(String),
    /// The call was cancelled.
    #[error("the call was cancelled")]
    Cancelled,
    /// Any other failure.
    #[error("{0}")]
    Failed(String),
}

/// What a tool call knows about the run it belongs to.
#[derive(Debug, Clone)]
pub struct ToolContext {
    /// The conversation (thread) id.
    pub thread_id: String,
    /// The run id.
    pub run_id: String,
    /// The id of this tool call.
    pub call_id: String,
    /// The agent that called the tool.
    pub agent: String,
    /// Cancelled when the run is cancelled; long tools should stop when it fires.
    pub cancel: CancellationToken,
}

/// A tool an agent can call.
#[async_trait]
pub trait Tool: Send + Sync {
    /// The tool's name, description and argument schema.
    fn spec(&self) -> &ToolSpec;

    /// True when every call must be approved by a human first (a supervised MCP
    /// server's tools, say). The runtime pauses the run with an interrupt before calling.
    fn requires_approval(&self) -> bool {
        false
    }

    /// Where the tool comes from, for traces (an MCP server's name, say).
    fn source(&self) -> Option<&str> {
        None
    }

    /// Calls the tool.
    async fn call(&self, args: Value, ctx: ToolContext) -> Result<ToolOutput, ToolError>;
}

/// A shared, dynamically typed tool.
pub type DynTool = Arc<dyn Tool>;

type ToolFn = dyn Fn(Value) -> Pin<Box<dyn Future<Output = Result<ToolOutput, ToolError>> + Send>>
    + Send
    + Sync;

/// An in-process tool made from an async closure.
///
/// ```
/// use fustat_runtime::tool::{FnTool, ToolOutput};
/// use serde_json::json;
///
/// let add = FnTool::new(
///     "add",
///     "Adds two numbers",
///     json!({"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}}),
///     |args| async move {
///         let a = args["a"].as_f64().unwrap_or(0.0);
///         let b = args["b"].as_f64().unwrap_or(0.0);
///         Ok(ToolOutput::text((a + b).to_string()))
///     },
/// );
/// # let _ = add;
/// ```
pub struct FnTool {
    spec: ToolSpec,
    approval: bool,
    f: Box<ToolFn>,
}

impl FnTool {
    /// A tool named `name` that runs `f` on the call's arguments.
    pub fn new<F, Fut>(
        name: impl Into<String>,
        description: impl Into<String>,
        parameters: Value,
        f: F,
    ) -> Self
    where
        F: Fn(Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<ToolOutput, ToolError>> + Send + 'static,
    {
        FnTool {
            spec: ToolSpec::new(name, description, parameters),
            approval: false,
            f: Box::new(move |v| Box::pin(f(v))),
        }
    }

    /// Makes every call of this tool wait for a human decision.
    pub fn requiring_approval(mut self) -> Self {
        self.approval = true;
        self
    }

    /// Wraps the tool in an [`Arc`].
    pub fn shared(self) -> DynTool {
        Arc::new(self)
    }
}

#[async_trait]
impl Tool for FnTool {
    fn spec(&self) -> &ToolSpec {
        &self.spec
    }

    fn requires_approval(&self) -> bool {
        self.approval
    }

    async fn call(&self, args: Value, _ctx: ToolContext) -> Result<ToolOutput, ToolError> {
        (self.f)(args).await
    }
}

/// Supplies tools at run time (the tools of an agent's MCP servers, say).
///
/// The runtime asks again at the start of every run, so a provider can reflect changes
/// (a server whose tool list changed) without rebuilding the agent.
#[async_trait]
pub trait ToolProvider: Send + Sync {
    /// The tools available now.
    async fn tools(&self) -> Result<Vec<DynTool>, ToolError>;
}

/// A fixed list of tools is a provider too.
#[async_trait]
impl ToolProvider for Vec<DynTool> {
    async fn tools(&self) -> Result<Vec<DynTool>, ToolError> {
        Ok(self.clone())
    }
}

/// An agent's tools, looked up by name.
#[derive(Clone, Default)]
pub struct ToolSet {
    tools: Vec<DynTool>,
    by_name: HashMap<String, usize>,
}

impl ToolSet {
    /// A set of tools; a later tool with the same name as an earlier one is dropped.
    pub fn new(tools: impl IntoIterator<Item = DynTool>) -> Self {
        let mut set = ToolSet::default();
        for t in tools {
            set.push(t);
        }
        set
    }

    /// Adds a tool; returns false (and drops it) when the name is taken.
    pub fn push(&mut self, tool: DynTool) -> bool {
        let name = tool.spec().name.clone();
        if self.by_name.contains_key(&name) {
            return false;
        }
        self.by_name.insert(name, self.tools.len());
        self.tools.push(tool);
        true
    }

    /// The tool with this name.
    pub fn get(&self, name: &str) -> Option<&DynTool> {
        self.by_name.get(name).map(|&i| &self.tools[i])
    }

    /// The specs of all tools, in order.
    pub fn specs(&self) -> Vec<ToolSpec> {
        self.tools.iter().map(|t| t.spec().clone()).collect()
    }

    /// All tools, in order.
    pub fn iter(&self) -> impl Iterator<Item = &DynTool> {
        self.tools.iter()
    }

    /// The number of tools.
    pub fn len(&self) -> usize {
        self.tools.len()
    }

    /// True when there are no tools.
    pub fn is_empty(&self) -> bool {
        self.tools.is_empty()
    }
}

impl std::fmt::Debug for ToolSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.tools.iter().map(|t| &t.spec().name))
            .finish()
    }
}
