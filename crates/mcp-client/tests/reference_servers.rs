//! The pool against the public reference MCP servers: `@modelcontextprotocol/server-everything`
//! (stdio and streamable HTTP, Node.js) and `mcp-server-time` (stdio, Python).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::server;

use fustat_domain::mcp::McpTransport;
use fustat_mcp_client::{CommandAllowlist, McpPolicy, McpPool, to_output};
use fustat_testkit::mcp_fixture::reference_servers;
use serde_json::json;
use tokio_util::sync::CancellationToken;

fn pool(extra: &str) -> McpPool {
    McpPool::new(McpPolicy {
        allowed_commands: CommandAllowlist::new(["node".to_owned(), extra.to_owned()]),
        start_timeout: Duration::from_secs(60),
        ..McpPolicy::default()
    })
}

#[tokio::test]
async fn server_everything_over_stdio() {
    let Some(refs) = reference_servers() else {
        return;
    };
    let pool = pool("node");
    let s = server(
        "everything",
        McpTransport::Stdio,
        json!({"command": "node", "args": [refs.everything_js, "stdio"]}),
    );
    let tools = pool.tools(&s).await.unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
    assert!(
        names.contains(&"echo") && names.contains(&"get-sum"),
        "{names:?}"
    );
    let cancel = CancellationToken::new();
    let echo = pool
        .call(&s, "echo", json!({"message": "hello"}), None, &cancel)
        .await
        .unwrap();
    assert_eq!(to_output(&echo).content, "Echo: hello");
    let sum = pool
        .call(&s, "get-sum", json!({"a": 2, "b": 40}), None, &cancel)
        .await
        .unwrap();
    assert!(to_output(&sum).content.contains("42"), "{sum:?}");
    let image = pool
        .call(&s, "get-tiny-image", json!({}), None, &cancel)
        .await
        .unwrap();
    let out = to_output(&image);
    assert!(
        out.content.contains("[image content: image/png"),
        "{}",
        out.content
    );
    pool.shutdown().await;
}

#[tokio::test]
async fn server_everything_over_streamable_http() {
    let Some(refs) = reference_servers() else {
        return;
    };
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut child = tokio::process::Command::new("node")
        .arg(&refs.everything_js)
        .arg("streamableHttp")
        .env("PORT", port.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}/mcp");
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let pool = pool("node");
    let s = server(
        "everything-http",
        McpTransport::StreamableHttp,
        json!({"url": url}),
    );
    let tools = pool.tools(&s).await.unwrap();
    assert!(tools.iter().any(|t| t.name == "echo"));
    let echo = pool
        .call(
            &s,
            "echo",
            json!({"message": "over http"}),
            None,
            &CancellationToken::new(),
        )
        .await
        .unwrap();
    assert_eq!(to_output(&echo).content, "Echo: over http");
    pool.shutdown().await;
    child.kill().await.unwrap();
}

#[tokio::test]
async fn mcp_server_time_over_stdio() {
    let Some(refs) = reference_servers() else {
        return;
    };
    let bin = refs.time_bin.to_string_lossy().into_owned();
    let pool = pool(&bin);
    let s = server(
        "time",
        McpTransport::Stdio,
        json!({"command": bin, "args": ["--local-timezone", "UTC"]}),
    );
    let tools = pool.tools(&s).await.unwrap();
    assert!(
        tools.iter().any(|t| t.name == "get_current_time"),
        "{tools:?}"
    );
    let now = pool
        .call(
            &s,
            "get_current_time",
            json!({"timezone": "UTC"}),
            None,
            &CancellationToken::new(),
        )
        .await
        .unwrap();
    let out = to_output(&now);
    assert!(!out.is_error, "{}", out.content);
    assert!(
        out.content.contains("UTC") && out.content.contains("datetime"),
        "{}",
        out.content
    );
    pool.shutdown().await;
}
