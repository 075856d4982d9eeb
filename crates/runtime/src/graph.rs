//! The execution model: a [`Graph`] runs one step at a time on a [`StepCtx`] and says what
//! happens next; the runner checkpoints after every step.
//!
//! A plain agent, a supervisor and the other multi-agent patterns are all graphs. A step
//! is one unit of durable progress: one model call, or one batch of tool calls.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::agent::Agent;
use crate::checkpoint::{DynCheckpointer, PendingWrite};
use crate::error::RunError;
use crate::event::{EventKind, RunEvent};
use crate::interrupt::{Decision, Interrupt};
use crate::message::{Message, Usage};
use crate::state::RunState;
use crate::tool::ToolSet;

/// What happens after a step.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    /// Run another step.
    Continue,
    /// Pause until a human decides on these tool calls.
    Interrupt(Vec<Interrupt>),
    /// The run is done; `answer` is the final message, when there is one.
    Finish(Option<Message>),
}

/// The result of a step: which node ran and what happens next.
#[derive(Debug, Clone, PartialEq)]
pub struct StepOutcome {
    /// The node that ran (an agent's name, or `tools`).
    pub node: String,
    /// What happens next.
    pub next: Next,
}

impl StepOutcome {
    /// A step of `node` after which the run goes on.
    pub fn cont(node: impl Into<String>) -> Self {
        StepOutcome {
            node: node.into(),
            next: Next::Continue,
        }
    }

    /// A step of `node` that finished the run.
    pub fn finish(node: impl Into<String>, answer: Option<Message>) -> Self {
        StepOutcome {
            node: node.into(),
            next: Next::Finish(answer),
        }
    }
}

/// A node of a graph, for display (the LangGraph `graph` endpoint, docs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphNode {
    /// The node's id.
    pub id: String,
    /// What it is (`agent`, `tools`, `supervisor`, …).
    pub kind: String,
}

/// An edge between two nodes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphEdge {
    /// Where it starts.
    pub source: String,
    /// Where it ends.
    pub target: String,
    /// True when the edge is taken only sometimes.
    pub conditional: bool,
}

/// Something that runs step by step: an agent or a multi-agent pattern.
#[async_trait]
pub trait Graph: Send + Sync {
    /// Its name (the orchestrator's or agent's).
    fn name(&self) -> &str;

    /// Its kind: `agent`, `supervisor`, `swarm`, `sequential`, `parallel`, `router`.
    fn kind(&self) -> &str;

    /// Runs one step.
    async fn step(&self, cx: &mut StepCtx) -> Result<StepOutcome, RunError>;

    /// The agents it can run, by name.
    fn agents(&self) -> Vec<&Agent>;

    /// Nodes and edges, for display.
    fn topology(&self) -> (Vec<GraphNode>, Vec<GraphEdge>) {
        let mut nodes = vec![GraphNode {
            id: "__start__".into(),
            kind: "start".into(),
        }];
        let mut edges = Vec::new();
        for a in self.agents() {
            nodes.push(GraphNode {
                id: a.name().to_owned(),
                kind: "agent".into(),
            });
            edges.push(GraphEdge {
                source: "__start__".into(),
                target: a.name().to_owned(),
                conditional: false,
            });
            edges.push(GraphEdge {
                source: a.name().to_owned(),
                target: "__end__".into(),
                conditional: true,
            });
        }
        nodes.push(GraphNode {
            id: "__end__".into(),
            kind: "end".into(),
        });
        (nodes, edges)
    }
}

/// A shared graph.
pub type DynGraph = Arc<dyn Graph>;

/// How a paused run is resumed.
#[derive(Debug, Clone, PartialEq)]
pub enum Resume {
    /// One decision, for the first pending interrupt.
    Next(Decision),
    /// Decisions by interrupt id.
    ById(HashMap<String, Decision>),
}

/// Limits that end a run early, with what it has so far and a clear message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunLimits {
    /// At most this many steps per run.
    pub max_steps: u32,
    /// At most this many handoffs between agents per run.
    pub max_handoffs: u32,
    /// A tool call taking longer than this fails with a timeout the model sees.
    pub tool_timeout: std::time::Duration,
    /// Tool results longer than this (in bytes) are cut before the model sees them.
    pub max_tool_result_bytes: usize,
}

impl Default for RunLimits {
    fn default() -> Self {
        RunLimits {
            max_steps: 50,
            max_handoffs: 12,
            tool_timeout: std::time::Duration::from_secs(300),
            max_tool_result_bytes: 64 * 1024,
        }
    }
}

/// Everything a step can see and do.
pub struct StepCtx {
    pub(crate) run_id: String,
    pub(crate) thread_id: String,
    pub(crate) step: u64,
    /// The state being worked on.
    pub state: RunState,
    pub(crate) cancel: CancellationToken,
    pub(crate) events: mpsc::Sender<RunEvent>,
    pub(crate) agent: String,
    pub(crate) namespace: Vec<String>,
    pub(crate) checkpointer: DynCheckpointer,
    pub(crate) base_checkpoint: Option<String>,
    pub(crate) pending: HashMap<String, PendingWrite>,
    pub(crate) resume: Option<Resume>,
    pub(crate) usage: Usage,
    pub(crate) limits: RunLimits,
    pub(crate) handoffs: u32,
    pub(crate) tool_cache: HashMap<String, ToolSet>,
    pub(crate) announced: Option<String>,
    pub(crate) trail: Vec<String>,
}

impl StepCtx {
    /// The run's id.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// The conversation's id.
    pub fn thread_id(&self) -> &str {
        &self.thread_id
    }

    /// The number of the step being run (counted per thread).
    pub fn step_number(&self) -> u64 {
        self.step
    }

    /// The run's limits.
    pub fn limits(&self) -> &RunLimits {
        &self.limits
    }

    /// The run's cancellation token.
    pub fn cancel_token(&self) -> &CancellationToken {
        &self.cancel
    }

    /// True once the run was cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// Handoffs made so far in this run.
    pub fn handoffs(&self) -> u32 {
        self.handoffs
    }

    /// Counts a handoff.
    pub fn count_handoff(&mut self) {
        self.handoffs += 1;
    }

    /// Records a handoff to `to`, refusing it when the run's handoff limit is reached or
    /// the handoffs of this run have fallen into a loop (the same agent four times in a
    /// row, or two agents passing control back and forth three times).
    pub fn record_handoff(&mut self, to: &str) -> Result<(), RunError> {
        if self.handoffs >= self.limits.max_handoffs {
            return Err(RunError::LimitReached {
                kind: "handoff_limit",
                message: format!(
                    "The run stopped after {} handoffs between agents, its handoff limit. What it produced so far is kept.",
                    self.handoffs
                ),
            });
        }
        self.trail.push(to.to_owned());
        if let Some(cycle) = detect_loop(&self.trail) {
            return Err(RunError::LimitReached {
                kind: "handoff_loop",
                message: format!(
                    "The run stopped because the agents keep handing control around in a loop ({cycle}). What it produced so far is kept."
                ),
            });
        }
        self.handoffs += 1;
        Ok(())
    }

    /// A context for one branch of a step that runs several agents at once. The branch
    /// sees the main conversation and `channel`; fold it back with [`StepCtx::absorb`].
    pub fn branch(&self, agent: &str, namespace: Vec<String>, channel: &str) -> StepCtx {
        let mut state = RunState::default();
        for name in [crate::checkpoint::MAIN_CHANNEL, channel] {
            for m in self.state.channel(name) {
                state.push(name, m.clone());
            }
        }
        state.take_writes();
        state.cursor = self.state.cursor.clone();
        StepCtx {
            run_id: self.run_id.clone(),
            thread_id: self.thread_id.clone(),
            step: self.step,
            state,
            cancel: self.cancel.clone(),
            events: self.events.clone(),
            agent: agent.to_owned(),
            namespace,
            checkpointer: self.checkpointer.clone(),
            base_checkpoint: self.base_checkpoint.clone(),
            pending: self.pending.clone(),
            resume: self.resume.clone(),
            usage: Usage::default(),
            limits: self.limits,
            handoffs: self.handoffs,
            tool_cache: self.tool_cache.clone(),
            announced: Some(agent.to_owned()),
            trail: Vec::new(),
        }
    }

    /// Folds a finished branch back: its channel changes (not the main conversation's),
    /// its token usage and the tools it loaded.
    pub fn absorb(&mut self, mut branch: StepCtx) {
        for w in branch.state.take_writes() {
            if w.channel != crate::checkpoint::MAIN_CHANNEL {
                self.state.write(w);
            }
        }
        self.usage += branch.usage;
        for (k, v) in branch.tool_cache {
            self.tool_cache.entry(k).or_insert(v);
        }
    }

    /// Tokens used so far in this run.
    pub fn usage(&self) -> Usage {
        self.usage
    }

    /// Adds to the run's token usage.
    pub fn add_usage(&mut self, usage: Usage) {
        self.usage += usage;
    }

    /// Sets which agent (and namespace) the following events concern.
    pub fn set_agent(&mut self, agent: &str, namespace: Vec<String>) {
        self.agent = agent.to_owned();
        self.namespace = namespace;
    }

    /// Gives control to `agent`: following events concern it, and an
    /// [`EventKind::AgentActive`] event is sent when control changes hands.
    pub async fn activate(&mut self, agent: &str, namespace: Vec<String>) {
        let changed = self.announced.as_deref() != Some(agent);
        self.set_agent(agent, namespace);
        if changed {
            self.announced = Some(agent.to_owned());
            self.emit(EventKind::AgentActive {
                agent: agent.to_owned(),
            })
            .await;
        }
    }

    /// The agent the events concern now.
    pub fn agent(&self) -> &str {
        &self.agent
    }

    /// The namespace the events carry now.
    pub fn namespace(&self) -> &[String] {
        &self.namespace
    }

    /// Emits an event (dropped silently when nobody listens any more).
    pub async fn emit(&self, kind: EventKind) {
        let _ = self.events.send(self.event(kind)).await;
    }

    pub(crate) fn event(&self, kind: EventKind) -> RunEvent {
        RunEvent {
            run_id: self.run_id.clone(),
            thread_id: self.thread_id.clone(),
            step: self.step,
            agent: self.agent.clone(),
            namespace: self.namespace.clone(),
            kind,
        }
    }

    /// Takes the decision for a pending interrupt, if the resume input holds one.
    pub fn take_decision(&mut self, interrupt_id: &str) -> Option<Decision> {
        match self.resume.take() {
            None => None,
            Some(Resume::Next(d)) => Some(d),
            Some(Resume::ById(mut map)) => {
                let d = map.remove(interrupt_id);
                if !map.is_empty() {
                    self.resume = Some(Resume::ById(map));
                }
                d
            }
        }
    }

    /// A tool result recorded by an earlier, unfinished attempt at this step.
    pub fn recorded_result(&self, call_id: &str) -> Option<&PendingWrite> {
        self.pending.get(call_id)
    }

    /// The tools of `agent`, fetched from its providers once per run.
    pub async fn tools_of(&mut self, agent: &Agent) -> Result<ToolSet, RunError> {
        if let Some(set) = self.tool_cache.get(agent.name()) {
            return Ok(set.clone());
        }
        let mut set = ToolSet::new(agent.tools.iter().cloned());
        for provider in &agent.providers {
            let tools = provider.tools().await.map_err(|e| RunError::Tools {
                agent: agent.name().to_owned(),
                message: e.to_string(),
            })?;
            for t in tools {
                let name = t.spec().name.clone();
                if !set.push(t) {
                    tracing::warn!(agent = agent.name(), tool = %name, "two tools share a name; the later one is ignored");
                }
            }
        }
        self.tool_cache.insert(agent.name().to_owned(), set.clone());
        Ok(set)
    }
}

/// Finds a handoff loop at the end of `trail`: one agent four times in a row, or a cycle
/// of two agents repeated three times. Returns the cycle for the message.
fn detect_loop(trail: &[String]) -> Option<String> {
    let n = trail.len();
    if n >= 4 && trail[n - 4..].iter().all(|t| t == &trail[n - 1]) {
        return Some(format!("{} again and again", trail[n - 1]));
    }
    if n >= 6 {
        let (a, b) = (&trail[n - 2], &trail[n - 1]);
        if a != b
            && trail[n - 6..]
                .chunks(2)
                .all(|pair| &pair[0] == a && &pair[1] == b)
        {
            return Some(format!("{a} → {b} → {a} → {b} …"));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::detect_loop;

    fn t(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn loops_are_detected() {
        assert!(detect_loop(&t(&["a", "a", "a"])).is_none());
        assert!(detect_loop(&t(&["a", "a", "a", "a"])).is_some());
        assert!(detect_loop(&t(&["a", "b", "a", "b", "a"])).is_none());
        assert!(detect_loop(&t(&["a", "b", "a", "b", "a", "b"])).is_some());
        assert!(detect_loop(&t(&["a", "b", "c", "a", "b", "c"])).is_none());
    }
}
