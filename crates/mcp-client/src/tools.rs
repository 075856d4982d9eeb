//! MCP tools as runtime tools: naming, content mapping and supervised servers.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use fustat_domain::McpServer;
use fustat_domain::mcp::{McpConnection, McpMode};
use fustat_runtime::tool::{
    DynTool, Tool, ToolContext, ToolError, ToolOutput, ToolProvider, ToolSpec,
};
use serde_json::Value;

use crate::pool::McpPool;

/// Why a tool call failed, as the pool reports it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ToolCallError {
    /// The server could not be started or reached.
    #[error("{0}")]
    Unavailable(#[from] crate::McpError),
    /// The server answered with a protocol error (unknown tool, invalid arguments).
    #[error("the MCP server rejected the call: {0}")]
    Rejected(String),
    /// The call took too long.
    #[error("the tool did not answer within {} s", .0.as_secs_f64())]
    TimedOut(Duration),
    /// The connection broke while the call was in flight.
    #[error(
        "the MCP server's connection broke during the call ({0}); the call was not retried because it may have run; the server is restarted on next use"
    )]
    ConnectionLost(String),
    /// The run was cancelled.
    #[error("the call was cancelled")]
    Cancelled,
}

impl From<ToolCallError> for ToolError {
    fn from(e: ToolCallError) -> Self {
        match e {
            ToolCallError::Unavailable(e) => ToolError::Unavailable(e.to_string()),
            ToolCallError::TimedOut(d) => ToolError::Timeout(d.as_secs().max(1)),
            ToolCallError::Cancelled => ToolError::Cancelled,
            other => ToolError::Failed(other.to_string()),
        }
    }
}

/// The longest tool name chat-completion providers accept.
const MAX_TOOL_NAME: usize = 64;

/// A name the model can call: letters, digits, `_` and `-`, at most 64 characters.
pub fn model_safe_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() {
        out.push_str("tool");
    }
    out.truncate(MAX_TOOL_NAME);
    out
}

/// Turns a tool result into what the model sees: text blocks joined by blank lines,
/// embedded text resources inline, binary content and links as short descriptions,
/// structured content kept (and shown as JSON when there is no text).
pub fn to_output(result: &rmcp::model::CallToolResult) -> ToolOutput {
    let mut parts: Vec<String> = Vec::new();
    for block in &result.content {
        let Ok(value) = serde_json::to_value(block) else {
            continue;
        };
        let kind = value.get("type").and_then(Value::as_str).unwrap_or("");
        let text = |k: &str| {
            value
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        match kind {
            "text" => parts.push(text("text")),
            "image" | "audio" => parts.push(format!(
                "[{kind} content: {}, {} bytes base64]",
                text("mimeType"),
                value
                    .get("data")
                    .and_then(Value::as_str)
                    .map_or(0, str::len)
            )),
            "resource" => {
                let resource = value.get("resource").cloned().unwrap_or(Value::Null);
                let uri = resource.get("uri").and_then(Value::as_str).unwrap_or("");
                if let Some(t) = resource.get("text").and_then(Value::as_str) {
                    parts.push(format!("[resource {uri}]\n{t}"));
                } else {
                    let mime = resource
                        .get("mimeType")
                        .and_then(Value::as_str)
                        .unwrap_or("application/octet-stream");
                    let size = resource
                        .get("blob")
                        .and_then(Value::as_str)
                        .map_or(0, str::len);
                    parts.push(format!("[resource {uri}: {mime}, {size} bytes base64]"));
                }
            }
            "resource_link" => parts.push(format!(
                "[resource link: {} <{}>]",
                text("name"),
                text("uri")
            )),
            other => parts.push(format!("[{other} content]")),
        }
    }
    let structured = result.structured_content.clone();
    let mut content = parts.join("\n\n");
    if content.is_empty()
        && let Some(s) = &structured
    {
        content = s.to_string();
    }
    ToolOutput {
        content,
        structured,
        is_error: result.is_error.unwrap_or(false),
    }
}

/// One MCP tool as a runtime tool.
pub struct McpTool {
    spec: ToolSpec,
    remote_name: String,
    server: McpServer,
    supervised: bool,
    timeout: Option<Duration>,
    pool: McpPool,
}

impl std::fmt::Debug for McpTool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpTool")
            .field("name", &self.spec.name)
            .field("server", &self.server.name)
            .finish_non_exhaustive()
    }
}

impl McpTool {
    /// The tool's name on its server (the model may know it by another, see
    /// [`McpToolProvider`]).
    pub fn remote_name(&self) -> &str {
        &self.remote_name
    }
}

#[async_trait]
impl Tool for McpTool {
    fn spec(&self) -> &ToolSpec {
        &self.spec
    }

    fn requires_approval(&self) -> bool {
        self.supervised
    }

    fn source(&self) -> Option<&str> {
        Some(&self.server.name)
    }

    async fn call(&self, args: Value, ctx: ToolContext) -> Result<ToolOutput, ToolError> {
        let result = self
            .pool
            .call(
                &self.server,
                &self.remote_name,
                args,
                self.timeout,
                &ctx.cancel,
            )
            .await?;
        Ok(to_output(&result))
    }
}

/// The tools of an agent's MCP servers, fetched from the pool when a run starts.
///
/// Names: a tool keeps its server's name (made model-safe) unless two of the agent's
/// servers offer the same name; then each of those becomes `<server>__<tool>` (the
/// server's name made model-safe), in the agent's server order, and the clash is logged.
/// Descriptions of renamed tools say which server they come from.
#[derive(Debug, Clone)]
pub struct McpToolProvider {
    pool: McpPool,
    servers: Vec<McpServer>,
}

impl McpToolProvider {
    /// The tools of `servers` (in this order) from `pool`.
    pub fn new(pool: McpPool, servers: Vec<McpServer>) -> Self {
        McpToolProvider { pool, servers }
    }
}

#[async_trait]
impl ToolProvider for McpToolProvider {
    async fn tools(&self) -> Result<Vec<DynTool>, ToolError> {
        let listed =
            futures::future::join_all(self.servers.iter().map(|s| self.pool.tools(s))).await;
        let mut entries = Vec::new();
        for (server, tools) in self.servers.iter().zip(listed) {
            let tools = tools.map_err(|e| ToolError::Unavailable(e.to_string()))?;
            for info in tools.iter() {
                entries.push((server, info.clone()));
            }
        }
        let mut counts: HashMap<String, usize> = HashMap::new();
        for (_, info) in &entries {
            *counts.entry(model_safe_name(&info.name)).or_default() += 1;
        }
        let mut taken: HashMap<String, usize> = HashMap::new();
        let mut out: Vec<DynTool> = Vec::with_capacity(entries.len());
        for (server, info) in entries {
            let safe = model_safe_name(&info.name);
            let clash = counts.get(&safe).copied().unwrap_or(0) > 1;
            let mut name = if clash {
                let qualified = model_safe_name(&format!("{}__{}", server.name, info.name));
                tracing::info!(mcp_server = %server.name, tool = %info.name, as_name = %qualified, "two MCP servers offer a tool of this name; it is qualified by its server");
                qualified
            } else {
                safe
            };
            let n = taken.entry(name.clone()).or_default();
            *n += 1;
            if *n > 1 {
                let suffix = format!("_{n}");
                name.truncate(MAX_TOOL_NAME - suffix.len());
                name.push_str(&suffix);
            }
            let description = if clash || name != info.name {
                format!("[{}: {}] {}", server.name, info.name, info.description)
            } else {
                info.description.clone()
            };
            let timeout = match server.connection() {
                Ok(McpConnection::StreamableHttp(c)) | Ok(McpConnection::Sse(c)) => {
                    c.timeout.map(Duration::from_secs_f64)
                }
                _ => None,
            };
            let parameters = if info.input_schema.is_object() {
                info.input_schema.clone()
            } else {
                serde_json::json!({"type": "object", "properties": {}})
            };
            out.push(Arc::new(McpTool {
                spec: ToolSpec::new(name, description, parameters),
                remote_name: info.name.clone(),
                server: server.clone(),
                supervised: server.mode == McpMode::Supervised,
                timeout,
                pool: self.pool.clone(),
            }));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmcp::model::{CallToolResult, ContentBlock};
    use serde_json::json;

    #[test]
    fn names_are_model_safe() {
        assert_eq!(model_safe_name("get.time/now"), "get_time_now");
        assert_eq!(model_safe_name(""), "tool");
        assert_eq!(model_safe_name(&"x".repeat(80)).len(), 64);
    }

    #[test]
    fn results_map_every_content_kind() {
        let mut result = CallToolResult::success(vec![
            ContentBlock::text("hello"),
            ContentBlock::image("aGk=", "image/png"),
            ContentBlock::embedded_text("file:///a.txt", "inside"),
        ]);
        result.structured_content = Some(json!({"n": 1}));
        let out = to_output(&result);
        assert!(
            out.content
                .starts_with("hello\n\n[image content: image/png, 4 bytes base64]")
        );
        assert!(out.content.ends_with("[resource file:///a.txt]\ninside"));
        assert_eq!(out.structured, Some(json!({"n": 1})));
        assert!(!out.is_error);

        let err = to_output(&CallToolResult::error(vec![ContentBlock::text(
            "bad input",
        )]));
        assert!(err.is_error);
        assert_eq!(err.content, "bad input");

        let only_structured = to_output(&CallToolResult::structured(json!({"a": [1, 2]})));
        assert!(only_structured.content.contains("\"a\""));
    }
}
