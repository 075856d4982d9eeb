//! What the pool tests share.

use fustat_domain::McpServer;
use fustat_domain::audit::Audit;
use fustat_domain::mcp::{McpMode, McpTransport};
use serde_json::Value;
use uuid::Uuid;

/// An autonomous MCP server row as the configuration API would store it.
pub fn server(name: &str, transport: McpTransport, config: Value) -> McpServer {
    McpServer {
        id: Uuid::new_v4(),
        name: name.to_owned(),
        description: None,
        transport,
        mode: McpMode::Autonomous,
        config_json: config,
        audit: Audit::new(chrono::Utc::now(), "test"),
    }
}
