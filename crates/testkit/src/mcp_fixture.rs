//! A small MCP server for tests and benchmarks, over stdio (the `fixture-mcp` binary)
//! and streamable HTTP ([`McpHttpFixture`]).
//!
//! Tools: `echo {text}`, `add {a, b}` (text and structured), `sleep {seconds}`,
//! `fail` (an `isError` result), `image` (image content), `env {name}` (a variable of the
//! server's environment, or `<unset>`), `pid` (the server's process id), `crash` (the
//! process exits mid-call), `grow` (adds the tool `extra` and announces the change).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, JsonObject,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

/// The fixture server's state (one per session).
#[derive(Clone, Default)]
pub struct FixtureServer {
    grown: Arc<AtomicBool>,
}

fn schema(v: Value) -> Arc<JsonObject> {
    match v {
        Value::Object(map) => Arc::new(map),
        _ => Arc::new(JsonObject::new()),
    }
}

impl FixtureServer {
    fn tool_list(&self) -> Vec<Tool> {
        let mut tools = vec![
            Tool::new(
                "echo",
                "Echoes the text back",
                schema(
                    json!({"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}),
                ),
            ),
            Tool::new(
                "add",
                "Adds two numbers",
                schema(
                    json!({"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}, "required": ["a", "b"]}),
                ),
            ),
            Tool::new(
                "sleep",
                "Sleeps for a number of seconds",
                schema(json!({"type": "object", "properties": {"seconds": {"type": "number"}}})),
            ),
            Tool::new(
                "fail",
                "Always fails",
                schema(json!({"type": "object", "properties": {}})),
            ),
            Tool::new(
                "image",
                "Returns a tiny image",
                schema(json!({"type": "object", "properties": {}})),
            ),
            Tool::new(
                "env",
                "Reads an environment variable of the server",
                schema(
                    json!({"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}),
                ),
            ),
            Tool::new(
                "pid",
                "The server's process id",
                schema(json!({"type": "object", "properties": {}})),
            ),
            Tool::new(
                "crash",
                "Exits the server process",
                schema(json!({"type": "object", "properties": {}})),
            ),
            Tool::new(
                "grow",
                "Adds the tool 'extra'",
                schema(json!({"type": "object", "properties": {}})),
            ),
        ];
        if self.grown.load(Ordering::SeqCst) {
            tools.push(Tool::new(
                "extra",
                "Appears after grow",
                schema(json!({"type": "object", "properties": {}})),
            ));
        }
        tools
    }
}

fn arg<'a>(args: &'a Option<JsonObject>, name: &str) -> Option<&'a Value> {
    args.as_ref().and_then(|a| a.get(name))
}

impl ServerHandler for FixtureServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_tool_list_changed()
                .build(),
        )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.tool_list()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let args = &request.arguments;
        let result = match request.name.as_ref() {
            "echo" => {
                let text = arg(args, "text")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                CallToolResult::success(vec![ContentBlock::text(text)])
            }
            "add" => {
                let a = arg(args, "a").and_then(Value::as_f64);
                let b = arg(args, "b").and_then(Value::as_f64);
                let (Some(a), Some(b)) = (a, b) else {
                    return Err(ErrorData::invalid_params("a and b must be numbers", None));
                };
                let mut r = CallToolResult::success(vec![ContentBlock::text(format!("{}", a + b))]);
                r.structured_content = Some(json!({"sum": a + b}));
                r
            }
            "sleep" => {
                let secs = arg(args, "seconds").and_then(Value::as_f64).unwrap_or(1.0);
                tokio::time::sleep(Duration::from_secs_f64(secs.clamp(0.0, 3600.0))).await;
                CallToolResult::success(vec![ContentBlock::text("slept")])
            }
            "fail" => {
                CallToolResult::error(vec![ContentBlock::text("the fixture failed on purpose")])
            }
            "image" => {
                CallToolResult::success(vec![ContentBlock::image("iVBORw0KGgo=", "image/png")])
            }
            "env" => {
                let name = arg(args, "name")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let value = std::env::var(name).unwrap_or_else(|_| "<unset>".into());
                CallToolResult::success(vec![ContentBlock::text(value)])
            }
            "pid" => {
                CallToolResult::success(vec![ContentBlock::text(std::process::id().to_string())])
            }
            "crash" => std::process::exit(3),
            "grow" => {
                self.grown.store(true, Ordering::SeqCst);
                let _ = context.peer.notify_tool_list_changed().await;
                CallToolResult::success(vec![ContentBlock::text("grown")])
            }
            "extra" if self.grown.load(Ordering::SeqCst) => {
                CallToolResult::success(vec![ContentBlock::text("extra")])
            }
            other => {
                return Err(ErrorData::invalid_params(
                    format!("unknown tool '{other}'"),
                    None,
                ));
            }
        };
        Ok(CallToolResponse::Complete(result))
    }
}

/// Serves the fixture over stdin/stdout until the client closes the connection.
pub async fn serve_stdio() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let service = FixtureServer::default()
        .serve(rmcp::transport::stdio())
        .await?;
    service.waiting().await?;
    Ok(())
}

/// The fixture served over streamable HTTP on a local port; stops when dropped.
pub struct McpHttpFixture {
    url: String,
    stop: CancellationToken,
}

impl McpHttpFixture {
    /// Serves the fixture on `127.0.0.1:port` (0 picks a free port) at `/mcp`.
    pub async fn start_on(port: u16) -> std::io::Result<Self> {
        let stop = CancellationToken::new();
        let mut config = StreamableHttpServerConfig::default();
        config.cancellation_token = stop.child_token();
        let service = StreamableHttpService::new(
            || Ok(FixtureServer::default()),
            Arc::new(LocalSessionManager::default()),
            config,
        );
        let router = axum::Router::new().nest_service("/mcp", service);
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let shutdown = stop.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async move { shutdown.cancelled_owned().await })
                .await;
        });
        Ok(McpHttpFixture {
            url: format!("http://{addr}/mcp"),
            stop,
        })
    }

    /// Serves the fixture on a free local port.
    pub async fn start() -> std::io::Result<Self> {
        Self::start_on(0).await
    }

    /// The endpoint URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Stops serving.
    pub fn stop(&self) {
        self.stop.cancel();
    }
}

impl Drop for McpHttpFixture {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// The path of the `fixture-mcp` binary, building it first when it is missing (tests of
/// other crates do not build the test kit's binaries on their own).
pub fn fixture_mcp_path() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let exe = std::env::current_exe().expect("the test executable's path");
        // target/<profile>/deps/<test> → target/<profile>
        let dir = exe
            .parent()
            .and_then(|p| p.parent())
            .expect("a target directory")
            .to_path_buf();
        let bin = dir.join("fixture-mcp");
        if !bin.exists() {
            let mut build = std::process::Command::new(env!("CARGO"));
            build.args(["build", "-p", "fustat-testkit", "--bin", "fixture-mcp"]);
            if dir.file_name().is_some_and(|n| n == "release") {
                build.arg("--release");
            }
            let status = build.status().expect("cargo runs");
            assert!(status.success(), "building fixture-mcp failed");
        }
        bin
    })
    .clone()
}

/// Where `scripts/install-mcp-fixtures.sh` put the public reference MCP servers.
#[derive(Debug, Clone)]
pub struct ReferenceServers {
    /// `@modelcontextprotocol/server-everything`'s entry point (run with `node`).
    pub everything_js: PathBuf,
    /// The `mcp-server-time` executable (PyPI).
    pub time_bin: PathBuf,
}

/// The reference MCP servers, or None (with a note) when they are not installed. With
/// `FUSTAT_REQUIRE_REFERENCE_MCP=1` (as CI sets it) a missing install fails the test.
pub fn reference_servers() -> Option<ReferenceServers> {
    let dir = std::env::var_os("FUSTAT_MCP_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/mcp-fixtures")
        });
    let found = ReferenceServers {
        everything_js: dir
            .join("npm/node_modules/@modelcontextprotocol/server-everything/dist/index.js"),
        time_bin: dir.join("venv/bin/mcp-server-time"),
    };
    if found.everything_js.is_file() && found.time_bin.is_file() {
        return Some(found);
    }
    if std::env::var("FUSTAT_REQUIRE_REFERENCE_MCP").as_deref() == Ok("1") {
        panic!(
            "the reference MCP servers are not installed in {}: run scripts/install-mcp-fixtures.sh",
            dir.display()
        );
    }
    eprintln!(
        "note: reference MCP servers not installed (scripts/install-mcp-fixtures.sh); skipping"
    );
    None
}
