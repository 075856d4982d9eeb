//! Multi-agent patterns: [`Supervisor`], [`Swarm`], [`Sequential`], [`Parallel`] and
//! [`Router`], each a [`Graph`](crate::graph::Graph) built from [`Agent`]s.
//!
//! Every pattern keeps the conversation valid for strict providers: each tool call an
//! assistant message makes (handoffs included) is answered by exactly one tool result
//! before the next model call.

mod parallel;
mod router;
mod sequential;
mod supervisor;
mod swarm;

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub use parallel::Parallel;
pub use router::Router;
pub use sequential::Sequential;
pub use supervisor::{Supervisor, SupervisorBuilder};
pub use swarm::Swarm;

use crate::agent::Agent;
use crate::checkpoint::MAIN_CHANNEL;
use crate::error::RunError;
use crate::graph::StepCtx;
use crate::interrupt::Interrupt;
use crate::message::{Message, Role, ToolCall, unanswered_tool_calls};
use crate::react::{call_model, run_tool_calls};
use crate::tool::ToolSpec;

/// What a sub-agent sees when it gets control.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InputMode {
    /// The whole conversation so far.
    #[default]
    FullHistory,
    /// Only the latest user request.
    LatestRequest,
    /// A brief the handing-off agent writes in its handoff call.
    Brief,
}

/// What comes back from a sub-agent into the main conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputMode {
    /// Everything it did: its messages, tool calls and results.
    #[default]
    FullHistory,
    /// Only its final answer.
    FinalAnswer,
}

/// How context flows between an orchestrator and its agents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ContextRouting {
    /// What a sub-agent sees.
    #[serde(default)]
    pub input: InputMode,
    /// What comes back.
    #[serde(default)]
    pub output: OutputMode,
}

impl ContextRouting {
    /// True when the sub-agent works directly on the main conversation.
    fn shares_main(&self) -> bool {
        self.input == InputMode::FullHistory && self.output == OutputMode::FullHistory
    }
}

/// The name of the handoff tool that gives control to `agent`: `transfer_to_<name>`, with
/// every character outside `[A-Za-z0-9_-]` (spaces, say) turned into `_`, at most 64
/// characters.
pub fn handoff_tool_name(agent: &str) -> String {
    let mut name = String::from("transfer_to_");
    for c in agent.trim().chars() {
        name.push(if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
            c
        } else {
            '_'
        });
    }
    name.truncate(64);
    name
}

/// The private channel of an agent's work.
pub(crate) fn agent_channel(agent: &str) -> String {
    format!("agent:{agent}")
}

/// Handoff tools by tool name.
#[derive(Debug, Clone, Default)]
pub(crate) struct Handoffs {
    targets: HashMap<String, String>,
    specs: Vec<ToolSpec>,
}

impl Handoffs {
    /// Handoff tools to each of `agents`.
    pub(crate) fn to<'a>(agents: impl IntoIterator<Item = &'a Agent>, with_brief: bool) -> Self {
        let mut h = Handoffs::default();
        for a in agents {
            let tool = handoff_tool_name(a.name());
            let what = a
                .description()
                .filter(|d| !d.trim().is_empty())
                .map(|d| format!(": {}", d.trim()))
                .unwrap_or_default();
            let parameters = if with_brief {
                json!({
                    "type": "object",
                    "properties": {"brief": {"type": "string", "description": "What the agent should do, with everything it needs to know."}},
                    "required": ["brief"]
                })
            } else {
                json!({"type": "object", "properties": {}})
            };
            h.specs.push(ToolSpec::new(
                tool.clone(),
                format!("Give control to the agent '{}'{what}", a.name()),
                parameters,
            ));
            h.targets.insert(tool, a.name().to_owned());
        }
        h
    }

    fn target(&self, tool: &str) -> Option<&str> {
        self.targets.get(tool).map(String::as_str)
    }
}

/// What one turn of a pattern's agent did.
#[derive(Debug)]
pub(crate) enum Turn {
    /// The agent answered without asking for tools.
    Answered(Message),
    /// The model asked for tools, or tools ran; go on.
    Working,
    /// Tool calls wait for a human decision.
    Interrupted(Vec<Interrupt>),
    /// The agent asked to hand off. The handoff call is not answered yet: the pattern
    /// answers it with [`accept_handoff`] or [`refuse_handoff`].
    HandOff {
        /// The agent taking over.
        to: String,
        /// The brief, if the call had one.
        brief: Option<String>,
        /// The handoff call.
        call: ToolCall,
    },
}

/// One turn of `agent` on `channel` (with `prefix` before it in model requests), offered
/// `handoffs` besides its own tools.
///
/// Pending tool calls run first (regular tools, then at most one handoff: extra handoffs
/// in the same message are refused); otherwise the model is called.
pub(crate) async fn agent_turn(
    cx: &mut StepCtx,
    agent: &Agent,
    channel: &str,
    prefix: &[Message],
    handoffs: &Handoffs,
) -> Result<Turn, RunError> {
    let tools = cx.tools_of(agent).await?;
    let pending = unanswered_tool_calls(cx.state.channel(channel));
    if !pending.is_empty() {
        let (handoff_calls, regular): (Vec<ToolCall>, Vec<ToolCall>) = pending
            .into_iter()
            .partition(|c| handoffs.target(&c.name).is_some());
        if !regular.is_empty() {
            let interrupts = run_tool_calls(cx, &tools, &regular, channel).await?;
            if !interrupts.is_empty() {
                return Ok(Turn::Interrupted(interrupts));
            }
        }
        let mut handoff_calls = handoff_calls.into_iter();
        let Some(first) = handoff_calls.next() else {
            return Ok(Turn::Working);
        };
        for extra in handoff_calls {
            cx.state.push(
                channel,
                Message::tool_result(
                    &extra,
                    "Not transferred: only one handoff can happen at a time.",
                    true,
                ),
            );
        }
        let to = handoffs.target(&first.name).unwrap_or_default().to_owned();
        let brief = first
            .arguments
            .get("brief")
            .and_then(Value::as_str)
            .map(str::to_owned);
        return Ok(Turn::HandOff {
            to,
            brief,
            call: first,
        });
    }
    let mut history = prefix.to_vec();
    history.extend_from_slice(cx.state.channel(channel));
    let mut specs = tools.specs();
    specs.extend(handoffs.specs.iter().cloned());
    let message = call_model(cx, agent, history, specs).await?;
    cx.state.push(channel, message.clone());
    Ok(if message.tool_calls.is_empty() {
        Turn::Answered(message)
    } else {
        Turn::Working
    })
}

/// Answers a handoff call as done, counting it against the run's limits. When a limit
/// refuses it, the call is answered with the refusal and the limit error returned.
pub(crate) async fn accept_handoff(
    cx: &mut StepCtx,
    channel: &str,
    from: &str,
    to: &str,
    call: &ToolCall,
    brief: Option<String>,
) -> Result<(), RunError> {
    if let Err(e) = cx.record_handoff(to) {
        refuse_handoff(cx, channel, call, &e.to_string());
        return Err(e);
    }
    cx.state.push(
        channel,
        Message::tool_result(call, format!("Successfully transferred to {to}"), false),
    );
    cx.emit(crate::event::EventKind::Handoff {
        from: from.to_owned(),
        to: to.to_owned(),
        brief,
    })
    .await;
    Ok(())
}

/// Answers a handoff call as refused.
pub(crate) fn refuse_handoff(cx: &mut StepCtx, channel: &str, call: &ToolCall, why: &str) {
    cx.state.push(
        channel,
        Message::tool_result(call, format!("Not transferred: {why}"), true),
    );
}

/// The latest user message of the main conversation.
pub(crate) fn latest_request(cx: &StepCtx) -> Option<Message> {
    cx.state
        .messages()
        .iter()
        .rev()
        .find(|m| m.role == Role::User)
        .cloned()
}

/// Reads a string from the cursor's pattern state.
pub(crate) fn pattern_str(cx: &StepCtx, key: &str) -> Option<String> {
    cx.state
        .cursor
        .pattern
        .get(key)
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// Writes a value into the cursor's pattern state.
pub(crate) fn set_pattern(cx: &mut StepCtx, key: &str, value: impl Into<Value>) {
    cx.state.cursor.pattern.insert(key.to_owned(), value.into());
}

/// Checks that agent names are unique and that there is at least one agent.
pub(crate) fn check_agents(pattern: &str, agents: &[Agent]) -> Result<(), RunError> {
    if agents.is_empty() {
        return Err(RunError::Config(format!(
            "a {pattern} needs at least one agent"
        )));
    }
    let mut seen = std::collections::HashSet::new();
    let mut tools = std::collections::HashSet::new();
    for a in agents {
        if !seen.insert(a.name()) {
            return Err(RunError::Config(format!(
                "two agents of this {pattern} are named '{}'; agent names must be unique",
                a.name()
            )));
        }
        if !tools.insert(handoff_tool_name(a.name())) {
            return Err(RunError::Config(format!(
                "the agent names of this {pattern} clash once spaces and symbols become underscores ('{}')",
                a.name()
            )));
        }
    }
    Ok(())
}

/// The main channel's name (re-exported for the patterns).
pub(crate) const MAIN: &str = MAIN_CHANNEL;
