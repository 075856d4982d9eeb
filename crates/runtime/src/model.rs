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

use crate::message::{Message, ToolCall, Usage};
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

/// Reassembles a streamed answer into an assistant [`Message`]: the text, the tool calls
/// (arguments parsed as JSON; text that is not JSON is kept as a JSON string, so the
/// caller can tell the model its arguments were invalid) and the usage.
#[derive(Debug, Default)]
pub struct ResponseAccumulator {
    text: String,
    calls: Vec<(String, String, String)>,
    usage: Option<Usage>,
    finish: Option<String>,
}

impl ResponseAccumulator {
    /// Adds a chunk.
    pub fn push(&mut self, chunk: ModelChunk) {
        match chunk {
            ModelChunk::Text(t) => self.text.push_str(&t),
            ModelChunk::ToolCallDelta {
                index,
                id,
                name,
                arguments,
            } => {
                let i = index as usize;
                while self.calls.len() <= i {
                    self.calls.push(Default::default());
                }
                let c = &mut self.calls[i];
                if let Some(id) = id {
                    c.0 = id;
                }
                if let Some(name) = name {
                    c.1.push_str(&name);
                }
                c.2.push_str(&arguments);
            }
            ModelChunk::Usage(u) => self.usage = Some(u),
            ModelChunk::Finish(reason) => self.finish = Some(reason),
        }
    }

    /// Why the model stopped, when it said.
    pub fn finish_reason(&self) -> Option<&str> {
        self.finish.as_deref()
    }

    /// The assistant message.
    pub fn finish(self) -> Message {
        let calls = self
            .calls
            .into_iter()
            .filter(|c| !c.1.is_empty())
            .map(|(id, name, args)| ToolCall {
                id: if id.is_empty() {
                    crate::message::new_message_id()
                } else {
                    id
                },
                name,
                arguments: if args.trim().is_empty() {
                    Value::Object(Default::default())
                } else {
                    serde_json::from_str(&args).unwrap_or(Value::String(args))
                },
            })
            .collect();
        let mut m = Message::assistant_tool_calls(self.text, calls);
        m.usage = self.usage;
        m
    }
}

/// Calls `model` and waits for the whole answer.
pub async fn complete(model: &dyn ChatModel, request: ChatRequest) -> Result<Message, ModelError> {
    use futures::StreamExt;
    let mut stream = model.stream(request).await?;
    let mut acc = ResponseAccumulator::default();
    while let Some(chunk) = stream.next().await {
        acc.push(chunk?);
    }
    Ok(acc.finish())
}

/// Asks `model` for a JSON answer following `schema` (structured output) and parses it.
/// An answer that is not a JSON object is a [`ModelError::Protocol`] error.
pub async fn complete_json(
    model: &dyn ChatModel,
    messages: Vec<Message>,
    schema: ResponseSchema,
) -> Result<Value, ModelError> {
    let request = ChatRequest {
        messages,
        response_schema: Some(schema),
        ..ChatRequest::default()
    };
    let text = complete(model, request).await?.text();
    let trimmed = text.trim();
    // Some models wrap JSON in a code fence despite the schema.
    let body = trimmed
        .strip_prefix("```json")
        .or_else(|| trimmed.strip_prefix("```"))
        .and_then(|t| t.strip_suffix("```"))
        .unwrap_or(trimmed)
        .trim();
    match serde_json::from_str::<Value>(body) {
        Ok(v @ Value::Object(_)) => Ok(v),
        _ => Err(ModelError::Protocol {
            message: format!(
                "the model did not answer with a JSON object: {}",
                body.chars().take(200).collect::<String>()
            ),
        }),
    }
}
