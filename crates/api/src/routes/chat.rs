//! The Studio chat protocol: `/api/v1/chat/stream`, `/chat/stream/test/{agent_id}`,
//! `/chat/resume`, `/chat/invoke` and `/chat/reset/{id}/{conversation_id}`.
//!
//! Streams are Server-Sent Events, one `data: {"event_type", "data", "timestamp",
//! "session_id"}` line per event (see [`crate::studio_sse`]). Everything that can fail
//! before the stream starts (an unknown agent, a busy conversation, bad input) is a 4xx
//! with `{"detail"}`; failures after it started are an `error` event, then `stream_end`.
//! A client that disconnects cancels its run.

use std::collections::HashMap;
use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use bytes::Bytes;
use fustat_runtime::event::{EventKind, RunStatus};
use fustat_runtime::graph::Resume;
use fustat_runtime::interrupt::Decision;
use fustat_runtime::message::Message;
use fustat_runtime::run::{RunHandle, RunInput, RunRequest};
use futures::Stream;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use super::MessageOut;
use crate::engine::{ActiveRun, Assistant, RunSlot};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::Json;
use crate::state::AppState;
use crate::studio_sse::StudioEncoder;

const TAG: &str = "chat";

/// The longest accepted conversation id.
const MAX_CONVERSATION_ID: usize = 255;

/// Whether the chat is with an orchestrator or an agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ChatType {
    /// An orchestrator (a multi-agent team).
    Orchestrator,
    /// A single agent.
    Agent,
}

/// Body of `POST /api/v1/chat/stream` (and `/chat/invoke`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct StreamChatRequest {
    /// The orchestrator or agent.
    pub id: Uuid,
    /// Which of the two `id` names (looked up as either when absent).
    #[serde(default)]
    pub chat_type: Option<ChatType>,
    /// `test` (Studio) or `live`; both run the same way.
    #[serde(default)]
    #[schema(example = "test")]
    pub chat_mode: Option<String>,
    /// The conversation; sending again with the same id continues it.
    pub conversation_id: String,
    /// The user's message.
    pub message: String,
}

/// Body of `POST /api/v1/chat/stream/test/{agent_id}`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct TestChatRequest {
    /// The conversation.
    pub conversation_id: String,
    /// The user's message.
    pub message: String,
}

/// A decision on a paused tool call, in the agent-inbox shape.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct HumanResponse {
    /// `accept` (run the tool as asked), `edit` (run it with `args.args`), `response`
    /// (don't run it; `args` is the text the model sees) or `ignore` (don't run it).
    #[serde(rename = "type")]
    #[schema(example = "accept")]
    pub kind: String,
    /// For `edit`: `{"action": <tool>, "args": {...}}`; for `response`: a string.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub args: Value,
}

impl HumanResponse {
    /// The runtime decision; the error names the field.
    pub fn decision(&self) -> Result<Decision, ApiError> {
        match self.kind.as_str() {
            "accept" | "approve" => Ok(Decision::Accept),
            "ignore" | "reject" => Ok(Decision::Ignore),
            "response" => match &self.args {
                Value::String(text) => Ok(Decision::Response { text: text.clone() }),
                Value::Null => Err(ApiError::validation(
                    "decision.args",
                    "a response needs the text the model should see",
                )),
                other => Ok(Decision::Response {
                    text: other.to_string(),
                }),
            },
            "edit" => {
                let args = self.args.get("args").cloned().unwrap_or(self.args.clone());
                if !args.is_object() {
                    return Err(ApiError::validation(
                        "decision.args",
                        "an edit needs {\"action\": ..., \"args\": {...}} with object arguments",
                    ));
                }
                Ok(Decision::Edit { args })
            }
            other => Err(ApiError::validation(
                "decision.type",
                format!("unknown decision '{other}': expected accept, edit, response or ignore"),
            )),
        }
    }
}

/// Body of `POST /api/v1/chat/resume`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ResumeChatRequest {
    /// The orchestrator or agent.
    pub id: Uuid,
    /// Which of the two `id` names (looked up as either when absent).
    #[serde(default)]
    pub chat_type: Option<ChatType>,
    /// The paused conversation.
    pub conversation_id: String,
    /// The decision on the paused tool call.
    pub decision: HumanResponse,
    /// Which paused call the decision is for (the first one when absent).
    #[serde(default)]
    pub interrupt_id: Option<String>,
}

/// Answer of `POST /api/v1/chat/invoke`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChatResponse {
    /// True when the run produced an answer.
    pub success: bool,
    /// The answer.
    pub response: Option<String>,
    /// Tokens used by the run's model calls.
    pub tokens_used: u64,
    /// What went wrong, when something did.
    pub error: Option<String>,
    /// How the run ended (`success`, `interrupted`, `limit_reached`, `cancelled`,
    /// `error`).
    #[schema(value_type = String, example = "success")]
    pub status: RunStatus,
    /// The paused tool calls, when the run paused for a decision.
    #[schema(value_type = Vec<Object>)]
    pub interrupts: Vec<Value>,
}

/// The runtime's thread for a Studio conversation with `id`.
pub fn studio_thread(id: Uuid, conversation_id: &str) -> String {
    format!("studio:{id}:{conversation_id}")
}

fn check_conversation(conversation_id: &str) -> ApiResult<()> {
    if conversation_id.trim().is_empty() {
        return Err(ApiError::validation("conversation_id", "must not be empty"));
    }
    if conversation_id.chars().count() > MAX_CONVERSATION_ID {
        return Err(ApiError::validation(
            "conversation_id",
            format!("must be at most {MAX_CONVERSATION_ID} characters"),
        ));
    }
    Ok(())
}

fn check_message(message: &str, max: usize) -> ApiResult<()> {
    if message.trim().is_empty() {
        return Err(ApiError::validation("message", "must not be empty"));
    }
    let n = message.chars().count();
    if n > max {
        return Err(ApiError::validation(
            "message",
            format!("must be at most {max} characters (got {n})"),
        ));
    }
    Ok(())
}

async fn resolve(state: &AppState, id: Uuid, chat_type: Option<ChatType>) -> ApiResult<Assistant> {
    let engine = &state.engine;
    let found = match chat_type {
        Some(ChatType::Agent) => engine.agent(id).await,
        Some(ChatType::Orchestrator) => engine.orchestrator(id).await,
        None => engine.assistant(id).await,
    };
    found.map_err(|e| {
        if e.status == StatusCode::NOT_FOUND {
            let what = match chat_type {
                Some(ChatType::Agent) => "Agent",
                Some(ChatType::Orchestrator) => "Orchestrator",
                None => "Agent or orchestrator",
            };
            ApiError::new(StatusCode::NOT_FOUND, format!("{what} {id} not found"))
        } else {
            e
        }
    })
}

/// Claims the conversation and starts a run on it.
async fn start(
    state: &AppState,
    assistant: &Assistant,
    conversation_id: &str,
    input: RunInput,
) -> ApiResult<(RunHandle, RunSlot)> {
    let thread_id = studio_thread(assistant.id, conversation_id);
    let run_id = Uuid::now_v7().to_string();
    let slot = state
        .engine
        .active_runs()
        .claim(
            &thread_id,
            ActiveRun {
                run_id: run_id.clone(),
                cancel: CancellationToken::new(),
            },
        )
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::CONFLICT,
                "a message is already being answered in this conversation; wait for it or cancel it",
            )
        })?;
    let mut request = RunRequest::new(thread_id, input);
    request.run_id = Some(run_id);
    request.metadata = serde_json::json!({
        "source": "studio",
        "assistant_id": assistant.id,
        "graph_id": assistant.graph_id,
    });
    let handle = state
        .engine
        .runtime()
        .start(assistant.graph.clone(), request)
        .await
        .map_err(ApiError::run_start)?;
    Ok((handle, slot))
}

/// The SSE body of a run: Studio events until `stream_end`. Dropping it (the client went
/// away) cancels the run; the conversation stays busy until the run has stopped.
struct StudioStream {
    handle: Option<RunHandle>,
    slot: Option<RunSlot>,
    encoder: StudioEncoder,
    done: bool,
}

impl Stream for StudioStream {
    type Item = Result<Bytes, actix_web::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            let Some(handle) = this.handle.as_mut() else {
                return Poll::Ready(None);
            };
            match Pin::new(handle).poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => {
                    this.done = true;
                    this.handle = None;
                    this.slot = None;
                    return Poll::Ready(None);
                }
                Poll::Ready(Some(event)) => {
                    if matches!(event.kind, EventKind::Finished { .. }) {
                        this.done = true;
                    }
                    if let Some(frame) = this.encoder.encode(&event) {
                        return Poll::Ready(Some(Ok(Bytes::from(frame))));
                    }
                }
            }
        }
    }
}

impl Drop for StudioStream {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            if !self.done {
                handle.cancel();
            }
            let slot = self.slot.take();
            // Release the conversation only once the run has really stopped.
            actix_web::rt::spawn(async move {
                handle.finish().await;
                drop(slot);
            });
        }
    }
}

fn sse(handle: RunHandle, slot: RunSlot, encoder: StudioEncoder) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("cache-control", "no-cache"))
        .insert_header(("x-accel-buffering", "no"))
        .streaming(StudioStream {
            handle: Some(handle),
            slot: Some(slot),
            encoder,
            done: false,
        })
}

async fn stream_message(
    state: &AppState,
    id: Uuid,
    chat_type: Option<ChatType>,
    conversation_id: String,
    message: String,
) -> ApiResult<HttpResponse> {
    check_conversation(&conversation_id)?;
    check_message(&message, state.limits.max_message_chars)?;
    let assistant = resolve(state, id, chat_type).await?;
    let input = RunInput::Messages(vec![Message::user(message)]);
    let (handle, slot) = start(state, &assistant, &conversation_id, input).await?;
    Ok(sse(
        handle,
        slot,
        StudioEncoder::new(Some(conversation_id), assistant.name),
    ))
}

/// Streams the answer of an orchestrator or agent to a message, continuing the
/// conversation `conversation_id`.
#[utoipa::path(post, path = "/api/v1/chat/stream", tag = TAG, request_body = StreamChatRequest,
    responses(
        (status = 200, description = "Server-Sent Events: `data: {event_type, data, timestamp, session_id}` with event types stream_start, agent_updated, message_delta, message_complete, tool_call, tool_output, handoff, interrupt, error, stream_end", content_type = "text/event-stream", body = String),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn stream(
    state: web::Data<AppState>,
    Json(body): Json<StreamChatRequest>,
) -> ApiResult<HttpResponse> {
    stream_message(
        &state,
        body.id,
        body.chat_type,
        body.conversation_id,
        body.message,
    )
    .await
}

/// Streams an agent's answer (Studio's agent test panel).
#[utoipa::path(post, path = "/api/v1/chat/stream/test/{agent_id}", tag = TAG,
    request_body = TestChatRequest,
    params(("agent_id" = Uuid, Path, description = "Agent id")),
    responses(
        (status = 200, description = "Server-Sent Events, as `/api/v1/chat/stream`", content_type = "text/event-stream", body = String),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn stream_test(
    state: web::Data<AppState>,
    req: actix_web::HttpRequest,
    Json(body): Json<TestChatRequest>,
) -> ApiResult<HttpResponse> {
    let agent_id = crate::extract::path_uuid(&req, "agent_id")?;
    stream_message(
        &state,
        agent_id,
        Some(ChatType::Agent),
        body.conversation_id,
        body.message,
    )
    .await
}

/// Resumes a conversation paused on a supervised tool call with a decision, streaming
/// the rest of the run.
#[utoipa::path(post, path = "/api/v1/chat/resume", tag = TAG, request_body = ResumeChatRequest,
    responses(
        (status = 200, description = "Server-Sent Events, as `/api/v1/chat/stream`", content_type = "text/event-stream", body = String),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "Nothing to resume, or a run is in progress"), (status = 422, body = ErrorBody)))]
pub async fn resume(
    state: web::Data<AppState>,
    Json(body): Json<ResumeChatRequest>,
) -> ApiResult<HttpResponse> {
    check_conversation(&body.conversation_id)?;
    let decision = body.decision.decision()?;
    let assistant = resolve(&state, body.id, body.chat_type).await?;
    let resume = match body.interrupt_id {
        Some(id) => Resume::ById(HashMap::from([(id, decision)])),
        None => Resume::Next(decision),
    };
    let (handle, slot) = start(
        &state,
        &assistant,
        &body.conversation_id,
        RunInput::Resume(resume),
    )
    .await?;
    Ok(sse(
        handle,
        slot,
        StudioEncoder::new(Some(body.conversation_id), assistant.name),
    ))
}

/// Answers a message without streaming.
#[utoipa::path(post, path = "/api/v1/chat/invoke", tag = TAG, request_body = StreamChatRequest,
    responses((status = 200, body = ChatResponse), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn invoke(
    state: web::Data<AppState>,
    Json(body): Json<StreamChatRequest>,
) -> ApiResult<web::Json<ChatResponse>> {
    check_conversation(&body.conversation_id)?;
    check_message(&body.message, state.limits.max_message_chars)?;
    let assistant = resolve(&state, body.id, body.chat_type).await?;
    let input = RunInput::Messages(vec![Message::user(body.message)]);
    let (handle, slot) = start(&state, &assistant, &body.conversation_id, input).await?;
    // Dropping this future (the client went away) cancels the run.
    struct CancelOnDrop(Option<CancellationToken>);
    impl Drop for CancelOnDrop {
        fn drop(&mut self) {
            if let Some(t) = self.0.take() {
                t.cancel();
            }
        }
    }
    let mut guard = CancelOnDrop(Some(handle.cancel_token()));
    let outcome = handle.finish().await;
    guard.0 = None;
    drop(slot);
    Ok(web::Json(ChatResponse {
        success: outcome.status == RunStatus::Success,
        response: outcome.answer.map(|m| m.text()),
        tokens_used: outcome.usage.total(),
        error: outcome.error.map(|e| e.message),
        status: outcome.status,
        interrupts: outcome
            .interrupts
            .iter()
            .map(|i| serde_json::json!({"id": i.id, "agent_name": i.agent, "value": i.value()}))
            .collect(),
    }))
}

/// Path of `DELETE /api/v1/chat/reset/{agent_id}/{conversation_id}`.
#[derive(Debug, Deserialize)]
pub struct ResetPath {
    agent_id: String,
    conversation_id: String,
}

/// Forgets a conversation (the id may be an agent's or an orchestrator's).
#[utoipa::path(delete, path = "/api/v1/chat/reset/{agent_id}/{conversation_id}", tag = TAG,
    params(("agent_id" = Uuid, Path, description = "Agent or orchestrator id"),
        ("conversation_id" = String, Path, description = "Conversation id")),
    responses((status = 200, body = MessageOut), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn reset(
    state: web::Data<AppState>,
    path: web::Path<ResetPath>,
) -> ApiResult<web::Json<MessageOut>> {
    let id = Uuid::parse_str(&path.agent_id)
        .map_err(|_| ApiError::validation("agent_id", "must be a UUID"))?;
    check_conversation(&path.conversation_id)?;
    let thread = studio_thread(id, &path.conversation_id);
    if state.engine.active_runs().get(&thread).is_some() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "a message is being answered in this conversation; cancel it first",
        ));
    }
    state
        .engine
        .runtime()
        .checkpointer()
        .delete_thread(&thread)
        .await
        .map_err(|e| ApiError::checkpoint(&e))?;
    Ok(web::Json(MessageOut::new(
        "Conversation reset successfully",
    )))
}

/// The Studio chat routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/chat/stream", web::post().to(stream))
        .route("/chat/stream/test/{agent_id}", web::post().to(stream_test))
        .route("/chat/resume", web::post().to(resume))
        .route("/chat/invoke", web::post().to(invoke))
        .route(
            "/chat/reset/{agent_id}/{conversation_id}",
            web::delete().to(reset),
        );
}

/// OpenAPI paths of the Studio chat routes.
#[derive(OpenApi)]
#[openapi(
    paths(stream, stream_test, resume, invoke, reset),
    components(schemas(
        StreamChatRequest,
        TestChatRequest,
        ResumeChatRequest,
        HumanResponse,
        ChatResponse,
        ChatType
    ))
)]
pub struct Doc;
