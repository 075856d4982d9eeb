//! Why talking to an MCP server failed.

use std::time::Duration;

/// A failure to start, reach or use an MCP server. Every message names the server and
/// says what went wrong in words an operator can act on; none contains a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum McpError {
    /// The server's configuration cannot work (a malformed `config_json`, a header that
    /// cannot be sent, an unsupported transport).
    #[error("MCP server '{server}': {message}")]
    Config {
        /// The server's name.
        server: String,
        /// What is wrong.
        message: String,
    },
    /// The operator's policy refuses this server (a command outside the allowlist, an
    /// address in a denied range).
    #[error("MCP server '{server}' is not allowed: {message}")]
    NotAllowed {
        /// The server's name.
        server: String,
        /// Which rule refused it.
        message: String,
    },
    /// The server process could not be started or the endpoint could not be reached.
    #[error("MCP server '{server}' could not be started: {message}")]
    Start {
        /// The server's name.
        server: String,
        /// Why.
        message: String,
    },
    /// The server started but the MCP handshake failed.
    #[error("MCP server '{server}' failed the MCP handshake: {message}")]
    Handshake {
        /// The server's name.
        server: String,
        /// Why.
        message: String,
    },
    /// The server did not answer in time.
    #[error("MCP server '{server}' did not answer {what} within {} s", .after.as_secs_f64())]
    Timeout {
        /// The server's name.
        server: String,
        /// What was being waited for.
        what: String,
        /// How long it was given.
        after: Duration,
    },
    /// The connection broke or the server answered with a protocol error.
    #[error("MCP server '{server}': {message}")]
    Protocol {
        /// The server's name.
        server: String,
        /// What happened.
        message: String,
    },
    /// The pool is shutting down.
    #[error("the MCP client is shutting down")]
    ShuttingDown,
}

impl McpError {
    /// True when the fault is in the stored configuration or the policy (a client-side
    /// 4xx), false when the server itself failed (a 502/504).
    pub fn is_config_problem(&self) -> bool {
        matches!(self, McpError::Config { .. } | McpError::NotAllowed { .. })
    }

    /// True when the server did not answer in time.
    pub fn is_timeout(&self) -> bool {
        matches!(self, McpError::Timeout { .. })
    }
}
