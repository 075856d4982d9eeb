//! A scripted fake OpenAI-compatible server: a real HTTP server speaking the
//! chat-completions wire format (SSE chunks, tool-call deltas split across chunks, usage),
//! with injectable latency and faults.
//!
//! ```no_run
//! # async fn demo() {
//! use fustat_testkit::fake_llm::{FakeLlm, Reply};
//! let llm = FakeLlm::start();
//! llm.push(Reply::tool_call("get_time", serde_json::json!({"tz": "UTC"})));
//! llm.push(Reply::text("It is noon."));
//! // point a client at llm.base_url() ("http://127.0.0.1:<port>/v1") ...
//! assert_eq!(llm.requests().len(), 0);
//! # }
//! ```

use std::collections::{BTreeMap, VecDeque};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use bytes::Bytes;
use futures::StreamExt;
use serde_json::{Value, json};

/// What goes wrong with a reply, on purpose.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Headers and the first chunks are sent, then nothing more (a stalled stream).
    Stall,
    /// A few chunks are sent, then the connection is dropped.
    DropMidStream,
    /// The stream carries a chunk that is not JSON.
    Malformed,
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Text(String),
    ToolCalls(Vec<(String, Value)>),
    Error {
        status: u16,
        message: String,
        code: Option<String>,
        kind: String,
        retry_after: Option<String>,
    },
}

/// One scripted answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    kind: Kind,
    latency: Duration,
    chunk_delay: Duration,
    chunks: usize,
    usage: (u64, u64),
    fault: Option<Fault>,
}

impl Reply {
    fn of(kind: Kind) -> Self {
        Reply {
            kind,
            latency: Duration::ZERO,
            chunk_delay: Duration::ZERO,
            chunks: 3,
            usage: (10, 5),
            fault: None,
        }
    }

    /// A text answer.
    pub fn text(text: impl Into<String>) -> Self {
        Self::of(Kind::Text(text.into()))
    }

    /// A text answer of `tokens` words.
    pub fn tokens(tokens: usize) -> Self {
        let text = (0..tokens).map(|i| format!("w{i} ")).collect::<String>();
        let mut r = Self::text(text);
        r.chunks = tokens.max(1);
        r
    }

    /// An answer asking for one tool call.
    pub fn tool_call(name: impl Into<String>, args: Value) -> Self {
        Self::of(Kind::ToolCalls(vec![(name.into(), args)]))
    }

    /// An answer asking for several tool calls at once.
    pub fn tool_calls(calls: Vec<(&str, Value)>) -> Self {
        Self::of(Kind::ToolCalls(
            calls.into_iter().map(|(n, a)| (n.to_owned(), a)).collect(),
        ))
    }

    /// An HTTP error with an OpenAI-style body.
    pub fn error(status: u16, message: impl Into<String>) -> Self {
        let kind = match status {
            401 => "invalid_request_error",
            429 => "rate_limit_error",
            s if s >= 500 => "server_error",
            _ => "invalid_request_error",
        };
        Self::of(Kind::Error {
            status,
            message: message.into(),
            code: None,
            kind: kind.to_owned(),
            retry_after: None,
        })
    }

    /// Sets the error's `code` (`model_not_found`, `context_length_exceeded`, …).
    pub fn code(mut self, code: &str) -> Self {
        if let Kind::Error { code: c, .. } = &mut self.kind {
            *c = Some(code.to_owned());
        }
        self
    }

    /// Sets the error's `Retry-After` header.
    pub fn retry_after(mut self, value: &str) -> Self {
        if let Kind::Error { retry_after, .. } = &mut self.kind {
            *retry_after = Some(value.to_owned());
        }
        self
    }

    /// Waits this long before the first byte.
    pub fn latency(mut self, d: Duration) -> Self {
        self.latency = d;
        self
    }

    /// Waits this long between chunks.
    pub fn chunk_delay(mut self, d: Duration) -> Self {
        self.chunk_delay = d;
        self
    }

    /// Splits a text answer into this many chunks.
    pub fn chunks(mut self, n: usize) -> Self {
        self.chunks = n.max(1);
        self
    }

    /// Reports this usage.
    pub fn usage(mut self, input: u64, output: u64) -> Self {
        self.usage = (input, output);
        self
    }

    /// Goes wrong on purpose.
    pub fn fault(mut self, fault: Fault) -> Self {
        self.fault = Some(fault);
        self
    }
}

/// A request the server received.
#[derive(Debug, Clone)]
pub struct Received {
    /// The JSON body.
    pub body: Value,
    /// Request headers, lower-cased names.
    pub headers: BTreeMap<String, String>,
}

impl Received {
    /// The messages of the request.
    pub fn messages(&self) -> Vec<Value> {
        self.body["messages"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The text of the last user message.
    pub fn last_user_text(&self) -> String {
        self.messages()
            .iter()
            .rev()
            .find(|m| m["role"] == "user")
            .map(content_text)
            .unwrap_or_default()
    }

    /// The text of the system message(s).
    pub fn system_text(&self) -> String {
        self.messages()
            .iter()
            .filter(|m| m["role"] == "system")
            .map(content_text)
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The names of the tools offered.
    pub fn tool_names(&self) -> Vec<String> {
        self.body["tools"]
            .as_array()
            .map(|t| {
                t.iter()
                    .filter_map(|t| t["function"]["name"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The tool results sent after the last user message.
    pub fn tool_results_since_user(&self) -> Vec<Value> {
        let msgs = self.messages();
        let start = msgs
            .iter()
            .rposition(|m| m["role"] == "user")
            .map(|i| i + 1)
            .unwrap_or(0);
        msgs[start..]
            .iter()
            .filter(|m| m["role"] == "tool")
            .cloned()
            .collect()
    }
}

fn content_text(m: &Value) -> String {
    match &m["content"] {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p["text"].as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

type Responder = dyn Fn(&Received) -> Reply + Send + Sync;

struct State {
    script: Mutex<VecDeque<Reply>>,
    responder: Mutex<Option<Arc<Responder>>>,
    received: Mutex<Vec<Received>>,
    count: AtomicUsize,
    record: bool,
}

/// The running fake server. Stops when dropped.
pub struct FakeLlm {
    base: String,
    state: Arc<State>,
    handle: actix_web::dev::ServerHandle,
}

impl std::fmt::Debug for FakeLlm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeLlm").field("base", &self.base).finish()
    }
}

impl Drop for FakeLlm {
    fn drop(&mut self) {
        // Stopping is asynchronous; the server thread exits on its own.
        drop(self.handle.stop(false));
    }
}

impl FakeLlm {
    /// Starts a server on `127.0.0.1` with a free port. Replies come from the script
    /// (see [`FakeLlm::push`]), then from the responder, then echo the last user message.
    pub fn start() -> Self {
        Self::start_on("127.0.0.1:0", true, 1)
    }

    /// Starts a server on `addr` with `workers` threads; `record` keeps every request for
    /// inspection (turn it off for long benchmark runs).
    pub fn start_on(addr: &str, record: bool, workers: usize) -> Self {
        let state = Arc::new(State {
            script: Mutex::new(VecDeque::new()),
            responder: Mutex::new(None),
            received: Mutex::new(Vec::new()),
            count: AtomicUsize::new(0),
            record,
        });
        let listener = match TcpListener::bind(addr) {
            Ok(l) => l,
            Err(e) => panic_free_abort(&format!("fake LLM could not bind {addr}: {e}")),
        };
        let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
        let (tx, rx) = std::sync::mpsc::channel();
        let st = state.clone();
        std::thread::spawn(move || {
            let sys = actix_web::rt::System::new();
            sys.block_on(async move {
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(web::Data::new(st.clone()))
                        .app_data(web::JsonConfig::default().limit(64 * 1024 * 1024))
                        .route("/v1/chat/completions", web::post().to(completions))
                        .route("/chat/completions", web::post().to(completions))
                        .route("/v1/models", web::get().to(models))
                })
                .workers(workers.max(1))
                .max_connection_rate(100_000)
                .backlog(16_384)
                .max_connections(100_000)
                .disable_signals()
                .shutdown_timeout(1);
                let server = match server.listen(listener) {
                    Ok(s) => s.run(),
                    Err(e) => panic_free_abort(&format!("fake LLM could not listen: {e}")),
                };
                let _ = tx.send(server.handle());
                let _ = server.await;
            });
        });
        let handle = match rx.recv() {
            Ok(h) => h,
            Err(_) => panic_free_abort("fake LLM thread died"),
        };
        FakeLlm {
            base: format!("http://127.0.0.1:{port}/v1"),
            state,
            handle,
        }
    }

    /// The base URL to configure clients with (`http://127.0.0.1:<port>/v1`).
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// Queues a reply.
    pub fn push(&self, reply: Reply) {
        if let Ok(mut s) = self.state.script.lock() {
            s.push_back(reply);
        }
    }

    /// Queues several replies.
    pub fn push_all(&self, replies: impl IntoIterator<Item = Reply>) {
        for r in replies {
            self.push(r);
        }
    }

    /// Answers requests the script does not cover with `f`.
    pub fn respond_with(&self, f: impl Fn(&Received) -> Reply + Send + Sync + 'static) {
        if let Ok(mut r) = self.state.responder.lock() {
            *r = Some(Arc::new(f));
        }
    }

    /// Every request received so far (when recording).
    pub fn requests(&self) -> Vec<Received> {
        self.state
            .received
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default()
    }

    /// How many requests were received.
    pub fn request_count(&self) -> usize {
        self.state.count.load(Ordering::SeqCst)
    }

    /// Replies still queued.
    pub fn pending(&self) -> usize {
        self.state.script.lock().map(|s| s.len()).unwrap_or(0)
    }
}

fn panic_free_abort(msg: &str) -> ! {
    panic!("{msg}")
}

async fn models() -> HttpResponse {
    HttpResponse::Ok()
        .json(json!({"object": "list", "data": [{"id": "fake-model", "object": "model"}]}))
}

fn sse(v: &Value) -> Bytes {
    Bytes::from(format!("data: {v}\n\n"))
}

fn chunk(id: &str, model: &str, delta: Value, finish: Option<&str>) -> Value {
    json!({
        "id": id, "object": "chat.completion.chunk", "created": 1_700_000_000u64, "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]
    })
}

fn split_text(text: &str, n: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    if chars.is_empty() {
        return vec![String::new()];
    }
    let n = n.min(chars.len()).max(1);
    let size = chars.len().div_ceil(n);
    chars.chunks(size).map(|c| c.iter().collect()).collect()
}

/// The SSE pieces of a successful reply.
fn pieces(reply: &Reply, model: &str, include_usage: bool) -> Vec<Bytes> {
    let id = format!("chatcmpl-{}", uuid::Uuid::new_v4().simple());
    let mut out = vec![sse(&chunk(
        &id,
        model,
        json!({"role": "assistant", "content": ""}),
        None,
    ))];
    let finish = match &reply.kind {
        Kind::Text(text) => {
            for piece in split_text(text, reply.chunks) {
                out.push(sse(&chunk(&id, model, json!({"content": piece}), None)));
            }
            "stop"
        }
        Kind::ToolCalls(calls) => {
            for (i, (name, args)) in calls.iter().enumerate() {
                let call_id = format!("call_{}", uuid::Uuid::new_v4().simple());
                out.push(sse(&chunk(
                    &id,
                    model,
                    json!({"tool_calls": [{"index": i, "id": call_id, "type": "function",
                                             "function": {"name": name, "arguments": ""}}]}),
                    None,
                )));
                for piece in split_text(&args.to_string(), 3) {
                    out.push(sse(&chunk(
                        &id,
                        model,
                        json!({"tool_calls": [{"index": i, "function": {"arguments": piece}}]}),
                        None,
                    )));
                }
            }
            "tool_calls"
        }
        Kind::Error { .. } => "stop",
    };
    out.push(sse(&chunk(&id, model, json!({}), Some(finish))));
    if include_usage {
        out.push(sse(&json!({
            "id": id, "object": "chat.completion.chunk", "created": 1_700_000_000u64, "model": model,
            "choices": [],
            "usage": {"prompt_tokens": reply.usage.0, "completion_tokens": reply.usage.1,
                      "total_tokens": reply.usage.0 + reply.usage.1}
        })));
    }
    out.push(Bytes::from_static(b"data: [DONE]\n\n"));
    out
}

fn completion_json(reply: &Reply, model: &str) -> Value {
    let message = match &reply.kind {
        Kind::Text(t) => json!({"role": "assistant", "content": t}),
        Kind::ToolCalls(calls) => json!({"role": "assistant", "content": null, "tool_calls":
            calls.iter().map(|(n, a)| json!({"id": format!("call_{}", uuid::Uuid::new_v4().simple()),
                "type": "function", "function": {"name": n, "arguments": a.to_string()}})).collect::<Vec<_>>()}),
        Kind::Error { .. } => json!({"role": "assistant", "content": ""}),
    };
    json!({"id": "chatcmpl-fake", "object": "chat.completion", "created": 1_700_000_000u64, "model": model,
           "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
           "usage": {"prompt_tokens": reply.usage.0, "completion_tokens": reply.usage.1,
                     "total_tokens": reply.usage.0 + reply.usage.1}})
}

async fn completions(
    state: web::Data<Arc<State>>,
    req: HttpRequest,
    body: web::Json<Value>,
) -> HttpResponse {
    let body = body.into_inner();
    state.count.fetch_add(1, Ordering::SeqCst);
    let received = Received {
        headers: req
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_lowercase(),
                    v.to_str().unwrap_or_default().to_owned(),
                )
            })
            .collect(),
        body,
    };
    let scripted = state.script.lock().ok().and_then(|mut s| s.pop_front());
    let reply = match scripted {
        Some(r) => r,
        None => {
            let responder = state.responder.lock().ok().and_then(|r| r.clone());
            match responder {
                Some(f) => f(&received),
                None => Reply::text(format!("echo: {}", received.last_user_text())),
            }
        }
    };
    let model = received.body["model"]
        .as_str()
        .unwrap_or("fake-model")
        .to_owned();
    let stream = received.body["stream"].as_bool().unwrap_or(false);
    let include_usage = received.body["stream_options"]["include_usage"]
        .as_bool()
        .unwrap_or(false);
    if state.record
        && let Ok(mut r) = state.received.lock()
    {
        r.push(received);
    }
    if !reply.latency.is_zero() {
        tokio::time::sleep(reply.latency).await;
    }
    if let Kind::Error {
        status,
        message,
        code,
        kind,
        retry_after,
    } = &reply.kind
    {
        let mut resp = HttpResponse::build(
            actix_web::http::StatusCode::from_u16(*status)
                .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR),
        );
        if let Some(ra) = retry_after {
            resp.insert_header(("retry-after", ra.as_str()));
        }
        return resp.json(
            json!({"error": {"message": message, "type": kind, "param": null, "code": code}}),
        );
    }
    if !stream {
        return HttpResponse::Ok().json(completion_json(&reply, &model));
    }
    let mut pieces = pieces(&reply, &model, include_usage);
    let fault = reply.fault.clone();
    let delay = reply.chunk_delay;
    if fault == Some(Fault::Malformed) {
        pieces.insert(
            2.min(pieces.len()),
            Bytes::from_static(b"data: {this is not json\n\n"),
        );
    }
    let keep = match fault {
        Some(Fault::Stall) | Some(Fault::DropMidStream) => 2.min(pieces.len()),
        _ => pieces.len(),
    };
    let body = futures::stream::iter(pieces.into_iter().take(keep).enumerate())
        .then(move |(i, b)| async move {
            if i > 0 && !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            Ok::<Bytes, std::io::Error>(b)
        })
        .chain(futures::stream::once(async move {
            match fault {
                Some(Fault::Stall) => {
                    futures::future::pending::<()>().await;
                    Ok(Bytes::new())
                }
                Some(Fault::DropMidStream) => {
                    // Let the first chunks reach the client before the connection drops.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    Err(std::io::Error::new(
                        std::io::ErrorKind::ConnectionReset,
                        "dropped on purpose",
                    ))
                }
                _ => Ok(Bytes::new()),
            }
        }));
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("cache-control", "no-cache"))
        .streaming(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_splits_into_chunks() {
        assert_eq!(split_text("abcdef", 3), ["ab", "cd", "ef"]);
        assert_eq!(split_text("", 3), [""]);
        assert_eq!(split_text("ab", 5), ["a", "b"]);
    }
}
