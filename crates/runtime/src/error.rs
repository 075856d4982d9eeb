//! Run errors.

use crate::checkpoint::CheckpointError;
use crate::event::RunErrorInfo;
use crate::model::ModelError;

/// Why a run could not go on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RunError {
    /// A model call failed.
    #[error("{0}")]
    Model(#[from] ModelError),
    /// The checkpoint store failed.
    #[error("{0}")]
    Checkpoint(#[from] CheckpointError),
    /// The run's input cannot be applied (resuming a run that is not paused, say).
    #[error("{0}")]
    InvalidInput(String),
    /// A tool provider could not supply the agent's tools.
    #[error("could not load the tools of agent '{agent}': {message}")]
    Tools {
        /// The agent.
        agent: String,
        /// What failed.
        message: String,
    },
    /// The orchestration is misconfigured (an unknown agent, say).
    #[error("{0}")]
    Config(String),
    /// The run was cancelled.
    #[error("the run was cancelled")]
    Cancelled,
    /// A limit (steps, handoffs, a handoff loop) ended the run.
    #[error("{message}")]
    LimitReached {
        /// Which limit (`step_limit`, `handoff_limit`, `handoff_loop`).
        kind: &'static str,
        /// What happened, for a person.
        message: String,
    },
}

impl RunError {
    /// A stable kind for the event stream.
    pub fn kind(&self) -> &'static str {
        match self {
            RunError::Model(_) => "model_error",
            RunError::Checkpoint(_) => "checkpoint_error",
            RunError::InvalidInput(_) => "invalid_input",
            RunError::Tools { .. } => "tool_provider_error",
            RunError::Config(_) => "config_error",
            RunError::Cancelled => "cancelled",
            RunError::LimitReached { kind, .. } => kind,
        }
    }

    /// The error as it appears on the event stream.
    pub fn info(&self) -> RunErrorInfo {
        RunErrorInfo {
            kind: self.kind().to_owned(),
            message: self.to_string(),
        }
    }
}
