//! Multi-agent patterns with the runtime crate alone.
//!
//! ```text
//! cargo run -p fustat-runtime --example team -- supervisor "Plan a day in Cairo"
//! ```
//!
//! The first argument picks the pattern: `supervisor`, `swarm`, `sequential`,
//! `parallel` or `router`. The model comes from the same variables as the
//! `embedded_agent` example (`FUSTAT_EXAMPLE_PROVIDER`, `FUSTAT_EXAMPLE_MODEL`,
//! `FUSTAT_EXAMPLE_API_KEY`, `FUSTAT_EXAMPLE_BASE_URL`).

use std::sync::Arc;

use fustat_runtime::agent::Agent;
use fustat_runtime::event::EventKind;
use fustat_runtime::graph::DynGraph;
use fustat_runtime::model::ChatModel;
use fustat_runtime::openai::{OpenAiCompatible, ProviderConfig};
use fustat_runtime::patterns::{Parallel, Router, Sequential, Supervisor, Swarm};
use fustat_runtime::run::{RunRequest, Runtime};

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

fn agent(name: &str, description: &str, prompt: &str, model: &Arc<dyn ChatModel>) -> Agent {
    Agent::builder(name, model.clone())
        .description(description)
        .system_prompt(prompt)
        .build()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let pattern = args.next().unwrap_or_else(|| "supervisor".into());
    let question = args.next().unwrap_or_else(|| "Plan a day in Cairo".into());

    let mut config = ProviderConfig::new(
        env("FUSTAT_EXAMPLE_PROVIDER", "openai"),
        env("FUSTAT_EXAMPLE_MODEL", "gpt-4o-mini"),
        env("FUSTAT_EXAMPLE_API_KEY", "sk-not-set"),
    );
    if let Ok(url) = std::env::var("FUSTAT_EXAMPLE_BASE_URL") {
        config = config.with_base_url(url);
    }
    let model: Arc<dyn ChatModel> = Arc::new(OpenAiCompatible::new(config)?);

    let researcher = agent(
        "researcher",
        "finds facts",
        "You find facts. Be brief.",
        &model,
    );
    let writer = agent(
        "writer",
        "writes friendly prose",
        "You write friendly, short prose.",
        &model,
    );
    let lead = agent(
        "lead",
        "leads the team",
        "You lead a team. Delegate, then answer.",
        &model,
    );

    let graph: DynGraph = match pattern.as_str() {
        "supervisor" => Arc::new(
            Supervisor::builder(lead)
                .agent(researcher)
                .agent(writer)
                .build()?,
        ),
        "swarm" => Arc::new(Swarm::new("team", vec![researcher, writer])?),
        "sequential" => Arc::new(Sequential::new("pipeline", vec![researcher, writer])?),
        "parallel" => Arc::new(Parallel::new(lead, vec![researcher, writer])?),
        "router" => Arc::new(Router::new(lead, vec![researcher, writer])?),
        other => return Err(format!("unknown pattern '{other}'").into()),
    };

    let runtime = Runtime::in_memory();
    let mut run = runtime
        .start(graph, RunRequest::message("team-thread", question))
        .await?;
    while let Some(event) = run.next_event().await {
        match event.kind {
            EventKind::AgentActive { agent } => println!("\n[{agent}]"),
            EventKind::TokenDelta { text, .. } => print!("{text}"),
            EventKind::Handoff { from, to, .. } => println!("\n[handoff {from} → {to}]"),
            EventKind::Error { error } => println!("\n[error: {}]", error.message),
            EventKind::Finished { status, usage, .. } => {
                println!("\n[{status:?}, {} tokens]", usage.total())
            }
            _ => {}
        }
    }
    Ok(())
}
