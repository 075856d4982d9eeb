//! The ReAct loop (reason, act, observe): the building blocks every pattern uses, and
//! [`AgentGraph`], a single agent as a [`Graph`].

use std::time::Instant;

use async_trait::async_trait;
use futures::StreamExt;

use crate::agent::Agent;
use crate::checkpoint::PendingWrite;
use crate::context::{ContextBudget, estimate_all, fit_to_budget};
use crate::error::RunError;
use crate::event::EventKind;
use crate::graph::{Graph, Next, StepCtx, StepOutcome};
use crate::interrupt::{Decision, Interrupt};
use crate::message::{Message, ToolCall, new_message_id, unanswered_tool_calls};
use crate::model::{ChatRequest, ModelChunk, ResponseAccumulator};
use crate::tool::{DynTool, ToolContext, ToolError, ToolOutput, ToolSet, ToolSpec};

/// The node name of tool steps.
pub const TOOLS_NODE: &str = "tools";

/// Calls `agent`'s model on `history` (the system prompt is added here), streaming token
/// and tool-call deltas as events, and returns the finished assistant message. The
/// message is not added to the state; the caller decides where it goes.
pub async fn call_model(
    cx: &mut StepCtx,
    agent: &Agent,
    history: Vec<Message>,
    tools: Vec<ToolSpec>,
) -> Result<Message, RunError> {
    call_model_with(cx, agent, history, tools, None, true).await
}

/// Like [`call_model`], with structured output and a choice whether tokens are streamed
/// as events (a router's choice is not part of the answer, say).
pub async fn call_model_with(
    cx: &mut StepCtx,
    agent: &Agent,
    history: Vec<Message>,
    tools: Vec<ToolSpec>,
    response_schema: Option<crate::model::ResponseSchema>,
    stream_tokens: bool,
) -> Result<Message, RunError> {
    let mut messages = Vec::with_capacity(history.len() + 1);
    if !agent.system_prompt.is_empty() {
        messages.push(Message::system(agent.system_prompt.clone()));
    }
    messages.extend(history);
    let tool_tokens: usize = tools
        .iter()
        .map(|t| (t.name.len() + t.description.len() + t.parameters.to_string().len()) / 4 + 8)
        .sum();
    let mut budget = agent.context_window().map(ContextBudget::for_window);
    let cancel = cx.cancel.clone();
    let mut attempts = 0;
    let mut stream = loop {
        let request_messages = match budget {
            Some(b) => {
                let (fitted, dropped) = fit_to_budget(messages.clone(), b, tool_tokens);
                if dropped > 0 {
                    tracing::debug!(
                        agent = agent.name(),
                        dropped,
                        "older messages left out of the request"
                    );
                }
                fitted
            }
            None => messages.clone(),
        };
        let sent_tokens = estimate_all(&request_messages) + tool_tokens;
        let request = ChatRequest {
            messages: request_messages,
            tools: tools.clone(),
            temperature: agent.temperature,
            response_schema: response_schema.clone(),
            ..ChatRequest::default()
        };
        let result = tokio::select! {
            biased;
            _ = cancel.cancelled() => return Err(RunError::Cancelled),
            r = agent.model.stream(request) => r,
        };
        match result {
            Ok(s) => break s,
            // The provider says the request is too long: trim harder and try again.
            Err(crate::model::ModelError::ContextLength { .. }) if attempts < 6 => {
                attempts += 1;
                let max_prompt_tokens = (sent_tokens / 2).max(256);
                tracing::info!(
                    agent = agent.name(),
                    max_prompt_tokens,
                    "the provider refused the context length; trimming"
                );
                budget = Some(ContextBudget { max_prompt_tokens });
            }
            Err(e) => return Err(e.into()),
        }
    };
    let message_id = new_message_id();
    let mut acc = ResponseAccumulator::default();
    loop {
        let item = tokio::select! {
            biased;
            _ = cancel.cancelled() => return Err(RunError::Cancelled),
            item = stream.next() => item,
        };
        let chunk = match item {
            None => break,
            Some(Err(e)) => return Err(e.into()),
            Some(Ok(chunk)) => chunk,
        };
        match &chunk {
            ModelChunk::Text(text) if stream_tokens && !text.is_empty() => {
                cx.emit(EventKind::TokenDelta {
                    message_id: message_id.clone(),
                    text: text.clone(),
                })
                .await;
            }
            ModelChunk::ToolCallDelta {
                index,
                id,
                name,
                arguments,
            } if stream_tokens => {
                cx.emit(EventKind::ToolCallDelta {
                    message_id: message_id.clone(),
                    index: *index,
                    id: id.clone(),
                    name: name.clone(),
                    arguments: arguments.clone(),
                })
                .await;
            }
            _ => {}
        }
        acc.push(chunk);
    }
    let mut message = acc.finish();
    message.id = message_id;
    message.name = Some(agent.name.clone());
    if let Some(u) = message.usage {
        cx.add_usage(u);
    }
    if stream_tokens {
        cx.emit(EventKind::MessageComplete {
            message: message.clone(),
        })
        .await;
    }
    Ok(message)
}

/// A decided tool call: what to do with it.
enum Plan {
    /// Its result is known without running it (recorded earlier, refused, answered by a
    /// reviewer).
    Known(Message, bool),
    /// Run it with these arguments.
    Run(ToolCall, DynTool),
}

/// Runs the tool calls of an assistant message and appends their results to `channel`.
///
/// Calls run concurrently; results are added in call order. A call whose result was
/// recorded by an earlier, unfinished attempt at this step is not run again. Calls of
/// tools that need approval run only with a decision from the resume input; the others
/// are returned as interrupts (their results are not added).
pub async fn run_tool_calls(
    cx: &mut StepCtx,
    tools: &ToolSet,
    calls: &[ToolCall],
    channel: &str,
) -> Result<Vec<Interrupt>, RunError> {
    let mut plans: Vec<Plan> = Vec::with_capacity(calls.len());
    let mut interrupts = Vec::new();
    for call in calls {
        if let Some(w) = cx.recorded_result(&call.id) {
            plans.push(Plan::Known(w.message.clone(), false));
            continue;
        }
        let Some(tool) = tools.get(&call.name) else {
            let mut available: Vec<_> = tools.iter().map(|t| t.spec().name.clone()).collect();
            available.sort();
            let text = if available.is_empty() {
                format!(
                    "Error: there is no tool named '{}'; no tools are available.",
                    call.name
                )
            } else {
                format!(
                    "Error: there is no tool named '{}'. Available tools: {}.",
                    call.name,
                    available.join(", ")
                )
            };
            plans.push(Plan::Known(Message::tool_result(call, text, true), true));
            continue;
        };
        if !(call.arguments.is_object() || call.arguments.is_null()) {
            let text = format!(
                "Error: the arguments of '{}' must be a JSON object, got: {}",
                call.name,
                truncate(&call.arguments.to_string(), 500)
            );
            plans.push(Plan::Known(Message::tool_result(call, text, true), true));
            continue;
        }
        if tool.requires_approval() {
            let interrupt = Interrupt::for_tool_call(&cx.agent, call);
            match cx.take_decision(&interrupt.id) {
                None => interrupts.push(interrupt),
                Some(Decision::Accept) => plans.push(Plan::Run(call.clone(), tool.clone())),
                Some(Decision::Edit { args }) => {
                    let mut edited = call.clone();
                    edited.arguments = args;
                    plans.push(Plan::Run(edited, tool.clone()));
                }
                Some(Decision::Response { text }) => {
                    plans.push(Plan::Known(Message::tool_result(call, text, false), true));
                }
                Some(Decision::Ignore) => {
                    let text = format!(
                        "The tool '{}' is not available: the reviewer declined this call.",
                        call.name
                    );
                    plans.push(Plan::Known(Message::tool_result(call, text, false), true));
                }
            }
        } else {
            plans.push(Plan::Run(call.clone(), tool.clone()));
        }
    }

    // Announce every call that will run, in order, before any starts.
    for plan in &plans {
        if let Plan::Run(call, tool) = plan {
            cx.emit(EventKind::ToolCall {
                call: call.clone(),
                source: tool.source().map(str::to_owned),
            })
            .await;
        }
    }

    let max_bytes = cx.limits.max_tool_result_bytes;
    let timeout = cx.limits.tool_timeout;
    let runs = plans.iter().enumerate().filter_map(|(i, plan)| match plan {
        Plan::Run(call, tool) => {
            let ctx = ToolContext {
                thread_id: cx.thread_id.clone(),
                run_id: cx.run_id.clone(),
                call_id: call.id.clone(),
                agent: cx.agent.clone(),
                cancel: cx.cancel.child_token(),
            };
            let call = call.clone();
            let tool = tool.clone();
            let events = cx.events.clone();
            let template = cx.event(EventKind::Custom {
                value: serde_json::Value::Null,
            });
            let checkpointer = cx.checkpointer.clone();
            let base = cx.base_checkpoint.clone();
            let channel = channel.to_owned();
            Some(async move {
                let started = Instant::now();
                let cancel = ctx.cancel.clone();
                let args = if call.arguments.is_null() {
                    serde_json::Value::Object(Default::default())
                } else {
                    call.arguments.clone()
                };
                let result = tokio::select! {
                    biased;
                    _ = cancel.cancelled() => Err(ToolError::Cancelled),
                    r = tokio::time::timeout(timeout, tool.call(args, ctx)) => match r {
                        Ok(r) => r,
                        Err(_) => Err(ToolError::Timeout(timeout.as_secs())),
                    },
                };
                if matches!(result, Err(ToolError::Cancelled)) {
                    return (i, None);
                }
                let message = tool_message(&call, result, max_bytes);
                if let Some(base) = &base {
                    let write = PendingWrite {
                        task_id: call.id.clone(),
                        channel,
                        message: message.clone(),
                    };
                    if let Err(e) = checkpointer
                        .put_pending_write(&template.thread_id, base, write)
                        .await
                    {
                        tracing::warn!(error = %e, "could not record a tool result");
                    }
                }
                let mut event = template;
                event.kind = EventKind::ToolResult {
                    message: message.clone(),
                    duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                };
                let _ = events.send(event).await;
                (i, Some(message))
            })
        }
        Plan::Known(..) => None,
    });
    let finished = futures::future::join_all(runs).await;
    if cx.is_cancelled() {
        return Err(RunError::Cancelled);
    }

    let mut results: Vec<Option<Message>> = plans
        .iter()
        .map(|p| match p {
            Plan::Known(m, _) => Some(m.clone()),
            Plan::Run(..) => None,
        })
        .collect();
    for (i, m) in finished {
        results[i] = m;
    }
    for (plan, result) in plans.iter().zip(results) {
        let Some(message) = result else {
            return Err(RunError::Cancelled);
        };
        if let Plan::Known(_, announce) = plan {
            if *announce && let Some(base) = &cx.base_checkpoint {
                {
                    let write = PendingWrite {
                        task_id: message.tool_call_id.clone().unwrap_or_default(),
                        channel: channel.to_owned(),
                        message: message.clone(),
                    };
                    cx.checkpointer
                        .put_pending_write(&cx.thread_id, base, write)
                        .await?;
                }
            }
            cx.emit(EventKind::ToolResult {
                message: message.clone(),
                duration_ms: 0,
            })
            .await;
        }
        cx.state.push(channel, message);
    }
    Ok(interrupts)
}

/// Turns a tool's result into the tool message the model sees.
pub fn tool_message(
    call: &ToolCall,
    result: Result<ToolOutput, ToolError>,
    max_bytes: usize,
) -> Message {
    match result {
        Ok(out) => {
            let content = if out.content.is_empty() {
                out.structured
                    .as_ref()
                    .map(|v| v.to_string())
                    .unwrap_or_default()
            } else {
                out.content
            };
            let mut m = Message::tool_result(call, truncate_note(content, max_bytes), out.is_error);
            m.artifact = out.structured;
            m
        }
        Err(e) => Message::tool_result(call, format!("Error: {e}"), true),
    }
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn truncate_note(s: String, max: usize) -> String {
    if s.len() <= max {
        return s;
    }
    let kept = truncate(&s, max);
    format!(
        "{kept}\n[… the result was cut: {} more bytes were not kept]",
        s.len() - kept.len()
    )
}

/// What one ReAct step did.
#[derive(Debug, Clone, PartialEq)]
pub enum ReactTurn {
    /// The model answered. `done` is true when it asked for no tool.
    ModelCalled {
        /// The assistant message (already added to the channel).
        message: Message,
        /// True when the message has no tool calls: the agent is done.
        done: bool,
    },
    /// Tool calls ran and their results were added.
    ToolsRan,
    /// Some tool calls wait for a human decision.
    Interrupted(Vec<Interrupt>),
}

/// One ReAct step of `agent` on `channel`: run the pending tool calls if the last
/// assistant message has any, otherwise call the model.
pub async fn react_step(
    cx: &mut StepCtx,
    agent: &Agent,
    channel: &str,
) -> Result<ReactTurn, RunError> {
    react_step_with_prefix(cx, agent, channel, &[]).await
}

/// Like [`react_step`], with `prefix` (context the agent is given, such as a brief)
/// placed before the channel's messages in model requests.
pub async fn react_step_with_prefix(
    cx: &mut StepCtx,
    agent: &Agent,
    channel: &str,
    prefix: &[Message],
) -> Result<ReactTurn, RunError> {
    let tools = cx.tools_of(agent).await?;
    let pending = unanswered_tool_calls(cx.state.channel(channel));
    if !pending.is_empty() {
        let interrupts = run_tool_calls(cx, &tools, &pending, channel).await?;
        return Ok(if interrupts.is_empty() {
            ReactTurn::ToolsRan
        } else {
            ReactTurn::Interrupted(interrupts)
        });
    }
    let mut history = prefix.to_vec();
    history.extend_from_slice(cx.state.channel(channel));
    let message = call_model(cx, agent, history, tools.specs()).await?;
    cx.state.push(channel, message.clone());
    let done = message.tool_calls.is_empty();
    Ok(ReactTurn::ModelCalled { message, done })
}

/// A single agent as a graph: the ReAct loop over the main conversation.
///
/// ```no_run
/// # use std::sync::Arc;
/// # use fustat_runtime::{agent::Agent, react::AgentGraph, run::{Runtime, RunRequest}, model::ChatModel};
/// # async fn demo(model: Arc<dyn ChatModel>) -> Result<(), Box<dyn std::error::Error>> {
/// let agent = Agent::builder("helper", model).system_prompt("You help.").build();
/// let runtime = Runtime::in_memory();
/// let outcome = runtime
///     .run(Arc::new(AgentGraph::new(agent)), RunRequest::message("thread-1", "Hello"))
///     .await?;
/// println!("{:?}", outcome.answer.map(|m| m.text()));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct AgentGraph {
    agent: Agent,
}

impl AgentGraph {
    /// The graph of one agent.
    pub fn new(agent: Agent) -> Self {
        AgentGraph { agent }
    }

    /// The agent.
    pub fn agent(&self) -> &Agent {
        &self.agent
    }
}

#[async_trait]
impl Graph for AgentGraph {
    fn name(&self) -> &str {
        self.agent.name()
    }

    fn kind(&self) -> &str {
        "agent"
    }

    fn agents(&self) -> Vec<&Agent> {
        vec![&self.agent]
    }

    async fn step(&self, cx: &mut StepCtx) -> Result<StepOutcome, RunError> {
        cx.activate(self.agent.name(), Vec::new()).await;
        match react_step(cx, &self.agent, crate::checkpoint::MAIN_CHANNEL).await? {
            ReactTurn::ModelCalled { message, done } => Ok(StepOutcome {
                node: self.agent.name().to_owned(),
                next: if done {
                    Next::Finish(Some(message))
                } else {
                    Next::Continue
                },
            }),
            ReactTurn::ToolsRan => Ok(StepOutcome::cont(TOOLS_NODE)),
            ReactTurn::Interrupted(interrupts) => Ok(StepOutcome {
                node: TOOLS_NODE.to_owned(),
                next: Next::Interrupt(interrupts),
            }),
        }
    }

    fn topology(&self) -> (Vec<crate::graph::GraphNode>, Vec<crate::graph::GraphEdge>) {
        use crate::graph::{GraphEdge, GraphNode};
        let name = self.agent.name().to_owned();
        let node = |id: &str, kind: &str| GraphNode {
            id: id.to_owned(),
            kind: kind.to_owned(),
        };
        let edge = |s: &str, t: &str, c: bool| GraphEdge {
            source: s.to_owned(),
            target: t.to_owned(),
            conditional: c,
        };
        (
            vec![
                node("__start__", "start"),
                node(&name, "agent"),
                node(TOOLS_NODE, "tools"),
                node("__end__", "end"),
            ],
            vec![
                edge("__start__", &name, false),
                edge(&name, TOOLS_NODE, true),
                edge(TOOLS_NODE, &name, false),
                edge(&name, "__end__", true),
            ],
        )
    }
}
