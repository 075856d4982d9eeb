//! Studio's chat protocol end to end: agents and orchestrators configured through the API
//! answer over SSE from a fake OpenAI-compatible provider, remember conversations across
//! messages and restarts, report provider failures as events, pause for supervised tools
//! and resume; agents can be generated from one sentence.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use actix_web::http::StatusCode;
use common::{client, client_over_url, client_with_tools};
use fustat_api::engine::{NoTools, ToolFactory};
use fustat_domain::McpServer;
use fustat_domain::mcp::McpMode;
use fustat_runtime::tool::{DynTool, FnTool, ToolOutput, ToolProvider};
use fustat_testkit::db::TestDatabase;
use fustat_testkit::fake_llm::{FakeLlm, Reply};
use serde_json::{Value, json};

on_both_backends!(
    agent_streams_remembers_and_survives_a_restart,
    provider_failures_are_error_events,
    bad_requests_are_refused_before_streaming,
    supervisor_orchestrator_hands_off_and_answers,
    reset_and_invoke,
    busy_conversations_are_refused,
    supervised_tools_pause_and_resume,
    ai_generate_writes_and_saves_an_agent,
);

/// The `data:` payloads of an SSE body.
fn events(text: &str) -> Vec<Value> {
    text.split("\n\n")
        .filter_map(|frame| frame.strip_prefix("data: "))
        .map(|json| serde_json::from_str(json).unwrap())
        .collect()
}

fn types(events: &[Value]) -> Vec<String> {
    let mut t: Vec<String> = events
        .iter()
        .map(|e| e["event_type"].as_str().unwrap().to_owned())
        .collect();
    t.dedup();
    t
}

async fn agent_streams_remembers_and_survives_a_restart(db: TestDatabase) {
    let llm = FakeLlm::start();
    let c = client(db).await;
    let key = c.fake_key(&llm, "k").await;
    let agent = c.agent("Ada", &key, &[]).await;
    let path = format!("/api/v1/chat/stream/test/{}", agent["id"].as_str().unwrap());

    let r = c
        .post(&path, &json!({"conversation_id": "c1", "message": "hello"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(
        r.headers
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let evs = events(&r.text);
    assert_eq!(
        types(&evs),
        [
            "stream_start",
            "agent_updated",
            "message_delta",
            "message_complete",
            "stream_end"
        ]
    );
    assert_eq!(evs[0]["data"]["agent_name"], "Ada");
    assert_eq!(evs[0]["session_id"], "c1");
    let deltas: Vec<&Value> = evs
        .iter()
        .filter(|e| e["event_type"] == "message_delta")
        .collect();
    assert!(deltas.len() >= 2);
    let last = deltas.last().unwrap();
    assert_eq!(last["data"]["content"], "echo: hello");
    let joined: String = deltas
        .iter()
        .map(|d| d["data"]["delta"].as_str().unwrap())
        .collect();
    assert_eq!(joined, "echo: hello");
    let complete = evs
        .iter()
        .find(|e| e["event_type"] == "message_complete")
        .unwrap();
    assert_eq!(complete["data"]["content"], "echo: hello");

    // The system prompt is the contract's.
    let sys = llm.requests()[0].system_text();
    assert!(
        sys.starts_with("You are Ada. You act in a professional and concise manner."),
        "{sys}"
    );
    assert!(sys.contains("Your role is researcher.") && sys.contains("Your task is find things"));
    assert!(sys.contains("Always follow these Instructions: be brief"));

    c.post(&path, &json!({"conversation_id": "c1", "message": "again"}))
        .await;
    let roles: Vec<String> = llm.requests()[1]
        .messages()
        .iter()
        .map(|m| m["role"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(roles, ["system", "user", "assistant", "user"]);

    // An edit in Studio reaches the next message.
    let mut body = common::agent_body("Ada", &key, &[]);
    body["instructions"] = json!("answer in French");
    let r = c
        .put(
            &format!("/api/v1/agents/{}", agent["id"].as_str().unwrap()),
            &body,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);

    // A second server over the same database remembers the conversation.
    let c2 = client_over_url(c.db_url().to_owned(), Arc::new(NoTools)).await;
    let r = c2
        .post(&path, &json!({"conversation_id": "c1", "message": "third"}))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let req = llm.requests()[2].clone();
    assert_eq!(req.messages().len(), 6);
    assert!(req.system_text().contains("answer in French"));
    // Another conversation starts empty.
    c2.post(&path, &json!({"conversation_id": "c2", "message": "fresh"}))
        .await;
    assert_eq!(llm.requests()[3].messages().len(), 2);
}

async fn provider_failures_are_error_events(db: TestDatabase) {
    let llm = FakeLlm::start();
    let c = client(db).await;
    let key = c.fake_key(&llm, "k").await;
    let agent = c.agent("Ada", &key, &[]).await;
    let path = format!("/api/v1/chat/stream/test/{}", agent["id"].as_str().unwrap());
    llm.push(Reply::error(
        401,
        "Incorrect API key provided: sk-k-secret-0001",
    ));
    let r = c
        .post(&path, &json!({"conversation_id": "c", "message": "hi"}))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let evs = events(&r.text);
    let t = types(&evs);
    assert_eq!(t[t.len() - 2..], ["error", "stream_end"]);
    let err = evs.iter().find(|e| e["event_type"] == "error").unwrap();
    assert_eq!(
        err["data"]["message"],
        "the LLM provider rejected the API key (401)"
    );
    assert!(!r.text.contains("sk-k-secret-0001"));
    // The next message works.
    let r = c
        .post(
            &path,
            &json!({"conversation_id": "c", "message": "hi again"}),
        )
        .await;
    assert!(types(&events(&r.text)).contains(&"message_complete".to_owned()));
}

async fn bad_requests_are_refused_before_streaming(db: TestDatabase) {
    let llm = FakeLlm::start();
    let c = client(db).await;
    let key = c.fake_key(&llm, "k").await;
    let agent = c.agent("Ada", &key, &[]).await;
    let id = agent["id"].as_str().unwrap();
    let unknown = uuid::Uuid::now_v7();
    let r = c
        .post(
            &format!("/api/v1/chat/stream/test/{unknown}"),
            &json!({"conversation_id": "c", "message": "hi"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.detail().contains(&unknown.to_string()));
    let r = c.post("/api/v1/chat/stream", &json!({"id": unknown, "chat_type": "orchestrator", "chat_mode": "test", "conversation_id": "c", "message": "hi"})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.detail().starts_with("Orchestrator"), "{}", r.detail());
    let r = c
        .post(
            "/api/v1/chat/stream/test/not-a-uuid",
            &json!({"conversation_id": "c", "message": "hi"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = c
        .post(
            &format!("/api/v1/chat/stream/test/{id}"),
            &json!({"conversation_id": "c", "message": "  "}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.detail().starts_with("message"));
    let r = c
        .post(
            &format!("/api/v1/chat/stream/test/{id}"),
            &json!({"conversation_id": "", "message": "hi"}),
        )
        .await;
    assert!(r.detail().starts_with("conversation_id"));
    let r = c
        .post(
            &format!("/api/v1/chat/stream/test/{id}"),
            &json!({"message": "hi"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.detail().contains("conversation_id"));
    let r = c
        .post(
            "/api/v1/chat/stream",
            &json!({"id": id, "chat_type": "robot", "conversation_id": "c", "message": "hi"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.detail().starts_with("chat_type"), "{}", r.detail());
    let r = c
        .post(
            "/api/v1/chat/resume",
            &json!({"id": id, "conversation_id": "c", "decision": {"type": "accept"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert!(r.detail().contains("no paused tool call"));
    assert_eq!(llm.request_count(), 0);
}

async fn supervisor_orchestrator_hands_off_and_answers(db: TestDatabase) {
    let llm = FakeLlm::start();
    let c = client(db).await;
    let key = c.fake_key(&llm, "k").await;
    let alpha = c.agent("alpha", &key, &[]).await;
    let beta = c.agent("beta one", &key, &[]).await;
    let orch = c
        .create(
            "/api/v1/orchestrators",
            &common::orchestrator_body("Team", &key, &[&alpha["id"], &beta["id"]]),
        )
        .await;
    llm.push_all([
        Reply::tool_call("transfer_to_alpha", json!({})),
        Reply::text("alpha found facts"),
        Reply::tool_call("transfer_to_beta_one", json!({})),
        Reply::text("beta wrote prose"),
        Reply::text("Here is the answer."),
    ]);
    let r = c
        .post("/api/v1/chat/stream", &json!({"id": orch["id"], "chat_type": "orchestrator", "chat_mode": "test", "conversation_id": "o1", "message": "do it"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let evs = events(&r.text);
    let handoffs: Vec<(String, String)> = evs
        .iter()
        .filter(|e| e["event_type"] == "handoff")
        .map(|e| {
            (
                e["data"]["from"].as_str().unwrap().to_owned(),
                e["data"]["to"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        handoffs,
        [
            ("Team".into(), "alpha".into()),
            ("alpha".into(), "Team".into()),
            ("Team".into(), "beta one".into()),
            ("beta one".into(), "Team".into())
        ]
    );
    let speakers: Vec<&str> = evs
        .iter()
        .filter(|e| e["event_type"] == "agent_updated")
        .map(|e| e["data"]["agent_name"].as_str().unwrap())
        .collect();
    assert_eq!(speakers, ["Team", "alpha", "Team", "beta one", "Team"]);
    let completes: Vec<(&str, &str)> = evs
        .iter()
        .filter(|e| e["event_type"] == "message_complete")
        .map(|e| {
            (
                e["data"]["agent_name"].as_str().unwrap(),
                e["data"]["content"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(completes.last().unwrap(), &("Team", "Here is the answer."));
    assert!(completes.contains(&("alpha", "alpha found facts")));
    // The supervisor's prompt is the contract's, and beta saw alpha's work.
    let reqs = llm.requests();
    assert!(
        reqs[0]
            .system_text()
            .starts_with("You are Team.\nYour goal is Team goal."),
        "{}",
        reqs[0].system_text()
    );
    assert_eq!(
        reqs[0].tool_names(),
        ["transfer_to_alpha", "transfer_to_beta_one"]
    );
    assert!(
        reqs[3]
            .messages()
            .iter()
            .any(|m| m["content"] == "alpha found facts")
    );
    assert_eq!(types(&evs).last().unwrap(), "stream_end");
}

async fn reset_and_invoke(db: TestDatabase) {
    let llm = FakeLlm::start();
    let c = client(db).await;
    let key = c.fake_key(&llm, "k").await;
    let agent = c.agent("Ada", &key, &[]).await;
    let id = agent["id"].as_str().unwrap();
    let r = c
        .post(
            "/api/v1/chat/invoke",
            &json!({"id": id, "conversation_id": "c", "message": "one"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["success"], true);
    assert_eq!(r.json["response"], "echo: one");
    assert_eq!(r.json["tokens_used"], 15);
    assert_eq!(r.json["error"], Value::Null);
    c.post(
        "/api/v1/chat/invoke",
        &json!({"id": id, "conversation_id": "c", "message": "two"}),
    )
    .await;
    assert_eq!(llm.requests()[1].messages().len(), 4);
    let r = c.delete(&format!("/api/v1/chat/reset/{id}/c")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.json["message"].as_str().unwrap().contains("reset"));
    c.post(
        "/api/v1/chat/invoke",
        &json!({"id": id, "conversation_id": "c", "message": "three"}),
    )
    .await;
    assert_eq!(llm.requests()[2].messages().len(), 2);
    llm.push(Reply::error(500, "down"));
    llm.push(Reply::error(500, "down"));
    llm.push(Reply::error(500, "down"));
    llm.push(Reply::error(500, "down"));
    let r = c
        .post(
            "/api/v1/chat/invoke",
            &json!({"id": id, "conversation_id": "d", "message": "x"}),
        )
        .await;
    assert_eq!(r.json["success"], false);
    assert!(
        r.json["error"].as_str().unwrap().contains("500"),
        "{}",
        r.text
    );
}

async fn busy_conversations_are_refused(db: TestDatabase) {
    let llm = FakeLlm::start();
    let c = client(db).await;
    let key = c.fake_key(&llm, "k").await;
    let agent = c.agent("Ada", &key, &[]).await;
    let path = format!("/api/v1/chat/stream/test/{}", agent["id"].as_str().unwrap());
    llm.push(Reply::text("slow answer").latency(Duration::from_millis(1500)));
    let req = actix_web::test::TestRequest::post()
        .uri(&path)
        .set_json(json!({"conversation_id": "busy", "message": "one"}))
        .to_request();
    let first = actix_web::test::call_service(&c.app, req).await;
    assert_eq!(first.status(), StatusCode::OK);
    let second = c
        .post(&path, &json!({"conversation_id": "busy", "message": "two"}))
        .await;
    assert_eq!(second.status, StatusCode::CONFLICT);
    assert!(second.detail().contains("already"));
    // Another conversation is not blocked.
    let other = c
        .post(
            &path,
            &json!({"conversation_id": "other", "message": "three"}),
        )
        .await;
    assert_eq!(other.status, StatusCode::OK);
    let body = actix_web::test::read_body(first).await;
    assert!(String::from_utf8_lossy(&body).contains("slow answer"));
}

/// Gives agents on a supervised server a `send_mail` tool that needs approval.
struct MailTools(Arc<AtomicUsize>);

impl ToolFactory for MailTools {
    fn tools(&self, servers: &[McpServer]) -> Option<Arc<dyn ToolProvider>> {
        if !servers.iter().any(|s| s.mode == McpMode::Supervised) {
            return None;
        }
        let count = self.0.clone();
        let tool = FnTool::new(
            "send_mail",
            "Sends mail",
            json!({"type": "object", "properties": {"to": {"type": "string"}}}),
            move |args| {
                let count = count.clone();
                async move {
                    count.fetch_add(1, Ordering::SeqCst);
                    Ok(ToolOutput::text(format!(
                        "mail sent to {}",
                        args["to"].as_str().unwrap_or("?")
                    )))
                }
            },
        )
        .requiring_approval()
        .shared();
        Some(Arc::new(vec![tool as DynTool]))
    }
}

async fn supervised_tools_pause_and_resume(db: TestDatabase) {
    let llm = FakeLlm::start();
    let sent = Arc::new(AtomicUsize::new(0));
    let c = client_with_tools(db, Arc::new(MailTools(sent.clone()))).await;
    let key = c.fake_key(&llm, "k").await;
    let server = c
        .create("/api/v1/mcp-servers", &json!({"name": "mail", "mode": "supervised", "config_json": {"command": "npx", "args": ["-y", "mail-server"]}}))
        .await;
    let agent = c.agent("Mailer", &key, &[&server["id"]]).await;
    let id = agent["id"].as_str().unwrap();
    let path = format!("/api/v1/chat/stream/test/{id}");
    for (decision, expect_sent, expect_text) in [
        (json!({"type": "accept"}), 1, "mail sent to bob"),
        (
            json!({"type": "edit", "args": {"action": "send_mail", "args": {"to": "carol"}}}),
            2,
            "mail sent to carol",
        ),
        (
            json!({"type": "response", "args": "Bob is on holiday"}),
            2,
            "Bob is on holiday",
        ),
        (json!({"type": "ignore"}), 2, "not available"),
    ] {
        let conv = format!("conv-{}", decision["type"].as_str().unwrap());
        llm.push(Reply::tool_call("send_mail", json!({"to": "bob"})));
        let r = c
            .post(
                &path,
                &json!({"conversation_id": conv, "message": "mail bob"}),
            )
            .await;
        let evs = events(&r.text);
        let t = types(&evs);
        assert!(t.contains(&"interrupt".to_owned()), "{t:?}");
        let int = evs.iter().find(|e| e["event_type"] == "interrupt").unwrap();
        let value = &int["data"]["interrupts"][0]["value"][0];
        assert_eq!(
            value["action_request"],
            json!({"action": "send_mail", "args": {"to": "bob"}})
        );
        assert_eq!(value["config"]["allow_edit"], true);
        assert_eq!(value["description"], "Please review the tool call");
        let end = evs.last().unwrap();
        assert_eq!(end["data"]["status"], "interrupted");

        llm.push(Reply::text("done"));
        let r = c.post("/api/v1/chat/resume", &json!({"id": id, "chat_type": "agent", "conversation_id": conv, "decision": decision})).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let evs = events(&r.text);
        assert!(
            types(&evs).contains(&"message_complete".to_owned()),
            "{:?}",
            types(&evs)
        );
        assert_eq!(sent.load(Ordering::SeqCst), expect_sent);
        let last_req = llm.requests().last().unwrap().clone();
        let tool_result = last_req.tool_results_since_user().last().unwrap().clone();
        assert!(
            tool_result["content"]
                .as_str()
                .unwrap()
                .contains(expect_text),
            "{tool_result}"
        );
    }
    let r = c
        .post(
            "/api/v1/chat/resume",
            &json!({"id": id, "conversation_id": "conv-accept", "decision": {"type": "maybe"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.detail().starts_with("decision.type"));
}

async fn ai_generate_writes_and_saves_an_agent(db: TestDatabase) {
    let llm = FakeLlm::start();
    let c = client(db).await;
    let r = c
        .post(
            "/api/v1/agents/ai-generate",
            &json!({"user_prompt": "plans trips"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.detail().contains("no API key"), "{}", r.detail());
    let key = c.fake_key(&llm, "k").await;
    llm.push(Reply::text(
        json!({"name": "Trip Planner", "description": "Plans weekend trips", "role": "a travel planner",
               "task": "plan trips on a budget", "instructions": "Ask for dates.\nStay on budget."})
        .to_string(),
    ));
    let r = c
        .post(
            "/api/v1/agents/ai-generate",
            &json!({"user_prompt": "An agent that plans weekend trips"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["name"], "Trip Planner");
    assert_eq!(r.json["api_key_id"], key);
    assert_eq!(r.json["role"], "a travel planner");
    let body = &llm.requests()[0].body;
    assert_eq!(body["response_format"]["type"], "json_schema");
    let listed = c.get("/api/v1/agents").await;
    assert_eq!(listed.json.as_array().unwrap().len(), 1);

    llm.push(Reply::text("I would rather write a poem"));
    let r = c
        .post(
            "/api/v1/agents/ai-generate",
            &json!({"user_prompt": "anything", "api_key_id": key}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.detail().contains("not a usable agent"), "{}", r.detail());
    llm.push(Reply::text(
        json!({"name": "x", "description": "", "role": "", "task": "t", "instructions": "i"})
            .to_string(),
    ));
    let r = c
        .post(
            "/api/v1/agents/ai-generate",
            &json!({"user_prompt": "anything"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.detail().contains("'role'"), "{}", r.detail());
    let r = c
        .post(
            "/api/v1/agents/ai-generate",
            &json!({"user_prompt": "x", "api_key_id": uuid::Uuid::now_v7()}),
        )
        .await;
    assert!(r.detail().starts_with("api_key_id"), "{}", r.detail());
    assert_eq!(
        c.get("/api/v1/agents").await.json.as_array().unwrap().len(),
        1
    );
}

mod patterns_through_the_api {
    use super::*;

    on_both_backends!(every_pattern_answers);

    /// Answers as the agent named at the start of the system prompt would: routers pick
    /// `beta`, swarm agents hand `alpha` → `beta`, everyone else says who they are.
    fn team_script(req: &fustat_testkit::fake_llm::Received) -> Reply {
        let sys = req.system_text();
        if sys.contains("Choose the one agent") {
            return Reply::text(r#"{"agent": "beta", "reason": "beta knows"}"#);
        }
        if sys.starts_with("You are alpha.")
            && req.tool_names().contains(&"transfer_to_beta".to_owned())
            && req.tool_results_since_user().is_empty()
        {
            return Reply::tool_call("transfer_to_beta", json!({}));
        }
        let who = sys
            .strip_prefix("You are ")
            .and_then(|s| s.split(['.', '\n']).next())
            .unwrap_or("someone")
            .to_owned();
        Reply::text(format!("{who} answers"))
    }

    async fn every_pattern_answers(db: TestDatabase) {
        let llm = FakeLlm::start();
        llm.respond_with(team_script);
        let c = client(db).await;
        let key = c.fake_key(&llm, "k").await;
        let alpha = c.agent("alpha", &key, &[]).await;
        let beta = c.agent("beta", &key, &[]).await;
        for (pattern, expected_answer, expected_agents) in [
            ("swarm", "beta answers", vec!["alpha", "beta"]),
            ("sequential", "beta answers", vec!["alpha", "beta"]),
            ("parallel", "Team answers", vec!["alpha", "beta", "Team"]),
            ("router", "beta answers", vec!["Team", "beta"]),
        ] {
            let mut body = common::orchestrator_body("Team", &key, &[&alpha["id"], &beta["id"]]);
            body["pattern"] = json!(pattern);
            body["name"] = json!("Team");
            let orch = c.create("/api/v1/orchestrators", &body).await;
            let r = c
                .post("/api/v1/chat/stream", &json!({"id": orch["id"], "chat_type": "orchestrator", "chat_mode": "test", "conversation_id": pattern, "message": "question"}))
                .await;
            assert_eq!(r.status, StatusCode::OK, "{pattern}: {}", r.text);
            let evs = events(&r.text);
            let end = evs.last().unwrap();
            assert_eq!(end["data"]["status"], "success", "{pattern}: {}", r.text);
            let answer = evs
                .iter()
                .rfind(|e| e["event_type"] == "message_complete")
                .unwrap();
            assert_eq!(answer["data"]["content"], expected_answer, "{pattern}");
            let mut speakers: Vec<&str> = evs
                .iter()
                .filter(|e| e["event_type"] == "agent_updated")
                .map(|e| e["data"]["agent_name"].as_str().unwrap())
                .collect();
            speakers.sort();
            speakers.dedup();
            let mut expected = expected_agents.clone();
            expected.sort();
            assert_eq!(speakers, expected, "{pattern}");
            c.delete(&format!(
                "/api/v1/orchestrators/{}",
                orch["id"].as_str().unwrap()
            ))
            .await;
        }
    }
}
