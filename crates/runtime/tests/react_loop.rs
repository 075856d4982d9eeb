//! The ReAct loop and the runner, with an in-process scripted model.
//!
//! (Wire-level behaviour against a real HTTP server is tested in `openai_wire.rs`.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::{Reply, Scripted};

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use fustat_runtime::agent::Agent;
use fustat_runtime::checkpoint::MemoryCheckpointer;
use fustat_runtime::event::{EventKind, RunStatus};
use fustat_runtime::graph::{Resume, RunLimits};
use fustat_runtime::interrupt::Decision;
use fustat_runtime::message::{Message, Role};
use fustat_runtime::model::ModelError;
use fustat_runtime::react::AgentGraph;
use fustat_runtime::run::{RunInput, RunRequest, Runtime};
use fustat_runtime::tool::{DynTool, FnTool, ToolError, ToolOutput};
use serde_json::json;

fn counter_tool(name: &'static str, counter: Arc<AtomicUsize>) -> DynTool {
    FnTool::new(name, "counts", json!({"type": "object"}), move |args| {
        let counter = counter.clone();
        async move {
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            Ok(ToolOutput::text(format!("{name} call {n} with {args}")))
        }
    })
    .shared()
}

fn graph(model: Arc<Scripted>, tools: Vec<DynTool>) -> Arc<AgentGraph> {
    Arc::new(AgentGraph::new(
        Agent::builder("Ada", model)
            .system_prompt("You are Ada.")
            .tools(tools)
            .build(),
    ))
}

async fn collect(
    runtime: &Runtime,
    g: Arc<AgentGraph>,
    req: RunRequest,
) -> (Vec<EventKind>, fustat_runtime::run::RunOutcome) {
    let mut handle = runtime.start(g, req).await.expect("run starts");
    let mut events = Vec::new();
    while let Some(e) = handle.next_event().await {
        events.push(e.kind);
    }
    (events, handle.finish().await)
}

#[tokio::test]
async fn answers_with_streamed_tokens_and_ordered_events() {
    let model = Scripted::new(vec![Reply::Text("Hello there")]);
    let rt = Runtime::in_memory();
    let (events, out) = collect(
        &rt,
        graph(model.clone(), vec![]),
        RunRequest::message("t1", "hi"),
    )
    .await;
    assert_eq!(out.status, RunStatus::Success);
    assert_eq!(out.answer.unwrap().text(), "Hello there");
    assert_eq!(out.usage.total(), 15);
    let names: Vec<&str> = events
        .iter()
        .map(|e| match e {
            EventKind::RunStarted { .. } => "started",
            EventKind::AgentActive { .. } => "agent",
            EventKind::TokenDelta { .. } => "delta",
            EventKind::MessageComplete { .. } => "complete",
            EventKind::StepCompleted { .. } => "step",
            EventKind::Finished { .. } => "finished",
            _ => "other",
        })
        .collect();
    assert_eq!(
        names,
        [
            "started", "agent", "delta", "delta", "complete", "step", "finished"
        ]
    );
    // The system prompt comes first and is not stored in the conversation.
    let req = &model.requests()[0];
    assert_eq!(req.messages[0].role, Role::System);
    assert_eq!(req.messages[1].text(), "hi");
    let state = rt.checkpointer().get("t1", None).await.unwrap().unwrap();
    assert_eq!(state.messages().len(), 2);
    assert!(state.messages().iter().all(|m| m.role != Role::System));
}

#[tokio::test]
async fn remembers_the_conversation_across_runs_and_isolates_threads() {
    let model = Scripted::new(vec![
        Reply::Text("one"),
        Reply::Text("two"),
        Reply::Text("other"),
    ]);
    let rt = Runtime::in_memory();
    let g = graph(model.clone(), vec![]);
    rt.run(g.clone(), RunRequest::message("a", "first"))
        .await
        .unwrap();
    rt.run(g.clone(), RunRequest::message("a", "second"))
        .await
        .unwrap();
    rt.run(g.clone(), RunRequest::message("b", "elsewhere"))
        .await
        .unwrap();
    let reqs = model.requests();
    let texts = |i: usize| {
        reqs[i]
            .messages
            .iter()
            .map(|m| m.text())
            .collect::<Vec<_>>()
    };
    assert_eq!(texts(1), ["You are Ada.", "first", "one", "second"]);
    assert_eq!(texts(2), ["You are Ada.", "elsewhere"]);
}

#[tokio::test]
async fn runs_a_tool_and_feeds_the_result_back() {
    let count = Arc::new(AtomicUsize::new(0));
    let model = Scripted::new(vec![
        Reply::Calls(vec![("lookup", json!({"q": "x"}))]),
        Reply::Text("done"),
    ]);
    let rt = Runtime::in_memory();
    let (events, out) = collect(
        &rt,
        graph(model.clone(), vec![counter_tool("lookup", count.clone())]),
        RunRequest::message("t", "go"),
    )
    .await;
    assert_eq!(out.status, RunStatus::Success);
    assert_eq!(count.load(Ordering::SeqCst), 1);
    let second = &model.requests()[1];
    let tool_msg = second.messages.last().unwrap();
    assert_eq!(tool_msg.role, Role::Tool);
    assert!(
        tool_msg.text().contains(r#"{"q":"x"}"#),
        "{}",
        tool_msg.text()
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, EventKind::ToolCall { call, .. } if call.name == "lookup"))
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, EventKind::ToolResult { message, .. } if !message.is_error))
    );
    // The tools offered carry the tool's spec.
    assert_eq!(model.requests()[0].tools[0].name, "lookup");
}

#[tokio::test]
async fn independent_tool_calls_run_concurrently() {
    let barrier = Arc::new(tokio::sync::Barrier::new(2));
    let mk = |name: &'static str| {
        let b = barrier.clone();
        FnTool::new(name, "waits for its sibling", json!({}), move |_| {
            let b = b.clone();
            async move {
                b.wait().await;
                Ok(ToolOutput::text("met"))
            }
        })
        .shared()
    };
    let model = Scripted::new(vec![
        Reply::Calls(vec![("left", json!({})), ("right", json!({}))]),
        Reply::Text("both met"),
    ]);
    let rt = Runtime::in_memory();
    let out = tokio::time::timeout(
        Duration::from_secs(20),
        rt.run(
            graph(model, vec![mk("left"), mk("right")]),
            RunRequest::message("t", "go"),
        ),
    )
    .await
    .expect("tools ran one after the other and deadlocked")
    .unwrap();
    assert_eq!(out.status, RunStatus::Success);
}

#[tokio::test]
async fn tool_failures_and_unknown_tools_become_messages_the_model_sees() {
    let failing = FnTool::new("flaky", "fails", json!({}), |_| async {
        Err::<ToolOutput, _>(ToolError::Failed("disk full".into()))
    })
    .shared();
    let model = Scripted::new(vec![
        Reply::Calls(vec![
            ("flaky", json!({})),
            ("imaginary", json!({})),
            ("flaky", json!("not an object")),
        ]),
        Reply::Text("sorry"),
    ]);
    let rt = Runtime::in_memory();
    let out = rt
        .run(
            graph(model.clone(), vec![failing]),
            RunRequest::message("t", "go"),
        )
        .await
        .unwrap();
    assert_eq!(out.status, RunStatus::Success);
    let msgs = &model.requests()[1].messages;
    let tools: Vec<&Message> = msgs.iter().filter(|m| m.role == Role::Tool).collect();
    assert_eq!(tools.len(), 3);
    assert!(tools.iter().all(|m| m.is_error));
    assert!(tools[0].text().contains("disk full"));
    assert!(tools[1].text().contains("no tool named 'imaginary'"));
    assert!(tools[1].text().contains("flaky"));
    assert!(tools[2].text().contains("JSON object"));
}

#[tokio::test]
async fn the_step_limit_ends_the_run_with_a_clear_message_and_the_next_message_works() {
    let count = Arc::new(AtomicUsize::new(0));
    let model = Scripted::new(
        (0..10)
            .map(|_| Reply::Calls(vec![("lookup", json!({}))]))
            .chain([Reply::Text("fresh start")])
            .collect(),
    );
    let rt = Runtime::in_memory().with_limits(RunLimits {
        max_steps: 3,
        ..RunLimits::default()
    });
    let g = graph(model.clone(), vec![counter_tool("lookup", count.clone())]);
    let (events, out) = collect(&rt, g.clone(), RunRequest::message("t", "loop")).await;
    assert_eq!(out.status, RunStatus::LimitReached);
    let err = out.error.unwrap();
    assert_eq!(err.kind, "step_limit");
    assert!(err.message.contains("3 steps"), "{}", err.message);
    assert!(events.iter().any(|e| matches!(e, EventKind::Error { .. })));
    assert!(matches!(
        events.last(),
        Some(EventKind::Finished {
            status: RunStatus::LimitReached,
            ..
        })
    ));

    // Steps: model, tools, model → the last assistant call is unanswered. A new message
    // closes it so the history stays valid.
    {
        let mut model_replies = model.replies.lock().unwrap();
        model_replies.clear();
        model_replies.push_back(Reply::Text("fresh start"));
    }
    let out = rt.run(g, RunRequest::message("t", "again")).await.unwrap();
    assert_eq!(out.status, RunStatus::Success);
    let last = model.requests().last().unwrap().clone();
    let msgs = &last.messages;
    for (i, m) in msgs.iter().enumerate() {
        for c in &m.tool_calls {
            assert!(
                msgs[i + 1..]
                    .iter()
                    .any(|r| r.tool_call_id.as_deref() == Some(c.id.as_str())),
                "call {} has no result",
                c.id
            );
        }
    }
}

#[tokio::test]
async fn cancelling_stops_a_hung_model_call() {
    let model = Scripted::new(vec![Reply::Hang]);
    let rt = Runtime::in_memory();
    let handle = rt
        .start(graph(model, vec![]), RunRequest::message("t", "hi"))
        .await
        .unwrap();
    let token = handle.cancel_token();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        token.cancel();
    });
    let out = tokio::time::timeout(Duration::from_secs(20), handle.finish())
        .await
        .unwrap();
    assert_eq!(out.status, RunStatus::Cancelled);
}

#[tokio::test]
async fn cancelling_stops_running_tools() {
    let stopped = Arc::new(AtomicUsize::new(0));
    let s = stopped.clone();
    let slow = FnTool::new("slow", "never ends", json!({}), move |_| {
        let s = s.clone();
        async move {
            struct Guard(Arc<AtomicUsize>);
            impl Drop for Guard {
                fn drop(&mut self) {
                    self.0.fetch_add(1, Ordering::SeqCst);
                }
            }
            let _g = Guard(s);
            futures::future::pending::<()>().await;
            Ok(ToolOutput::text("never"))
        }
    })
    .shared();
    let model = Scripted::new(vec![Reply::Calls(vec![("slow", json!({}))])]);
    let rt = Runtime::in_memory();
    let mut handle = rt
        .start(graph(model, vec![slow]), RunRequest::message("t", "hi"))
        .await
        .unwrap();
    while let Some(e) = handle.next_event().await {
        if matches!(e.kind, EventKind::ToolCall { .. }) {
            handle.cancel();
            break;
        }
    }
    let out = tokio::time::timeout(Duration::from_secs(20), handle.finish())
        .await
        .unwrap();
    assert_eq!(out.status, RunStatus::Cancelled);
    assert_eq!(
        stopped.load(Ordering::SeqCst),
        1,
        "the tool future was not dropped"
    );
}

#[tokio::test]
async fn model_errors_end_the_run_with_an_error_event() {
    let model = Scripted::new(vec![Reply::Fail(ModelError::Unauthorized { status: 401 })]);
    let rt = Runtime::in_memory();
    let (events, out) = collect(&rt, graph(model, vec![]), RunRequest::message("t", "hi")).await;
    assert_eq!(out.status, RunStatus::Error);
    let err = out.error.unwrap();
    assert_eq!(err.kind, "model_error");
    assert_eq!(err.message, "the LLM provider rejected the API key (401)");
    assert!(matches!(&events[events.len() - 2], EventKind::Error { .. }));
    // The input stays in the conversation.
    let state = rt.checkpointer().get("t", None).await.unwrap().unwrap();
    assert_eq!(state.messages()[0].text(), "hi");
}

fn approval_tool(count: Arc<AtomicUsize>) -> DynTool {
    FnTool::new(
        "send_mail",
        "sends mail",
        json!({"type": "object"}),
        move |args| {
            let count = count.clone();
            async move {
                count.fetch_add(1, Ordering::SeqCst);
                Ok(ToolOutput::text(format!("sent {args}")))
            }
        },
    )
    .requiring_approval()
    .shared()
}

async fn paused(rt: &Runtime, model: Arc<Scripted>, count: Arc<AtomicUsize>) -> Arc<AgentGraph> {
    let g = graph(model, vec![approval_tool(count.clone())]);
    let out = rt
        .run(g.clone(), RunRequest::message("t", "mail bob"))
        .await
        .unwrap();
    assert_eq!(out.status, RunStatus::Interrupted);
    assert_eq!(out.interrupts.len(), 1);
    assert_eq!(out.interrupts[0].request.action_request.action, "send_mail");
    assert_eq!(count.load(Ordering::SeqCst), 0);
    let state = rt.checkpointer().get("t", None).await.unwrap().unwrap();
    assert!(state.values.contains_key("interrupts"));
    g
}

fn mail_script() -> Arc<Scripted> {
    Scripted::new(vec![
        Reply::Calls(vec![("send_mail", json!({"to": "bob"}))]),
        Reply::Text("ok"),
    ])
}

#[tokio::test]
async fn supervised_tools_pause_and_accept_runs_them() {
    let count = Arc::new(AtomicUsize::new(0));
    let model = mail_script();
    let rt = Runtime::in_memory();
    let g = paused(&rt, model.clone(), count.clone()).await;
    let out = rt
        .run(g, RunRequest::resume("t", Resume::Next(Decision::Accept)))
        .await
        .unwrap();
    assert_eq!(out.status, RunStatus::Success);
    assert_eq!(count.load(Ordering::SeqCst), 1);
    let tool_msg = model.requests()[1].messages.last().unwrap().clone();
    assert!(tool_msg.text().contains("bob"));
    let state = rt.checkpointer().get("t", None).await.unwrap().unwrap();
    assert!(!state.values.contains_key("interrupts"));
}

#[tokio::test]
async fn edit_runs_the_tool_with_new_arguments() {
    let count = Arc::new(AtomicUsize::new(0));
    let model = mail_script();
    let rt = Runtime::in_memory();
    let g = paused(&rt, model.clone(), count.clone()).await;
    let r = Resume::Next(Decision::Edit {
        args: json!({"to": "carol"}),
    });
    rt.run(g, RunRequest::resume("t", r)).await.unwrap();
    assert_eq!(count.load(Ordering::SeqCst), 1);
    let tool_msg = model.requests()[1].messages.last().unwrap().clone();
    assert!(tool_msg.text().contains("carol"), "{}", tool_msg.text());
}

#[tokio::test]
async fn response_and_ignore_do_not_run_the_tool() {
    for (decision, expected) in [
        (
            Decision::Response {
                text: "Bob is away".into(),
            },
            "Bob is away",
        ),
        (Decision::Ignore, "not available"),
    ] {
        let count = Arc::new(AtomicUsize::new(0));
        let model = mail_script();
        let rt = Runtime::in_memory();
        let g = paused(&rt, model.clone(), count.clone()).await;
        let out = rt
            .run(g, RunRequest::resume("t", Resume::Next(decision)))
            .await
            .unwrap();
        assert_eq!(out.status, RunStatus::Success);
        assert_eq!(count.load(Ordering::SeqCst), 0);
        let tool_msg = model.requests()[1].messages.last().unwrap().clone();
        assert!(tool_msg.text().contains(expected), "{}", tool_msg.text());
    }
}

#[tokio::test]
async fn resuming_a_thread_that_is_not_paused_is_refused() {
    let rt = Runtime::in_memory();
    let g = graph(Scripted::new(vec![Reply::Text("hi")]), vec![]);
    rt.run(g.clone(), RunRequest::message("t", "hello"))
        .await
        .unwrap();
    let err = rt
        .start(g, RunRequest::resume("t", Resume::Next(Decision::Accept)))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no paused tool call"), "{err}");
}

#[tokio::test]
async fn a_new_message_while_paused_closes_the_paused_call() {
    let count = Arc::new(AtomicUsize::new(0));
    let model = Scripted::new(vec![
        Reply::Calls(vec![("send_mail", json!({"to": "bob"}))]),
        Reply::Text("fine, no mail"),
    ]);
    let rt = Runtime::in_memory();
    let g = paused(&rt, model.clone(), count.clone()).await;
    let out = rt
        .run(g, RunRequest::message("t", "never mind"))
        .await
        .unwrap();
    assert_eq!(out.status, RunStatus::Success);
    assert_eq!(count.load(Ordering::SeqCst), 0);
    let msgs = &model.requests()[1].messages;
    let roles: Vec<Role> = msgs.iter().map(|m| m.role).collect();
    assert_eq!(
        roles,
        [
            Role::System,
            Role::User,
            Role::Assistant,
            Role::Tool,
            Role::User
        ]
    );
}

#[tokio::test]
async fn resuming_after_a_crash_does_not_rerun_completed_tools() {
    // Two tools in one turn: the first finishes, the second hangs, and the run is
    // abandoned (as a crash would). Continuing runs only the unfinished call.
    let fast_count = Arc::new(AtomicUsize::new(0));
    let hang = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let h = hang.clone();
    let slow_count = Arc::new(AtomicUsize::new(0));
    let sc = slow_count.clone();
    let slow = FnTool::new("slow", "slow", json!({}), move |_| {
        let h = h.clone();
        let sc = sc.clone();
        async move {
            if h.load(Ordering::SeqCst) {
                futures::future::pending::<()>().await;
            }
            sc.fetch_add(1, Ordering::SeqCst);
            Ok(ToolOutput::text("slow done"))
        }
    })
    .shared();
    let checkpointer = Arc::new(MemoryCheckpointer::new());
    let model = Scripted::new(vec![
        Reply::Calls(vec![("fast", json!({})), ("slow", json!({}))]),
        Reply::Text("all done"),
    ]);
    let rt = Runtime::new(checkpointer.clone());
    let g = graph(
        model.clone(),
        vec![counter_tool("fast", fast_count.clone()), slow],
    );
    let mut handle = rt
        .start(g.clone(), RunRequest::message("t", "go"))
        .await
        .unwrap();
    while let Some(e) = handle.next_event().await {
        if let EventKind::ToolResult { message, .. } = &e.kind
            && message.name.as_deref() == Some("fast")
        {
            break;
        }
    }
    handle.cancel();
    handle.finish().await;
    assert_eq!(fast_count.load(Ordering::SeqCst), 1);

    // A new runtime over the same store, as after a restart.
    hang.store(false, Ordering::SeqCst);
    let rt2 = Runtime::new(checkpointer);
    let out = rt2
        .run(g, RunRequest::new("t", RunInput::Continue))
        .await
        .unwrap();
    assert_eq!(out.status, RunStatus::Success);
    assert_eq!(out.answer.unwrap().text(), "all done");
    assert_eq!(
        fast_count.load(Ordering::SeqCst),
        1,
        "the finished tool ran again"
    );
    assert_eq!(slow_count.load(Ordering::SeqCst), 1);
    let msgs = &model.requests()[1].messages;
    assert_eq!(msgs.iter().filter(|m| m.role == Role::Tool).count(), 2);
}

#[tokio::test]
async fn forking_from_an_earlier_checkpoint_keeps_the_original_branch() {
    let model = Scripted::new(vec![
        Reply::Text("first answer"),
        Reply::Text("second answer"),
    ]);
    let rt = Runtime::in_memory();
    let g = graph(model, vec![]);
    rt.run(g.clone(), RunRequest::message("t", "q"))
        .await
        .unwrap();
    let history = rt
        .checkpointer()
        .history(
            "t",
            fustat_runtime::checkpoint::HistoryQuery {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    // Newest first: the answer's checkpoint, then the input's.
    assert_eq!(history.len(), 2);
    let input_cp = history[1].checkpoint.clone().unwrap().checkpoint_id;
    let mut req = RunRequest::new("t", RunInput::Continue);
    req.checkpoint_id = Some(input_cp.clone());
    let out = rt.run(g, req).await.unwrap();
    assert_eq!(out.answer.unwrap().text(), "second answer");
    let head = rt.checkpointer().get("t", None).await.unwrap().unwrap();
    assert_eq!(head.messages().last().unwrap().text(), "second answer");
    let old = rt
        .checkpointer()
        .get(
            "t",
            Some(&history[0].checkpoint.clone().unwrap().checkpoint_id),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(old.messages().last().unwrap().text(), "first answer");
    assert_eq!(
        head.checkpoint.unwrap().parent_id.as_deref(),
        Some(input_cp.as_str())
    );
}
