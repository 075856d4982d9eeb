//! Measures what an MCP tool call costs through the session pool: warm calls on one live
//! stdio session, against starting a fresh client (spawn, handshake, call, stop) per call.
//!
//! `cargo run --release -p fustat-mcp-client --example mcp_latency [-- WARM_CALLS FRESH_CALLS]`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use fustat_domain::McpServer;
use fustat_domain::audit::Audit;
use fustat_domain::mcp::{McpMode, McpTransport};
use fustat_mcp_client::{CommandAllowlist, McpPolicy, McpPool};
use fustat_testkit::mcp_fixture::fixture_mcp_path;
use serde_json::json;
use tokio_util::sync::CancellationToken;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let mean = samples.iter().sum::<Duration>() / samples.len() as u32;
    println!(
        "| {name} | {} | {:.3} | {:.3} | {:.3} |",
        samples.len(),
        percentile(&samples, 0.5).as_secs_f64() * 1e3,
        percentile(&samples, 0.99).as_secs_f64() * 1e3,
        mean.as_secs_f64() * 1e3,
    );
}

#[tokio::main]
async fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let warm_calls = args.first().copied().unwrap_or(2000);
    let fresh_calls = args.get(1).copied().unwrap_or(30);
    let path = fixture_mcp_path();
    let policy = McpPolicy {
        allowed_commands: CommandAllowlist::new([path.to_string_lossy().into_owned()]),
        ..McpPolicy::default()
    };
    let server = McpServer {
        id: uuid::Uuid::new_v4(),
        name: "fixture".into(),
        description: None,
        transport: McpTransport::Stdio,
        mode: McpMode::Autonomous,
        config_json: json!({"command": path.to_string_lossy(), "args": []}),
        audit: Audit::new(chrono::Utc::now(), "bench"),
    };
    let cancel = CancellationToken::new();
    let args = json!({"text": "ping"});

    let pool = McpPool::new(policy.clone());
    for _ in 0..50 {
        pool.call(&server, "echo", args.clone(), None, &cancel)
            .await
            .unwrap();
    }
    let mut warm = Vec::with_capacity(warm_calls);
    for _ in 0..warm_calls {
        let t = Instant::now();
        pool.call(&server, "echo", args.clone(), None, &cancel)
            .await
            .unwrap();
        warm.push(t.elapsed());
    }
    pool.shutdown().await;

    let mut fresh = Vec::with_capacity(fresh_calls);
    for _ in 0..fresh_calls {
        let t = Instant::now();
        let pool = McpPool::new(policy.clone());
        pool.call(&server, "echo", args.clone(), None, &cancel)
            .await
            .unwrap();
        fresh.push(t.elapsed());
        pool.shutdown().await;
    }

    println!("| MCP tool call (fixture `echo`, stdio) | calls | p50 ms | p99 ms | mean ms |");
    println!("|---|---|---|---|---|");
    report("warm session (the pool)", warm);
    report("fresh client per call (spawn + handshake + call)", fresh);
}
