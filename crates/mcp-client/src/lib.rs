//! Fustat's MCP client: a pool of live sessions to stdio and streamable-HTTP MCP servers
//! ([`McpPool`]), and their tools as runtime tools ([`McpToolProvider`]).
//!
//! Only this crate knows rmcp's types. The pool starts a server on first use and keeps
//! one session per server for every run and conversation; a crashed server is restarted
//! on next use, a call whose connection broke is reported (never silently resent), every
//! call is bounded by a timeout, and [`McpPool::shutdown`] stops and reaps every child.
//! Stdio servers start only commands of the operator's allowlist, never through a
//! shell, with only the environment they declare plus a minimal base ([`McpPolicy`]).

mod error;
mod policy;
mod pool;
mod session;
mod tools;

pub use error::McpError;
pub use policy::{BASE_ENV, CommandAllowlist, DEFAULT_ALLOWED_COMMANDS, McpPolicy};
pub use pool::{CallResult, McpPool};
pub use session::McpToolInfo;
pub use tools::{McpTool, McpToolProvider, ToolCallError, model_safe_name, to_output};
