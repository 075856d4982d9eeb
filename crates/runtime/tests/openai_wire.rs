//! The OpenAI-compatible model client against the fake server, over real HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use fustat_runtime::agent::Agent;
use fustat_runtime::event::RunStatus;
use fustat_runtime::message::{Message, Role};
use fustat_runtime::model::{ChatModel, ChatRequest, ModelChunk, ModelError, ResponseSchema};
use fustat_runtime::openai::{OpenAiCompatible, ProviderConfig};
use fustat_runtime::react::AgentGraph;
use fustat_runtime::run::{RunRequest, Runtime};
use fustat_runtime::tool::{FnTool, ToolOutput, ToolSpec};
use fustat_testkit::fake_llm::{FakeLlm, Fault, Reply};
use futures::StreamExt;
use serde_json::json;

fn model(llm: &FakeLlm) -> OpenAiCompatible {
    OpenAiCompatible::new(
        ProviderConfig::new("custom", "fake-model", "sk-test-key-0001")
            .with_base_url(llm.base_url())
            .with_idle_timeout(Duration::from_secs(2)),
    )
    .unwrap()
}

fn ask(text: &str) -> ChatRequest {
    ChatRequest {
        messages: vec![Message::system("be brief"), Message::user(text)],
        ..Default::default()
    }
}

async fn collect(m: &OpenAiCompatible, req: ChatRequest) -> Result<Vec<ModelChunk>, ModelError> {
    let mut s = m.stream(req).await?;
    let mut out = Vec::new();
    while let Some(c) = s.next().await {
        out.push(c?);
    }
    Ok(out)
}

fn text_of(chunks: &[ModelChunk]) -> String {
    chunks
        .iter()
        .filter_map(|c| match c {
            ModelChunk::Text(t) => Some(t.as_str()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn streams_text_in_order_with_usage_and_sends_the_key() {
    let llm = FakeLlm::start();
    llm.push(Reply::text("Hello, streaming world").chunks(5).usage(12, 7));
    let chunks = collect(&model(&llm), ask("hi")).await.unwrap();
    let texts = chunks
        .iter()
        .filter(|c| matches!(c, ModelChunk::Text(_)))
        .count();
    assert!(texts >= 4, "{chunks:?}");
    assert_eq!(text_of(&chunks), "Hello, streaming world");
    assert!(
        chunks.contains(&ModelChunk::Usage(fustat_runtime::message::Usage {
            input_tokens: 12,
            output_tokens: 7
        }))
    );
    let req = &llm.requests()[0];
    assert_eq!(req.headers["authorization"], "Bearer sk-test-key-0001");
    assert_eq!(req.body["stream"], true);
    assert_eq!(req.body["stream_options"]["include_usage"], true);
    assert_eq!(req.body["model"], "fake-model");
    assert_eq!(req.last_user_text(), "hi");
}

#[tokio::test]
async fn tool_call_deltas_are_reassembled_for_several_calls() {
    let llm = FakeLlm::start();
    llm.push(Reply::tool_calls(vec![
        ("get_weather", json!({"city": "Cairo", "unit": "C"})),
        ("get_time", json!({"tz": "Africa/Cairo"})),
    ]));
    let mut req = ask("weather and time?");
    req.tools = vec![
        ToolSpec::new("get_weather", "weather", json!({"type": "object"})),
        ToolSpec::new("get_time", "time", json!({})),
    ];
    let m = Arc::new(model(&llm));
    // Through the agent loop's accumulator: the reassembled message.
    let tools = vec![
        FnTool::new(
            "get_weather",
            "weather",
            json!({"type": "object"}),
            |a| async move { Ok(ToolOutput::text(format!("sunny in {}", a["city"]))) },
        )
        .shared(),
        FnTool::new("get_time", "time", json!({}), |_| async {
            Ok(ToolOutput::text("noon"))
        })
        .shared(),
    ];
    llm.push(Reply::text("Sunny and noon."));
    let graph = Arc::new(AgentGraph::new(
        Agent::builder("a", m.clone()).tools(tools).build(),
    ));
    let out = Runtime::in_memory()
        .run(graph, RunRequest::message("t", "weather and time?"))
        .await
        .unwrap();
    assert_eq!(out.status, RunStatus::Success, "{:?}", out.error);
    let second = &llm.requests()[1];
    let msgs = second.messages();
    let assistant = msgs.iter().find(|m| m["role"] == "assistant").unwrap();
    let calls = assistant["tool_calls"].as_array().unwrap();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0]["function"]["name"], "get_weather");
    let args: serde_json::Value =
        serde_json::from_str(calls[0]["function"]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(args, json!({"city": "Cairo", "unit": "C"}));
    let results = second.tool_results_since_user();
    assert_eq!(results.len(), 2);
    assert!(
        results[0]["content"]
            .as_str()
            .unwrap()
            .contains("sunny in \"Cairo\"")
    );
    assert_eq!(results[0]["tool_call_id"], calls[0]["id"]);
    // The tools were offered as function tools with object schemas.
    assert_eq!(llm.requests()[0].tool_names(), ["get_weather", "get_time"]);
    assert_eq!(
        llm.requests()[0].body["tools"][1]["function"]["parameters"]["type"],
        "object"
    );
    let _ = req;
}

#[tokio::test]
async fn structured_output_is_requested_with_a_json_schema() {
    let llm = FakeLlm::start();
    llm.push(Reply::text(r#"{"agent": "math"}"#));
    let mut req = ask("route me");
    req.response_schema = Some(ResponseSchema {
        name: "route".into(),
        schema: json!({"type": "object"}),
    });
    let chunks = collect(&model(&llm), req).await.unwrap();
    assert_eq!(text_of(&chunks), r#"{"agent": "math"}"#);
    let body = &llm.requests()[0].body;
    assert_eq!(body["response_format"]["type"], "json_schema");
    assert_eq!(body["response_format"]["json_schema"]["name"], "route");
}

#[tokio::test]
async fn rate_limits_are_retried_after_the_time_the_provider_asks() {
    let llm = FakeLlm::start();
    llm.push(Reply::error(429, "slow down").retry_after("1"));
    llm.push(Reply::text("finally"));
    let started = Instant::now();
    let chunks = collect(&model(&llm), ask("hi")).await.unwrap();
    assert_eq!(text_of(&chunks), "finally");
    assert_eq!(llm.request_count(), 2);
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn server_errors_are_retried_then_reported() {
    let llm = FakeLlm::start();
    llm.push(Reply::error(503, "overloaded"));
    llm.push(Reply::text("recovered"));
    assert_eq!(
        text_of(&collect(&model(&llm), ask("hi")).await.unwrap()),
        "recovered"
    );

    let llm = FakeLlm::start();
    llm.push_all((0..5).map(|_| Reply::error(500, "broken")));
    let m = OpenAiCompatible::new(
        ProviderConfig::new("custom", "fake-model", "sk-x")
            .with_base_url(llm.base_url())
            .with_max_retries(2),
    )
    .unwrap();
    let err = collect(&m, ask("hi")).await.unwrap_err();
    assert!(
        matches!(err, ModelError::Server { status: 500, .. }),
        "{err:?}"
    );
    assert_eq!(llm.request_count(), 3);
}

#[tokio::test]
async fn a_stream_that_breaks_after_output_started_is_not_retried() {
    let llm = FakeLlm::start();
    llm.push(
        Reply::text("partial answer here")
            .chunks(6)
            .fault(Fault::DropMidStream),
    );
    llm.push(Reply::text("must not be used"));
    let m = model(&llm);
    let mut s = m.stream(ask("hi")).await.unwrap();
    let mut got_error = None;
    while let Some(c) = s.next().await {
        if let Err(e) = c {
            got_error = Some(e);
            break;
        }
    }
    let err = got_error.expect("the broken stream reports an error");
    assert!(
        matches!(
            err,
            ModelError::Connection { .. } | ModelError::Protocol { .. }
        ),
        "{err:?}"
    );
    assert_eq!(llm.request_count(), 1);
}

#[tokio::test]
async fn rejected_keys_and_unknown_models_read_clearly() {
    let llm = FakeLlm::start();
    llm.push(Reply::error(
        401,
        "Incorrect API key provided: sk-test-key-0001",
    ));
    let err = collect(&model(&llm), ask("hi")).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "the LLM provider rejected the API key (401)"
    );

    llm.push(Reply::error(404, "The model `fake-model` does not exist").code("model_not_found"));
    let err = collect(&model(&llm), ask("hi"))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("'fake-model'"), "{err}");

    llm.push(
        Reply::error(400, "This model's maximum context length is 8192 tokens")
            .code("context_length_exceeded"),
    );
    let err = collect(&model(&llm), ask("hi")).await.unwrap_err();
    assert!(matches!(err, ModelError::ContextLength { .. }), "{err:?}");

    llm.push(Reply::error(400, "bad key sk-test-key-0001 echoed"));
    let err = collect(&model(&llm), ask("hi"))
        .await
        .unwrap_err()
        .to_string();
    assert!(!err.contains("sk-test-key-0001"), "{err}");
}

#[tokio::test]
async fn a_stalled_stream_times_out_and_garbage_is_a_protocol_error() {
    let llm = FakeLlm::start();
    llm.push(Reply::text("never finishes").fault(Fault::Stall));
    let m = OpenAiCompatible::new(
        ProviderConfig::new("custom", "fake-model", "sk-x")
            .with_base_url(llm.base_url())
            .with_idle_timeout(Duration::from_millis(500)),
    )
    .unwrap();
    let err = collect(&m, ask("hi")).await.unwrap_err();
    assert!(
        matches!(
            err,
            ModelError::Timeout { .. } | ModelError::Connection { .. }
        ),
        "{err:?}"
    );

    llm.push(Reply::text("x").fault(Fault::Malformed));
    let err = collect(&model(&llm), ask("hi")).await.unwrap_err();
    assert!(matches!(err, ModelError::Protocol { .. }), "{err:?}");
}

#[tokio::test]
async fn an_unreachable_provider_is_a_connection_error() {
    let m = OpenAiCompatible::new(
        ProviderConfig::new("custom", "m", "sk-x")
            .with_base_url("http://127.0.0.1:9/v1")
            .with_max_retries(1),
    )
    .unwrap();
    let err = collect(&m, ask("hi")).await.unwrap_err();
    assert!(matches!(err, ModelError::Connection { .. }), "{err:?}");
}

#[tokio::test]
async fn multi_turn_memory_reaches_the_provider() {
    let llm = FakeLlm::start();
    let graph = Arc::new(AgentGraph::new(
        Agent::builder("a", Arc::new(model(&llm)))
            .system_prompt("You are a.")
            .build(),
    ));
    let rt = Runtime::in_memory();
    rt.run(graph.clone(), RunRequest::message("t", "my name is Ada"))
        .await
        .unwrap();
    let out = rt
        .run(graph, RunRequest::message("t", "what is my name?"))
        .await
        .unwrap();
    assert_eq!(out.answer.unwrap().text(), "echo: what is my name?");
    let msgs = llm.requests()[1].messages();
    let roles: Vec<&str> = msgs.iter().map(|m| m["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["system", "user", "assistant", "user"]);
    assert_eq!(msgs[2]["content"], "echo: my name is Ada");
    let _ = Role::User;
}

#[tokio::test]
async fn private_endpoints_are_refused_when_the_policy_denies_them() {
    use fustat_runtime::net::{GuardedModel, NetworkPolicy};
    let llm = FakeLlm::start();
    let endpoint = url::Url::parse(llm.base_url()).unwrap();
    let denied = GuardedModel::new(
        Arc::new(model(&llm)),
        NetworkPolicy::deny_private(),
        endpoint.clone(),
    );
    let err = match denied.stream(ask("hi")).await {
        Err(e) => e,
        Ok(_) => panic!("a loopback endpoint was reached"),
    };
    assert!(matches!(err, ModelError::Config { .. }), "{err}");
    assert!(err.to_string().contains("not allowed"), "{err}");
    assert_eq!(llm.request_count(), 0);

    llm.push(Reply::text("fine"));
    let open = GuardedModel::new(Arc::new(model(&llm)), NetworkPolicy::open(), endpoint);
    assert!(open.stream(ask("hi")).await.is_ok());
}
