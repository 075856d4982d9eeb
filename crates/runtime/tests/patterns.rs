//! Multi-agent patterns with scripted models (one script per agent).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use common::{Reply, Scripted};
use fustat_runtime::agent::Agent;
use fustat_runtime::checkpoint::MemoryCheckpointer;
use fustat_runtime::context::estimate_all;
use fustat_runtime::event::{EventKind, RunEvent, RunStatus};
use fustat_runtime::graph::{DynGraph, Resume};
use fustat_runtime::interrupt::Decision;
use fustat_runtime::message::{Message, Role};
use fustat_runtime::model::{ChatModel, ChatRequest, ModelChunk, ModelError, ModelStream};
use fustat_runtime::patterns::{
    ContextRouting, InputMode, OutputMode, Parallel, Router, Sequential, Supervisor, Swarm,
};
use fustat_runtime::react::AgentGraph;
use fustat_runtime::run::{RunOutcome, RunRequest, Runtime};
use fustat_runtime::tool::{FnTool, ToolOutput};
use serde_json::json;

fn agent(name: &str, model: Arc<Scripted>) -> Agent {
    Agent::builder(name, model)
        .system_prompt(format!("You are {name}."))
        .description(format!("{name} does {name} things"))
        .build()
}

async fn run_all(rt: &Runtime, g: DynGraph, req: RunRequest) -> (Vec<RunEvent>, RunOutcome) {
    let mut h = rt.start(g, req).await.unwrap();
    let mut events = Vec::new();
    while let Some(e) = h.next_event().await {
        events.push(e);
    }
    (events, h.finish().await)
}

fn handoffs(events: &[RunEvent]) -> Vec<(String, String)> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Handoff { from, to, .. } => Some((from.clone(), to.clone())),
            _ => None,
        })
        .collect()
}

/// Every assistant tool call is answered by exactly one tool result before the next
/// non-tool message.
fn assert_valid_history(messages: &[Message]) {
    for (i, m) in messages.iter().enumerate() {
        if m.role != Role::Assistant || m.tool_calls.is_empty() {
            continue;
        }
        let results: Vec<&Message> = messages[i + 1..]
            .iter()
            .take_while(|r| r.role == Role::Tool)
            .collect();
        for c in &m.tool_calls {
            let n = results
                .iter()
                .filter(|r| r.tool_call_id.as_deref() == Some(c.id.as_str()))
                .count();
            assert_eq!(
                n, 1,
                "call {} ({}) has {n} results: {messages:#?}",
                c.id, c.name
            );
        }
    }
}

fn assert_requests_valid(model: &Scripted) {
    for r in model.requests() {
        assert_valid_history(&r.messages);
    }
}

#[tokio::test]
async fn supervisor_hands_off_twice_then_answers() {
    let sup = Scripted::new(vec![
        Reply::Calls(vec![("transfer_to_researcher", json!({}))]),
        Reply::Calls(vec![("transfer_to_the_writer", json!({}))]),
        Reply::Text("Here is the article."),
    ]);
    let researcher = Scripted::new(vec![Reply::Text("facts: water is wet")]);
    let writer = Scripted::new(vec![Reply::Text("Prose about wet water")]);
    let team = Supervisor::builder(agent("lead", sup.clone()))
        .agent(agent("researcher", researcher.clone()))
        .agent(agent("the writer", writer.clone()))
        .build()
        .unwrap();
    let rt = Runtime::in_memory();
    let (events, out) = run_all(
        &rt,
        Arc::new(team),
        RunRequest::message("t", "write about water"),
    )
    .await;
    assert_eq!(out.status, RunStatus::Success, "{:?}", out.error);
    assert_eq!(out.answer.unwrap().text(), "Here is the article.");
    assert_eq!(
        handoffs(&events),
        [
            ("lead".into(), "researcher".into()),
            ("researcher".into(), "lead".into()),
            ("lead".into(), "the writer".into()),
            ("the writer".into(), "lead".into()),
        ]
    );
    // The supervisor offers one handoff tool per sub-agent, spaces as underscores.
    let tools: Vec<String> = sup.requests()[0]
        .tools
        .iter()
        .map(|t| t.name.clone())
        .collect();
    assert_eq!(tools, ["transfer_to_researcher", "transfer_to_the_writer"]);
    // Full history: the writer sees the researcher's answer; the supervisor sees both.
    let writer_req = &writer.requests()[0];
    assert!(
        writer_req
            .messages
            .iter()
            .any(|m| m.text().contains("water is wet"))
    );
    assert_eq!(writer_req.messages[0].text(), "You are the writer.");
    let last_sup = sup.requests().last().unwrap().clone();
    assert!(
        last_sup
            .messages
            .iter()
            .any(|m| m.text() == "Prose about wet water")
    );
    for m in [&*sup, &*researcher, &*writer] {
        assert_requests_valid(m);
    }
    // Sub-agent events are namespaced and name the agent.
    let sub_tokens: Vec<&RunEvent> = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::TokenDelta { .. }) && e.agent == "researcher")
        .collect();
    assert!(!sub_tokens.is_empty());
    assert!(
        sub_tokens
            .iter()
            .all(|e| e.namespace.len() == 1 && e.namespace[0].starts_with("researcher:"))
    );
    let state = rt.checkpointer().get("t", None).await.unwrap().unwrap();
    assert_valid_history(state.messages());
    assert!(state.values.get("active_agent").is_none());
}

#[tokio::test]
async fn supervisor_briefs_and_final_answers_keep_sub_agent_work_private() {
    let sup = Scripted::new(vec![
        Reply::Calls(vec![(
            "transfer_to_researcher",
            json!({"brief": "Find the boiling point of water"}),
        )]),
        Reply::Text("It boils at 100 °C."),
    ]);
    let lookups = Arc::new(AtomicUsize::new(0));
    let l = lookups.clone();
    let lookup = FnTool::new("lookup", "looks up", json!({"type":"object"}), move |_| {
        let l = l.clone();
        async move {
            l.fetch_add(1, Ordering::SeqCst);
            Ok(ToolOutput::text("100 °C at sea level"))
        }
    })
    .shared();
    let researcher = Scripted::new(vec![
        Reply::Calls(vec![("lookup", json!({"q": "boiling point"}))]),
        Reply::Text("100 °C"),
    ]);
    let team = Supervisor::builder(agent("lead", sup.clone()))
        .agent(
            Agent::builder("researcher", researcher.clone())
                .system_prompt("You research.")
                .tool(lookup)
                .build(),
        )
        .routing(ContextRouting {
            input: InputMode::Brief,
            output: OutputMode::FinalAnswer,
        })
        .build()
        .unwrap();
    assert_eq!(sup.requests().len(), 0);
    let rt = Runtime::in_memory();
    let (events, out) = run_all(&rt, Arc::new(team), RunRequest::message("t", "hot water?")).await;
    assert_eq!(out.status, RunStatus::Success, "{:?}", out.error);
    assert_eq!(lookups.load(Ordering::SeqCst), 1);
    let first = &researcher.requests()[0];
    let texts: Vec<String> = first.messages.iter().map(|m| m.text()).collect();
    assert_eq!(texts, ["You research.", "Find the boiling point of water"]);
    // The handoff tool asks for a brief.
    assert_eq!(
        sup.requests()[0].tools[0].parameters["required"],
        json!(["brief"])
    );
    let brief = events.iter().find_map(|e| match &e.kind {
        EventKind::Handoff { brief, .. } => brief.clone(),
        _ => None,
    });
    assert_eq!(brief.as_deref(), Some("Find the boiling point of water"));
    let state = rt.checkpointer().get("t", None).await.unwrap().unwrap();
    assert!(
        state
            .messages()
            .iter()
            .all(|m| m.name.as_deref() != Some("lookup"))
    );
    assert!(state.messages().iter().any(|m| m.text() == "100 °C"));
    assert!(state.channel("agent:researcher").is_empty());
    assert_valid_history(state.messages());
    for m in [&*sup, &*researcher] {
        assert_requests_valid(m);
    }
}

#[tokio::test]
async fn a_supervised_tool_inside_a_sub_agent_pauses_and_resumes_there() {
    let sent = Arc::new(AtomicUsize::new(0));
    let s = sent.clone();
    let mail = FnTool::new("send_mail", "sends", json!({"type":"object"}), move |_| {
        let s = s.clone();
        async move {
            s.fetch_add(1, Ordering::SeqCst);
            Ok(ToolOutput::text("mail sent"))
        }
    })
    .requiring_approval()
    .shared();
    let sup = Scripted::new(vec![
        Reply::Calls(vec![("transfer_to_mailer", json!({}))]),
        Reply::Text("Your mail is on its way."),
    ]);
    let mailer = Scripted::new(vec![
        Reply::Calls(vec![("send_mail", json!({"to": "bob"}))]),
        Reply::Text("sent to bob"),
    ]);
    let build = || {
        Arc::new(
            Supervisor::builder(agent("lead", sup.clone()))
                .agent(
                    Agent::builder("mailer", mailer.clone())
                        .tool(mail.clone())
                        .build(),
                )
                .build()
                .unwrap(),
        )
    };
    let store = Arc::new(MemoryCheckpointer::new());
    let rt = Runtime::new(store.clone());
    let (events, out) = run_all(&rt, build(), RunRequest::message("t", "mail bob")).await;
    assert_eq!(out.status, RunStatus::Interrupted);
    assert_eq!(out.interrupts[0].agent, "mailer");
    let int_event = events
        .iter()
        .find(|e| matches!(e.kind, EventKind::Interrupted { .. }))
        .unwrap();
    assert_eq!(int_event.agent, "mailer");
    let state = rt.checkpointer().get("t", None).await.unwrap().unwrap();
    assert_eq!(state.values["active_agent"], "mailer");
    assert_eq!(sent.load(Ordering::SeqCst), 0);

    // After a restart: a new runtime over the same store resumes inside the sub-agent.
    let rt2 = Runtime::new(store);
    let (_, out) = run_all(
        &rt2,
        build(),
        RunRequest::resume("t", Resume::Next(Decision::Accept)),
    )
    .await;
    assert_eq!(out.status, RunStatus::Success, "{:?}", out.error);
    assert_eq!(out.answer.unwrap().text(), "Your mail is on its way.");
    assert_eq!(sent.load(Ordering::SeqCst), 1);
    assert_eq!(sup.requests().len(), 2);
    assert_eq!(mailer.requests().len(), 2);
    assert_requests_valid(&sup);
    assert_requests_valid(&mailer);
}

#[tokio::test]
async fn swarm_remembers_the_active_agent_across_turns() {
    let a = Scripted::new(vec![Reply::Calls(vec![("transfer_to_billing", json!({}))])]);
    let b = Scripted::new(vec![
        Reply::Text("Billing here: you owe 5 €"),
        Reply::Text("Still billing: paid, thanks"),
    ]);
    let swarm = Arc::new(
        Swarm::new(
            "desk",
            vec![agent("triage", a.clone()), agent("billing", b.clone())],
        )
        .unwrap(),
    );
    let rt = Runtime::in_memory();
    let (events, out) = run_all(&rt, swarm.clone(), RunRequest::message("t", "my bill?")).await;
    assert_eq!(out.status, RunStatus::Success);
    assert_eq!(out.answer.unwrap().text(), "Billing here: you owe 5 €");
    assert_eq!(handoffs(&events), [("triage".into(), "billing".into())]);
    let (_, out) = run_all(&rt, swarm, RunRequest::message("t", "I paid")).await;
    assert_eq!(out.answer.unwrap().text(), "Still billing: paid, thanks");
    assert_eq!(a.requests().len(), 1, "the second turn went back to triage");
    // Billing can hand back to triage but not to itself.
    let b_tools: Vec<String> = b.requests()[0]
        .tools
        .iter()
        .map(|t| t.name.clone())
        .collect();
    assert_eq!(b_tools, ["transfer_to_triage"]);
    assert_requests_valid(&b);
}

#[tokio::test]
async fn sequential_pipes_each_answer_into_the_next_agent() {
    let w = Scripted::new(vec![Reply::Text("draft: cats are nice")]);
    let e = Scripted::new(vec![Reply::Text("Cats are delightful.")]);
    let pipe = Arc::new(
        Sequential::new(
            "pipeline",
            vec![agent("writer", w.clone()), agent("editor", e.clone())],
        )
        .unwrap(),
    );
    let rt = Runtime::in_memory();
    let (events, out) = run_all(&rt, pipe, RunRequest::message("t", "write about cats")).await;
    assert_eq!(out.status, RunStatus::Success);
    assert_eq!(out.answer.unwrap().text(), "Cats are delightful.");
    let editor_input = e.requests()[0].messages.last().unwrap().text();
    assert!(
        editor_input.contains("draft: cats are nice") && editor_input.contains("write about cats")
    );
    assert_eq!(handoffs(&events), [("writer".into(), "editor".into())]);
    let state = rt.checkpointer().get("t", None).await.unwrap().unwrap();
    let texts: Vec<String> = state.messages().iter().map(|m| m.text()).collect();
    assert_eq!(texts, ["write about cats", "Cats are delightful."]);
}

#[tokio::test]
async fn parallel_reports_a_failing_agent_and_merges_the_rest() {
    let a = Scripted::new(vec![Reply::Text("Paris is the capital")]);
    let b = Scripted::new(vec![Reply::Fail(ModelError::Server {
        status: 503,
        message: "overloaded".into(),
    })]);
    let merger = Scripted::new(vec![Reply::Text("Merged: Paris.")]);
    let team = Arc::new(
        Parallel::new(
            agent("merger", merger.clone()),
            vec![agent("geo", a.clone()), agent("history", b.clone())],
        )
        .unwrap(),
    );
    let rt = Runtime::in_memory();
    let (events, out) = run_all(&rt, team, RunRequest::message("t", "capital of France?")).await;
    assert_eq!(out.status, RunStatus::Success, "{:?}", out.error);
    assert_eq!(out.answer.unwrap().text(), "Merged: Paris.");
    let prompt = merger.requests()[0].messages.last().unwrap().text();
    assert!(prompt.contains("Paris is the capital"), "{prompt}");
    assert!(
        prompt.contains("history (failed)") && prompt.contains("overloaded"),
        "{prompt}"
    );
    assert!(events.iter().any(|e| matches!(&e.kind, EventKind::Custom { value } if value["type"] == "agent_failed" && value["agent"] == "history")));
    assert!(
        !events
            .iter()
            .any(|e| matches!(e.kind, EventKind::Error { .. }))
    );
    let state = rt.checkpointer().get("t", None).await.unwrap().unwrap();
    assert_eq!(state.messages().len(), 2);
}

#[tokio::test]
async fn parallel_agents_really_run_at_the_same_time() {
    // Each agent's tool waits for the other's: only concurrent branches can finish.
    let barrier = Arc::new(tokio::sync::Barrier::new(2));
    let mk = |name: &'static str| {
        let b = barrier.clone();
        let tool = FnTool::new("meet", "waits", json!({}), move |_| {
            let b = b.clone();
            async move {
                b.wait().await;
                Ok(ToolOutput::text("met"))
            }
        })
        .shared();
        let model = Scripted::new(vec![
            Reply::Calls(vec![("meet", json!({}))]),
            Reply::Text(name),
        ]);
        Agent::builder(name, model).tool(tool).build()
    };
    let merger = Scripted::new(vec![Reply::Text("both")]);
    let team =
        Arc::new(Parallel::new(agent("merger", merger), vec![mk("left"), mk("right")]).unwrap());
    let rt = Runtime::in_memory();
    let out = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        rt.run(team, RunRequest::message("t", "go")),
    )
    .await
    .expect("branches ran one after the other")
    .unwrap();
    assert_eq!(out.status, RunStatus::Success);
}

#[tokio::test]
async fn router_picks_one_agent_which_answers_directly() {
    let router = Scripted::new(vec![Reply::Text(r#"{"agent": "math", "reason": "a sum"}"#)]);
    let poet = Scripted::new(vec![]);
    let math = Scripted::new(vec![Reply::Text("4")]);
    let r = Arc::new(
        Router::new(
            agent("router", router.clone()),
            vec![agent("poet", poet.clone()), agent("math", math.clone())],
        )
        .unwrap(),
    );
    let rt = Runtime::in_memory();
    let (events, out) = run_all(&rt, r, RunRequest::message("t", "2+2?")).await;
    assert_eq!(out.status, RunStatus::Success);
    assert_eq!(out.answer.unwrap().text(), "4");
    assert_eq!(poet.requests().len(), 0);
    let req = &router.requests()[0];
    let schema = req.response_schema.as_ref().unwrap();
    assert_eq!(
        schema.schema["properties"]["agent"]["enum"],
        json!(["poet", "math"])
    );
    let brief = events.iter().find_map(|e| match &e.kind {
        EventKind::Handoff { to, brief, .. } if to == "math" => brief.clone(),
        _ => None,
    });
    assert_eq!(brief.as_deref(), Some("a sum"));
    // The router's own tokens are not part of the answer stream.
    assert!(
        !events
            .iter()
            .any(|e| matches!(e.kind, EventKind::TokenDelta { .. }) && e.agent == "router")
    );
}

#[tokio::test]
async fn handoff_ping_pong_is_stopped_with_a_clear_message() {
    let sup = Scripted::new(
        (0..10)
            .map(|_| Reply::Calls(vec![("transfer_to_helper", json!({}))]))
            .collect(),
    );
    let helper = Scripted::new((0..10).map(|_| Reply::Text("I can't")).collect());
    let team = Arc::new(
        Supervisor::builder(agent("lead", sup.clone()))
            .agent(agent("helper", helper))
            .build()
            .unwrap(),
    );
    let rt = Runtime::in_memory();
    let (_, out) = run_all(&rt, team.clone(), RunRequest::message("t", "go")).await;
    assert_eq!(out.status, RunStatus::LimitReached);
    let err = out.error.unwrap();
    assert_eq!(err.kind, "handoff_loop", "{}", err.message);
    let state = rt.checkpointer().get("t", None).await.unwrap().unwrap();
    assert_valid_history(state.messages());
    assert_requests_valid(&sup);
}

#[tokio::test]
async fn an_orchestrator_without_sub_agents_is_refused_by_the_builder() {
    let err = Supervisor::builder(agent("lead", Scripted::new(vec![])))
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("at least one agent"));
    let dup = Swarm::new(
        "s",
        vec![
            agent("a", Scripted::new(vec![])),
            agent("a", Scripted::new(vec![])),
        ],
    )
    .unwrap_err();
    assert!(dup.to_string().contains("named 'a'"));
}

/// A model with a small context window that refuses longer prompts, like a provider.
struct SmallWindow {
    limit: usize,
    max_seen: AtomicUsize,
    calls: AtomicUsize,
}

#[async_trait]
impl ChatModel for SmallWindow {
    fn model_name(&self) -> &str {
        "small"
    }

    async fn stream(&self, request: ChatRequest) -> Result<ModelStream, ModelError> {
        let tokens = estimate_all(&request.messages);
        if tokens > self.limit {
            return Err(ModelError::ContextLength {
                message: format!("{tokens} > {}", self.limit),
            });
        }
        self.max_seen.fetch_max(tokens, Ordering::SeqCst);
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        let text = format!("answer {n}: {}", "words ".repeat(30));
        Ok(Box::pin(futures::stream::iter(vec![Ok(ModelChunk::Text(
            text,
        ))])))
    }
}

#[tokio::test]
async fn a_long_conversation_stays_within_a_small_context_window() {
    // 200 turns: with a configured window the runtime trims before sending; without one
    // it trims when the provider refuses. Either way every turn succeeds.
    for configured in [true, false] {
        let model = Arc::new(SmallWindow {
            limit: 1200,
            max_seen: AtomicUsize::new(0),
            calls: AtomicUsize::new(0),
        });
        let mut b = Agent::builder("chatty", model.clone()).system_prompt("You are chatty.");
        if configured {
            b = b.context_window(1600);
        }
        let g = Arc::new(AgentGraph::new(b.build()));
        let rt = Runtime::in_memory();
        for i in 0..200 {
            let out = rt
                .run(
                    g.clone(),
                    RunRequest::message("long", format!("message {i}: {}", "blah ".repeat(20))),
                )
                .await
                .unwrap();
            assert_eq!(out.status, RunStatus::Success, "turn {i}: {:?}", out.error);
        }
        assert!(model.max_seen.load(Ordering::SeqCst) <= 1200);
        let state = rt.checkpointer().get("long", None).await.unwrap().unwrap();
        assert_eq!(
            state.messages().len(),
            400,
            "the stored conversation is never trimmed"
        );
    }
}
