//! MCP server configuration: transports, modes and the typed form of `config_json`.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::audit::Audit;
use crate::error::DomainError;
use crate::limits;
use crate::validate;

/// How Fustat talks to an MCP server.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema,
)]
pub enum McpTransport {
    /// A child process speaking MCP over stdin/stdout.
    #[default]
    #[serde(rename = "stdio")]
    Stdio,
    /// The streamable HTTP transport (`streamable_http` is accepted too).
    #[serde(rename = "streamable-http", alias = "streamable_http")]
    StreamableHttp,
    /// The legacy HTTP+SSE transport.
    #[serde(rename = "sse")]
    Sse,
}

impl McpTransport {
    /// The canonical spelling stored and returned.
    pub fn as_str(&self) -> &'static str {
        match self {
            McpTransport::Stdio => "stdio",
            McpTransport::StreamableHttp => "streamable-http",
            McpTransport::Sse => "sse",
        }
    }
}

impl fmt::Display for McpTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for McpTransport {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "stdio" => Ok(McpTransport::Stdio),
            "streamable-http" | "streamable_http" => Ok(McpTransport::StreamableHttp),
            "sse" => Ok(McpTransport::Sse),
            other => Err(format!(
                "unknown transport '{other}': expected 'stdio', 'streamable-http' or 'sse'"
            )),
        }
    }
}

/// Whether a server's tools run freely or wait for a human decision.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum McpMode {
    /// Tools run freely.
    #[default]
    Autonomous,
    /// Every tool call waits for a human decision.
    Supervised,
}

impl McpMode {
    /// The spelling stored and returned.
    pub fn as_str(&self) -> &'static str {
        match self {
            McpMode::Autonomous => "autonomous",
            McpMode::Supervised => "supervised",
        }
    }
}

impl fmt::Display for McpMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for McpMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "autonomous" => Ok(McpMode::Autonomous),
            "supervised" => Ok(McpMode::Supervised),
            other => Err(format!(
                "unknown mode '{other}': expected 'autonomous' or 'supervised'"
            )),
        }
    }
}

/// A stored MCP server, as returned to clients.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct McpServer {
    /// Row id.
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// What the server offers (shown to the agents that use it).
    pub description: Option<String>,
    /// How Fustat talks to it.
    pub transport: McpTransport,
    /// Whether its tools run freely or wait for a human decision.
    pub mode: McpMode,
    /// Connection settings: stdio `{command, args, env?, cwd?}`, HTTP
    /// `{url, headers?, timeout?}`.
    #[schema(value_type = Object, example = json!({"command": "npx", "args": ["-y", "@modelcontextprotocol/server-everything"]}))]
    pub config_json: Value,
    /// Audit columns.
    #[serde(flatten)]
    pub audit: Audit,
}

impl McpServer {
    /// The typed connection settings.
    pub fn connection(&self) -> Result<McpConnection, String> {
        McpConnection::parse(self.transport, &self.config_json)
    }
}

/// Body of `POST /mcp-servers` and `PUT /mcp-servers/{id}`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct McpServerInput {
    /// Display name (at most 100 characters).
    #[schema(example = "Everything", max_length = 100)]
    pub name: String,
    /// What the server offers.
    #[serde(default)]
    pub description: Option<String>,
    /// `stdio` (default), `streamable-http` (or `streamable_http`) or `sse`.
    #[serde(default)]
    #[schema(default = "stdio")]
    pub transport: Option<McpTransport>,
    /// `autonomous` (default) or `supervised`.
    #[serde(default)]
    #[schema(default = "autonomous")]
    pub mode: Option<McpMode>,
    /// Connection settings for the transport.
    #[schema(value_type = Object, example = json!({"command": "npx", "args": ["-y", "@modelcontextprotocol/server-everything"]}))]
    pub config_json: Value,
}

impl McpServerInput {
    /// The transport, defaulted.
    pub fn transport(&self) -> McpTransport {
        self.transport.unwrap_or_default()
    }

    /// The mode, defaulted.
    pub fn mode(&self) -> McpMode {
        self.mode.unwrap_or_default()
    }

    /// Checks the name and that `config_json` fits the transport.
    pub fn validate(self) -> Result<Self, DomainError> {
        validate::required("name", &self.name, limits::MCP_SERVER_NAME)?;
        McpConnection::parse(self.transport(), &self.config_json).map_err(config_error)?;
        Ok(self)
    }
}

/// Turns a [`McpConnection::parse`] message (`config_json.url is not a valid URL: …`)
/// into a validation error of that field (`config_json.url`).
fn config_error(message: String) -> DomainError {
    let Some(rest) = message.strip_prefix("config_json") else {
        return DomainError::validation("config_json", message);
    };
    match rest.split_once(' ') {
        Some((sub_field, text)) if sub_field.starts_with('.') => {
            DomainError::validation(format!("config_json{sub_field}"), text)
        }
        _ => DomainError::validation("config_json", rest.trim_start()),
    }
}

/// `config_json` of a stdio server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StdioConfig {
    /// The program to start (never run through a shell).
    pub command: String,
    /// Its arguments.
    #[serde(default)]
    pub args: Vec<String>,
    /// Environment variables the child gets (besides a minimal base).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// The working directory.
    #[serde(default)]
    pub cwd: Option<String>,
}

/// `config_json` of a streamable-HTTP or SSE server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HttpConfig {
    /// The endpoint URL.
    pub url: String,
    /// Extra request headers (authorization, say).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Per-request timeout in seconds.
    #[serde(default)]
    pub timeout: Option<f64>,
}

/// The typed form of an MCP server's `config_json`.
#[derive(Debug, Clone, PartialEq)]
pub enum McpConnection {
    /// Start a child process.
    Stdio(StdioConfig),
    /// Connect over streamable HTTP.
    StreamableHttp(HttpConfig),
    /// Connect over the legacy HTTP+SSE transport.
    Sse(HttpConfig),
}

impl McpConnection {
    /// Parses `config_json` for `transport`. The error names the offending field.
    pub fn parse(transport: McpTransport, config_json: &Value) -> Result<Self, String> {
        if !config_json.is_object() {
            return Err("config_json must be a JSON object".into());
        }
        match transport {
            McpTransport::Stdio => {
                let cfg: StdioConfig = serde_json::from_value(config_json.clone())
                    .map_err(|e| format!("config_json is not a valid stdio config: {e}"))?;
                if cfg.command.trim().is_empty() {
                    return Err("config_json.command must not be empty".into());
                }
                Ok(McpConnection::Stdio(cfg))
            }
            McpTransport::StreamableHttp | McpTransport::Sse => {
                let cfg: HttpConfig = serde_json::from_value(config_json.clone())
                    .map_err(|e| format!("config_json is not a valid HTTP config: {e}"))?;
                let url = url::Url::parse(&cfg.url)
                    .map_err(|e| format!("config_json.url is not a valid URL: {e}"))?;
                if !matches!(url.scheme(), "http" | "https") {
                    return Err("config_json.url must be an http or https URL".into());
                }
                if let Some(t) = cfg.timeout
                    && !(t.is_finite() && t > 0.0)
                {
                    return Err("config_json.timeout must be a positive number of seconds".into());
                }
                Ok(if transport == McpTransport::Sse {
                    McpConnection::Sse(cfg)
                } else {
                    McpConnection::StreamableHttp(cfg)
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn transports_accept_both_spellings() {
        assert_eq!(
            "streamable_http".parse::<McpTransport>().unwrap(),
            McpTransport::StreamableHttp
        );
        let t: McpTransport = serde_json::from_value(json!("streamable_http")).unwrap();
        assert_eq!(t.as_str(), "streamable-http");
        assert!("ws".parse::<McpTransport>().is_err());
    }

    #[test]
    fn configs_parse_with_field_errors() {
        let ok = McpConnection::parse(
            McpTransport::Stdio,
            &json!({"command": "npx", "args": ["-y", "x"], "extra": 1}),
        )
        .unwrap();
        assert!(matches!(ok, McpConnection::Stdio(c) if c.args.len() == 2));
        let err = McpConnection::parse(McpTransport::Stdio, &json!({"args": []})).unwrap_err();
        assert!(err.contains("command"), "{err}");
        let err = McpConnection::parse(McpTransport::StreamableHttp, &json!({"url": "nope"}))
            .unwrap_err();
        assert!(err.contains("url"), "{err}");
    }

    #[test]
    fn inputs_default_and_name_config_errors() {
        let input: McpServerInput = serde_json::from_value(json!({
            "name": "x", "config_json": {"command": "npx", "args": ["y"]}
        }))
        .unwrap();
        let input = input.validate().unwrap();
        assert_eq!(input.transport(), McpTransport::Stdio);
        assert_eq!(input.mode(), McpMode::Autonomous);
        let bad: McpServerInput = serde_json::from_value(json!({
            "name": "x", "transport": "streamable_http", "config_json": {"url": "nope"}
        }))
        .unwrap();
        let err = bad.validate().unwrap_err();
        assert!(
            err.to_string()
                .starts_with("config_json.url: is not a valid URL"),
            "{err}"
        );
        let bad: McpServerInput = serde_json::from_value(json!({
            "name": "x", "config_json": {"command": " ", "args": []}
        }))
        .unwrap();
        let err = bad.validate().unwrap_err().to_string();
        assert_eq!(err, "config_json.command: must not be empty");
        let bad: McpServerInput =
            serde_json::from_value(json!({"name": "x", "config_json": []})).unwrap();
        let err = bad.validate().unwrap_err().to_string();
        assert_eq!(err, "config_json: must be a JSON object");
    }
}
