//! Running graphs: [`Runtime::start`] applies a run's input, then steps the graph,
//! checkpointing after every step, until it finishes, pauses, fails or is cancelled.
//!
//! The runtime does not serialise runs of one thread; callers that accept concurrent
//! requests (the HTTP API) make sure at most one run works on a thread at a time.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use chrono::Utc;
use futures::Stream;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::checkpoint::{
    CheckpointDelta, CheckpointMeta, CheckpointSource, DynCheckpointer, MAIN_CHANNEL,
    MemoryCheckpointer, ThreadState, new_checkpoint_id,
};
use crate::error::RunError;
use crate::event::{EventKind, RunErrorInfo, RunEvent, RunStatus};
use crate::graph::{DynGraph, Next, Resume, RunLimits, StepCtx};
use crate::interrupt::Interrupt;
use crate::message::{Message, Role, Usage, unanswered_tool_calls};
use crate::state::RunState;

/// The node name of the checkpoint that records a run's input.
pub const INPUT_NODE: &str = "__input__";

/// What a run starts with.
#[derive(Debug, Clone, PartialEq)]
pub enum RunInput {
    /// New messages (usually one user message).
    Messages(Vec<Message>),
    /// Decisions on the paused tool calls.
    Resume(Resume),
    /// No input: go on from the checkpoint (after a crash, or to regenerate an answer from
    /// an earlier checkpoint).
    Continue,
}

/// A request to run a graph on a thread.
#[derive(Debug, Clone)]
pub struct RunRequest {
    /// The conversation.
    pub thread_id: String,
    /// The run's id (a new UUID v7 when None).
    pub run_id: Option<String>,
    /// What the run starts with.
    pub input: RunInput,
    /// Start from this checkpoint instead of the newest one (forks the thread).
    pub checkpoint_id: Option<String>,
    /// Metadata stored with every checkpoint the run writes.
    pub metadata: Value,
    /// Limits for this run (the runtime's defaults when None).
    pub limits: Option<RunLimits>,
}

impl RunRequest {
    /// A run that sends one user message.
    pub fn message(thread_id: impl Into<String>, text: impl Into<String>) -> Self {
        Self::new(
            thread_id,
            RunInput::Messages(vec![Message::user(text.into())]),
        )
    }

    /// A run that resumes a paused thread with a decision.
    pub fn resume(thread_id: impl Into<String>, resume: Resume) -> Self {
        Self::new(thread_id, RunInput::Resume(resume))
    }

    /// A run with any input.
    pub fn new(thread_id: impl Into<String>, input: RunInput) -> Self {
        RunRequest {
            thread_id: thread_id.into(),
            run_id: None,
            input,
            checkpoint_id: None,
            metadata: Value::Object(Default::default()),
            limits: None,
        }
    }
}

/// A change to a thread's state made outside a run (see [`Runtime::update_state`]).
#[derive(Debug, Clone, Default)]
pub struct StateUpdate {
    /// Messages to append (or to replace, when their id exists).
    pub messages: Vec<Message>,
    /// Drop the paused tool calls, answering them as not run.
    pub resolve_interrupts: bool,
    /// The node the change is recorded as (default `__update__`).
    pub as_node: Option<String>,
    /// Change the state at this checkpoint instead of the head (forks the thread).
    pub checkpoint_id: Option<String>,
    /// Metadata stored with the new checkpoint.
    pub metadata: Value,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutcome {
    /// The run's id.
    pub run_id: String,
    /// How it ended.
    pub status: RunStatus,
    /// The final answer, when there is one.
    pub answer: Option<Message>,
    /// Tokens used by the run's model calls.
    pub usage: Usage,
    /// The error, when it failed or hit a limit.
    pub error: Option<RunErrorInfo>,
    /// The tool calls waiting for a decision, when it paused.
    pub interrupts: Vec<Interrupt>,
    /// The last checkpoint it wrote.
    pub checkpoint_id: Option<String>,
}

/// Runs graphs against a checkpointer.
#[derive(Clone)]
pub struct Runtime {
    checkpointer: DynCheckpointer,
    limits: RunLimits,
    event_buffer: usize,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// A runtime that keeps checkpoints in `checkpointer`.
    pub fn new(checkpointer: DynCheckpointer) -> Self {
        Runtime {
            checkpointer,
            limits: RunLimits::default(),
            event_buffer: 256,
        }
    }

    /// A runtime that keeps checkpoints in memory.
    pub fn in_memory() -> Self {
        Self::new(Arc::new(MemoryCheckpointer::new()))
    }

    /// Sets the default limits of runs.
    pub fn with_limits(mut self, limits: RunLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The default limits of runs.
    pub fn limits(&self) -> &RunLimits {
        &self.limits
    }

    /// The checkpointer.
    pub fn checkpointer(&self) -> &DynCheckpointer {
        &self.checkpointer
    }

    /// Runs to the end, ignoring events.
    pub async fn run(&self, graph: DynGraph, request: RunRequest) -> Result<RunOutcome, RunError> {
        Ok(self.start(graph, request).await?.finish().await)
    }

    /// Applies the input and starts the run in the background.
    ///
    /// Errors here (an unknown checkpoint, resuming a thread that is not paused, a failing
    /// store) mean nothing was started and nothing was written. Once started, every
    /// failure is reported on the event stream, which always ends with
    /// [`EventKind::Finished`].
    pub async fn start(&self, graph: DynGraph, request: RunRequest) -> Result<RunHandle, RunError> {
        let run_id = request
            .run_id
            .clone()
            .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
        let thread_id = request.thread_id.clone();
        let base = self
            .base(&thread_id, request.checkpoint_id.as_deref())
            .await?;
        let mut state = base
            .as_ref()
            .map(RunState::from_thread_state)
            .unwrap_or_default();
        let mut parent = base.as_ref().and_then(|s| s.checkpoint.clone());
        let pending = base
            .map(|s| {
                s.pending_writes
                    .into_iter()
                    .map(|w| (w.task_id.clone(), w))
                    .collect::<HashMap<_, _>>()
            })
            .unwrap_or_default();

        let mut resume = None;
        let resumed;
        match request.input {
            RunInput::Messages(messages) => {
                resumed = false;
                // Tool results in the input answer the calls left open first (clients that
                // moved on from a paused call send them); the rest are closed for them.
                let open: Vec<String> = unanswered_tool_calls(state.messages())
                    .into_iter()
                    .map(|c| c.id)
                    .collect();
                let (answers, messages): (Vec<Message>, Vec<Message>) =
                    messages.into_iter().partition(|m| {
                        m.role == Role::Tool
                            && m.tool_call_id.as_ref().is_some_and(|id| open.contains(id))
                    });
                for m in answers {
                    state.push(MAIN_CHANNEL, m);
                }
                close_unanswered_calls(&mut state);
                state.cursor.interrupts.clear();
                // Per-turn pattern state starts afresh; the active agent (a swarm's) stays.
                state.cursor.pattern.clear();
                state.cursor.next = vec![graph.name().to_owned()];
                for m in messages {
                    state.push(MAIN_CHANNEL, m);
                }
                let meta = self.meta(
                    &thread_id,
                    &run_id,
                    parent.as_ref(),
                    CheckpointSource::Input,
                    INPUT_NODE,
                    &request.metadata,
                );
                let delta = CheckpointDelta {
                    writes: state.take_writes(),
                    values: state.cursor.to_values(),
                };
                self.checkpointer.put(meta.clone(), delta).await?;
                parent = Some(meta);
            }
            RunInput::Resume(r) => {
                if state.cursor.interrupts.is_empty() {
                    return Err(RunError::InvalidInput(
                        "there is no paused tool call to resume in this conversation".into(),
                    ));
                }
                resumed = true;
                // A single decision answers the first paused call.
                resume = Some(match r {
                    Resume::Next(d) => {
                        let mut map = HashMap::new();
                        if let Some(first) = state.cursor.interrupts.first() {
                            map.insert(first.id.clone(), d);
                        }
                        Resume::ById(map)
                    }
                    other => other,
                });
            }
            RunInput::Continue => {
                if parent.is_none() {
                    return Err(RunError::InvalidInput(
                        "the conversation is empty: there is nothing to continue".into(),
                    ));
                }
                resumed = true;
            }
        }

        let (tx, rx) = mpsc::channel(self.event_buffer);
        let cancel = CancellationToken::new();
        let limits = request.limits.unwrap_or(self.limits);
        let step = parent.as_ref().map(|p| p.step + 1).unwrap_or(0);
        let cx = StepCtx {
            run_id: run_id.clone(),
            thread_id: thread_id.clone(),
            step: u64::try_from(step).unwrap_or(0),
            state,
            cancel: cancel.clone(),
            events: tx,
            agent: graph.name().to_owned(),
            namespace: Vec::new(),
            checkpointer: self.checkpointer.clone(),
            base_checkpoint: parent.as_ref().map(|p| p.checkpoint_id.clone()),
            pending,
            resume,
            usage: Usage::default(),
            limits,
            handoffs: 0,
            tool_cache: HashMap::new(),
            announced: None,
            trail: Vec::new(),
        };
        let driver = Driver {
            checkpointer: self.checkpointer.clone(),
            graph,
            metadata: request.metadata,
            parent,
        };
        let task = tokio::spawn(driver.drive(cx, resumed));
        Ok(RunHandle {
            run_id,
            events: rx,
            cancel,
            task: Some(task),
        })
    }

    /// Changes a thread's state from outside a run: appends `update.messages` (a message
    /// with an existing id replaces it) and, with `resolve_interrupts`, drops the paused
    /// tool calls (answering them as not run) so the thread is idle again. The change is
    /// a new checkpoint (source `update`) on top of `update.checkpoint_id` or the head.
    pub async fn update_state(
        &self,
        thread_id: &str,
        update: StateUpdate,
    ) -> Result<CheckpointMeta, RunError> {
        let base = self
            .base(thread_id, update.checkpoint_id.as_deref())
            .await?;
        let mut state = base
            .as_ref()
            .map(RunState::from_thread_state)
            .unwrap_or_default();
        let parent = base.and_then(|s| s.checkpoint);
        for m in update.messages {
            state.push(MAIN_CHANNEL, m);
        }
        if update.resolve_interrupts {
            close_unanswered_calls(&mut state);
            state.cursor.interrupts.clear();
            state.cursor.next.clear();
        }
        let meta = CheckpointMeta {
            thread_id: thread_id.to_owned(),
            checkpoint_id: new_checkpoint_id(),
            parent_id: parent.as_ref().map(|p| p.checkpoint_id.clone()),
            run_id: None,
            step: parent.as_ref().map(|p| p.step + 1).unwrap_or(-1),
            source: CheckpointSource::Update,
            node: Some(update.as_node.unwrap_or_else(|| "__update__".to_owned())),
            created_at: Utc::now(),
            metadata: update.metadata,
        };
        let delta = CheckpointDelta {
            writes: state.take_writes(),
            values: state.cursor.to_values(),
        };
        self.checkpointer.put(meta.clone(), delta).await?;
        Ok(meta)
    }

    /// The state a run or an update starts from: `checkpoint_id`'s, or the head's (None
    /// for an empty thread). An unknown checkpoint is invalid input.
    async fn base(
        &self,
        thread_id: &str,
        checkpoint_id: Option<&str>,
    ) -> Result<Option<ThreadState>, RunError> {
        let base = self.checkpointer.get(thread_id, checkpoint_id).await?;
        if base.is_none()
            && let Some(id) = checkpoint_id
        {
            return Err(RunError::InvalidInput(format!(
                "checkpoint {id} does not exist in thread {thread_id}"
            )));
        }
        Ok(base)
    }

    fn meta(
        &self,
        thread_id: &str,
        run_id: &str,
        parent: Option<&CheckpointMeta>,
        source: CheckpointSource,
        node: &str,
        metadata: &Value,
    ) -> CheckpointMeta {
        new_meta(thread_id, run_id, parent, source, node, metadata)
    }
}

fn new_meta(
    thread_id: &str,
    run_id: &str,
    parent: Option<&CheckpointMeta>,
    source: CheckpointSource,
    node: &str,
    metadata: &Value,
) -> CheckpointMeta {
    CheckpointMeta {
        thread_id: thread_id.to_owned(),
        checkpoint_id: new_checkpoint_id(),
        parent_id: parent.map(|p| p.checkpoint_id.clone()),
        run_id: Some(run_id.to_owned()),
        step: parent.map(|p| p.step + 1).unwrap_or(-1),
        source,
        node: Some(node.to_owned()),
        created_at: Utc::now(),
        metadata: metadata.clone(),
    }
}

/// Answers tool calls left without a result (a run that stopped or was paused, then a new
/// message arrived), so the history stays valid for strict providers.
fn close_unanswered_calls(state: &mut RunState) {
    let channels: Vec<String> = state.channels().keys().cloned().collect();
    for channel in channels {
        let calls = unanswered_tool_calls(state.channel(&channel));
        let ends_with_tool_call = state
            .channel(&channel)
            .iter()
            .rev()
            .find(|m| m.role == Role::Assistant)
            .is_some_and(|m| !m.tool_calls.is_empty());
        if !ends_with_tool_call {
            continue;
        }
        for call in calls {
            state.push(
                &channel,
                Message::tool_result(
                    &call,
                    "The tool call was not run: the conversation moved on before it finished.",
                    true,
                ),
            );
        }
    }
}

struct Driver {
    checkpointer: DynCheckpointer,
    graph: DynGraph,
    metadata: Value,
    parent: Option<CheckpointMeta>,
}

impl Driver {
    async fn drive(mut self, mut cx: StepCtx, resumed: bool) -> RunOutcome {
        cx.emit(EventKind::RunStarted {
            messages: cx.state.messages().to_vec(),
            resumed,
        })
        .await;
        let mut steps = 0u32;
        let (status, answer, error, interrupts) = loop {
            if cx.is_cancelled() {
                break (RunStatus::Cancelled, None, None, Vec::new());
            }
            if steps >= cx.limits.max_steps {
                let err = RunError::LimitReached {
                    kind: "step_limit",
                    message: format!(
                        "The run stopped after {steps} steps, its step limit. What it produced so far is kept; send another message to continue."
                    ),
                };
                break (
                    RunStatus::LimitReached,
                    last_answer(&cx),
                    Some(err.info()),
                    Vec::new(),
                );
            }
            steps += 1;
            let outcome = match self.graph.step(&mut cx).await {
                Ok(o) => o,
                Err(RunError::Cancelled) => break (RunStatus::Cancelled, None, None, Vec::new()),
                Err(e @ RunError::LimitReached { .. }) => {
                    let answer = last_answer(&cx);
                    // Keep what the step produced before the limit hit.
                    if let Err(ce) = self.checkpoint(&mut cx, "limit").await {
                        break (
                            RunStatus::Error,
                            None,
                            Some(RunError::from(ce).info()),
                            Vec::new(),
                        );
                    }
                    break (RunStatus::LimitReached, answer, Some(e.info()), Vec::new());
                }
                Err(e) => break (RunStatus::Error, None, Some(e.info()), Vec::new()),
            };
            match &outcome.next {
                Next::Continue => {
                    cx.state.cursor.interrupts.clear();
                }
                Next::Interrupt(interrupts) => {
                    cx.state.cursor.interrupts = interrupts.clone();
                    cx.state.cursor.next = vec![outcome.node.clone()];
                }
                Next::Finish(_) => {
                    cx.state.cursor.interrupts.clear();
                    cx.state.cursor.next.clear();
                }
            }
            if let Err(e) = self.checkpoint(&mut cx, &outcome.node).await {
                break (
                    RunStatus::Error,
                    None,
                    Some(RunError::from(e).info()),
                    Vec::new(),
                );
            }
            match outcome.next {
                Next::Continue => continue,
                Next::Interrupt(interrupts) => {
                    cx.emit(EventKind::Interrupted {
                        interrupts: interrupts.clone(),
                    })
                    .await;
                    break (RunStatus::Interrupted, None, None, interrupts);
                }
                Next::Finish(answer) => break (RunStatus::Success, answer, None, Vec::new()),
            }
        };
        if let Some(error) = &error {
            cx.emit(EventKind::Error {
                error: error.clone(),
            })
            .await;
        }
        let usage = cx.usage();
        cx.emit(EventKind::Finished {
            status,
            answer: answer.clone(),
            usage,
        })
        .await;
        RunOutcome {
            run_id: cx.run_id.clone(),
            status,
            answer,
            usage,
            error,
            interrupts,
            checkpoint_id: self.parent.as_ref().map(|p| p.checkpoint_id.clone()),
        }
    }

    /// Writes a checkpoint with what the step changed and announces it.
    async fn checkpoint(
        &mut self,
        cx: &mut StepCtx,
        node: &str,
    ) -> Result<(), crate::checkpoint::CheckpointError> {
        let writes = cx.state.take_writes();
        let new_messages: Vec<Message> = writes
            .iter()
            .filter(|w| w.channel == MAIN_CHANNEL)
            .filter_map(|w| match &w.op {
                crate::checkpoint::ChannelOp::Append { message } => Some(message.clone()),
                _ => None,
            })
            .collect();
        let meta = new_meta(
            &cx.thread_id,
            &cx.run_id,
            self.parent.as_ref(),
            CheckpointSource::Loop,
            node,
            &self.metadata,
        );
        let delta = CheckpointDelta {
            writes,
            values: cx.state.cursor.to_values(),
        };
        self.checkpointer.put(meta.clone(), delta).await?;
        cx.base_checkpoint = Some(meta.checkpoint_id.clone());
        cx.pending.clear();
        cx.step = u64::try_from(meta.step + 1).unwrap_or(0);
        let checkpoint_id = meta.checkpoint_id.clone();
        self.parent = Some(meta);
        cx.emit(EventKind::StepCompleted {
            node: node.to_owned(),
            checkpoint_id,
            new_messages,
        })
        .await;
        Ok(())
    }
}

fn last_answer(cx: &StepCtx) -> Option<Message> {
    cx.state
        .messages()
        .iter()
        .rev()
        .find(|m| m.role == Role::Assistant && !m.content.is_empty())
        .cloned()
}

/// A run in progress: a stream of its events, and a way to cancel it.
///
/// Dropping the handle does not stop the run; call [`RunHandle::cancel`] for that.
pub struct RunHandle {
    run_id: String,
    events: mpsc::Receiver<RunEvent>,
    cancel: CancellationToken,
    task: Option<JoinHandle<RunOutcome>>,
}

impl std::fmt::Debug for RunHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunHandle")
            .field("run_id", &self.run_id)
            .finish()
    }
}

impl RunHandle {
    /// The run's id.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// Asks the run to stop: the model request and running tools are abandoned, and the
    /// run ends [`RunStatus::Cancelled`] keeping its completed steps.
    pub fn cancel(&self) {
        self.cancel.cancel();
    }

    /// A token that cancels the run when cancelled.
    pub fn cancel_token(&self) -> CancellationToken {
        self.cancel.clone()
    }

    /// The next event, or None after [`EventKind::Finished`].
    pub async fn next_event(&mut self) -> Option<RunEvent> {
        self.events.recv().await
    }

    /// Waits for the end of the run, discarding the remaining events.
    pub async fn finish(mut self) -> RunOutcome {
        while self.events.recv().await.is_some() {}
        let run_id = self.run_id.clone();
        match self.task.take() {
            Some(task) => task.await.unwrap_or_else(|e| RunOutcome {
                run_id,
                status: RunStatus::Error,
                answer: None,
                usage: Usage::default(),
                error: Some(RunErrorInfo {
                    kind: "internal".into(),
                    message: format!("the run stopped unexpectedly: {e}"),
                }),
                interrupts: Vec::new(),
                checkpoint_id: None,
            }),
            None => RunOutcome {
                run_id,
                status: RunStatus::Error,
                answer: None,
                usage: Usage::default(),
                error: None,
                interrupts: Vec::new(),
                checkpoint_id: None,
            },
        }
    }
}

impl Stream for RunHandle {
    type Item = RunEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<RunEvent>> {
        self.events.poll_recv(cx)
    }
}
