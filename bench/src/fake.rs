//! The scripted model every scenario talks to: the test kit's fake OpenAI-compatible
//! server, run as a child process of the harness so its CPU is not the orchestrator's.
//!
//! One stateless responder serves every scenario (Fustat and LangGraph alike), deciding
//! from the request what the model "says":
//!
//! - a supervisor (offered `transfer_to_*` tools): hands off to `researcher`, and answers
//!   once its own handoff is in the history;
//! - the researcher (offered `search`): searches once, then answers;
//! - the single agent (offered `lookup`): looks up twice, then answers;
//! - anything else (no tools): `tokens` words after `latency`.

use std::io::Read;
use std::time::Duration;

use anyhow::{Result, anyhow};
use fustat_testkit::fake_llm::{FakeLlm, Received, Reply};
use serde_json::{Value, json};

/// What the `lookup` tool returns (the single agent's tool).
pub const LOOKUP_MARK: &str = "LOOKUP_RESULT";
/// What the `search` tool returns (the researcher's tool).
pub const SEARCH_MARK: &str = "SEARCH_RESULT";

/// The fake model's settings.
#[derive(Debug, Clone, Copy)]
pub struct FakeConfig {
    /// Time before the first byte of every reply.
    pub latency: Duration,
    /// Words of a plain answer.
    pub tokens: usize,
    /// Server threads.
    pub workers: usize,
}

fn since_last_user(r: &Received) -> Vec<Value> {
    let msgs = r.messages();
    let start = msgs
        .iter()
        .rposition(|m| m["role"] == "user")
        .map(|i| i + 1)
        .unwrap_or(0);
    msgs[start..].to_vec()
}

fn tool_results_with(msgs: &[Value], mark: &str) -> usize {
    msgs.iter()
        .filter(|m| m["role"] == "tool")
        .filter(|m| m["content"].to_string().contains(mark))
        .count()
}

fn handed_off(msgs: &[Value]) -> bool {
    msgs.iter().any(|m| {
        m["role"] == "assistant"
            && m["tool_calls"].as_array().is_some_and(|calls| {
                calls.iter().any(|c| {
                    c["function"]["name"]
                        .as_str()
                        .is_some_and(|n| n.starts_with("transfer_to_"))
                })
            })
    })
}

/// The reply to `r`.
pub fn respond(r: &Received, config: &FakeConfig) -> Reply {
    let tools = r.tool_names();
    let recent = since_last_user(r);
    let reply = if tools.iter().any(|t| t.starts_with("transfer_to_")) {
        if handed_off(&recent) {
            Reply::text("The researcher found it: the answer is 42.")
        } else {
            Reply::tool_call("transfer_to_researcher", json!({}))
        }
    } else if tools.iter().any(|t| t == "search") {
        if tool_results_with(&recent, SEARCH_MARK) > 0 {
            Reply::text("Search done: the answer is 42.")
        } else {
            Reply::tool_call("search", json!({"query": "the answer"}))
        }
    } else if tools.iter().any(|t| t == "lookup") {
        let done = tool_results_with(&recent, LOOKUP_MARK);
        if done < 2 {
            Reply::tool_call("lookup", json!({"key": format!("k{done}")}))
        } else {
            Reply::text("Both lookups are done.")
        }
    } else {
        Reply::tokens(config.tokens)
    };
    reply.latency(config.latency)
}

/// The child process: serves until its standard input closes.
pub fn serve_child(config: FakeConfig) -> Result<()> {
    let llm = FakeLlm::start_on("127.0.0.1:0", false, config.workers);
    llm.respond_with(move |r| respond(r, &config));
    println!("ready {}", llm.base_url());
    let mut sink = Vec::new();
    std::io::stdin()
        .read_to_end(&mut sink)
        .map_err(|e| anyhow!("reading stdin: {e}"))?;
    drop(llm);
    Ok(())
}

/// Arguments of the `fake-llm` subcommand for `config`.
pub fn child_args(config: &FakeConfig) -> Vec<String> {
    vec![
        "fake-llm".into(),
        "--latency-ms".into(),
        config.latency.as_millis().to_string(),
        "--tokens".into(),
        config.tokens.to_string(),
        "--workers".into(),
        config.workers.to_string(),
    ]
}
