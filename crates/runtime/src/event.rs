//! The run event stream: everything a run does, in order, with no protocol in it.
//!
//! Protocol encoders (the Studio SSE format, the LangGraph Platform protocol) live in the
//! API layer and translate these events; the runtime knows nothing about them.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::interrupt::Interrupt;
use crate::message::{Message, ToolCall, Usage};

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// The run produced its answer.
    Success,
    /// The run paused for a human decision; resume it with a decision.
    Interrupted,
    /// The run was cancelled.
    Cancelled,
    /// The run hit a limit (steps, handoffs, a loop) and stopped with what it had.
    LimitReached,
    /// The run failed.
    Error,
}

/// A failure reported on the event stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunErrorInfo {
    /// A stable machine-readable kind (`model_error`, `step_limit`, …).
    pub kind: String,
    /// A message a person can act on (never a secret).
    pub message: String,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    /// The run started. `messages` is the conversation with the input applied.
    RunStarted {
        /// The main conversation at the start, input included.
        messages: Vec<Message>,
        /// True when the run resumes an interrupted or crashed run.
        resumed: bool,
    },
    /// An agent has control now.
    AgentActive {
        /// The agent's name.
        agent: String,
    },
    /// A piece of the answer the model is writing.
    TokenDelta {
        /// The id the finished message will have.
        message_id: String,
        /// The new text.
        text: String,
    },
    /// A piece of a tool call the model is writing.
    ToolCallDelta {
        /// The id the finished message will have.
        message_id: String,
        /// Which call of the message.
        index: u32,
        /// The call's id (first piece only).
        id: Option<String>,
        /// The tool's name (first piece only).
        name: Option<String>,
        /// More of the arguments' JSON text.
        arguments: String,
    },
    /// A streamed model message is complete (its deltas were sent before).
    MessageComplete {
        /// The whole message.
        message: Message,
    },
    /// A message that was not streamed joined the conversation (input, bookkeeping, a
    /// merged answer).
    MessageAdded {
        /// The message.
        message: Message,
    },
    /// A tool is about to run.
    ToolCall {
        /// The call, with the arguments it will run with.
        call: ToolCall,
        /// Where the tool comes from (an MCP server's name), when known.
        source: Option<String>,
    },
    /// A tool finished (or failed); `message` is the tool message the model will see.
    ToolResult {
        /// The tool message.
        message: Message,
        /// How long the call took, in milliseconds.
        duration_ms: u64,
    },
    /// Control passes from one agent to another.
    Handoff {
        /// The agent handing off.
        from: String,
        /// The agent taking over.
        to: String,
        /// What the handing-off agent told the other, when it wrote a brief.
        brief: Option<String>,
    },
    /// The run paused for human decisions.
    Interrupted {
        /// The paused tool calls.
        interrupts: Vec<Interrupt>,
    },
    /// A step finished and was checkpointed.
    StepCompleted {
        /// The node that ran (an agent's name, or `tools`).
        node: String,
        /// The checkpoint written after the step.
        checkpoint_id: String,
        /// The messages this step added to the main conversation.
        new_messages: Vec<Message>,
    },
    /// Anything a tool or pattern wanted to tell the client.
    Custom {
        /// The payload.
        value: Value,
    },
    /// Something failed. A run reports at most one error, just before it finishes.
    Error {
        /// What failed.
        error: RunErrorInfo,
    },
    /// The run ended. Always the last event.
    Finished {
        /// How it ended.
        status: RunStatus,
        /// The final answer, when there is one.
        answer: Option<Message>,
        /// Tokens used by every model call of the run.
        usage: Usage,
    },
}

/// One event of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunEvent {
    /// The run.
    pub run_id: String,
    /// The conversation.
    pub thread_id: String,
    /// The step the event belongs to.
    pub step: u64,
    /// The agent the event concerns (the orchestrator's name for its own events).
    pub agent: String,
    /// Where in the agent tree it happened: empty at the root, one segment per nested
    /// sub-agent (`<agent name>:<task id>`).
    pub namespace: Vec<String>,
    /// What happened.
    pub kind: EventKind,
}
