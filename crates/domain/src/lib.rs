//! # fustat-domain
//!
//! The nouns of Fustat's configuration (API keys, MCP servers, agents, orchestrators,
//! apps, versions), their validation, and the error taxonomy. No I/O, no framework types.
//!
//! Each resource comes in three shapes:
//! - an *input* (`…Input`): the request body, deserialized and then checked with
//!   `validate()`, which names the offending field;
//! - a *record* (`ApiKey`, `Agent`, …): what is stored, with the real secret where there is
//!   one (never serialized, redacted in `Debug`);
//! - an *output* (`…Out`): the response body, with secrets masked.

pub mod agent;
pub mod api_key;
pub mod app;
pub mod audit;
pub mod error;
pub mod limits;
pub mod mcp;
pub mod orchestrator;
pub mod secret;
mod validate;
pub mod version;

pub use agent::{Agent, AgentDetails, AgentInput, AgentMcpServerOut, AgentOut, McpServerRef};
pub use api_key::{ApiKey, ApiKeyInput, ApiKeyOut};
pub use app::PublishedApp;
pub use audit::{Audit, SYSTEM_ACTOR};
pub use error::DomainError;
pub use mcp::{McpServer, McpServerInput};
pub use orchestrator::{
    AgentRef, ContextInput, ContextOutput, ContextRouting, Orchestrator, OrchestratorAgentOut,
    OrchestratorDetails, OrchestratorInput, OrchestratorOut, OrchestratorPattern,
};
pub use secret::Secret;
pub use version::Version;

/// The `app_type` given to agents and orchestrators that don't name one.
pub const DEFAULT_APP_TYPE: &str = "Productivity";
