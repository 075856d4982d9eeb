//! S5: MCP tool calls through the session pool against the test kit's fixture server over
//! stdio: warm calls on one live session, and a fresh client per call (spawn, handshake,
//! call, stop; the stop is not counted).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use fustat_domain::McpServer;
use fustat_domain::audit::Audit;
use fustat_domain::mcp::{McpMode, McpTransport};
use fustat_mcp_client::{CommandAllowlist, McpPolicy, McpPool};
use serde_json::json;
use tokio_util::sync::CancellationToken;

/// The two measurements, in milliseconds per call.
#[derive(Debug, Clone)]
pub struct McpLatency {
    /// Calls on the warm session.
    pub warm_ms: Vec<f64>,
    /// Calls each with a fresh client.
    pub fresh_ms: Vec<f64>,
}

/// The fixture server next to the harness binary, built (same profile) when missing.
pub fn fixture_path(exe: &Path) -> Result<PathBuf> {
    let dir = exe.parent().context("the harness's directory")?;
    let bin = dir.join("fixture-mcp");
    if !bin.exists() {
        eprintln!("[s5] building the fixture MCP server …");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut build = std::process::Command::new(cargo);
        build.args([
            "build",
            "-q",
            "-p",
            "fustat-testkit",
            "--bin",
            "fixture-mcp",
        ]);
        if dir.file_name().is_some_and(|n| n == "release") {
            build.arg("--release");
        }
        if !build.status()?.success() {
            bail!("building fixture-mcp failed");
        }
    }
    Ok(bin)
}

/// Measures `warm` warm calls (after 50 unmeasured ones) and `fresh` fresh-client calls.
pub async fn measure(fixture: &Path, warm: usize, fresh: usize) -> Result<McpLatency> {
    let command = fixture.to_string_lossy().into_owned();
    let policy = McpPolicy {
        allowed_commands: CommandAllowlist::new([command.clone()]),
        ..McpPolicy::default()
    };
    let server = McpServer {
        id: uuid::Uuid::new_v4(),
        name: "fixture".into(),
        description: None,
        transport: McpTransport::Stdio,
        mode: McpMode::Autonomous,
        config_json: json!({"command": command, "args": []}),
        audit: Audit::new(chrono::Utc::now(), "bench"),
    };
    let cancel = CancellationToken::new();
    let args = json!({"text": "ping"});

    let pool = McpPool::new(policy.clone());
    let mut warm_ms = Vec::with_capacity(warm);
    let result = async {
        for _ in 0..50 {
            pool.call(&server, "echo", args.clone(), None, &cancel)
                .await?;
        }
        for _ in 0..warm {
            let t = Instant::now();
            pool.call(&server, "echo", args.clone(), None, &cancel)
                .await?;
            warm_ms.push(t.elapsed().as_secs_f64() * 1e3);
        }
        Ok::<_, anyhow::Error>(())
    }
    .await;
    pool.shutdown().await;
    result?;

    let mut fresh_ms = Vec::with_capacity(fresh);
    for _ in 0..fresh {
        let t = Instant::now();
        let pool = McpPool::new(policy.clone());
        let r = pool
            .call(&server, "echo", args.clone(), None, &cancel)
            .await;
        let elapsed = t.elapsed();
        pool.shutdown().await;
        r?;
        fresh_ms.push(elapsed.as_secs_f64() * 1e3);
    }
    Ok(McpLatency { warm_ms, fresh_ms })
}
