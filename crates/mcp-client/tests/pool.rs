//! The session pool against real MCP servers: the test kit's fixture over stdio and
//! streamable HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::server;
use fustat_domain::McpServer;
use fustat_domain::mcp::McpTransport;
use fustat_mcp_client::{
    CommandAllowlist, McpError, McpPolicy, McpPool, McpToolProvider, ToolCallError,
};
use fustat_runtime::net::NetworkPolicy;
use fustat_runtime::tool::ToolProvider;
use fustat_testkit::mcp_fixture::{McpHttpFixture, fixture_mcp_path};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

fn fixture(name: &str) -> McpServer {
    fixture_with_env(name, BTreeMap::new())
}

fn fixture_with_env(name: &str, env: BTreeMap<String, String>) -> McpServer {
    let path = fixture_mcp_path();
    server(
        name,
        McpTransport::Stdio,
        json!({"command": path.to_string_lossy(), "args": [], "env": env}),
    )
}

fn policy() -> McpPolicy {
    McpPolicy {
        allowed_commands: CommandAllowlist::new([fixture_mcp_path()
            .to_string_lossy()
            .into_owned()]),
        start_timeout: Duration::from_secs(20),
        ..McpPolicy::default()
    }
}

fn text(result: &rmcp::model::CallToolResult) -> String {
    fustat_mcp_client::to_output(result).content
}

async fn call(
    pool: &McpPool,
    s: &McpServer,
    tool: &str,
    args: Value,
) -> Result<String, ToolCallError> {
    pool.call(s, tool, args, None, &CancellationToken::new())
        .await
        .map(|r| text(&r))
}

fn process_gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // A zombie still has an entry: state Z. It must not linger either.
        Ok(stat) => stat.split_whitespace().nth(2) == Some("X"),
    }
}

async fn wait_gone(pid: u32) -> bool {
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if process_gone(pid) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test]
async fn stdio_tools_list_and_call() {
    let pool = McpPool::new(policy());
    let s = fixture("fixture");
    let tools = pool.tools(&s).await.unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
    assert!(
        names.contains(&"echo") && names.contains(&"add"),
        "{names:?}"
    );
    let echo = tools.iter().find(|t| t.name == "echo").unwrap();
    assert_eq!(echo.description, "Echoes the text back");
    assert_eq!(echo.input_schema["required"], json!(["text"]));

    assert_eq!(
        call(&pool, &s, "echo", json!({"text": "hi"}))
            .await
            .unwrap(),
        "hi"
    );
    let add = pool
        .call(
            &s,
            "add",
            json!({"a": 2, "b": 3}),
            None,
            &CancellationToken::new(),
        )
        .await
        .unwrap();
    let out = fustat_mcp_client::to_output(&add);
    assert_eq!(out.content, "5");
    assert_eq!(out.structured, Some(json!({"sum": 5.0})));

    let fail = pool
        .call(&s, "fail", json!({}), None, &CancellationToken::new())
        .await
        .unwrap();
    let out = fustat_mcp_client::to_output(&fail);
    assert!(out.is_error && out.content.contains("on purpose"));
    let image = call(&pool, &s, "image", json!({})).await.unwrap();
    assert!(image.starts_with("[image content: image/png"), "{image}");
    let err = call(&pool, &s, "add", json!({"a": "x"})).await.unwrap_err();
    assert!(
        matches!(err, ToolCallError::Rejected(ref m) if m.contains("numbers")),
        "{err}"
    );
    let err = call(&pool, &s, "echo", json!([1])).await.unwrap_err();
    assert!(matches!(err, ToolCallError::Rejected(_)), "{err}");

    // One session serves every call.
    let pid = pool.pid(s.id).await.unwrap();
    call(&pool, &s, "echo", json!({"text": "again"}))
        .await
        .unwrap();
    assert_eq!(pool.pid(s.id).await, Some(pid));
    assert_eq!(pool.live_sessions().await, 1);
    pool.shutdown().await;
    assert!(wait_gone(pid).await, "the child {pid} outlived the pool");
}

#[tokio::test]
async fn children_get_only_declared_and_base_environment() {
    // SAFETY-free: set_var is unsafe in edition 2024, so use a variable the test runner
    // always has instead: CARGO is set for every test process and is not in the base.
    assert!(std::env::var("CARGO").is_ok());
    let pool = McpPool::new(policy());
    let s = fixture_with_env(
        "env",
        BTreeMap::from([("GREETING".to_owned(), "hello".to_owned())]),
    );
    assert_eq!(
        call(&pool, &s, "env", json!({"name": "GREETING"}))
            .await
            .unwrap(),
        "hello"
    );
    assert_eq!(
        call(&pool, &s, "env", json!({"name": "CARGO"}))
            .await
            .unwrap(),
        "<unset>"
    );
    assert_ne!(
        call(&pool, &s, "env", json!({"name": "PATH"}))
            .await
            .unwrap(),
        "<unset>"
    );
    pool.shutdown().await;
}

#[tokio::test]
async fn a_crashed_server_is_restarted_on_next_use_and_the_call_is_not_replayed() {
    let pool = McpPool::new(policy());
    let s = fixture("crashy");
    let first: u32 = call(&pool, &s, "pid", json!({}))
        .await
        .unwrap()
        .parse()
        .unwrap();
    let err = call(&pool, &s, "crash", json!({})).await.unwrap_err();
    assert!(matches!(err, ToolCallError::ConnectionLost(_)), "{err}");
    assert!(err.to_string().contains("not retried"), "{err}");
    assert!(wait_gone(first).await, "the crashed child was not reaped");
    let second: u32 = call(&pool, &s, "pid", json!({}))
        .await
        .unwrap()
        .parse()
        .unwrap();
    assert_ne!(first, second);
    pool.shutdown().await;
    assert!(wait_gone(second).await);
}

#[tokio::test]
async fn a_hung_tool_hits_its_timeout_and_the_session_survives() {
    let pool = McpPool::new(McpPolicy {
        call_timeout: Duration::from_millis(300),
        ..policy()
    });
    let s = fixture("slow");
    call(&pool, &s, "echo", json!({"text": "warm"}))
        .await
        .unwrap();
    let started = Instant::now();
    let err = call(&pool, &s, "sleep", json!({"seconds": 30}))
        .await
        .unwrap_err();
    assert!(matches!(err, ToolCallError::TimedOut(_)), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(
        call(&pool, &s, "echo", json!({"text": "still here"}))
            .await
            .unwrap(),
        "still here"
    );

    // Cancellation stops a call at once too.
    let cancel = CancellationToken::new();
    let c = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        c.cancel();
    });
    let started = Instant::now();
    let err = pool
        .call(
            &s,
            "sleep",
            json!({"seconds": 30}),
            Some(Duration::from_secs(60)),
            &cancel,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ToolCallError::Cancelled), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
    pool.shutdown().await;
}

#[tokio::test]
async fn a_changed_tool_list_is_fetched_again() {
    let pool = McpPool::new(policy());
    let s = fixture("growing");
    assert!(
        !pool
            .tools(&s)
            .await
            .unwrap()
            .iter()
            .any(|t| t.name == "extra")
    );
    call(&pool, &s, "grow", json!({})).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if pool
            .tools(&s)
            .await
            .unwrap()
            .iter()
            .any(|t| t.name == "extra")
        {
            break;
        }
        assert!(Instant::now() < deadline, "the new tool never appeared");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    pool.shutdown().await;
}

#[tokio::test]
async fn edited_and_deleted_servers_get_new_sessions() {
    let pool = McpPool::new(policy());
    let mut s = fixture("edited");
    let first = pool.pid(s.id).await;
    assert!(first.is_none());
    pool.tools(&s).await.unwrap();
    let first = pool.pid(s.id).await.unwrap();
    // The configuration changes: the next use starts a new child, the old one is stopped.
    s.config_json["env"] = json!({"V": "2"});
    assert_eq!(
        call(&pool, &s, "env", json!({"name": "V"})).await.unwrap(),
        "2"
    );
    let second = pool.pid(s.id).await.unwrap();
    assert_ne!(first, second);
    assert!(wait_gone(first).await);
    // Invalidation (the server was deleted) closes it.
    pool.invalidate(s.id).await;
    assert!(wait_gone(second).await);
    assert_eq!(pool.live_sessions().await, 0);
    pool.shutdown().await;
    let err = pool.tools(&s).await.unwrap_err();
    assert_eq!(err, McpError::ShuttingDown);
}

#[tokio::test]
async fn servers_that_cannot_start_fail_clearly_and_fast() {
    let pool = McpPool::new(McpPolicy {
        allowed_commands: CommandAllowlist::new(["definitely-not-a-command-xyz", "false", "sleep"]),
        start_timeout: Duration::from_secs(1),
        ..McpPolicy::default()
    });
    let refused = server(
        "shell",
        McpTransport::Stdio,
        json!({"command": "bash", "args": ["-c", "id"]}),
    );
    let err = pool.tools(&refused).await.unwrap_err();
    assert!(err.is_config_problem(), "{err}");
    assert!(err.to_string().contains("allowlist"), "{err}");
    assert!(pool.check(&refused).await.is_err());

    let missing = server(
        "missing",
        McpTransport::Stdio,
        json!({"command": "definitely-not-a-command-xyz"}),
    );
    let err = pool.tools(&missing).await.unwrap_err();
    assert!(err.to_string().contains("was not found"), "{err}");

    let exits = server("exits", McpTransport::Stdio, json!({"command": "false"}));
    let err = pool.tools(&exits).await.unwrap_err();
    assert!(matches!(err, McpError::Handshake { .. }), "{err}");

    let silent = server(
        "silent",
        McpTransport::Stdio,
        json!({"command": "sleep", "args": ["30"]}),
    );
    let started = Instant::now();
    let err = pool.tools(&silent).await.unwrap_err();
    assert!(err.is_timeout(), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));

    let sse = server(
        "legacy",
        McpTransport::Sse,
        json!({"url": "http://127.0.0.1:9/sse"}),
    );
    let err = pool.tools(&sse).await.unwrap_err();
    assert!(
        err.is_config_problem() && err.to_string().contains("streamable-http"),
        "{err}"
    );

    let closed = server(
        "closed",
        McpTransport::StreamableHttp,
        json!({"url": "http://127.0.0.1:9/mcp"}),
    );
    let err = pool.tools(&closed).await.unwrap_err();
    assert!(matches!(err, McpError::Start { .. }), "{err}");
    pool.shutdown().await;
}

#[tokio::test]
async fn streamable_http_servers_work_and_private_addresses_can_be_denied() {
    let http = McpHttpFixture::start().await.unwrap();
    let pool = McpPool::new(policy());
    let s = server(
        "remote",
        McpTransport::StreamableHttp,
        json!({"url": http.url(), "headers": {"Authorization": "Bearer t0ken", "X-Team": "a"}, "timeout": 5}),
    );
    let tools = pool.tools(&s).await.unwrap();
    assert!(tools.iter().any(|t| t.name == "add"));
    assert_eq!(
        call(&pool, &s, "add", json!({"a": 1, "b": 1}))
            .await
            .unwrap(),
        "2"
    );
    pool.shutdown().await;

    let guarded = McpPool::new(McpPolicy {
        network: NetworkPolicy::deny_private(),
        ..policy()
    });
    let err = guarded.tools(&s).await.unwrap_err();
    assert!(matches!(err, McpError::NotAllowed { .. }), "{err}");
    assert!(err.to_string().contains("private"), "{err}");
}

#[tokio::test]
async fn clashing_tool_names_are_qualified_by_server() {
    let pool = McpPool::new(policy());
    let a = fixture("alpha");
    let b = fixture("beta.tools");
    let provider = McpToolProvider::new(pool.clone(), vec![a, b]);
    let tools = provider.tools().await.unwrap();
    let names: Vec<String> = tools.iter().map(|t| t.spec().name.clone()).collect();
    assert!(names.contains(&"alpha__echo".to_owned()), "{names:?}");
    assert!(names.contains(&"beta_tools__echo".to_owned()), "{names:?}");
    assert!(!names.contains(&"echo".to_owned()));
    let echo = tools
        .iter()
        .find(|t| t.spec().name == "beta_tools__echo")
        .unwrap();
    assert!(echo.spec().description.starts_with("[beta.tools: echo]"));
    assert_eq!(echo.source(), Some("beta.tools"));
    let out = echo
        .call(
            json!({"text": "via beta"}),
            fustat_runtime::tool::ToolContext {
                thread_id: "t".into(),
                run_id: "r".into(),
                call_id: "c".into(),
                agent: "a".into(),
                cancel: CancellationToken::new(),
            },
        )
        .await
        .unwrap();
    assert_eq!(out.content, "via beta");
    pool.shutdown().await;
}
