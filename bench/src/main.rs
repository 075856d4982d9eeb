//! Fustat's benchmark harness: Fustat next to LangGraph, in the same run, against the
//! test kit's fake OpenAI-compatible server (so the figures measure orchestration, not a
//! model).
//!
//! ```text
//! cargo run --release -p fustat-bench            # the full run; updates docs/benchmarks.md
//! cargo run -p fustat-bench -- --smoke           # a quick end-to-end check (CI)
//! ```
//!
//! Scenarios: S1 one ReAct agent, S2 a supervisor with two sub-agents, S3 simultaneous
//! streaming conversations through the HTTP server, S4 the configuration API, S5 MCP
//! tool calls, S6 checkpoint growth. See `docs/benchmarks.md`.

mod db;
mod fake;
mod growth;
mod http_load;
mod mcp;
mod orchestration;
mod peer;
mod proc;
mod report;
mod scenarios;
mod server;
mod stats;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// Fustat's benchmark harness.
#[derive(Debug, Parser)]
#[command(name = "fustat-bench", about = "Benchmarks Fustat next to LangGraph")]
pub struct Cli {
    /// A quick end-to-end check with tiny counts (no timings worth reading).
    #[arg(long)]
    smoke: bool,
    /// Skip the LangGraph peer (no Python needed).
    #[arg(long)]
    no_peer: bool,
    /// Only these scenarios (comma-separated: s1,s2,s3,s4,s5,s6).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// S3 conversation counts (default 1000,5000,10000; 20 in smoke mode).
    #[arg(long, value_delimiter = ',')]
    s3_sizes: Vec<usize>,
    /// Admin URL of the PostgreSQL server whose databases the PostgreSQL variants create
    /// and drop.
    #[arg(
        long,
        env = "FUSTAT_BENCH_POSTGRES_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    postgres_url: String,
    /// Skip the PostgreSQL variants.
    #[arg(long)]
    no_postgres: bool,
    /// Where to write the results (default: docs/benchmarks.md and docs/benchmarks.svg
    /// for a full run, target/bench/ for a smoke run).
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(subcommand)]
    child: Option<Child>,
}

/// The harness's own child processes.
#[derive(Debug, Subcommand)]
enum Child {
    /// The fake model server (internal).
    #[command(hide = true)]
    FakeLlm {
        #[arg(long)]
        latency_ms: u64,
        #[arg(long)]
        tokens: usize,
        #[arg(long)]
        workers: usize,
    },
    /// The HTTP server under test (internal).
    #[command(hide = true)]
    Serve {
        #[arg(long)]
        database_url: String,
        #[arg(long)]
        port: u16,
    },
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    fustat_runtime::openai::ensure_crypto_provider();
    match cli.child {
        Some(Child::FakeLlm {
            latency_ms,
            tokens,
            workers,
        }) => fake::serve_child(fake::FakeConfig {
            latency: Duration::from_millis(latency_ms),
            tokens,
            workers,
        }),
        Some(Child::Serve { database_url, port }) => server::serve_child(database_url, port),
        None => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
            .block_on(scenarios::run(cli)),
    }
}
