//! The provider-neutral message model.
//!
//! Every conversation, checkpoint and model request is expressed in these types; each
//! LLM provider converts them to and from its own wire format behind the
//! [`ChatModel`](crate::model::ChatModel) trait.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions for the model.
    System,
    /// The human (or the calling system).
    User,
    /// The model.
    Assistant,
    /// The result of a tool call.
    Tool,
}

/// One part of a multi-part message content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentPart {
    /// Plain text.
    Text {
        /// The text.
        text: String,
    },
    /// An image, by URL (`https://…` or a `data:` URL holding base64 bytes).
    Image {
        /// Where the image is, or the image itself as a data URL.
        url: String,
    },
    /// A file (a PDF, say), as base64 bytes.
    File {
        /// The MIME type, such as `application/pdf`.
        mime_type: String,
        /// Base64-encoded bytes.
        data: String,
        /// The file name, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        filename: Option<String>,
    },
}

/// The content of a message: text, or a list of parts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Content {
    /// Plain text (the common case).
    Text(String),
    /// Several parts, such as text plus an image.
    Parts(Vec<ContentPart>),
}

impl Default for Content {
    fn default() -> Self {
        Content::Text(String::new())
    }
}

impl Content {
    /// The text of the content: the text itself, or the text parts joined.
    pub fn text(&self) -> String {
        match self {
            Content::Text(t) => t.clone(),
            Content::Parts(parts) => parts
                .iter()
                .filter_map(|p| match p {
                    ContentPart::Text { text } => Some(text.as_str()),
                    _ => None,
                })
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }

    /// True when there is no text and no other part.
    pub fn is_empty(&self) -> bool {
        match self {
            Content::Text(t) => t.is_empty(),
            Content::Parts(p) => p.is_empty(),
        }
    }

    /// An approximate size in bytes (used for token estimates and limits).
    pub fn approx_len(&self) -> usize {
        match self {
            Content::Text(t) => t.len(),
            Content::Parts(parts) => parts
                .iter()
                .map(|p| match p {
                    ContentPart::Text { text } => text.len(),
                    ContentPart::Image { url } => url.len().min(4096),
                    ContentPart::File { data, .. } => data.len().min(4096),
                })
                .sum(),
        }
    }
}

impl From<String> for Content {
    fn from(s: String) -> Self {
        Content::Text(s)
    }
}

impl From<&str> for Content {
    fn from(s: &str) -> Self {
        Content::Text(s.to_owned())
    }
}

/// A tool call requested by the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The provider's id for the call; the tool result refers to it.
    pub id: String,
    /// The tool's name.
    pub name: String,
    /// The arguments, as JSON (an object for well-behaved models).
    pub arguments: Value,
}

/// Token usage reported by the provider for one model call (or a sum of several).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Tokens in the prompt.
    pub input_tokens: u64,
    /// Tokens generated.
    pub output_tokens: u64,
}

impl Usage {
    /// Input plus output tokens.
    pub fn total(&self) -> u64 {
        self.input_tokens + self.output_tokens
    }
}

impl std::ops::AddAssign for Usage {
    fn add_assign(&mut self, rhs: Self) {
        self.input_tokens += rhs.input_tokens;
        self.output_tokens += rhs.output_tokens;
    }
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// A stable id, unique within the conversation (a UUID unless the client chose one).
    pub id: String,
    /// Who wrote it.
    pub role: Role,
    /// What it says.
    #[serde(default)]
    pub content: Content,
    /// For assistant messages, the agent that wrote it; for tool messages, the tool's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// For assistant messages, the tool calls the model asked for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// For tool messages, the id of the call this message answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// For tool messages, whether the tool failed (the model still sees the text).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub is_error: bool,
    /// For assistant messages, the tokens the model call used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// For tool messages, structured output the tool returned besides its text (kept for
    /// clients; models see only `content`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<Value>,
}

/// A new message id (a time-ordered UUID).
pub fn new_message_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

impl Message {
    fn with_role(role: Role, content: Content) -> Self {
        Message {
            id: new_message_id(),
            role,
            content,
            name: None,
            tool_calls: Vec::new(),
            tool_call_id: None,
            is_error: false,
            usage: None,
            artifact: None,
        }
    }

    /// A system message.
    pub fn system(content: impl Into<Content>) -> Self {
        Self::with_role(Role::System, content.into())
    }

    /// A user message.
    pub fn user(content: impl Into<Content>) -> Self {
        Self::with_role(Role::User, content.into())
    }

    /// An assistant message with text and no tool calls.
    pub fn assistant(content: impl Into<Content>) -> Self {
        Self::with_role(Role::Assistant, content.into())
    }

    /// An assistant message asking for tool calls.
    pub fn assistant_tool_calls(content: impl Into<Content>, calls: Vec<ToolCall>) -> Self {
        let mut m = Self::with_role(Role::Assistant, content.into());
        m.tool_calls = calls;
        m
    }

    /// A tool result answering `call`.
    pub fn tool_result(call: &ToolCall, content: impl Into<Content>, is_error: bool) -> Self {
        let mut m = Self::with_role(Role::Tool, content.into());
        m.tool_call_id = Some(call.id.clone());
        m.name = Some(call.name.clone());
        m.is_error = is_error;
        m
    }

    /// Sets the id (builder style).
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = id.into();
        self
    }

    /// Sets the name (builder style).
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The message's text.
    pub fn text(&self) -> String {
        self.content.text()
    }

    /// True for an assistant message that asks for at least one tool call.
    pub fn has_tool_calls(&self) -> bool {
        self.role == Role::Assistant && !self.tool_calls.is_empty()
    }
}

/// Returns the tool calls of the last assistant message in `messages` that have no tool
/// result after them, in the order the model asked for them.
///
/// A history is valid for strict providers only when this is empty before a model call.
pub fn unanswered_tool_calls(messages: &[Message]) -> Vec<ToolCall> {
    let Some(pos) = messages.iter().rposition(|m| m.role == Role::Assistant) else {
        return Vec::new();
    };
    let answered: std::collections::HashSet<&str> = messages[pos + 1..]
        .iter()
        .filter(|m| m.role == Role::Tool)
        .filter_map(|m| m.tool_call_id.as_deref())
        .collect();
    messages[pos]
        .tool_calls
        .iter()
        .filter(|c| !answered.contains(c.id.as_str()))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_round_trips_as_text_or_parts() {
        let t: Content = serde_json::from_str("\"hi\"").unwrap();
        assert_eq!(t, Content::Text("hi".into()));
        let p: Content =
            serde_json::from_str(r#"[{"type":"text","text":"a"},{"type":"image","url":"u"}]"#)
                .unwrap();
        assert_eq!(p.text(), "a");
    }

    #[test]
    fn unanswered_calls_are_found() {
        let call = ToolCall {
            id: "c1".into(),
            name: "t".into(),
            arguments: serde_json::json!({}),
        };
        let call2 = ToolCall {
            id: "c2".into(),
            ..call.clone()
        };
        let msgs = vec![
            Message::user("q"),
            Message::assistant_tool_calls("", vec![call.clone(), call2.clone()]),
            Message::tool_result(&call, "ok", false),
        ];
        assert_eq!(unanswered_tool_calls(&msgs), vec![call2]);
    }
}
