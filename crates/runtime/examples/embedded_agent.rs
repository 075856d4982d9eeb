//! An agent run with the runtime crate alone: no database, no HTTP server.
//!
//! Point it at any OpenAI-compatible endpoint:
//!
//! ```text
//! FUSTAT_EXAMPLE_PROVIDER=openai FUSTAT_EXAMPLE_MODEL=gpt-4o-mini \
//! FUSTAT_EXAMPLE_API_KEY=sk-... cargo run -p fustat-runtime --example embedded_agent
//! ```
//!
//! `FUSTAT_EXAMPLE_BASE_URL` overrides the provider's endpoint (for Ollama, a gateway, or
//! the test kit's `fake-openai` server: `cargo run -p fustat-testkit --bin fake-openai --
//! --tool-first` then `FUSTAT_EXAMPLE_BASE_URL=http://127.0.0.1:8089/v1`).

use std::io::Write;
use std::sync::Arc;

use fustat_runtime::agent::Agent;
use fustat_runtime::event::EventKind;
use fustat_runtime::openai::{OpenAiCompatible, ProviderConfig};
use fustat_runtime::react::AgentGraph;
use fustat_runtime::run::{RunRequest, Runtime};
use fustat_runtime::tool::{FnTool, ToolError, ToolOutput};
use serde_json::json;

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut config = ProviderConfig::new(
        env("FUSTAT_EXAMPLE_PROVIDER", "openai"),
        env("FUSTAT_EXAMPLE_MODEL", "gpt-4o-mini"),
        env("FUSTAT_EXAMPLE_API_KEY", "sk-not-set"),
    );
    if let Ok(url) = std::env::var("FUSTAT_EXAMPLE_BASE_URL") {
        config = config.with_base_url(url);
    }
    let model = Arc::new(OpenAiCompatible::new(config)?);

    // An in-process tool: any async Rust function.
    let multiply = FnTool::new(
        "multiply",
        "Multiplies two numbers",
        json!({
            "type": "object",
            "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
            "required": ["a", "b"]
        }),
        |args| async move {
            let (Some(a), Some(b)) = (args["a"].as_f64(), args["b"].as_f64()) else {
                return Err(ToolError::InvalidArguments(
                    "a and b must be numbers".into(),
                ));
            };
            Ok(ToolOutput::text((a * b).to_string()))
        },
    );

    let agent = Agent::builder("calculator", model)
        .system_prompt("You are a careful calculator. Use the multiply tool for products.")
        .tool(multiply.shared())
        .build();
    let graph = Arc::new(AgentGraph::new(agent));
    let runtime = Runtime::in_memory();

    for question in ["What is 12.5 times 8?", "And that times 3?"] {
        println!("> {question}");
        let mut run = runtime
            .start(
                graph.clone(),
                RunRequest::message("example-thread", question),
            )
            .await?;
        while let Some(event) = run.next_event().await {
            match event.kind {
                EventKind::TokenDelta { text, .. } => {
                    print!("{text}");
                    std::io::stdout().flush()?;
                }
                EventKind::ToolCall { call, .. } => {
                    println!("[calling {} {}]", call.name, call.arguments)
                }
                EventKind::ToolResult { message, .. } => println!("[result: {}]", message.text()),
                EventKind::Error { error } => println!("\n[error: {}]", error.message),
                EventKind::Finished { status, usage, .. } => {
                    println!("\n[{status:?}, {} tokens]", usage.total())
                }
                _ => {}
            }
        }
    }
    Ok(())
}
