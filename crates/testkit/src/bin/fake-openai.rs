//! A fake OpenAI-compatible server for benchmarks and manual runs.
//!
//! ```text
//! fake-openai --port 8089 --latency-ms 500 --tokens 20 --tool-first
//! ```
//!
//! Every answer is `--tokens` words streamed one per chunk after `--latency-ms`. With
//! `--tool-first`, a request that offers tools and has no tool result since the last user
//! message is answered with a call to the first tool (or the tool named by
//! `--tool`).

use std::time::Duration;

use fustat_testkit::fake_llm::{FakeLlm, Reply};
use serde_json::json;

struct Options {
    port: u16,
    latency: Duration,
    chunk_delay: Duration,
    tokens: usize,
    tool_first: bool,
    tool: Option<String>,
    workers: usize,
}

fn parse() -> Result<Options, String> {
    let mut o = Options {
        port: 8089,
        latency: Duration::ZERO,
        chunk_delay: Duration::ZERO,
        tokens: 20,
        tool_first: false,
        tool: None,
        workers: 1,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match a.as_str() {
            "--port" => {
                o.port = value("--port")?
                    .parse()
                    .map_err(|e| format!("--port: {e}"))?
            }
            "--latency-ms" => {
                o.latency = Duration::from_millis(
                    value("--latency-ms")?
                        .parse()
                        .map_err(|e| format!("--latency-ms: {e}"))?,
                )
            }
            "--chunk-delay-ms" => {
                o.chunk_delay = Duration::from_millis(
                    value("--chunk-delay-ms")?
                        .parse()
                        .map_err(|e| format!("--chunk-delay-ms: {e}"))?,
                )
            }
            "--tokens" => {
                o.tokens = value("--tokens")?
                    .parse()
                    .map_err(|e| format!("--tokens: {e}"))?
            }
            "--workers" => {
                o.workers = value("--workers")?
                    .parse()
                    .map_err(|e| format!("--workers: {e}"))?
            }
            "--tool-first" => o.tool_first = true,
            "--tool" => {
                o.tool = Some(value("--tool")?);
                o.tool_first = true;
            }
            "-h" | "--help" => {
                return Err("usage: fake-openai [--port N] [--latency-ms N] [--chunk-delay-ms N] [--tokens N] [--tool-first] [--tool NAME] [--workers N]".into());
            }
            other => return Err(format!("unknown argument '{other}'")),
        }
    }
    Ok(o)
}

fn main() {
    let o = match parse() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let llm = FakeLlm::start_on(&format!("127.0.0.1:{}", o.port), false, o.workers);
    let (latency, delay, tokens, tool_first, tool) = (
        o.latency,
        o.chunk_delay,
        o.tokens,
        o.tool_first,
        o.tool.clone(),
    );
    llm.respond_with(move |req| {
        let tools = req.tool_names();
        let reply = if tool_first && !tools.is_empty() && req.tool_results_since_user().is_empty() {
            let name = tool
                .clone()
                .filter(|t| tools.contains(t))
                .unwrap_or_else(|| tools[0].clone());
            Reply::tool_call(name, json!({}))
        } else {
            Reply::tokens(tokens)
        };
        reply.latency(latency).chunk_delay(delay)
    });
    println!("fake OpenAI-compatible server on {}", llm.base_url());
    loop {
        std::thread::park();
    }
}
