//! S1 (one ReAct agent: 3 model calls, 2 tool calls) and S2 (a supervisor with two
//! sub-agents: handoff, tool call, handoff back, answer) with Fustat's runtime, in
//! process, against the fake model with zero latency.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Result, bail};
use fustat_runtime::agent::Agent;
use fustat_runtime::checkpoint::DynCheckpointer;
use fustat_runtime::event::RunStatus;
use fustat_runtime::graph::DynGraph;
use fustat_runtime::model::ChatModel;
use fustat_runtime::openai::{OpenAiCompatible, ProviderConfig};
use fustat_runtime::patterns::Supervisor;
use fustat_runtime::react::AgentGraph;
use fustat_runtime::run::{RunRequest, Runtime};
use fustat_runtime::tool::{DynTool, FnTool, ToolOutput};
use futures::StreamExt;
use serde_json::json;

use crate::fake::{LOOKUP_MARK, SEARCH_MARK};

/// Which orchestration scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// One ReAct agent.
    S1,
    /// A supervisor with two sub-agents.
    S2,
}

impl Scenario {
    /// The name the Python peer knows it by.
    pub fn id(self) -> &'static str {
        match self {
            Scenario::S1 => "s1",
            Scenario::S2 => "s2",
        }
    }
}

/// How many runs to measure.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Runs before measuring.
    pub warmup: usize,
    /// Sequential runs timed one by one.
    pub runs: usize,
    /// Runs of the throughput phase.
    pub throughput_runs: usize,
    /// Runs in flight at once in the throughput phase.
    pub concurrency: usize,
}

/// What one configuration measured.
#[derive(Debug, Clone)]
pub struct Measured {
    /// Milliseconds per run, sequential.
    pub latencies_ms: Vec<f64>,
    /// Completed runs per second with `concurrency` runs in flight.
    pub throughput_rps: f64,
}

/// The model: the fake server through the OpenAI-compatible client.
pub fn model(base_url: &str) -> Result<Arc<dyn ChatModel>> {
    let config =
        ProviderConfig::new("custom", "fake-model", "sk-bench-0000").with_base_url(base_url);
    Ok(Arc::new(OpenAiCompatible::new(config)?))
}

fn marker_tool(name: &str, description: &str, mark: &'static str) -> DynTool {
    FnTool::new(
        name,
        description,
        json!({"type": "object", "properties": {"key": {"type": "string"}, "query": {"type": "string"}}}),
        move |args| async move { Ok(ToolOutput::text(format!("{mark} {args}"))) },
    )
    .shared()
}

/// The graph of `scenario`.
pub fn graph(scenario: Scenario, model: &Arc<dyn ChatModel>) -> Result<DynGraph> {
    Ok(match scenario {
        Scenario::S1 => {
            let agent = Agent::builder("assistant", model.clone())
                .system_prompt("You answer with the lookup tool.")
                .tool(marker_tool("lookup", "Looks a key up", LOOKUP_MARK))
                .build();
            Arc::new(AgentGraph::new(agent))
        }
        Scenario::S2 => {
            let researcher = Agent::builder("researcher", model.clone())
                .description("finds facts")
                .system_prompt("You find facts with the search tool.")
                .tool(marker_tool("search", "Searches the web", SEARCH_MARK))
                .build();
            let writer = Agent::builder("writer", model.clone())
                .description("writes prose")
                .system_prompt("You write short prose.")
                .build();
            let lead = Agent::builder("supervisor", model.clone())
                .description("leads the team")
                .system_prompt("You lead a team. Delegate, then answer.")
                .build();
            Arc::new(
                Supervisor::builder(lead)
                    .agent(researcher)
                    .agent(writer)
                    .build()?,
            )
        }
    })
}

async fn one_run(runtime: &Runtime, graph: &DynGraph) -> Result<()> {
    let thread = uuid::Uuid::now_v7().to_string();
    let outcome = runtime
        .run(
            graph.clone(),
            RunRequest::message(thread, "What is the answer?"),
        )
        .await?;
    if outcome.status != RunStatus::Success {
        bail!(
            "run ended with {:?}: {:?}",
            outcome.status,
            outcome.error.map(|e| e.message)
        );
    }
    Ok(())
}

/// Measures `scenario` on `checkpointer` (in memory when None).
pub async fn measure(
    scenario: Scenario,
    base_url: &str,
    checkpointer: Option<DynCheckpointer>,
    plan: Plan,
) -> Result<Measured> {
    let model = model(base_url)?;
    let graph = graph(scenario, &model)?;
    let runtime = match checkpointer {
        Some(c) => Runtime::new(c),
        None => Runtime::in_memory(),
    };
    for _ in 0..plan.warmup {
        one_run(&runtime, &graph).await?;
    }
    let mut latencies_ms = Vec::with_capacity(plan.runs);
    for _ in 0..plan.runs {
        let t = Instant::now();
        one_run(&runtime, &graph).await?;
        latencies_ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let t = Instant::now();
    let results: Vec<Result<()>> = futures::stream::iter(0..plan.throughput_runs)
        .map(|_| one_run(&runtime, &graph))
        .buffer_unordered(plan.concurrency.max(1))
        .collect()
        .await;
    let elapsed = t.elapsed().as_secs_f64();
    for r in results {
        r?;
    }
    Ok(Measured {
        latencies_ms,
        throughput_rps: plan.throughput_runs as f64 / elapsed,
    })
}
