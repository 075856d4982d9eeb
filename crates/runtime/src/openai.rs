//! [`OpenAiCompatible`]: a [`ChatModel`] over the OpenAI chat-completions protocol, with
//! async-openai. It reaches OpenAI and every provider with an OpenAI-compatible endpoint
//! (Groq, Ollama, Gemini, Anthropic, DeepSeek, Mistral, OpenRouter, Together, Azure
//! OpenAI, and any other with an explicit base URL).
//!
//! Streaming is always on. A request that fails before its answer starts (429, 5xx, a
//! refused connection) is retried with exponential backoff, honouring `Retry-After`;
//! once the answer streams, a failure ends the call with an error and nothing is
//! replayed. Chunks are read leniently (as JSON values) so that providers that differ a
//! little from OpenAI's wire format still work.
//!
//! ```no_run
//! use std::sync::Arc;
//! use fustat_runtime::openai::{OpenAiCompatible, ProviderConfig};
//!
//! let model = OpenAiCompatible::new(
//!     ProviderConfig::new("OpenAI", "gpt-4o-mini", "sk-...").with_max_retries(2),
//! )?;
//! let model: Arc<dyn fustat_runtime::model::ChatModel> = Arc::new(model);
//! # Ok::<(), fustat_runtime::model::ModelError>(())
//! ```

use std::fmt;
use std::time::Duration;

use async_openai::Client;
use async_openai::config::{AzureConfig, Config, OpenAIConfig};
use async_openai::error::OpenAIError;
use async_openai::middleware::ReqwestService;
use async_openai::middleware::retry::OpenAIRetryLayer;
use async_trait::async_trait;
use futures::StreamExt;
use serde_json::{Map, Value, json};

use crate::message::{Content, ContentPart, Message, Role, Usage};
use crate::model::{ChatModel, ChatRequest, ModelChunk, ModelError, ModelStream, ToolChoice};

/// Installs rustls' ring crypto provider as the process default, unless one is set.
/// Call it before building HTTP clients; it is cheap and idempotent.
pub fn ensure_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// A secret string that never shows in `Debug` or `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiSecret(String);

impl ApiSecret {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        ApiSecret(secret.into())
    }

    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiSecret(********)")
    }
}

/// The OpenAI-compatible endpoint of a provider, by name (case-insensitive).
///
/// ```
/// use fustat_runtime::openai::default_base_url;
/// assert_eq!(default_base_url("groq"), Some("https://api.groq.com/openai/v1"));
/// assert_eq!(default_base_url("my-gateway"), None);
/// ```
pub fn default_base_url(provider: &str) -> Option<&'static str> {
    Some(match provider.trim().to_ascii_lowercase().as_str() {
        "openai" => "https://api.openai.com/v1",
        "groq" => "https://api.groq.com/openai/v1",
        "ollama" => "http://localhost:11434/v1",
        "gemini" | "google" => "https://generativelanguage.googleapis.com/v1beta/openai",
        "anthropic" => "https://api.anthropic.com/v1",
        "deepseek" => "https://api.deepseek.com/v1",
        "mistral" => "https://api.mistral.ai/v1",
        "openrouter" => "https://openrouter.ai/api/v1",
        "together" | "togetherai" | "together ai" => "https://api.together.xyz/v1",
        _ => return None,
    })
}

fn is_azure(provider: &str) -> bool {
    let p = provider.trim().to_ascii_lowercase();
    p == "azure" || p == "azure openai" || p == "azureopenai" || p == "azure_openai"
}

/// The base URL requests go to: the configured one when set (normalised), otherwise the
/// provider's default.
///
/// ```
/// use fustat_runtime::openai::resolve_base_url;
/// assert_eq!(resolve_base_url("OpenAI", Some("https://api.openai.com/v1/")).unwrap(), "https://api.openai.com/v1");
/// assert_eq!(resolve_base_url("Ollama", Some("http://localhost:11434/")).unwrap(), "http://localhost:11434/v1");
/// assert!(resolve_base_url("my-gateway", None).is_err());
/// ```
pub fn resolve_base_url(provider: &str, base_url: Option<&str>) -> Result<String, ModelError> {
    match base_url.map(str::trim).filter(|u| !u.is_empty()) {
        Some(url) => {
            let parsed = url::Url::parse(url).map_err(|e| ModelError::Config {
                message: format!("the base URL '{url}' is not a valid URL: {e}"),
            })?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err(ModelError::Config {
                    message: format!("the base URL '{url}' must be an http or https URL"),
                });
            }
            let trimmed = url.trim_end_matches('/').to_owned();
            // Ollama's root URL (the form its docs show) serves the OpenAI API under /v1.
            let is_ollama = provider.trim().eq_ignore_ascii_case("ollama");
            if is_ollama && (parsed.path() == "/" || parsed.path().is_empty()) {
                return Ok(format!("{trimmed}/v1"));
            }
            Ok(trimmed)
        }
        None if is_azure(provider) => Err(ModelError::Config {
            message: "Azure OpenAI needs a base URL: https://<resource>.openai.azure.com/openai/deployments/<deployment>?api-version=<version>, or the v1 endpoint https://<resource>.openai.azure.com/openai/v1".into(),
        }),
        None => default_base_url(provider).map(str::to_owned).ok_or_else(|| ModelError::Config {
            message: format!(
                "the provider '{provider}' has no known endpoint: set the API key's base URL to its OpenAI-compatible endpoint"
            ),
        }),
    }
}

/// How to reach a model.
#[derive(Clone, Debug)]
pub struct ProviderConfig {
    /// The provider's name (`OpenAI`, `Groq`, `Ollama`, …; case-insensitive).
    pub provider_name: String,
    /// The model to call.
    pub model: String,
    /// The endpoint, when not the provider's default.
    pub base_url: Option<String>,
    /// The credential.
    pub api_key: ApiSecret,
    /// How long to wait for a connection.
    pub connect_timeout: Duration,
    /// How long the provider may stay silent (before the answer starts, or between two
    /// pieces of it) before the call fails with a timeout.
    pub idle_timeout: Duration,
    /// How many times a request that failed before its answer started is retried.
    pub max_retries: u32,
    /// The model's context window in tokens, when known.
    pub context_window: Option<u32>,
}

impl ProviderConfig {
    /// A configuration with default timeouts (10 s to connect, 120 s of silence) and 3
    /// retries.
    pub fn new(
        provider_name: impl Into<String>,
        model: impl Into<String>,
        api_key: impl Into<String>,
    ) -> Self {
        ProviderConfig {
            provider_name: provider_name.into(),
            model: model.into(),
            base_url: None,
            api_key: ApiSecret::new(api_key),
            connect_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(120),
            max_retries: 3,
            context_window: None,
        }
    }

    /// Sets the endpoint.
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = Some(base_url.into());
        self
    }

    /// Sets the retry count.
    pub fn with_max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// Sets the silence timeout.
    pub fn with_idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Sets the connect timeout.
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets the context window.
    pub fn with_context_window(mut self, tokens: u32) -> Self {
        self.context_window = Some(tokens);
        self
    }
}

/// The HTTP client for these timeouts, shared by the model clients built with them on
/// this thread: one connection pool instead of a new client (new TCP and TLS connections)
/// per model, which is per run in a service that builds agents per message.
///
/// Per thread, not per process: a pooled connection belongs to the runtime that opened
/// it, and each actix worker (and each test) runs its own runtime on its own thread.
fn shared_http_client(connect: Duration, idle: Duration) -> Result<reqwest::Client, ModelError> {
    thread_local! {
        static CLIENTS: std::cell::RefCell<
            std::collections::HashMap<(Duration, Duration), reqwest::Client>,
        > = std::cell::RefCell::new(std::collections::HashMap::new());
    }
    if let Some(c) = CLIENTS.with(|m| m.borrow().get(&(connect, idle)).cloned()) {
        return Ok(c);
    }
    let client = reqwest::Client::builder()
        .connect_timeout(connect)
        .read_timeout(idle)
        .build()
        .map_err(|e| ModelError::Config {
            message: format!("could not build the HTTP client: {e}"),
        })?;
    CLIENTS.with(|m| m.borrow_mut().insert((connect, idle), client.clone()));
    Ok(client)
}

/// A model behind an OpenAI-compatible chat-completions endpoint.
pub struct OpenAiCompatible {
    client: Client<Box<dyn Config>>,
    model: String,
    provider: String,
    secret: ApiSecret,
    idle_timeout: Duration,
    context_window: Option<u32>,
}

impl fmt::Debug for OpenAiCompatible {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiCompatible")
            .field("provider", &self.provider)
            .field("model", &self.model)
            .finish_non_exhaustive()
    }
}

impl OpenAiCompatible {
    /// A model client. Fails on a configuration that cannot work (no endpoint, a key
    /// that cannot be sent in a header).
    pub fn new(config: ProviderConfig) -> Result<Self, ModelError> {
        ensure_crypto_provider();
        let key = config.api_key.expose();
        if key.chars().any(|c| c.is_control()) || key.trim() != key {
            return Err(ModelError::Config {
                message: "the API key contains spaces or control characters".into(),
            });
        }
        if config.model.trim().is_empty() {
            return Err(ModelError::Config {
                message: "the model name is empty".into(),
            });
        }
        let base = resolve_base_url(&config.provider_name, config.base_url.as_deref())?;
        let cfg: Box<dyn Config> = if is_azure(&config.provider_name) {
            azure_config(&base, key)?
        } else {
            Box::new(OpenAIConfig::new().with_api_base(base).with_api_key(key))
        };
        let http = shared_http_client(config.connect_timeout, config.idle_timeout)?;
        let service = tower::ServiceBuilder::new()
            .layer(OpenAIRetryLayer::new(config.max_retries as usize))
            .service(ReqwestService::new(http.clone()));
        // `Client::build`, not `with_config`: the latter builds (and throws away) a default
        // HTTP client, loading the system's root certificates on every model built.
        let client = Client::build(http, cfg).with_http_service(service);
        Ok(OpenAiCompatible {
            client,
            model: config.model,
            provider: config.provider_name,
            secret: config.api_key,
            idle_timeout: config.idle_timeout,
            context_window: config.context_window,
        })
    }

    fn body(&self, request: &ChatRequest) -> Value {
        let mut body = Map::new();
        body.insert("model".into(), json!(self.model));
        body.insert(
            "messages".into(),
            Value::Array(request.messages.iter().map(wire_message).collect()),
        );
        body.insert("stream".into(), json!(true));
        body.insert("stream_options".into(), json!({"include_usage": true}));
        if !request.tools.is_empty() {
            let tools: Vec<Value> = request
                .tools
                .iter()
                .map(|t| {
                    json!({"type": "function", "function": {
                        "name": t.name,
                        "description": t.description,
                        "parameters": normalise_schema(&t.parameters),
                    }})
                })
                .collect();
            body.insert("tools".into(), Value::Array(tools));
            let choice = match &request.tool_choice {
                ToolChoice::Auto => json!("auto"),
                ToolChoice::None => json!("none"),
                ToolChoice::Required => json!("required"),
                ToolChoice::Tool(name) => json!({"type": "function", "function": {"name": name}}),
            };
            body.insert("tool_choice".into(), choice);
        }
        if let Some(schema) = &request.response_schema {
            body.insert(
                "response_format".into(),
                json!({"type": "json_schema", "json_schema": {
                    "name": schema.name,
                    "schema": schema.schema,
                    "strict": true,
                }}),
            );
        }
        if let Some(t) = request.temperature {
            body.insert("temperature".into(), json!(t));
        }
        if let Some(m) = request.max_tokens {
            body.insert("max_tokens".into(), json!(m));
        }
        Value::Object(body)
    }

    fn map_error(&self, err: OpenAIError) -> ModelError {
        map_error(&self.model, self.idle_timeout, err, self.secret.expose())
    }
}

fn azure_config(base: &str, key: &str) -> Result<Box<dyn Config>, ModelError> {
    let url = url::Url::parse(base).map_err(|e| ModelError::Config {
        message: format!("invalid Azure base URL: {e}"),
    })?;
    let path = url.path().trim_end_matches('/');
    if let Some(idx) = path.find("/openai/deployments/") {
        let deployment = path[idx + "/openai/deployments/".len()..]
            .split('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        let version = url
            .query_pairs()
            .find(|(k, _)| k == "api-version")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_else(|| "2024-10-21".to_owned());
        let mut root = url.clone();
        root.set_query(None);
        root.set_path(&path[..idx]);
        let api_base = root.as_str().trim_end_matches('/').to_owned();
        return Ok(Box::new(
            AzureConfig::new()
                .with_api_base(api_base)
                .with_deployment_id(deployment)
                .with_api_version(version)
                .with_api_key(key),
        ));
    }
    // The v1 endpoint speaks the OpenAI protocol with the key in an `api-key` header.
    let cfg = OpenAIConfig::new()
        .with_api_base(base.trim_end_matches('/'))
        .with_api_key(key)
        .with_header("api-key", key)
        .map_err(|e| ModelError::Config {
            message: format!("the API key cannot be sent in a header: {e}"),
        })?;
    Ok(Box::new(cfg))
}

/// A tool's parameters as providers expect them: always an object schema.
fn normalise_schema(schema: &Value) -> Value {
    match schema {
        Value::Object(m) if !m.is_empty() => {
            let mut m = m.clone();
            m.entry("type").or_insert_with(|| json!("object"));
            if m.get("type") == Some(&json!("object")) {
                m.entry("properties").or_insert_with(|| json!({}));
            }
            Value::Object(m)
        }
        _ => json!({"type": "object", "properties": {}}),
    }
}

fn wire_content(content: &Content) -> Value {
    match content {
        Content::Text(t) => json!(t),
        Content::Parts(parts) => Value::Array(
            parts
                .iter()
                .map(|p| match p {
                    ContentPart::Text { text } => json!({"type": "text", "text": text}),
                    ContentPart::Image { url } => {
                        json!({"type": "image_url", "image_url": {"url": url}})
                    }
                    ContentPart::File {
                        mime_type,
                        data,
                        filename,
                    } => json!({"type": "file", "file": {
                        "file_data": format!("data:{mime_type};base64,{data}"),
                        "filename": filename.clone().unwrap_or_else(|| "file".into()),
                    }}),
                })
                .collect(),
        ),
    }
}

/// One message in the chat-completions wire format.
fn wire_message(m: &Message) -> Value {
    match m.role {
        Role::System => json!({"role": "system", "content": m.text()}),
        Role::User => json!({"role": "user", "content": wire_content(&m.content)}),
        Role::Assistant => {
            let mut v = json!({"role": "assistant", "content": m.text()});
            if !m.tool_calls.is_empty() {
                v["tool_calls"] = Value::Array(
                    m.tool_calls
                        .iter()
                        .map(|c| {
                            let args = match &c.arguments {
                                Value::String(s) => s.clone(),
                                Value::Null => "{}".to_owned(),
                                other => other.to_string(),
                            };
                            json!({"id": c.id, "type": "function",
                                   "function": {"name": c.name, "arguments": args}})
                        })
                        .collect(),
                );
                if m.text().is_empty() {
                    v["content"] = Value::Null;
                }
            }
            v
        }
        Role::Tool => json!({
            "role": "tool",
            "tool_call_id": m.tool_call_id.clone().unwrap_or_default(),
            "content": m.text(),
        }),
    }
}

/// Removes the secret from a provider message that echoes it.
fn scrub(message: &str, secret: &str) -> String {
    if secret.len() >= 6 && message.contains(secret) {
        message.replace(secret, "********")
    } else {
        message.to_owned()
    }
}

fn map_error(model: &str, idle: Duration, err: OpenAIError, secret: &str) -> ModelError {
    match err {
        OpenAIError::ApiError(resp) => {
            let status = resp.status_code.as_u16();
            let api = resp.api_error;
            let message = scrub(&api.message, secret);
            let code = api.code.clone().unwrap_or_default();
            let kind = api.r#type.clone().unwrap_or_default();
            let lower = message.to_lowercase();
            if status == 401 || status == 403 {
                ModelError::Unauthorized { status }
            } else if code == "model_not_found"
                || (status == 404 && (lower.contains("model") || code.contains("model")))
            {
                ModelError::UnknownModel {
                    model: model.to_owned(),
                    message,
                }
            } else if code == "context_length_exceeded"
                || lower.contains("context length")
                || lower.contains("context_length")
                || lower.contains("maximum context")
                || lower.contains("too many tokens")
            {
                ModelError::ContextLength { message }
            } else if status == 429 {
                let message = if kind == "insufficient_quota" || code == "insufficient_quota" {
                    format!("quota exhausted: {message}")
                } else {
                    message
                };
                ModelError::RateLimited { message }
            } else if status == 404 {
                ModelError::BadRequest {
                    status,
                    message: format!("{message} (is the base URL right?)"),
                }
            } else if status >= 500 {
                ModelError::Server { status, message }
            } else {
                ModelError::BadRequest { status, message }
            }
        }
        OpenAIError::Reqwest(e) => reqwest_error(idle, &e, secret),
        OpenAIError::JSONDeserialize(e, content) => ModelError::Protocol {
            message: format!(
                "{e} in: {}",
                scrub(&content.chars().take(300).collect::<String>(), secret)
            ),
        },
        OpenAIError::StreamError(e) => {
            let text = scrub(&e.to_string(), secret);
            let lower = text.to_lowercase();
            if lower.contains("timed out") || lower.contains("timeout") {
                ModelError::Timeout {
                    seconds: idle.as_secs(),
                }
            } else if lower.contains("invalid status code") {
                ModelError::Protocol { message: text }
            } else if lower.contains("eventstream")
                || lower.contains("transport")
                || lower.contains("decoding")
                || lower.contains("connection")
            {
                ModelError::Connection {
                    message: format!("the answer stream broke off: {text}"),
                }
            } else {
                ModelError::Protocol { message: text }
            }
        }
        OpenAIError::InvalidArgument(m) => ModelError::Config { message: m },
        other => ModelError::Protocol {
            message: scrub(&other.to_string(), secret),
        },
    }
}

fn reqwest_error(idle: Duration, e: &reqwest::Error, secret: &str) -> ModelError {
    if e.is_timeout() {
        ModelError::Timeout {
            seconds: idle.as_secs(),
        }
    } else {
        // Walk the source chain for a readable cause (connection refused, DNS, TLS).
        let mut msg = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            msg = format!("{msg}: {s}");
            source = s.source();
        }
        ModelError::Connection {
            message: scrub(&msg, secret),
        }
    }
}

/// Turns one streamed chunk (a JSON value) into model chunks.
fn chunks_of(value: &Value) -> Vec<ModelChunk> {
    let mut out = Vec::new();
    if let Some(err) = value.get("error") {
        // Some providers report failures inside the stream.
        let message = err
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("unknown error")
            .to_owned();
        out.push(ModelChunk::Finish(format!("error: {message}")));
        return out;
    }
    if let Some(choices) = value.get("choices").and_then(Value::as_array) {
        for choice in choices {
            let delta = choice.get("delta").unwrap_or(&Value::Null);
            if let Some(text) = delta.get("content").and_then(Value::as_str)
                && !text.is_empty()
            {
                out.push(ModelChunk::Text(text.to_owned()));
            }
            if let Some(calls) = delta.get("tool_calls").and_then(Value::as_array) {
                for (pos, call) in calls.iter().enumerate() {
                    let index = call
                        .get("index")
                        .and_then(Value::as_u64)
                        .map(|i| i as u32)
                        .unwrap_or(pos as u32);
                    let f = call.get("function").unwrap_or(&Value::Null);
                    let arguments = match f.get("arguments") {
                        Some(Value::String(s)) => s.clone(),
                        Some(Value::Null) | None => String::new(),
                        Some(other) => other.to_string(),
                    };
                    out.push(ModelChunk::ToolCallDelta {
                        index,
                        id: call
                            .get("id")
                            .and_then(Value::as_str)
                            .filter(|s| !s.is_empty())
                            .map(str::to_owned),
                        name: f
                            .get("name")
                            .and_then(Value::as_str)
                            .filter(|s| !s.is_empty())
                            .map(str::to_owned),
                        arguments,
                    });
                }
            }
            if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
                out.push(ModelChunk::Finish(reason.to_owned()));
            }
        }
    }
    if let Some(usage) = value.get("usage").filter(|u| u.is_object()) {
        let get = |k: &str| usage.get(k).and_then(Value::as_u64).unwrap_or(0);
        out.push(ModelChunk::Usage(Usage {
            input_tokens: get("prompt_tokens"),
            output_tokens: get("completion_tokens"),
        }));
    }
    out
}

#[async_trait]
impl ChatModel for OpenAiCompatible {
    fn model_name(&self) -> &str {
        &self.model
    }

    fn context_window(&self) -> Option<u32> {
        self.context_window
    }

    async fn stream(&self, request: ChatRequest) -> Result<ModelStream, ModelError> {
        let body = self.body(&request);
        let stream = self
            .client
            .chat()
            .create_stream_byot::<Value, Value>(body)
            .await
            .map_err(|e| self.map_error(e))?;
        let model = self.model.clone();
        let idle = self.idle_timeout;
        let secret = self.secret.clone();
        let mapped = stream
            .map(move |item| match item {
                Ok(value) => {
                    let chunks = chunks_of(&value);
                    if let Some(ModelChunk::Finish(reason)) = chunks.first()
                        && let Some(message) = reason.strip_prefix("error: ")
                    {
                        return vec![Err(ModelError::Server {
                            status: 200,
                            message: scrub(message, secret.expose()),
                        })];
                    }
                    chunks.into_iter().map(Ok).collect()
                }
                Err(e) => vec![Err(map_error(&model, idle, e, secret.expose()))],
            })
            .flat_map(futures::stream::iter);
        Ok(Box::pin(mapped))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_resolve_and_normalise() {
        assert_eq!(
            resolve_base_url("OPENAI", None).unwrap(),
            "https://api.openai.com/v1"
        );
        assert_eq!(
            resolve_base_url("Gemini", None).unwrap(),
            "https://generativelanguage.googleapis.com/v1beta/openai"
        );
        assert_eq!(
            resolve_base_url("Groq", Some("https://api.groq.com/openai/v1")).unwrap(),
            "https://api.groq.com/openai/v1"
        );
        assert_eq!(
            resolve_base_url("custom", Some("http://gw:9000/llm/")).unwrap(),
            "http://gw:9000/llm"
        );
        assert!(resolve_base_url("azure", None).is_err());
        assert!(resolve_base_url("openai", Some("ftp://x")).is_err());
        let err = resolve_base_url("my-gateway", None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("my-gateway") && err.contains("base URL"),
            "{err}"
        );
    }

    #[test]
    fn debug_output_never_shows_the_key() {
        let cfg = ProviderConfig::new("OpenAI", "gpt-4o-mini", "sk-secret-value-123");
        assert!(!format!("{cfg:?}").contains("secret-value"));
        let model = OpenAiCompatible::new(cfg).unwrap();
        assert!(!format!("{model:?}").contains("secret-value"));
    }

    #[test]
    fn bad_keys_and_models_are_refused_up_front() {
        assert!(OpenAiCompatible::new(ProviderConfig::new("OpenAI", "m", "sk\nx")).is_err());
        assert!(OpenAiCompatible::new(ProviderConfig::new("OpenAI", " ", "sk")).is_err());
    }

    #[test]
    fn messages_map_to_the_wire_format() {
        let call = crate::message::ToolCall {
            id: "c1".into(),
            name: "f".into(),
            arguments: json!({"a": 1}),
        };
        let a = wire_message(&Message::assistant_tool_calls("", vec![call.clone()]));
        assert_eq!(a["content"], Value::Null);
        assert_eq!(a["tool_calls"][0]["function"]["arguments"], "{\"a\":1}");
        let t = wire_message(&Message::tool_result(&call, "ok", false));
        assert_eq!(t["tool_call_id"], "c1");
        assert_eq!(
            normalise_schema(&json!({})),
            json!({"type": "object", "properties": {}})
        );
    }

    #[test]
    fn chunks_are_read_leniently() {
        let v = json!({"choices": [{"delta": {"tool_calls": [{"id": "x", "function": {"name": "f", "arguments": "{\"a\""}}]}, "finish_reason": null}]});
        assert_eq!(
            chunks_of(&v),
            vec![ModelChunk::ToolCallDelta {
                index: 0,
                id: Some("x".into()),
                name: Some("f".into()),
                arguments: "{\"a\"".into()
            }]
        );
        let u = json!({"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 4}});
        assert_eq!(
            chunks_of(&u),
            vec![ModelChunk::Usage(Usage {
                input_tokens: 3,
                output_tokens: 4
            })]
        );
    }
}
