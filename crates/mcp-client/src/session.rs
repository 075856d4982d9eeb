//! One live MCP session: a child process or an HTTP connection, the handshake, the tool
//! list and tool calls.

use std::collections::{HashMap, VecDeque};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fustat_domain::McpServer;
use fustat_domain::mcp::{HttpConfig, McpConnection, StdioConfig};
use process_wrap::tokio::{CommandWrap, KillOnDrop, ProcessGroup};
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig, Implementation,
};
use rmcp::service::{NotificationContext, Peer, RunningService};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{ClientHandler, RoleClient, ServiceExt};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_util::sync::CancellationToken;

use crate::error::McpError;
use crate::policy::McpPolicy;

/// A tool as an MCP server describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct McpToolInfo {
    /// The tool's name on its server.
    pub name: String,
    /// Its description (empty when the server gives none).
    pub description: String,
    /// The JSON schema of its arguments.
    pub input_schema: Value,
}

/// Why a tool call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CallFailure {
    /// The server answered with a JSON-RPC error (unknown tool, invalid arguments).
    Rejected(String),
    /// The call took longer than allowed.
    TimedOut(Duration),
    /// The connection broke while the call was in flight: it may or may not have run.
    ConnectionLost(String),
    /// The run was cancelled.
    Cancelled,
}

/// Lines of a child's stderr kept for error messages.
const STDERR_TAIL_LINES: usize = 8;
/// Longest stderr line logged or kept.
const STDERR_LINE_MAX: usize = 2_000;

/// Receives what a server pushes to us.
struct Handler {
    server: String,
    tools_changed: Arc<AtomicBool>,
}

impl ClientHandler for Handler {
    fn get_info(&self) -> ClientConfig {
        ClientConfig::new(
            ClientCapabilities::default(),
            Implementation::new("fustat", env!("CARGO_PKG_VERSION")),
        )
    }

    async fn on_tool_list_changed(&self, _context: NotificationContext<RoleClient>) {
        tracing::info!(mcp_server = %self.server, "the MCP server announced a changed tool list");
        self.tools_changed.store(true, Ordering::SeqCst);
    }
}

/// A live session with one MCP server.
pub(crate) struct Session {
    server: String,
    peer: Peer<RoleClient>,
    service: tokio::sync::Mutex<Option<RunningService<RoleClient, Handler>>>,
    tools: tokio::sync::Mutex<Option<Arc<Vec<McpToolInfo>>>>,
    tools_changed: Arc<AtomicBool>,
    broken: AtomicBool,
    pid: Option<u32>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("server", &self.server)
            .field("pid", &self.pid)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// A session over a connected service.
    fn over(name: &str, service: RunningService<RoleClient, Handler>, pid: Option<u32>) -> Self {
        Session {
            server: name.to_owned(),
            peer: service.peer().clone(),
            tools_changed: service.service().tools_changed.clone(),
            service: tokio::sync::Mutex::new(Some(service)),
            tools: tokio::sync::Mutex::new(None),
            broken: AtomicBool::new(false),
            pid,
        }
    }

    /// Starts a session with `server` under `policy`.
    pub(crate) async fn start(server: &McpServer, policy: &McpPolicy) -> Result<Session, McpError> {
        let connection = server.connection().map_err(|message| McpError::Config {
            server: server.name.clone(),
            message,
        })?;
        match connection {
            McpConnection::Stdio(cfg) => start_stdio(&server.name, &cfg, policy).await,
            McpConnection::StreamableHttp(cfg) => start_http(&server.name, &cfg, policy).await,
            McpConnection::Sse(_) => Err(McpError::Config {
                server: server.name.clone(),
                message: "the legacy HTTP+SSE transport ('sse') is not supported; point \
                          config_json.url at the server's streamable HTTP endpoint and set \
                          transport to 'streamable-http'"
                    .into(),
            }),
        }
    }

    /// The process id of a stdio server's child.
    pub(crate) fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// False once the connection has broken or the session was closed.
    pub(crate) fn is_alive(&self) -> bool {
        !self.broken.load(Ordering::SeqCst) && !self.peer.is_transport_closed()
    }

    /// The server's tools, from the cache unless the server announced a change.
    pub(crate) async fn tools(&self, timeout: Duration) -> Result<Arc<Vec<McpToolInfo>>, McpError> {
        let mut cached = self.tools.lock().await;
        if let Some(tools) = cached.as_ref()
            && !self.tools_changed.load(Ordering::SeqCst)
        {
            return Ok(tools.clone());
        }
        self.tools_changed.store(false, Ordering::SeqCst);
        let listed = match tokio::time::timeout(timeout, self.peer.list_all_tools()).await {
            Err(_) => {
                return Err(McpError::Timeout {
                    server: self.server.clone(),
                    what: "the tool list".into(),
                    after: timeout,
                });
            }
            Ok(Err(e)) => {
                if self.peer.is_transport_closed() {
                    self.broken.store(true, Ordering::SeqCst);
                }
                return Err(McpError::Protocol {
                    server: self.server.clone(),
                    message: format!("listing tools failed: {e}"),
                });
            }
            Ok(Ok(tools)) => tools,
        };
        let tools: Arc<Vec<McpToolInfo>> = Arc::new(
            listed
                .into_iter()
                .map(|t| McpToolInfo {
                    name: t.name.to_string(),
                    description: t.description.map(|d| d.to_string()).unwrap_or_default(),
                    input_schema: Value::Object((*t.input_schema).clone()),
                })
                .collect(),
        );
        *cached = Some(tools.clone());
        Ok(tools)
    }

    /// Calls tool `name` once. A call whose connection breaks is reported, never resent.
    pub(crate) async fn call(
        &self,
        name: &str,
        args: Value,
        timeout: Duration,
        cancel: &CancellationToken,
    ) -> Result<CallToolResult, CallFailure> {
        let mut params = CallToolRequestParams::new(name.to_owned());
        params.arguments = match args {
            Value::Object(map) => Some(map),
            Value::Null => None,
            other => {
                return Err(CallFailure::Rejected(format!(
                    "the arguments must be a JSON object, not {other}"
                )));
            }
        };
        let call = tokio::time::timeout(timeout, self.peer.call_tool(params));
        let outcome = tokio::select! {
            outcome = call => outcome,
            _ = cancel.cancelled() => return Err(CallFailure::Cancelled),
        };
        match outcome {
            Err(_) => Err(CallFailure::TimedOut(timeout)),
            Ok(Ok(result)) => Ok(result),
            Ok(Err(rmcp::ServiceError::McpError(e))) => {
                Err(CallFailure::Rejected(e.message.to_string()))
            }
            Ok(Err(rmcp::ServiceError::Timeout { timeout })) => Err(CallFailure::TimedOut(timeout)),
            Ok(Err(e)) => {
                if self.peer.is_transport_closed()
                    || matches!(
                        e,
                        rmcp::ServiceError::TransportClosed | rmcp::ServiceError::TransportSend(_)
                    )
                {
                    self.broken.store(true, Ordering::SeqCst);
                    Err(CallFailure::ConnectionLost(e.to_string()))
                } else {
                    Err(CallFailure::Rejected(e.to_string()))
                }
            }
        }
    }

    /// Closes the session: ends the MCP connection and, for a stdio server, stops the
    /// child (closing its stdin, then SIGTERM, then SIGKILL to its process group) and reaps it.
    pub(crate) async fn close(&self) {
        self.broken.store(true, Ordering::SeqCst);
        let Some(mut service) = self.service.lock().await.take() else {
            return;
        };
        match service.close_with_timeout(Duration::from_secs(10)).await {
            Ok(Some(_)) => tracing::debug!(mcp_server = %self.server, "MCP session closed"),
            Ok(None) => {
                tracing::warn!(mcp_server = %self.server, "MCP session did not close in time")
            }
            Err(e) => {
                tracing::warn!(mcp_server = %self.server, error = %e, "closing the MCP session failed")
            }
        }
    }
}

/// The last lines a child wrote to stderr.
type StderrTail = Arc<Mutex<VecDeque<String>>>;

fn tail_text(tail: &StderrTail) -> String {
    let lines = tail
        .lock()
        .map(|t| t.iter().cloned().collect::<Vec<_>>())
        .unwrap_or_default();
    if lines.is_empty() {
        String::new()
    } else {
        format!(" (stderr: {})", lines.join(" | "))
    }
}

fn truncate(mut line: String, max: usize) -> String {
    if line.len() > max {
        let mut cut = max;
        while !line.is_char_boundary(cut) {
            cut -= 1;
        }
        line.truncate(cut);
        line.push('…');
    }
    line
}

async fn start_stdio(
    name: &str,
    cfg: &StdioConfig,
    policy: &McpPolicy,
) -> Result<Session, McpError> {
    policy
        .allowed_commands
        .check(&cfg.command)
        .map_err(|message| McpError::NotAllowed {
            server: name.to_owned(),
            message,
        })?;
    if let Some(cwd) = &cfg.cwd
        && !std::path::Path::new(cwd).is_dir()
    {
        return Err(McpError::Config {
            server: name.to_owned(),
            message: format!("config_json.cwd '{cwd}' is not a directory"),
        });
    }
    let mut command = tokio::process::Command::new(&cfg.command);
    command
        .args(&cfg.args)
        .env_clear()
        .envs(policy.child_env(&cfg.env));
    if let Some(cwd) = &cfg.cwd {
        command.current_dir(cwd);
    }
    let mut wrapped = CommandWrap::from(command);
    wrapped.wrap(ProcessGroup::leader()).wrap(KillOnDrop);
    let (child, stderr) = TokioChildProcess::builder(wrapped)
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| McpError::Start {
            server: name.to_owned(),
            message: if e.kind() == std::io::ErrorKind::NotFound {
                format!("the command '{}' was not found", cfg.command)
            } else {
                format!("starting '{}' failed: {e}", cfg.command)
            },
        })?;
    let pid = child.id();
    let tail: StderrTail = Arc::new(Mutex::new(VecDeque::new()));
    if let Some(stderr) = stderr {
        let server = name.to_owned();
        let tail = tail.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let line = truncate(line, STDERR_LINE_MAX);
                tracing::info!(target: "fustat::mcp::stderr", mcp_server = %server, "{line}");
                if let Ok(mut t) = tail.lock() {
                    if t.len() == STDERR_TAIL_LINES {
                        t.pop_front();
                    }
                    t.push_back(truncate(line, 300));
                }
            }
        });
    }
    let service = match handshake(name, policy, child).await? {
        Err(e) => {
            // Give the child a moment to explain itself on stderr.
            tokio::time::sleep(Duration::from_millis(100)).await;
            return Err(McpError::Handshake {
                server: name.to_owned(),
                message: format!("{e}{}", tail_text(&tail)),
            });
        }
        Ok(service) => service,
    };
    tracing::info!(mcp_server = %name, pid = ?pid, "MCP server started");
    Ok(Session::over(name, service, pid))
}

async fn start_http(name: &str, cfg: &HttpConfig, policy: &McpPolicy) -> Result<Session, McpError> {
    let url = url::Url::parse(&cfg.url).map_err(|e| McpError::Config {
        server: name.to_owned(),
        message: format!("config_json.url is not a valid URL: {e}"),
    })?;
    policy
        .network
        .check_url(&url)
        .await
        .map_err(|message| McpError::NotAllowed {
            server: name.to_owned(),
            message: format!("config_json.url: {message}"),
        })?;
    let mut config = StreamableHttpClientTransportConfig::with_uri(cfg.url.clone());
    let mut headers = HashMap::new();
    for (key, value) in &cfg.headers {
        if key.eq_ignore_ascii_case("authorization") {
            let token = value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
                .unwrap_or(value);
            config = config.auth_header(token.to_owned());
            continue;
        }
        let header_name =
            reqwest::header::HeaderName::from_bytes(key.as_bytes()).map_err(|_| {
                McpError::Config {
                    server: name.to_owned(),
                    message: format!("config_json.headers: '{key}' is not a valid header name"),
                }
            })?;
        let header_value =
            reqwest::header::HeaderValue::from_str(value).map_err(|_| McpError::Config {
                server: name.to_owned(),
                message: format!(
                    "config_json.headers: the value of '{key}' is not a valid header value"
                ),
            })?;
        headers.insert(header_name, header_value);
    }
    config = config.custom_headers(headers);
    fustat_runtime::openai::ensure_crypto_provider();
    let mut client = reqwest::Client::builder().connect_timeout(Duration::from_secs(10));
    if let Some(secs) = cfg.timeout {
        client = client.read_timeout(Duration::from_secs_f64(secs.max(1.0)));
    }
    let client = client.build().map_err(|e| McpError::Start {
        server: name.to_owned(),
        message: format!("building the HTTP client failed: {e}"),
    })?;
    let transport = StreamableHttpClientTransport::with_client(client, config);
    let service = match handshake(name, policy, transport).await? {
        Err(e) => {
            let message = e.to_string();
            return Err(match e {
                rmcp::service::ClientInitializeError::TransportError { .. }
                | rmcp::service::ClientInitializeError::ConnectionClosed(_) => McpError::Start {
                    server: name.to_owned(),
                    message: format!("{} could not be reached: {message}", cfg.url),
                },
                _ => McpError::Handshake {
                    server: name.to_owned(),
                    message,
                },
            });
        }
        Ok(service) => service,
    };
    tracing::info!(mcp_server = %name, "MCP server connected");
    Ok(Session::over(name, service, None))
}

/// Runs the MCP handshake over `transport` within the policy's start timeout. The outer
/// error is the timeout; the inner one the handshake's own failure, which each transport
/// words for itself.
async fn handshake<T, E, A>(
    name: &str,
    policy: &McpPolicy,
    transport: T,
) -> Result<
    Result<RunningService<RoleClient, Handler>, rmcp::service::ClientInitializeError>,
    McpError,
>
where
    T: rmcp::transport::IntoTransport<RoleClient, E, A>,
    E: std::error::Error + Send + Sync + 'static,
{
    let handler = Handler {
        server: name.to_owned(),
        tools_changed: Arc::new(AtomicBool::new(false)),
    };
    tokio::time::timeout(policy.start_timeout, handler.serve(transport))
        .await
        .map_err(|_| McpError::Timeout {
            server: name.to_owned(),
            what: "the MCP handshake".into(),
            after: policy.start_timeout,
        })
}
