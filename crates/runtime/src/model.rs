//! The [`ChatModel`] trait: one streaming call to an LLM.
//!
//! The runtime talks to every model through this trait. [`crate::openai`] implements it
//! over the OpenAI chat-completions wire protocol (async-openai), which covers OpenAI and
//! every OpenAI-compatible provider.

use std::pin::Pin;

use async_trait::async_trait;
use futures::Stream;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::message::{Message, Usage};
use crate::tool::ToolSpec;

/// What the model may do with the tools it is offered.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolChoice {
    /// The model decides (the default).
    #[default]
    Auto,
    /// The model must not call a tool.
    None,
    /// The model must call some tool.
    Required,
    /// The model must call this tool.
    Tool(String),
}

/// A JSON schema the model's answer must follow (structured output).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseSchema {
    /// A short name for the schema (providers require one).
    pub name: String,
    /// The JSON schema of the answer.
    pub schema: Value,
}

/// One request to a model.
#[derive(Debug, Clone, Default)]
pub struct ChatRequest {
    /// The conversation, including the system prompt.
    pub messages: Vec<Message>,
    /// The tools the model may call.
    pub tools: Vec<ToolSpec>,
    /// What the model may do with the tools.
    pub tool_choice: ToolChoice,
    /// When set, the answer must be JSON following this schema.
    pub response_schema: Option<ResponseSchema>,
    /// Sampling temperature, when the caller wants one.
    pub temperature: Option<f32>,
    /// An upper bound on generated tokens.
    pub max_tokens: Option<u32>,
}

/// One piece of a streamed model answer.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelChunk {
    /// New answer text.
    Text(String),
    /// A piece of a tool call. The first piece of an `index` carries `id` and `name`;
    /// later pieces carry more of the JSON `arguments` text.
    ToolCallDelta {
        /// Which tool call of this answer the piece belongs to.
        index: u32,
        /// The call's id (first piece only).
        id: Option<String>,
        /// The tool's name (first piece only).
        name: Option<String>,
        /// More of the arguments' JSON text.
        arguments: String,
    },
    /// Token usage for the whole call (usually last).
    Usage(Usage),
    /// Why the model stopped (`stop`, `tool_calls`, `length`, …).
    Finish(String),
}

/// A stream of [`ModelChunk`]s.
pub type ModelStream = Pin<Box<dyn Stream<Item = Result<ModelChunk, ModelError>> + Send>>;

/// Why a model call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// The provider refused the credentials (401/403).
    #[error("the LLM provider rejected the API key ({status})")]
    Unauthorized {
        /// The HTTP status.
        status: u16,
    },
    /// The provider does not know the model.
    #[error("the LLM provider does not know the model '{model}': {message}")]
    UnknownModel {
        /// The model name that was asked for.
        model: String,
        /// What the provider said.
        message: String,
    },
    /// Too many requests, still failing after the retries.
    #[error("the LLM provider is rate limiting requests (429): {message}")]
    RateLimited {
        /// What the provider said.
        message: String,
    },
    /// The request was too large for the model's context window.
    #[error("the conversation is too long for the model's context window: {message}")]
    ContextLength {
        /// What the provider said.
        message: String,
    },
    /// The provider refused the request (a 4xx other than the above).
    #[error("the LLM provider refused the request ({status}): {message}")]
    BadRequest {
        /// The HTTP status.
        status: u16,
        /// What the provider said.
        message: String,
    },
    /// The provider failed (5xx), still failing after the retries.
    #[error("the LLM provider failed ({status}): {message}")]
    Server {
        /// The HTTP status.
        status: u16,
        /// What the provider said.
        message: String,
    },
    /// The provider could not be reached.
    #[error("could not reach the LLM provider: {message}")]
    Connection {
        /// What went wrong.
        message: String,
    },
    /// The call took longer than its timeout.
    #[error("the LLM provider did not answer within {seconds} s")]
    Timeout {
        /// The timeout that elapsed.
        seconds: u64,
    },
    /// The provider's answer could not be understood.
    #[error("the LLM provider sent an answer that could not be read: {message}")]
    Protocol {
        /// What was wrong with it.
        message: String,
    },
    /// The configuration cannot work (no base URL for an unknown provider, say).
    #[error("{message}")]
    Config {
        /// What is wrong.
        message: String,
    },
}

impl ModelError {
    /// True when trying again later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ModelError::RateLimited { .. }
                | ModelError::Server { .. }
                | ModelError::Connection { .. }
                | ModelError::Timeout { .. }
        )
    }
}

/// One streaming call to an LLM.
///
/// Implementations own their retry policy: they may retry a failed call before its
/// first chunk has been returned, never after.
#[async_trait]
pub trait ChatModel: Send + Sync {
    /// The model's name, as the provider knows it.
    fn model_name(&self) -> &str;

    /// The size of the model's context window in tokens, when known.
    fn context_window(&self) -> Option<u32> {
        None
    }

    /// Starts a call and returns the stream of its answer.
    async fn stream(&self, request: ChatRequest) -> Result<ModelStream, ModelError>;
}
