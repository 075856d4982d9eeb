//! The session pool: one live session per configured server, shared by every run.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fustat_domain::McpServer;
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::error::McpError;
use crate::policy::McpPolicy;
use crate::session::{CallFailure, McpToolInfo, Session};

/// A pool of MCP sessions, one per configured server, started on first use and shared by
/// all runs and conversations. Cheap to clone.
///
/// - A session whose server crashed or disconnected is restarted on next use.
/// - A server whose configuration changed gets a new session (the old one is closed).
/// - [`McpPool::invalidate`] closes a server's session (its configuration was edited or
///   deleted); [`McpPool::shutdown`] closes every session and reaps every child.
#[derive(Clone, Debug)]
pub struct McpPool {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    policy: McpPolicy,
    slots: Mutex<HashMap<Uuid, Arc<Slot>>>,
    descriptions: Mutex<HashMap<Uuid, HashMap<String, String>>>,
    shutting_down: AtomicBool,
}

#[derive(Debug)]
struct Slot {
    fingerprint: String,
    session: tokio::sync::Mutex<Option<Arc<Session>>>,
}

/// What a tool call returned, or why it failed.
pub type CallResult = Result<rmcp::model::CallToolResult, crate::ToolCallError>;

impl McpPool {
    /// An empty pool under `policy`.
    pub fn new(policy: McpPolicy) -> Self {
        McpPool {
            inner: Arc::new(Inner {
                policy,
                slots: Mutex::new(HashMap::new()),
                descriptions: Mutex::new(HashMap::new()),
                shutting_down: AtomicBool::new(false),
            }),
        }
    }

    /// The pool's policy.
    pub fn policy(&self) -> &McpPolicy {
        &self.inner.policy
    }

    /// Checks what can be checked without starting `server`: its configuration parses and
    /// the policy allows its command or URL.
    pub async fn check(&self, server: &McpServer) -> Result<(), McpError> {
        let connection = server.connection().map_err(|message| McpError::Config {
            server: server.name.clone(),
            message,
        })?;
        match connection {
            fustat_domain::mcp::McpConnection::Stdio(cfg) => self
                .inner
                .policy
                .allowed_commands
                .check(&cfg.command)
                .map_err(|message| McpError::NotAllowed {
                    server: server.name.clone(),
                    message: format!("config_json.command: {message}"),
                }),
            fustat_domain::mcp::McpConnection::StreamableHttp(cfg)
            | fustat_domain::mcp::McpConnection::Sse(cfg) => {
                let url = url::Url::parse(&cfg.url).map_err(|e| McpError::Config {
                    server: server.name.clone(),
                    message: format!("config_json.url is not a valid URL: {e}"),
                })?;
                self.inner
                    .policy
                    .network
                    .check_url(&url)
                    .await
                    .map_err(|message| McpError::NotAllowed {
                        server: server.name.clone(),
                        message: format!("config_json.url: {message}"),
                    })
            }
        }
    }

    /// The live session of `server`, started (or restarted) when needed.
    async fn session(&self, server: &McpServer) -> Result<Arc<Session>, McpError> {
        if self.inner.shutting_down.load(Ordering::SeqCst) {
            return Err(McpError::ShuttingDown);
        }
        let fingerprint = format!("{}|{}", server.transport, server.config_json);
        let (slot, replaced) = {
            let mut slots = self
                .inner
                .slots
                .lock()
                .map_err(|_| McpError::ShuttingDown)?;
            match slots.get(&server.id) {
                Some(slot) if slot.fingerprint == fingerprint => (slot.clone(), None),
                existing => {
                    let replaced = existing.cloned();
                    let slot = Arc::new(Slot {
                        fingerprint,
                        session: tokio::sync::Mutex::new(None),
                    });
                    slots.insert(server.id, slot.clone());
                    (slot, replaced)
                }
            }
        };
        if let Some(old) = replaced {
            tracing::info!(mcp_server = %server.name, "the MCP server's configuration changed; restarting its session");
            tokio::spawn(close_slot(old));
        }
        let mut guard = slot.session.lock().await;
        if let Some(session) = guard.as_ref() {
            if session.is_alive() {
                return Ok(session.clone());
            }
            tracing::warn!(mcp_server = %server.name, "the MCP server's session ended; starting it again");
            let dead = session.clone();
            dead.close().await;
            *guard = None;
        }
        let session = Arc::new(Session::start(server, &self.inner.policy).await?);
        if self.inner.shutting_down.load(Ordering::SeqCst) {
            session.close().await;
            return Err(McpError::ShuttingDown);
        }
        *guard = Some(session.clone());
        Ok(session)
    }

    /// The tools `server` offers now (from the session's cache unless the server announced
    /// a change). Starts the server when it is not running.
    pub async fn tools(&self, server: &McpServer) -> Result<Arc<Vec<McpToolInfo>>, McpError> {
        let session = self.session(server).await?;
        let tools = session.tools(self.inner.policy.list_timeout).await?;
        self.note_descriptions(server, &tools);
        Ok(tools)
    }

    /// Logs tools whose description changed since the server last listed them (a server
    /// that rewrites what it tells the model deserves an operator's look).
    fn note_descriptions(&self, server: &McpServer, tools: &[McpToolInfo]) {
        let Ok(mut known) = self.inner.descriptions.lock() else {
            return;
        };
        let seen = known.entry(server.id).or_default();
        for tool in tools {
            match seen.get(&tool.name) {
                Some(before) if before != &tool.description => {
                    tracing::warn!(
                        mcp_server = %server.name,
                        tool = %tool.name,
                        before = %before,
                        after = %tool.description,
                        "an MCP tool's description changed"
                    );
                }
                _ => {}
            }
            seen.insert(tool.name.clone(), tool.description.clone());
        }
    }

    /// The process id of `server`'s child, when it runs as one.
    pub async fn pid(&self, server_id: Uuid) -> Option<u32> {
        let slot = self.inner.slots.lock().ok()?.get(&server_id).cloned()?;
        let guard = slot.session.lock().await;
        guard.as_ref().and_then(|s| s.pid())
    }

    /// Calls tool `tool` of `server` once, within `timeout` (the policy's call timeout
    /// when None). A call whose connection breaks is reported and never resent: the tool
    /// may have run.
    pub async fn call(
        &self,
        server: &McpServer,
        tool: &str,
        args: Value,
        timeout: Option<Duration>,
        cancel: &CancellationToken,
    ) -> CallResult {
        let session = self
            .session(server)
            .await
            .map_err(crate::ToolCallError::Unavailable)?;
        let timeout = timeout.unwrap_or(self.inner.policy.call_timeout);
        session
            .call(tool, args, timeout, cancel)
            .await
            .map_err(|failure| match failure {
                CallFailure::Rejected(m) => crate::ToolCallError::Rejected(m),
                CallFailure::TimedOut(d) => crate::ToolCallError::TimedOut(d),
                CallFailure::ConnectionLost(m) => crate::ToolCallError::ConnectionLost(m),
                CallFailure::Cancelled => crate::ToolCallError::Cancelled,
            })
    }

    /// Closes the session of server `id` (its configuration was edited or deleted). The
    /// next use starts a new one.
    pub async fn invalidate(&self, id: Uuid) {
        let slot = self.inner.slots.lock().ok().and_then(|mut s| s.remove(&id));
        if let Some(slot) = slot {
            close_slot(slot).await;
        }
        if let Ok(mut known) = self.inner.descriptions.lock() {
            known.remove(&id);
        }
    }

    /// The number of live sessions.
    pub async fn live_sessions(&self) -> usize {
        let slots: Vec<Arc<Slot>> = match self.inner.slots.lock() {
            Ok(s) => s.values().cloned().collect(),
            Err(_) => return 0,
        };
        let mut n = 0;
        for slot in slots {
            if slot
                .session
                .lock()
                .await
                .as_ref()
                .is_some_and(|s| s.is_alive())
            {
                n += 1;
            }
        }
        n
    }

    /// Closes every session and stops and reaps every child process. Later uses fail with
    /// [`McpError::ShuttingDown`].
    pub async fn shutdown(&self) {
        self.inner.shutting_down.store(true, Ordering::SeqCst);
        let slots: Vec<Arc<Slot>> = match self.inner.slots.lock() {
            Ok(mut s) => s.drain().map(|(_, v)| v).collect(),
            Err(_) => return,
        };
        futures::future::join_all(slots.into_iter().map(close_slot)).await;
    }
}

async fn close_slot(slot: Arc<Slot>) {
    let session = slot.session.lock().await.take();
    if let Some(session) = session {
        session.close().await;
    }
}
