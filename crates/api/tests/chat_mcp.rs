//! MCP servers through the API: listing a server's tools, policy refusals, clear errors
//! for servers that cannot start, and agents calling real MCP tools (the test kit's
//! fixture server) in Studio chats, supervised tools included, with a server killed
//! between messages and restarted.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use actix_web::http::StatusCode;
use common::client_with_mcp;
use fustat_mcp_client::{CommandAllowlist, McpPolicy, McpPool};
use fustat_testkit::db::TestDatabase;
use fustat_testkit::fake_llm::{FakeLlm, Reply};
use fustat_testkit::mcp_fixture::fixture_mcp_path;
use serde_json::{Value, json};

on_both_backends!(
    tools_endpoint_lists_refuses_and_explains,
    agents_call_real_mcp_tools,
    supervised_mcp_tools_pause_and_resume,
);

fn pool() -> McpPool {
    McpPool::new(McpPolicy {
        allowed_commands: CommandAllowlist::new([
            fixture_mcp_path().to_string_lossy().into_owned(),
            "definitely-missing-command".to_owned(),
        ]),
        start_timeout: Duration::from_secs(20),
        call_timeout: Duration::from_secs(20),
        ..McpPolicy::default()
    })
}

fn fixture_body(name: &str, mode: &str) -> Value {
    json!({
        "name": name, "mode": mode,
        "config_json": {"command": fixture_mcp_path().to_string_lossy(), "args": []},
    })
}

fn events(text: &str) -> Vec<Value> {
    text.split("\n\n")
        .filter_map(|frame| frame.strip_prefix("data: "))
        .map(|json| serde_json::from_str(json).unwrap())
        .collect()
}

fn of_type<'a>(evs: &'a [Value], t: &str) -> Vec<&'a Value> {
    evs.iter().filter(|e| e["event_type"] == t).collect()
}

async fn tools_endpoint_lists_refuses_and_explains(db: TestDatabase) {
    let pool = pool();
    let c = client_with_mcp(db, pool.clone()).await;
    let server = c
        .create(
            "/api/v1/mcp-servers",
            &fixture_body("fixture", "autonomous"),
        )
        .await;
    let id = server["id"].as_str().unwrap();
    for path in [
        format!("/api/v1/mcp-servers/{id}/tools"),
        format!("/api/v1/mcp-servers/{id}/tools/"),
    ] {
        let r = c.get(&path).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let tools = r.json.clone();
        let echo = tools
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["tool_name"] == "echo")
            .unwrap();
        assert_eq!(echo["tool_description"], "Echoes the text back");
        assert_eq!(echo["input_schema"]["type"], "object");
    }
    let first = pool
        .pid(server["id"].as_str().unwrap().parse().unwrap())
        .await
        .unwrap();

    // Editing the server restarts its session; deleting it stops the process.
    let mut edited = fixture_body("fixture", "autonomous");
    edited["config_json"]["env"] = json!({"A": "1"});
    let r = c.put(&format!("/api/v1/mcp-servers/{id}"), &edited).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        c.get(&format!("/api/v1/mcp-servers/{id}/tools"))
            .await
            .status,
        StatusCode::OK
    );
    let second = pool.pid(id.parse().unwrap()).await.unwrap();
    assert_ne!(first, second);
    assert_eq!(
        c.delete(&format!("/api/v1/mcp-servers/{id}")).await.status,
        StatusCode::OK
    );
    assert_eq!(pool.live_sessions().await, 0);

    // A command outside the allowlist is refused when saved, naming the rule.
    let r = c
        .post(
            "/api/v1/mcp-servers",
            &json!({"name": "shell", "config_json": {"command": "bash", "args": ["-c", "id"]}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.detail().contains("allowlist") && r.detail().contains("config_json.command"),
        "{}",
        r.detail()
    );

    // A server that cannot start: 502 with the reason, fast.
    let missing = c
        .create(
            "/api/v1/mcp-servers",
            &json!({"name": "missing", "config_json": {"command": "definitely-missing-command", "args": ["x"]}}),
        )
        .await;
    let r = c
        .get(&format!(
            "/api/v1/mcp-servers/{}/tools",
            missing["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(r.status, StatusCode::BAD_GATEWAY);
    assert!(r.detail().contains("was not found"), "{}", r.detail());

    // The legacy SSE transport is explained, not hung on.
    let sse = c
        .create(
            "/api/v1/mcp-servers",
            &json!({"name": "legacy", "transport": "sse", "config_json": {"url": "http://127.0.0.1:9/sse"}}),
        )
        .await;
    let r = c
        .get(&format!(
            "/api/v1/mcp-servers/{}/tools",
            sse["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.detail().contains("streamable-http"), "{}", r.detail());

    let r = c
        .get("/api/v1/mcp-servers/00000000-0000-0000-0000-000000000000/tools")
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    pool.shutdown().await;
}

async fn agents_call_real_mcp_tools(db: TestDatabase) {
    let llm = FakeLlm::start();
    let pool = pool();
    let c = client_with_mcp(db, pool.clone()).await;
    let key = c.fake_key(&llm, "fake").await;
    let server = c
        .create("/api/v1/mcp-servers", &fixture_body("calc", "autonomous"))
        .await;
    let agent = c.agent("Calculator", &key, &[&server["id"]]).await;
    let path = format!("/api/v1/chat/stream/test/{}", agent["id"].as_str().unwrap());

    llm.push(Reply::tool_call("add", json!({"a": 2, "b": 40})));
    llm.push(Reply::text("The answer is 42."));
    let r = c
        .post(
            &path,
            &json!({"conversation_id": "c1", "message": "2 + 40?"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let evs = events(&r.text);
    let calls = of_type(&evs, "tool_call");
    assert_eq!(calls[0]["data"]["tool_name"], "add");
    let outputs = of_type(&evs, "tool_output");
    assert!(outputs[0].to_string().contains("42"), "{}", outputs[0]);
    // The model saw the tool list and the real tool's output.
    let reqs = llm.requests();
    assert!(reqs[0].tool_names().contains(&"echo".to_owned()));
    let result = reqs[1].tool_results_since_user();
    assert_eq!(result[0]["content"], "42");
    assert!(r.text.contains("The answer is 42."));

    // The server dies between messages; the next message restarts it.
    llm.push(Reply::tool_call("pid", json!({})));
    llm.push(Reply::text("noted"));
    c.post(&path, &json!({"conversation_id": "c1", "message": "pid?"}))
        .await;
    let first_pid: u32 = llm.requests()[3].tool_results_since_user()[0]["content"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let status = std::process::Command::new("kill")
        .args(["-9", &first_pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    tokio::time::sleep(Duration::from_millis(200)).await;
    llm.push(Reply::tool_call("pid", json!({})));
    llm.push(Reply::text("noted again"));
    let r = c
        .post(
            &path,
            &json!({"conversation_id": "c1", "message": "pid again?"}),
        )
        .await;
    assert!(r.text.contains("noted again"), "{}", r.text);
    let second_pid: u32 = llm.requests()[5].tool_results_since_user()[0]["content"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_ne!(first_pid, second_pid);

    // A tool failing mid-call (the process exits) reaches the model as a tool error and
    // the conversation goes on.
    llm.push(Reply::tool_call("crash", json!({})));
    llm.push(Reply::text("the tool broke"));
    let r = c
        .post(
            &path,
            &json!({"conversation_id": "c1", "message": "crash it"}),
        )
        .await;
    assert!(r.text.contains("the tool broke"), "{}", r.text);
    let seen = llm.requests()[7].tool_results_since_user()[0]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(seen.contains("not retried"), "{seen}");
    pool.shutdown().await;
}

async fn supervised_mcp_tools_pause_and_resume(db: TestDatabase) {
    let llm = FakeLlm::start();
    let pool = pool();
    let c = client_with_mcp(db, pool.clone()).await;
    let key = c.fake_key(&llm, "fake").await;
    let server = c
        .create(
            "/api/v1/mcp-servers",
            &fixture_body("guarded", "supervised"),
        )
        .await;
    let agent = c.agent("Careful", &key, &[&server["id"]]).await;
    let id = agent["id"].as_str().unwrap();
    let path = format!("/api/v1/chat/stream/test/{id}");
    for (decision, expect) in [
        (json!({"type": "accept"}), "approved text"),
        (
            json!({"type": "edit", "args": {"action": "echo", "args": {"text": "edited text"}}}),
            "edited text",
        ),
        (
            json!({"type": "response", "args": "do not echo"}),
            "do not echo",
        ),
    ] {
        let conv = format!("s-{}", decision["type"].as_str().unwrap());
        llm.push(Reply::tool_call("echo", json!({"text": "approved text"})));
        let r = c
            .post(&path, &json!({"conversation_id": conv, "message": "echo"}))
            .await;
        let evs = events(&r.text);
        let int = of_type(&evs, "interrupt");
        assert_eq!(
            int[0]["data"]["interrupts"][0]["value"][0]["action_request"],
            json!({"action": "echo", "args": {"text": "approved text"}})
        );
        llm.push(Reply::text("finished"));
        let r = c
            .post(
                "/api/v1/chat/resume",
                &json!({"id": id, "chat_type": "agent", "conversation_id": conv, "decision": decision}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert!(r.text.contains("finished"));
        let seen = llm.requests().last().unwrap().tool_results_since_user()[0]["content"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(seen.contains(expect), "{seen}");
    }
    pool.shutdown().await;
}
