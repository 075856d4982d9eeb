//! Agent Hub's chat API: the LangGraph Platform protocol under `/api/v1/chat`, as the
//! official LangGraph SDKs (JavaScript and Python) speak it.
//!
//! Assistants are the configured agents and orchestrators (the graph is `agent` or the
//! orchestrator's pattern); threads, runs and resumable stream events are stored in the
//! database; a thread's messages are its checkpoints. See `docs/hub-protocol.md`.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;
use fustat_persistence::hub::{HubError, RunRecord, ThreadRecord};
use fustat_runtime::checkpoint::HistoryQuery;
use fustat_runtime::graph::Resume;
use fustat_runtime::interrupt::{Decision, Interrupt};
use fustat_runtime::run::{RunInput, StateUpdate};
use fustat_runtime::store::{NamespaceQuery, StoreError, StoreSearch};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::engine::Assistant;
use crate::error::{ApiError, ApiResult, ErrorBody};

const TAG: &str = "hub";
use crate::hub::convert::{input_messages, interrupts_of, task_id, thread_state_out, values_of};
use crate::hub::encoder::Mode;
use crate::hub::runs::{CancelAction, HEARTBEAT, HubRuns, Multitask, RunSpec};
use crate::state::AppState;

fn ts(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

fn db(e: HubError) -> ApiError {
    ApiError::from(e)
}

fn unprocessable(m: String) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, m)
}

fn cp_err(e: fustat_runtime::checkpoint::CheckpointError) -> ApiError {
    ApiError::checkpoint(&e)
}

fn hub(state: &AppState) -> &HubRuns {
    &state.hub
}

fn truthy(v: Option<&str>) -> bool {
    matches!(
        v.map(|s| s.trim().to_ascii_lowercase()).as_deref(),
        Some("1" | "true" | "yes" | "on")
    )
}

/// A thread id from the path (422 unless a UUID).
fn thread_id(req: &HttpRequest) -> ApiResult<String> {
    let raw = req.match_info().get("thread_id").unwrap_or_default();
    Uuid::parse_str(raw)
        .map(|u| u.to_string())
        .map_err(|_| ApiError::validation("thread_id", "Invalid thread ID: must be a UUID"))
}

fn run_id(req: &HttpRequest) -> ApiResult<String> {
    let raw = req.match_info().get("run_id").unwrap_or_default();
    Uuid::parse_str(raw)
        .map(|u| u.to_string())
        .map_err(|_| ApiError::validation("run_id", "Invalid run ID: must be a UUID"))
}

/// True when a string (or key) anywhere in `v` holds a NUL character, which PostgreSQL
/// cannot store.
fn has_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(a) => a.iter().any(has_nul),
        Value::Object(o) => o.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        _ => false,
    }
}

/// True when `hay` contains `needle` (JSON containment, as PostgreSQL's `@>`).
fn contains(hay: &Value, needle: &Value) -> bool {
    match (hay, needle) {
        (Value::Object(h), Value::Object(n)) => n
            .iter()
            .all(|(k, v)| h.get(k).is_some_and(|hv| contains(hv, v))),
        (Value::Array(h), Value::Array(n)) => {
            n.iter().all(|nv| h.iter().any(|hv| contains(hv, nv)))
        }
        (h, n) => h == n,
    }
}

// ---------------------------------------------------------------------------------------
// Meta and assistants
// ---------------------------------------------------------------------------------------

/// Server information and feature flags.
#[utoipa::path(get, path = "/api/v1/chat/info", tag = TAG, responses((status = 200, body = Object)))]
async fn info() -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "langgraph_py_version": null,
        "flags": {"assistants": true, "crons": false, "langsmith": false, "thread_ttl": false},
        "host": {"kind": "fustat", "project_id": null, "revision_id": null, "tenant_id": null},
    }))
}

/// An agent as an assistant.
fn agent_json(d: &fustat_domain::AgentDetails) -> Value {
    let a = &d.agent;
    json!({
        "assistant_id": a.id,
        "graph_id": "agent",
        "config": {"configurable": {}},
        "context": {},
        "created_at": ts(&a.audit.created_at),
        "updated_at": ts(&a.audit.modified_at),
        "metadata": {"kind": "agent", "published": a.publish_as_app, "app_type": a.app_type,
            "mcp_servers": d.mcp_servers.iter().map(|s| s.name.clone()).collect::<Vec<_>>()},
        "version": 1,
        "name": a.name,
        "description": a.description,
    })
}

/// An orchestrator as an assistant (its graph is its pattern).
fn orchestrator_json(d: &fustat_domain::OrchestratorDetails) -> Value {
    let o = &d.orchestrator;
    json!({
        "assistant_id": o.id,
        "graph_id": o.pattern.as_str(),
        "config": {"configurable": {}},
        "context": {},
        "created_at": ts(&o.audit.created_at),
        "updated_at": ts(&o.audit.modified_at),
        "metadata": {"kind": "orchestrator", "published": o.publish_as_app, "app_type": o.app_type,
            "agents": d.agents.iter().map(|a| a.agent.name.clone()).collect::<Vec<_>>()},
        "version": 1,
        "name": o.name,
        "description": o.description,
    })
}

/// Every assistant (agents, then orchestrators), as protocol JSON.
async fn all_assistants(state: &AppState) -> ApiResult<Vec<Value>> {
    let mut out: Vec<Value> = state
        .repos
        .agents
        .list_with_relations()
        .await?
        .iter()
        .map(agent_json)
        .collect();
    out.extend(
        state
            .repos
            .orchestrators
            .list_with_relations()
            .await?
            .iter()
            .map(orchestrator_json),
    );
    Ok(out)
}

/// The id an `assistant_id` names: a UUID, or a graph or assistant name (the most
/// recently changed assistant with that graph or name; 422 when none).
async fn assistant_id_of(state: &AppState, raw: &str) -> ApiResult<Uuid> {
    if let Ok(id) = Uuid::parse_str(raw) {
        return Ok(id);
    }
    let mut candidates: Vec<Value> = all_assistants(state)
        .await?
        .into_iter()
        .filter(|a| a["graph_id"] == raw || a["name"] == raw)
        .collect();
    candidates.sort_by(|a, b| b["updated_at"].as_str().cmp(&a["updated_at"].as_str()));
    candidates
        .first()
        .and_then(|a| a["assistant_id"].as_str())
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| ApiError::validation("assistant_id", format!("Invalid assistant: '{raw}'")))
}

fn assistant_not_found(id: Uuid) -> impl Fn(ApiError) -> ApiError {
    move |e| {
        if e.status == StatusCode::NOT_FOUND {
            ApiError::new(StatusCode::NOT_FOUND, format!("Assistant {id} not found"))
        } else {
            e
        }
    }
}

/// The assistant an `assistant_id` names, ready to run.
async fn resolve_assistant(state: &AppState, raw: &str) -> ApiResult<Assistant> {
    let id = assistant_id_of(state, raw).await?;
    state
        .engine
        .assistant(id)
        .await
        .map_err(assistant_not_found(id))
}

/// The assistant of the path, as protocol JSON (read from its rows; nothing is built).
async fn assistant_json(state: &AppState, req: &HttpRequest) -> ApiResult<Value> {
    let raw = req.match_info().get("assistant_id").unwrap_or_default();
    let id = assistant_id_of(state, raw).await?;
    match state
        .repos
        .agents
        .get_with_relations(id)
        .await
        .map_err(ApiError::from)
    {
        Ok(d) => Ok(agent_json(&d)),
        Err(e) if e.status == StatusCode::NOT_FOUND => state
            .repos
            .orchestrators
            .get_with_relations(id)
            .await
            .map(|d| orchestrator_json(&d))
            .map_err(|e| assistant_not_found(id)(ApiError::from(e))),
        Err(e) => Err(e),
    }
}

#[derive(Debug, Default, Deserialize)]
struct AssistantSearch {
    #[serde(default)]
    graph_id: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    metadata: Option<Value>,
    #[serde(default)]
    limit: Option<usize>,
    #[serde(default)]
    offset: Option<usize>,
    #[serde(default)]
    sort_by: Option<String>,
    #[serde(default)]
    sort_order: Option<String>,
}

fn filter_assistants(all: Vec<Value>, q: &AssistantSearch) -> Vec<Value> {
    let mut list: Vec<Value> = all
        .into_iter()
        .filter(|a| q.graph_id.as_ref().is_none_or(|g| a["graph_id"] == *g))
        .filter(|a| {
            q.name.as_ref().is_none_or(|n| {
                a["name"]
                    .as_str()
                    .is_some_and(|s| s.to_lowercase().contains(&n.to_lowercase()))
            })
        })
        .filter(|a| {
            q.metadata
                .as_ref()
                .is_none_or(|m| m.is_null() || contains(&a["metadata"], m))
        })
        .collect();
    let key = q.sort_by.clone().unwrap_or_else(|| "created_at".into());
    let key = match key.as_str() {
        "assistant_id" | "graph_id" | "name" | "created_at" | "updated_at" => key,
        _ => "created_at".into(),
    };
    list.sort_by(|a, b| a[&key].as_str().cmp(&b[&key].as_str()));
    if q.sort_order.as_deref() != Some("asc") {
        list.reverse();
    }
    list
}

/// Searches assistants (agents and orchestrators).
#[utoipa::path(post, path = "/api/v1/chat/assistants/search", tag = TAG, request_body(content = Object, content_type = "application/json", description = "{graph_id?, name?, metadata?, limit, offset, sort_by?, sort_order?}"), responses((status = 200, body = Vec<Object>), (status = 422, body = ErrorBody)))]
async fn assistants_search(
    state: web::Data<AppState>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let q: AssistantSearch = parse_body(body)?;
    let limit = q.limit.unwrap_or(10).clamp(1, 1000);
    let offset = q.offset.unwrap_or(0);
    let list = filter_assistants(all_assistants(&state).await?, &q);
    let total = list.len();
    let page: Vec<Value> = list.into_iter().skip(offset).take(limit).collect();
    let mut res = HttpResponse::Ok();
    if offset + page.len() < total {
        res.insert_header(("X-Pagination-Next", (offset + limit).to_string()));
    }
    Ok(res.json(page))
}

/// Counts assistants.
#[utoipa::path(post, path = "/api/v1/chat/assistants/count", tag = TAG, request_body(content = Object, content_type = "application/json", description = "Same filters as search"), responses((status = 200, body = u64), (status = 422, body = ErrorBody)))]
async fn assistants_count(state: web::Data<AppState>, body: web::Bytes) -> ApiResult<HttpResponse> {
    let q: AssistantSearch = parse_body(body)?;
    Ok(HttpResponse::Ok().json(filter_assistants(all_assistants(&state).await?, &q).len()))
}

/// The JSON of a request body; an empty body is `null`. Malformed JSON is a 4xx naming
/// the problem (never silently ignored).
fn body_json(body: &web::Bytes) -> ApiResult<Value> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    let value: Value = crate::extract::parse_json(body)?;
    if has_nul(&value) {
        return Err(ApiError::validation(
            "body",
            "strings must not contain NUL (\\u0000) characters",
        ));
    }
    Ok(value)
}

/// Parses an optional JSON body into `T` (an absent or null body is the default).
fn parse_body<T: serde::de::DeserializeOwned + Default>(body: web::Bytes) -> ApiResult<T> {
    match body_json(&body)? {
        Value::Null => Ok(T::default()),
        v => crate::extract::parse_json(v.to_string().as_bytes()),
    }
}

/// An assistant.
#[utoipa::path(get, path = "/api/v1/chat/assistants/{assistant_id}", tag = TAG, params(("assistant_id" = String, Path, description = "Agent or orchestrator id, or a graph name")), responses((status = 200, body = Object), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn assistant_get(state: web::Data<AppState>, req: HttpRequest) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(assistant_json(&state, &req).await?))
}

/// An assistant's graph (nodes and edges).
#[utoipa::path(get, path = "/api/v1/chat/assistants/{assistant_id}/graph", tag = TAG, params(("assistant_id" = String, Path, description = "Agent or orchestrator id, or a graph name")), responses((status = 200, body = Object), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn assistant_graph(state: web::Data<AppState>, req: HttpRequest) -> ApiResult<HttpResponse> {
    let raw = req.match_info().get("assistant_id").unwrap_or_default();
    let a = resolve_assistant(&state, raw).await?;
    let (nodes, edges) = a.graph.topology();
    Ok(HttpResponse::Ok().json(json!({
        "nodes": nodes.iter().map(|n| json!({"id": n.id, "type": "runnable", "name": n.id,
            "data": {"kind": n.kind}, "metadata": {}})).collect::<Vec<_>>(),
        "edges": edges.iter().map(|e| json!({"source": e.source, "target": e.target,
            "conditional": e.conditional, "data": null})).collect::<Vec<_>>(),
    })))
}

fn messages_schema() -> Value {
    json!({
        "title": "State",
        "type": "object",
        "properties": {"messages": {"type": "array", "items": {"type": "object",
            "properties": {"type": {"type": "string", "enum": ["human", "ai", "tool", "system"]},
                "content": {"anyOf": [{"type": "string"}, {"type": "array"}]},
                "id": {"type": "string"}}}}},
        "required": ["messages"],
    })
}

/// An assistant's input, output, state and config schemas.
#[utoipa::path(get, path = "/api/v1/chat/assistants/{assistant_id}/schemas", tag = TAG, params(("assistant_id" = String, Path, description = "Agent or orchestrator id, or a graph name")), responses((status = 200, body = Object), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn assistant_schemas(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let a = assistant_json(&state, &req).await?;
    Ok(HttpResponse::Ok().json(json!({
        "graph_id": a["graph_id"],
        "input_schema": messages_schema(),
        "output_schema": messages_schema(),
        "state_schema": messages_schema(),
        "config_schema": {"title": "Configurable", "type": "object", "properties": {}},
        "context_schema": null,
    })))
}

/// An orchestrator's sub-agents.
#[utoipa::path(get, path = "/api/v1/chat/assistants/{assistant_id}/subgraphs", tag = TAG, params(("assistant_id" = String, Path, description = "Agent or orchestrator id, or a graph name")), responses((status = 200, body = Object), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn assistant_subgraphs(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let a = assistant_json(&state, &req).await?;
    // An orchestrator's sub-agents are listed in its metadata; an agent has none.
    let subs: Map<String, Value> = a["metadata"]["agents"]
        .as_array()
        .map(|names| {
            names
                .iter()
                .filter_map(Value::as_str)
                .map(|n| (n.to_owned(), messages_schema()))
                .collect()
        })
        .unwrap_or_default();
    Ok(HttpResponse::Ok().json(subs))
}

// ---------------------------------------------------------------------------------------
// Threads
// ---------------------------------------------------------------------------------------

/// A thread as protocol JSON, with its current values and interrupts.
async fn thread_json(state: &AppState, t: &ThreadRecord) -> ApiResult<Value> {
    let head = state
        .engine
        .runtime()
        .checkpointer()
        .get(&t.thread_id, None)
        .await
        .map_err(cp_err)?;
    let (values, interrupts) = match &head {
        Some(s) => {
            let ints = interrupts_of(s);
            let mut map = Map::new();
            if !ints.is_empty() {
                let cp = s
                    .checkpoint
                    .as_ref()
                    .map(|m| m.checkpoint_id.clone())
                    .unwrap_or_default();
                let node = fustat_runtime::state::Cursor::from_values(&s.values)
                    .next
                    .first()
                    .cloned()
                    .unwrap_or_default();
                map.insert(
                    task_id(&cp, &node),
                    Value::Array(
                        ints.iter()
                            .map(crate::hub::convert::interrupt_out)
                            .collect(),
                    ),
                );
            }
            (values_of(s.messages()), Value::Object(map))
        }
        None => (json!({}), json!({})),
    };
    // A thread whose run was cut short by a restart shows as errored until the next run.
    Ok(json!({
        "thread_id": t.thread_id,
        "created_at": ts(&t.created_at),
        "updated_at": ts(&t.updated_at),
        "state_updated_at": ts(&t.state_updated_at),
        "metadata": t.metadata,
        "status": t.status,
        "values": values,
        "interrupts": interrupts,
        "config": {},
        "error": t.error,
    }))
}

async fn existing_thread(state: &AppState, thread_id: &str) -> ApiResult<ThreadRecord> {
    hub(state)
        .repo
        .get_thread(thread_id)
        .await
        .map_err(db)?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                format!("Thread {thread_id} not found"),
            )
        })
}

#[derive(Debug, Default, Deserialize)]
struct ThreadCreate {
    #[serde(default)]
    thread_id: Option<String>,
    #[serde(default)]
    metadata: Option<Value>,
    #[serde(default)]
    if_exists: Option<String>,
}

/// Creates a thread.
#[utoipa::path(post, path = "/api/v1/chat/threads", tag = TAG, request_body(content = Object, content_type = "application/json", description = "{thread_id?, metadata?, if_exists?: raise|do_nothing}"), responses((status = 200, body = Object), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn thread_create(state: web::Data<AppState>, body: web::Bytes) -> ApiResult<HttpResponse> {
    let body: ThreadCreate = parse_body(body)?;
    let id = match &body.thread_id {
        Some(raw) => Uuid::parse_str(raw)
            .map_err(|_| ApiError::validation("thread_id", "Invalid thread ID: must be a UUID"))?
            .to_string(),
        None => Uuid::new_v4().to_string(),
    };
    let metadata = body.metadata.unwrap_or_else(|| json!({}));
    if !metadata.is_object() {
        return Err(ApiError::validation("metadata", "must be an object"));
    }
    let do_nothing = match body.if_exists.as_deref() {
        None | Some("raise") => false,
        Some("do_nothing") => true,
        Some(other) => {
            return Err(ApiError::validation(
                "if_exists",
                format!("must be 'raise' or 'do_nothing', not '{other}'"),
            ));
        }
    };
    let record = match hub(&state).repo.create_thread(&id, metadata).await {
        Ok(t) => t,
        Err(HubError::ThreadExists(_)) if do_nothing => existing_thread(&state, &id).await?,
        Err(e) => return Err(db(e)),
    };
    Ok(HttpResponse::Ok().json(thread_json(&state, &record).await?))
}

#[derive(Debug, Default, Deserialize)]
struct ThreadSearch {
    #[serde(default)]
    metadata: Option<Value>,
    #[serde(default)]
    ids: Option<Vec<String>>,
    #[serde(default)]
    values: Option<Value>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    limit: Option<usize>,
    #[serde(default)]
    offset: Option<usize>,
    #[serde(default)]
    sort_by: Option<String>,
    #[serde(default)]
    sort_order: Option<String>,
}

async fn search_threads(state: &AppState, q: &ThreadSearch) -> ApiResult<Vec<ThreadRecord>> {
    let mut list: Vec<ThreadRecord> = hub(state)
        .repo
        .list_threads()
        .await
        .map_err(db)?
        .into_iter()
        .filter(|t| {
            q.metadata
                .as_ref()
                .is_none_or(|m| m.is_null() || contains(&t.metadata, m))
        })
        .filter(|t| q.ids.as_ref().is_none_or(|ids| ids.contains(&t.thread_id)))
        .filter(|t| q.status.as_ref().is_none_or(|s| &t.status == s))
        .collect();
    let order = q.sort_order.as_deref().unwrap_or("desc");
    match q.sort_by.as_deref().unwrap_or("updated_at") {
        "thread_id" => list.sort_by(|a, b| a.thread_id.cmp(&b.thread_id)),
        "status" => list.sort_by(|a, b| a.status.cmp(&b.status)),
        "created_at" => list.sort_by_key(|t| t.created_at),
        "state_updated_at" => list.sort_by_key(|t| t.state_updated_at),
        _ => list.sort_by_key(|t| t.updated_at),
    }
    if order != "asc" {
        list.reverse();
    }
    if let Some(values) = q.values.as_ref().filter(|v| !v.is_null()) {
        let mut kept = Vec::new();
        for t in list {
            if contains(&thread_json(state, &t).await?["values"], values) {
                kept.push(t);
            }
        }
        list = kept;
    }
    Ok(list)
}

/// Searches threads (metadata containment).
#[utoipa::path(post, path = "/api/v1/chat/threads/search", tag = TAG, request_body(content = Object, content_type = "application/json", description = "{metadata?, ids?, values?, status?, limit, offset, sort_by?, sort_order?}"), responses((status = 200, body = Vec<Object>), (status = 422, body = ErrorBody)))]
async fn threads_search(state: web::Data<AppState>, body: web::Bytes) -> ApiResult<HttpResponse> {
    let q: ThreadSearch = parse_body(body)?;
    let limit = q.limit.unwrap_or(10).clamp(1, 1000);
    let offset = q.offset.unwrap_or(0);
    let list = search_threads(&state, &q).await?;
    let mut out = Vec::new();
    for t in list.iter().skip(offset).take(limit) {
        out.push(thread_json(&state, t).await?);
    }
    Ok(HttpResponse::Ok().json(out))
}

/// Counts threads.
#[utoipa::path(post, path = "/api/v1/chat/threads/count", tag = TAG, request_body(content = Object, content_type = "application/json", description = "Same filters as search"), responses((status = 200, body = u64), (status = 422, body = ErrorBody)))]
async fn threads_count(state: web::Data<AppState>, body: web::Bytes) -> ApiResult<HttpResponse> {
    let q: ThreadSearch = parse_body(body)?;
    Ok(HttpResponse::Ok().json(search_threads(&state, &q).await?.len()))
}

/// A thread with its values, status and interrupts.
#[utoipa::path(get, path = "/api/v1/chat/threads/{thread_id}", tag = TAG, params(("thread_id" = Uuid, Path, description = "Thread id")), responses((status = 200, body = Object), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn thread_get(state: web::Data<AppState>, req: HttpRequest) -> ApiResult<HttpResponse> {
    let id = thread_id(&req)?;
    let t = existing_thread(&state, &id).await?;
    Ok(HttpResponse::Ok().json(thread_json(&state, &t).await?))
}

#[derive(Debug, Default, Deserialize)]
struct ThreadPatch {
    #[serde(default)]
    metadata: Option<Value>,
}

/// Merges metadata into a thread's.
#[utoipa::path(patch, path = "/api/v1/chat/threads/{thread_id}", tag = TAG, params(("thread_id" = Uuid, Path, description = "Thread id")), request_body(content = Object, content_type = "application/json", description = "{metadata}"), responses((status = 200, body = Object), (status = 204, description = "Done"), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn thread_patch(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let id = thread_id(&req)?;
    let body: ThreadPatch = parse_body(body)?;
    let patch = body.metadata.unwrap_or_else(|| json!({}));
    if !patch.is_object() {
        return Err(ApiError::validation("metadata", "must be an object"));
    }
    let t = hub(&state)
        .repo
        .merge_thread_metadata(&id, &patch)
        .await
        .map_err(db)?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("Thread {id} not found")))?;
    let minimal = req
        .headers()
        .get("prefer")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("return=minimal"));
    if minimal {
        return Ok(HttpResponse::NoContent().finish());
    }
    Ok(HttpResponse::Ok().json(thread_json(&state, &t).await?))
}

/// Deletes a thread, its runs and checkpoints.
#[utoipa::path(delete, path = "/api/v1/chat/threads/{thread_id}", tag = TAG, params(("thread_id" = Uuid, Path, description = "Thread id")), responses((status = 204, description = "Done"), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn thread_delete(state: web::Data<AppState>, req: HttpRequest) -> ApiResult<HttpResponse> {
    let id = thread_id(&req)?;
    existing_thread(&state, &id).await?;
    for run in hub(&state).in_flight(&id) {
        run.cancel(CancelAction::Interrupt);
        if let Some(bus) = hub(&state).bus(&run.run_id) {
            bus.done().await;
        }
    }
    state
        .engine
        .runtime()
        .checkpointer()
        .delete_thread(&id)
        .await
        .map_err(cp_err)?;
    hub(&state).repo.delete_thread(&id).await.map_err(db)?;
    Ok(HttpResponse::NoContent().finish())
}

/// Copies a thread with its checkpoints.
#[utoipa::path(post, path = "/api/v1/chat/threads/{thread_id}/copy", tag = TAG, params(("thread_id" = Uuid, Path, description = "Thread id")), responses((status = 200, body = Object), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn thread_copy(state: web::Data<AppState>, req: HttpRequest) -> ApiResult<HttpResponse> {
    let id = thread_id(&req)?;
    let t = existing_thread(&state, &id).await?;
    let new_id = Uuid::new_v4().to_string();
    let copy = hub(&state)
        .repo
        .create_thread(&new_id, t.metadata.clone())
        .await
        .map_err(db)?;
    let has_state = state
        .engine
        .runtime()
        .checkpointer()
        .get(&id, None)
        .await
        .map_err(cp_err)?
        .is_some();
    if has_state {
        state
            .engine
            .runtime()
            .checkpointer()
            .copy_thread(&id, &new_id)
            .await
            .map_err(cp_err)?;
    }
    let status = if t.status == "busy" {
        "idle"
    } else {
        &t.status
    };
    hub(&state)
        .repo
        .set_thread_status(&new_id, status, t.error.clone(), true)
        .await
        .map_err(db)?;
    let copy = hub(&state)
        .repo
        .get_thread(&new_id)
        .await
        .map_err(db)?
        .unwrap_or(copy);
    Ok(HttpResponse::Ok().json(thread_json(&state, &copy).await?))
}

// ---------------------------------------------------------------------------------------
// State and history
// ---------------------------------------------------------------------------------------

async fn state_at(state: &AppState, thread: &str, checkpoint: Option<&str>) -> ApiResult<Value> {
    existing_thread(state, thread).await?;
    let s = state
        .engine
        .runtime()
        .checkpointer()
        .get(thread, checkpoint)
        .await
        .map_err(cp_err)?;
    if s.is_none()
        && let Some(cp) = checkpoint
    {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("Checkpoint {cp} not found in thread {thread}"),
        ));
    }
    Ok(thread_state_out(thread, s.as_ref()))
}

/// A thread's current state.
#[utoipa::path(get, path = "/api/v1/chat/threads/{thread_id}/state", tag = TAG, params(("thread_id" = Uuid, Path, description = "Thread id")), responses((status = 200, body = Object), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn state_get(state: web::Data<AppState>, req: HttpRequest) -> ApiResult<HttpResponse> {
    let id = thread_id(&req)?;
    Ok(HttpResponse::Ok().json(state_at(&state, &id, None).await?))
}

/// The state at a checkpoint.
#[utoipa::path(get, path = "/api/v1/chat/threads/{thread_id}/state/{checkpoint_id}", tag = TAG, params(("thread_id" = Uuid, Path, description = "Thread id"), ("checkpoint_id" = String, Path, description = "Checkpoint id")), responses((status = 200, body = Object), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn state_get_at(state: web::Data<AppState>, req: HttpRequest) -> ApiResult<HttpResponse> {
    let id = thread_id(&req)?;
    let cp = req
        .match_info()
        .get("checkpoint_id")
        .unwrap_or_default()
        .to_owned();
    Ok(HttpResponse::Ok().json(state_at(&state, &id, Some(&cp)).await?))
}

/// A checkpoint id from `{"checkpoint_id": …}`, a bare string, or null.
fn checkpoint_of(v: Option<&Value>, field: &str) -> ApiResult<Option<String>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Object(o)) => match o.get("checkpoint_id") {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(ApiError::validation(
                &format!("{field}.checkpoint_id"),
                "must be a string",
            )),
        },
        Some(_) => Err(ApiError::validation(
            field,
            "must be an object with checkpoint_id",
        )),
    }
}

/// The state at a checkpoint.
#[utoipa::path(post, path = "/api/v1/chat/threads/{thread_id}/state/checkpoint", tag = TAG, params(("thread_id" = Uuid, Path, description = "Thread id")), request_body(content = Object, content_type = "application/json", description = "{checkpoint: {checkpoint_id}}"), responses((status = 200, body = Object), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn state_post_checkpoint(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let id = thread_id(&req)?;
    let body = body_json(&body)?;
    let cp = checkpoint_of(body.get("checkpoint"), "checkpoint")?;
    Ok(HttpResponse::Ok().json(state_at(&state, &id, cp.as_deref()).await?))
}

/// Changes a thread's state (a new checkpoint).
#[utoipa::path(post, path = "/api/v1/chat/threads/{thread_id}/state", tag = TAG, params(("thread_id" = Uuid, Path, description = "Thread id")), request_body(content = Object, content_type = "application/json", description = "{values, checkpoint?, checkpoint_id?, as_node?}"), responses((status = 200, body = Object), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn state_update(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let id = thread_id(&req)?;
    existing_thread(&state, &id).await?;
    if let Some(run) = hub(&state).in_flight(&id).first() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "Thread {id} has a run in progress ({}); the state cannot change under it",
                run.run_id
            ),
        ));
    }
    let body = body_json(&body)?;
    let checkpoint = match checkpoint_of(body.get("checkpoint"), "checkpoint")? {
        Some(c) => Some(c),
        None => body
            .get("checkpoint_id")
            .and_then(Value::as_str)
            .map(str::to_owned),
    };
    let values = body.get("values").cloned().unwrap_or(Value::Null);
    let messages = match &values {
        Value::Array(items) => {
            let mut all = Vec::new();
            for (i, v) in items.iter().enumerate() {
                all.extend(input_messages(v, &format!("values[{i}]")).map_err(unprocessable)?);
            }
            all
        }
        v => input_messages(v, "values").map_err(unprocessable)?,
    };
    let as_node = body
        .get("as_node")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let resolve = as_node.as_deref() == Some("__end__");
    let meta = state
        .engine
        .runtime()
        .update_state(
            &id,
            StateUpdate {
                messages,
                resolve_interrupts: resolve,
                as_node,
                checkpoint_id: checkpoint,
                metadata: json!({"source": "update"}),
            },
        )
        .await
        .map_err(|e| match e {
            fustat_runtime::RunError::InvalidInput(m) => ApiError::new(StatusCode::NOT_FOUND, m),
            other => ApiError::run_start(other),
        })?;
    refresh_thread_status(&state, &id).await?;
    Ok(HttpResponse::Ok().json(json!({"checkpoint": {
        "thread_id": id, "checkpoint_ns": "", "checkpoint_id": meta.checkpoint_id, "checkpoint_map": null,
    }})))
}

async fn refresh_thread_status(state: &AppState, id: &str) -> ApiResult<()> {
    let head = state
        .engine
        .runtime()
        .checkpointer()
        .get(id, None)
        .await
        .map_err(cp_err)?;
    let status = match head {
        Some(s) if !interrupts_of(&s).is_empty() => "interrupted",
        _ => "idle",
    };
    hub(state)
        .repo
        .set_thread_status(id, status, None, true)
        .await
        .map_err(db)
}

async fn history(
    state: &AppState,
    id: &str,
    limit: usize,
    before: Option<String>,
    from: Option<String>,
    metadata: Option<Value>,
) -> ApiResult<Vec<Value>> {
    existing_thread(state, id).await?;
    let states = state
        .engine
        .runtime()
        .checkpointer()
        .history(
            id,
            HistoryQuery {
                limit: if metadata.is_some() { 0 } else { limit },
                before,
                from,
            },
        )
        .await
        .map_err(cp_err)?;
    Ok(states
        .iter()
        .map(|s| thread_state_out(id, Some(s)))
        .filter(|v| {
            metadata
                .as_ref()
                .is_none_or(|m| m.is_null() || contains(&v["metadata"], m))
        })
        .take(limit.max(1))
        .collect())
}

/// A thread's states, newest first.
#[utoipa::path(post, path = "/api/v1/chat/threads/{thread_id}/history", tag = TAG, params(("thread_id" = Uuid, Path, description = "Thread id")), request_body(content = Object, content_type = "application/json", description = "{limit, before?, checkpoint?, metadata?}"), responses((status = 200, body = Vec<Object>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn history_post(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let id = thread_id(&req)?;
    let body = body_json(&body)?;
    let limit = body
        .get("limit")
        .and_then(Value::as_u64)
        .map_or(10, |l| usize::try_from(l).unwrap_or(10))
        .clamp(1, 10_000);
    let before = checkpoint_of(body.get("before"), "before")?;
    let from = checkpoint_of(body.get("checkpoint"), "checkpoint")?;
    let metadata = body.get("metadata").cloned().filter(|m| !m.is_null());
    Ok(HttpResponse::Ok().json(history(&state, &id, limit, before, from, metadata).await?))
}

/// A thread's states, newest first.
#[utoipa::path(get, path = "/api/v1/chat/threads/{thread_id}/history", tag = TAG, params(("thread_id" = Uuid, Path, description = "Thread id"), ("limit" = Option<u32>, Query, description = "At most this many (10)"), ("before" = Option<String>, Query, description = "Only checkpoints before this id")), responses((status = 200, body = Vec<Object>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn history_get(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<HashMap<String, String>>,
) -> ApiResult<HttpResponse> {
    let id = thread_id(&req)?;
    let limit = query
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(10)
        .clamp(1, 10_000);
    let before = query.get("before").filter(|s| !s.is_empty()).cloned();
    Ok(HttpResponse::Ok().json(history(&state, &id, limit, before, None, None).await?))
}

// ---------------------------------------------------------------------------------------
// Runs
// ---------------------------------------------------------------------------------------

/// The body of every run-creating endpoint.
#[derive(Debug, Default, Deserialize)]
struct RunCreate {
    #[serde(default)]
    assistant_id: Option<String>,
    #[serde(default)]
    input: Option<Value>,
    #[serde(default)]
    command: Option<Value>,
    #[serde(default)]
    stream_mode: Option<Value>,
    #[serde(default)]
    stream_subgraphs: Option<bool>,
    #[serde(default)]
    stream_resumable: Option<bool>,
    #[serde(default)]
    metadata: Option<Value>,
    #[serde(default)]
    checkpoint: Option<Value>,
    #[serde(default)]
    checkpoint_id: Option<String>,
    #[serde(default)]
    multitask_strategy: Option<String>,
    #[serde(default)]
    if_not_exists: Option<String>,
    #[serde(default)]
    on_disconnect: Option<String>,
    #[serde(default)]
    on_completion: Option<String>,
    #[serde(default)]
    after_seconds: Option<f64>,
}

fn stream_modes(v: Option<&Value>) -> ApiResult<HashSet<Mode>> {
    let names: Vec<String> = match v {
        None | Some(Value::Null) => vec!["values".into()],
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .map(|m| {
                m.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| ApiError::validation("stream_mode", "must be a list of strings"))
            })
            .collect::<ApiResult<_>>()?,
        Some(_) => {
            return Err(ApiError::validation(
                "stream_mode",
                "must be a string or a list of strings",
            ));
        }
    };
    let mut modes = HashSet::new();
    for n in names {
        modes.insert(Mode::parse(&n).ok_or_else(|| {
            ApiError::validation(
                "stream_mode",
                format!("unknown stream mode '{n}' (expected values, updates, messages, messages-tuple, custom, debug, events, tasks, checkpoints, tools or lifecycle)"),
            )
        })?);
    }
    if modes.is_empty() {
        modes.insert(Mode::Values);
    }
    Ok(modes)
}

/// One decision, from the old `HumanResponse` shape or the newer `decisions` entries.
fn decision_of(v: &Value, field: &str) -> ApiResult<Decision> {
    if let Value::String(s) = v {
        return Ok(match s.as_str() {
            "accept" | "approve" => Decision::Accept,
            "ignore" | "reject" => Decision::Ignore,
            text => Decision::Response {
                text: text.to_owned(),
            },
        });
    }
    let kind = v
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::validation(field, "a decision needs a 'type'"))?;
    match kind {
        "approve" => Ok(Decision::Accept),
        "reject" => Ok(match v.get("message").and_then(Value::as_str) {
            Some(m) if !m.trim().is_empty() => Decision::Response {
                text: format!("The user rejected this tool call: {m}"),
            },
            _ => Decision::Ignore,
        }),
        "edit" if v.get("edited_action").is_some() => {
            let args = v["edited_action"].get("args").cloned().unwrap_or(json!({}));
            if !args.is_object() {
                return Err(ApiError::validation(
                    &format!("{field}.edited_action.args"),
                    "must be an object",
                ));
            }
            Ok(Decision::Edit { args })
        }
        _ => {
            let hr = crate::routes::chat::HumanResponse {
                kind: kind.to_owned(),
                args: v.get("args").cloned().unwrap_or(Value::Null),
            };
            hr.decision()
                .map_err(|e| ApiError::validation(field, e.detail))
        }
    }
}

/// `command.resume` against the paused calls: a list (one per paused call, in order), a
/// `{"decisions": [...]}` object, one decision, or `{<interrupt id>: decision}`.
fn resume_of(v: &Value, pending: &[Interrupt]) -> ApiResult<Resume> {
    let in_order = |list: &[Value], field: &str| -> ApiResult<Resume> {
        if list.is_empty() {
            return Err(ApiError::validation(field, "needs at least one decision"));
        }
        let mut map = HashMap::new();
        for (i, d) in list.iter().enumerate() {
            let d = decision_of(d, &format!("{field}[{i}]"))?;
            match pending.get(i) {
                Some(int) => {
                    map.insert(int.id.clone(), d);
                }
                None if i == 0 => return Ok(Resume::Next(d)),
                None => break,
            }
        }
        Ok(Resume::ById(map))
    };
    match v {
        Value::Array(list) => in_order(list, "command.resume"),
        Value::Object(o) if o.get("decisions").is_some() => match &o["decisions"] {
            Value::Array(list) => in_order(list, "command.resume.decisions"),
            _ => Err(ApiError::validation(
                "command.resume.decisions",
                "must be a list",
            )),
        },
        Value::Object(o) if o.contains_key("type") => {
            Ok(Resume::Next(decision_of(v, "command.resume")?))
        }
        Value::Object(o)
            if !o.is_empty() && o.keys().all(|k| pending.iter().any(|i| &i.id == k)) =>
        {
            let mut map = HashMap::new();
            for (k, d) in o {
                let d = match d {
                    Value::Array(l) if !l.is_empty() => {
                        decision_of(&l[0], &format!("command.resume.{k}"))?
                    }
                    other => decision_of(other, &format!("command.resume.{k}"))?,
                };
                map.insert(k.clone(), d);
            }
            Ok(Resume::ById(map))
        }
        Value::Null => Err(ApiError::validation("command.resume", "must not be null")),
        other => Ok(Resume::Next(decision_of(other, "command.resume")?)),
    }
}

/// Where a run-creating request points.
enum Target {
    /// A stored thread.
    Thread(String),
    /// A new throw-away thread (stateless runs).
    Stateless,
}

struct Created {
    run: RunRecord,
    bus: std::sync::Arc<crate::hub::runs::RunBus>,
    cancel_on_disconnect: bool,
    stateless: bool,
}

async fn create_run(state: &AppState, target: Target, body: RunCreate) -> ApiResult<Created> {
    let raw_assistant = body
        .assistant_id
        .clone()
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| ApiError::validation("assistant_id", "is required"))?;
    let modes = stream_modes(body.stream_mode.as_ref())?;
    let multitask = match body.multitask_strategy.as_deref() {
        None => Multitask::Reject,
        Some(s) => Multitask::parse(s).ok_or_else(|| {
            ApiError::validation(
                "multitask_strategy",
                format!("must be reject, interrupt, rollback or enqueue, not '{s}'"),
            )
        })?,
    };
    let cancel_on_disconnect = match body.on_disconnect.as_deref() {
        None | Some("continue") => false,
        Some("cancel") => true,
        Some(other) => {
            return Err(ApiError::validation(
                "on_disconnect",
                format!("must be 'cancel' or 'continue', not '{other}'"),
            ));
        }
    };
    let create_missing = match body.if_not_exists.as_deref() {
        None | Some("reject") => false,
        Some("create") => true,
        Some(other) => {
            return Err(ApiError::validation(
                "if_not_exists",
                format!("must be 'reject' or 'create', not '{other}'"),
            ));
        }
    };
    let delete_after = match body.on_completion.as_deref() {
        None | Some("delete") => true,
        Some("keep") => false,
        Some(other) => {
            return Err(ApiError::validation(
                "on_completion",
                format!("must be 'delete' or 'keep', not '{other}'"),
            ));
        }
    };
    let metadata = body.metadata.clone().unwrap_or_else(|| json!({}));
    if !metadata.is_object() {
        return Err(ApiError::validation("metadata", "must be an object"));
    }
    let command = body.command.clone().filter(|c| !c.is_null());
    if let Some(c) = &command
        && !c.is_object()
    {
        return Err(ApiError::validation("command", "must be an object"));
    }
    let after = match body.after_seconds {
        Some(s) if !(0.0..=86_400.0).contains(&s) => {
            return Err(ApiError::validation(
                "after_seconds",
                "must be between 0 and 86400",
            ));
        }
        Some(s) if s > 0.0 => Some(Duration::from_secs_f64(s)),
        _ => None,
    };
    let checkpoint_id = match checkpoint_of(body.checkpoint.as_ref(), "checkpoint")? {
        Some(c) => Some(c),
        None => body.checkpoint_id.clone().filter(|s| !s.is_empty()),
    };

    let assistant = resolve_assistant(state, &raw_assistant).await?;
    let (thread_id, stateless) = match target {
        Target::Thread(id) => (id, false),
        Target::Stateless => {
            if command.as_ref().is_some_and(|c| c.get("resume").is_some()) {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "You must provide a thread_id when resuming.",
                ));
            }
            (Uuid::new_v4().to_string(), true)
        }
    };
    let thread_meta =
        json!({"graph_id": assistant.graph_id, "assistant_id": assistant.id.to_string()});
    match hub(state).repo.get_thread(&thread_id).await.map_err(db)? {
        Some(_) => {}
        None if stateless || create_missing => {
            match hub(state).repo.create_thread(&thread_id, thread_meta).await {
                Ok(_) | Err(HubError::ThreadExists(_)) => {}
                Err(e) => return Err(db(e)),
            }
        }
        None => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "Thread or assistant not found.",
            ));
        }
    }

    let checkpointer = state.engine.runtime().checkpointer();
    let base = checkpointer
        .get(&thread_id, checkpoint_id.as_deref())
        .await
        .map_err(cp_err)?;
    if base.is_none()
        && let Some(cp) = &checkpoint_id
    {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("Checkpoint {cp} not found in thread {thread_id}"),
        ));
    }
    let pending = base.as_ref().map(interrupts_of).unwrap_or_default();
    let idle = hub(state).in_flight(&thread_id).is_empty();

    // What the run does.
    let mut pre_update: Option<StateUpdate> = None;
    let input = if let Some(cmd) = &command {
        let update_msgs = match cmd.get("update") {
            None | Some(Value::Null) => Vec::new(),
            Some(u) => input_messages(u, "command.update").map_err(unprocessable)?,
        };
        let goto_end = match cmd.get("goto") {
            Some(Value::String(g)) => g == "__end__",
            Some(Value::Array(a)) => a.iter().any(|g| {
                g.as_str() == Some("__end__")
                    || g.get("node").and_then(Value::as_str) == Some("__end__")
            }),
            Some(Value::Object(o)) => o.get("node").and_then(Value::as_str) == Some("__end__"),
            _ => false,
        };
        if goto_end || !update_msgs.is_empty() {
            pre_update = Some(StateUpdate {
                messages: update_msgs,
                resolve_interrupts: goto_end,
                as_node: goto_end.then(|| "__end__".to_owned()),
                checkpoint_id: checkpoint_id.clone(),
                metadata: json!({"source": "update"}),
            });
        }
        match cmd.get("resume").filter(|r| !r.is_null()) {
            Some(r) if !goto_end => {
                if idle && pending.is_empty() {
                    return Err(ApiError::new(
                        StatusCode::CONFLICT,
                        "there is no paused tool call to resume in this thread",
                    ));
                }
                RunInput::Resume(resume_of(r, &pending)?)
            }
            _ if goto_end => RunInput::Continue,
            _ if pre_update.is_some() => RunInput::Continue,
            _ => {
                return Err(ApiError::validation(
                    "command",
                    "needs resume, update or goto",
                ));
            }
        }
    } else {
        let msgs = match &body.input {
            None | Some(Value::Null) => Vec::new(),
            Some(v) => input_messages(v, "input").map_err(unprocessable)?,
        };
        let max = state.limits.max_message_chars;
        for (i, m) in msgs.iter().enumerate() {
            let n = m.text().chars().count();
            if n > max {
                return Err(ApiError::validation(
                    &format!("input.messages[{i}].content"),
                    format!("must be at most {max} characters (got {n})"),
                ));
            }
        }
        if msgs.is_empty() {
            if idle && base.is_none() {
                return Err(ApiError::validation(
                    "input",
                    "the thread is empty: send input with at least one message",
                ));
            }
            RunInput::Continue
        } else {
            RunInput::Messages(msgs)
        }
    };

    let run_id = Uuid::now_v7().to_string();
    let kwargs = json!({
        "input": body.input,
        "command": command,
        "stream_mode": body.stream_mode,
        "stream_subgraphs": body.stream_subgraphs.unwrap_or(false),
        "stream_resumable": body.stream_resumable.unwrap_or(false),
        "checkpoint_id": checkpoint_id,
        "on_disconnect": body.on_disconnect,
    });
    let spec = RunSpec {
        run_id,
        thread_id,
        assistant,
        input,
        checkpoint_id,
        modes,
        subgraphs: body.stream_subgraphs.unwrap_or(false),
        resumable: body.stream_resumable.unwrap_or(false),
        multitask,
        metadata,
        kwargs,
        after,
        delete_thread_after: stateless && delete_after,
        pre_update,
    };
    let (run, bus) = hub(state).create(spec).await?;
    Ok(Created {
        run,
        bus,
        cancel_on_disconnect,
        stateless,
    })
}

fn run_json(r: &RunRecord) -> Value {
    json!({
        "run_id": r.run_id,
        "thread_id": r.thread_id,
        "assistant_id": r.assistant_id,
        "created_at": ts(&r.created_at),
        "updated_at": ts(&r.updated_at),
        "status": r.status,
        "metadata": r.metadata,
        "multitask_strategy": r.multitask_strategy,
        "kwargs": r.kwargs,
    })
}

fn run_paths(c: &Created) -> (String, String) {
    if c.stateless {
        (
            format!("/runs/{}", c.run.run_id),
            format!("/runs/{}", c.run.run_id),
        )
    } else {
        let p = format!("/threads/{}/runs/{}", c.run.thread_id, c.run.run_id);
        (p.clone(), p)
    }
}

fn sse_response(state: &AppState, c: Created) -> HttpResponse {
    let (content_location, base) = run_paths(&c);
    let control = if c.cancel_on_disconnect {
        hub(state).control(&c.run.run_id)
    } else {
        None
    };
    let body = hub(state).follow(c.bus, None, control);
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("cache-control", "no-store"))
        .insert_header(("x-accel-buffering", "no"))
        .insert_header(("content-location", content_location))
        .insert_header(("location", format!("{base}/stream")))
        .streaming(body)
}

/// A JSON body sent after the run ends, preceded by newline keep-alives.
fn wait_body(
    state: &AppState,
    c: &Created,
) -> impl futures::Stream<Item = Result<Bytes, actix_web::Error>> + 'static {
    let bus = c.bus.clone();
    let st = state.clone();
    let thread = c.run.thread_id.clone();
    let stateless = c.stateless;
    let guard = if c.cancel_on_disconnect {
        hub(state).control(&c.run.run_id)
    } else {
        None
    };
    futures::stream::unfold(Some((bus, guard)), move |s| {
        let st = st.clone();
        let thread = thread.clone();
        async move {
            let (bus, guard) = s?;
            let finished = tokio::time::timeout(HEARTBEAT, bus.done()).await.is_ok();
            if !finished {
                return Some((Ok(Bytes::from_static(b"\n")), Some((bus, guard))));
            }
            let mut guard = guard;
            guard.take();
            let body = match bus.wait_result() {
                Some(v) => v,
                None if stateless => json!({}),
                None => current_values(&st, &thread).await,
            };
            Some((Ok(Bytes::from(body.to_string())), None))
        }
    })
}

async fn current_values(state: &AppState, thread: &str) -> Value {
    match state
        .engine
        .runtime()
        .checkpointer()
        .get(thread, None)
        .await
    {
        Ok(Some(s)) => values_of(s.messages()),
        _ => json!({}),
    }
}

fn wait_response(state: &AppState, c: Created) -> HttpResponse {
    let (content_location, base) = run_paths(&c);
    let body = wait_body(state, &c);
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header(("content-location", content_location))
        .insert_header(("location", format!("{base}/join")))
        .streaming(body)
}

/// How a run-creating endpoint answers.
#[derive(Debug, Clone, Copy)]
enum Answer {
    /// The run's event stream.
    Stream,
    /// The final values, once the run is over.
    Wait,
    /// The run, at once (it works in the background).
    Background,
}

async fn answer(
    state: &AppState,
    target: Target,
    body: web::Bytes,
    how: Answer,
) -> ApiResult<HttpResponse> {
    let c = create_run(state, target, parse_body(body)?).await?;
    Ok(match how {
        Answer::Stream => sse_response(state, c),
        Answer::Wait => wait_response(state, c),
        Answer::Background => {
            let (content_location, _) = run_paths(&c);
            HttpResponse::Ok()
                .insert_header(("content-location", content_location))
                .json(run_json(&c.run))
        }
    })
}

/// Starts a run and streams it.
#[utoipa::path(post, path = "/api/v1/chat/threads/{thread_id}/runs/stream", tag = TAG, params(("thread_id" = Uuid, Path, description = "Thread id")), request_body(content = Object, content_type = "application/json", description = "Run request"), responses((status = 200, description = "Server-Sent Events (`event:` / `data:` / `id:`), metadata first", content_type = "text/event-stream", body = String), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn runs_stream(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    answer(
        &state,
        Target::Thread(thread_id(&req)?),
        body,
        Answer::Stream,
    )
    .await
}

/// Starts a run and answers its final values.
#[utoipa::path(post, path = "/api/v1/chat/threads/{thread_id}/runs/wait", tag = TAG, params(("thread_id" = Uuid, Path, description = "Thread id")), request_body(content = Object, content_type = "application/json", description = "Run request"), responses((status = 200, body = Object), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn runs_wait(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    answer(&state, Target::Thread(thread_id(&req)?), body, Answer::Wait).await
}

/// Starts a run in the background.
#[utoipa::path(post, path = "/api/v1/chat/threads/{thread_id}/runs", tag = TAG, params(("thread_id" = Uuid, Path, description = "Thread id")), request_body(content = Object, content_type = "application/json", description = "Run request: {assistant_id, input?, command?, stream_mode?, multitask_strategy?, checkpoint?, ...}"), responses((status = 200, body = Object), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn runs_create(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    answer(
        &state,
        Target::Thread(thread_id(&req)?),
        body,
        Answer::Background,
    )
    .await
}

/// Streams a run on a throw-away thread.
#[utoipa::path(post, path = "/api/v1/chat/runs/stream", tag = TAG, request_body(content = Object, content_type = "application/json", description = "Run request"), responses((status = 200, description = "Server-Sent Events (`event:` / `data:` / `id:`), metadata first", content_type = "text/event-stream", body = String), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn stateless_stream(state: web::Data<AppState>, body: web::Bytes) -> ApiResult<HttpResponse> {
    answer(&state, Target::Stateless, body, Answer::Stream).await
}

/// Runs on a throw-away thread and answers the final values.
#[utoipa::path(post, path = "/api/v1/chat/runs/wait", tag = TAG, request_body(content = Object, content_type = "application/json", description = "Run request"), responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn stateless_wait(state: web::Data<AppState>, body: web::Bytes) -> ApiResult<HttpResponse> {
    answer(&state, Target::Stateless, body, Answer::Wait).await
}

/// Starts a run on a throw-away thread.
#[utoipa::path(post, path = "/api/v1/chat/runs", tag = TAG, request_body(content = Object, content_type = "application/json", description = "Run request"), responses((status = 200, body = Object), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn stateless_create(state: web::Data<AppState>, body: web::Bytes) -> ApiResult<HttpResponse> {
    answer(&state, Target::Stateless, body, Answer::Background).await
}

/// Starts several runs on throw-away threads.
#[utoipa::path(post, path = "/api/v1/chat/runs/batch", tag = TAG, request_body(content = Object, content_type = "application/json", description = "A list of run requests"), responses((status = 200, body = Vec<Object>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn stateless_batch(state: web::Data<AppState>, body: web::Bytes) -> ApiResult<HttpResponse> {
    let items = match body_json(&body)? {
        Value::Array(items) => items,
        _ => {
            return Err(ApiError::validation(
                "body",
                "must be a list of run requests",
            ));
        }
    };
    let mut out = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let rc: RunCreate = crate::extract::parse_json(item.to_string().as_bytes())
            .map_err(|e| ApiError::validation(&format!("[{i}]"), e.detail))?;
        let c = create_run(&state, Target::Stateless, rc).await?;
        out.push(run_json(&c.run));
    }
    Ok(HttpResponse::Ok().json(out))
}

/// A thread's runs, newest first.
#[utoipa::path(get, path = "/api/v1/chat/threads/{thread_id}/runs", tag = TAG, params(("thread_id" = Uuid, Path, description = "Thread id"), ("limit" = Option<u32>, Query, description = "At most this many (10)"), ("offset" = Option<u32>, Query, description = "Skip this many"), ("status" = Option<String>, Query, description = "Only runs with this status")), responses((status = 200, body = Vec<Object>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn runs_list(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<HashMap<String, String>>,
) -> ApiResult<HttpResponse> {
    let id = thread_id(&req)?;
    existing_thread(&state, &id).await?;
    let limit = query
        .get("limit")
        .and_then(|l| l.parse::<u64>().ok())
        .unwrap_or(10)
        .clamp(1, 1000);
    let offset = query
        .get("offset")
        .and_then(|l| l.parse::<u64>().ok())
        .unwrap_or(0);
    let status = query
        .get("status")
        .filter(|s| !s.is_empty())
        .map(String::as_str);
    let runs = hub(&state)
        .repo
        .list_runs(&id, status, limit, offset)
        .await
        .map_err(db)?;
    Ok(HttpResponse::Ok().json(runs.iter().map(run_json).collect::<Vec<_>>()))
}

async fn existing_run(state: &AppState, thread: &str, run: &str) -> ApiResult<RunRecord> {
    hub(state)
        .repo
        .get_run(thread, run)
        .await
        .map_err(db)?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("Run {run} not found")))
}

/// A run.
#[utoipa::path(get, path = "/api/v1/chat/threads/{thread_id}/runs/{run_id}", tag = TAG, params(("thread_id" = Uuid, Path, description = "Thread id"), ("run_id" = Uuid, Path, description = "Run id")), responses((status = 200, body = Object), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn run_get(state: web::Data<AppState>, req: HttpRequest) -> ApiResult<HttpResponse> {
    let (tid, rid) = (thread_id(&req)?, run_id(&req)?);
    Ok(HttpResponse::Ok().json(run_json(&existing_run(&state, &tid, &rid).await?)))
}

/// Deletes a finished run.
#[utoipa::path(delete, path = "/api/v1/chat/threads/{thread_id}/runs/{run_id}", tag = TAG, params(("thread_id" = Uuid, Path, description = "Thread id"), ("run_id" = Uuid, Path, description = "Run id")), responses((status = 204, description = "Done"), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn run_delete(state: web::Data<AppState>, req: HttpRequest) -> ApiResult<HttpResponse> {
    let (tid, rid) = (thread_id(&req)?, run_id(&req)?);
    existing_run(&state, &tid, &rid).await?;
    if hub(&state).control(&rid).is_some() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("Run {rid} is in progress: cancel it before deleting it"),
        ));
    }
    hub(&state).repo.delete_run(&rid).await.map_err(db)?;
    Ok(HttpResponse::NoContent().finish())
}

/// Cancels a pending or running run.
#[utoipa::path(post, path = "/api/v1/chat/threads/{thread_id}/runs/{run_id}/cancel", tag = TAG, params(("thread_id" = Uuid, Path, description = "Thread id"), ("run_id" = Uuid, Path, description = "Run id"), ("wait" = Option<bool>, Query, description = "Wait until it stopped"), ("action" = Option<String>, Query, description = "interrupt (default) or rollback")), responses((status = 202, description = "Cancelling"), (status = 204, description = "Done"), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn run_cancel(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<HashMap<String, String>>,
) -> ApiResult<HttpResponse> {
    let (tid, rid) = (thread_id(&req)?, run_id(&req)?);
    let run = existing_run(&state, &tid, &rid).await?;
    let action = match query.get("action").map(String::as_str) {
        None | Some("" | "interrupt") => CancelAction::Interrupt,
        Some("rollback") => CancelAction::Rollback,
        Some(other) => {
            return Err(ApiError::validation(
                "action",
                format!("must be 'interrupt' or 'rollback', not '{other}'"),
            ));
        }
    };
    let Some(control) = hub(&state).control(&rid) else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "Run {rid} is not pending or running (status: {})",
                run.status
            ),
        ));
    };
    control.cancel(action);
    if truthy(query.get("wait").map(String::as_str)) {
        if let Some(bus) = hub(&state).bus(&rid) {
            bus.done().await;
        }
        return Ok(HttpResponse::NoContent().finish());
    }
    Ok(HttpResponse::Accepted().finish())
}

/// Waits for a run and answers the thread's final values.
#[utoipa::path(get, path = "/api/v1/chat/threads/{thread_id}/runs/{run_id}/join", tag = TAG, params(("thread_id" = Uuid, Path, description = "Thread id"), ("run_id" = Uuid, Path, description = "Run id")), responses((status = 200, body = Object), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn run_join(state: web::Data<AppState>, req: HttpRequest) -> ApiResult<HttpResponse> {
    let (tid, rid) = (thread_id(&req)?, run_id(&req)?);
    existing_run(&state, &tid, &rid).await?;
    if let Some(bus) = hub(&state).bus(&rid) {
        bus.done().await;
        if let Some(v) = bus.wait_result() {
            return Ok(HttpResponse::Ok().json(v));
        }
    }
    Ok(HttpResponse::Ok().json(current_values(&state, &tid).await))
}

fn last_event_id(req: &HttpRequest) -> Option<i64> {
    req.headers()
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.trim().parse::<i64>().ok())
        .filter(|n| *n >= 0)
}

async fn join_stream(
    state: &AppState,
    req: &HttpRequest,
    run: RunRecord,
    stateless: bool,
) -> ApiResult<HttpResponse> {
    let query = web::Query::<HashMap<String, String>>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .unwrap_or_default();
    let after = last_event_id(req);
    let cancel = truthy(query.get("cancel_on_disconnect").map(String::as_str));
    let path = if stateless {
        format!("/runs/{}", run.run_id)
    } else {
        format!("/threads/{}/runs/{}", run.thread_id, run.run_id)
    };
    let res = HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("cache-control", "no-store"))
        .insert_header(("x-accel-buffering", "no"))
        .insert_header(("content-location", path.clone()))
        .insert_header(("location", format!("{path}/stream")))
        .take();
    let mut res = res;
    if let Some(bus) = hub(state).bus(&run.run_id) {
        let control = if cancel {
            hub(state).control(&run.run_id)
        } else {
            None
        };
        return Ok(res.streaming(hub(state).follow(bus, after, control)));
    }
    let stored = hub(state).replay_stored(&run.run_id, after).await?;
    Ok(res.body(stored))
}

/// Joins a run's stream (replays after Last-Event-ID).
#[utoipa::path(get, path = "/api/v1/chat/threads/{thread_id}/runs/{run_id}/stream", tag = TAG, params(("thread_id" = Uuid, Path, description = "Thread id"), ("run_id" = Uuid, Path, description = "Run id")), responses((status = 200, description = "Server-Sent Events (`event:` / `data:` / `id:`), metadata first", content_type = "text/event-stream", body = String), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn run_join_stream(state: web::Data<AppState>, req: HttpRequest) -> ApiResult<HttpResponse> {
    let (tid, rid) = (thread_id(&req)?, run_id(&req)?);
    let run = existing_run(&state, &tid, &rid).await?;
    join_stream(&state, &req, run, false).await
}

/// Joins a run's stream.
#[utoipa::path(get, path = "/api/v1/chat/runs/{run_id}/stream", tag = TAG, params(("run_id" = Uuid, Path, description = "Run id")), responses((status = 200, description = "Server-Sent Events (`event:` / `data:` / `id:`), metadata first", content_type = "text/event-stream", body = String), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn stateless_join_stream(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let rid = run_id(&req)?;
    let run = hub(&state)
        .repo
        .find_run(&rid)
        .await
        .map_err(db)?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("Run {rid} not found")))?;
    join_stream(&state, &req, run, true).await
}

// ---------------------------------------------------------------------------------------
// Store
// ---------------------------------------------------------------------------------------

fn store_err(e: StoreError) -> ApiError {
    match e {
        StoreError::Invalid(m) => ApiError::validation("namespace", m),
        StoreError::Storage(m) => ApiError::internal(&m),
    }
}

fn namespace_of(v: Option<&Value>, field: &str) -> ApiResult<Vec<String>> {
    match v {
        Some(Value::Array(a)) => a
            .iter()
            .map(|l| {
                l.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| ApiError::validation(field, "labels must be strings"))
            })
            .collect(),
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(_) => Err(ApiError::validation(field, "must be a list of strings")),
    }
}

fn item_json(i: &fustat_runtime::store::StoreItem) -> Value {
    let mut v = json!({
        "namespace": i.namespace,
        "key": i.key,
        "value": i.value,
        "created_at": ts(&i.created_at),
        "updated_at": ts(&i.updated_at),
    });
    if let (Some(score), Some(o)) = (i.score, v.as_object_mut()) {
        o.insert("score".into(), json!(score));
    }
    v
}

/// Stores a document.
#[utoipa::path(put, path = "/api/v1/chat/store/items", tag = TAG, request_body(content = Object, content_type = "application/json", description = "{namespace: [labels], key, value: object}"), responses((status = 204, description = "Done"), (status = 422, body = ErrorBody)))]
async fn store_put(state: web::Data<AppState>, body: web::Bytes) -> ApiResult<HttpResponse> {
    let body = body_json(&body)?;
    let ns = namespace_of(body.get("namespace"), "namespace")?;
    let key = body
        .get("key")
        .and_then(Value::as_str)
        .filter(|k| !k.is_empty())
        .ok_or_else(|| ApiError::validation("key", "must be a non-empty string"))?;
    if ns.join(".").len() > 1024 || key.len() > 1024 {
        return Err(ApiError::validation(
            "namespace",
            "the namespace (joined with dots) and the key must each be at most 1024 bytes",
        ));
    }
    let value = body.get("value").cloned().unwrap_or(Value::Null);
    if !value.is_object() {
        return Err(ApiError::validation("value", "must be an object"));
    }
    state
        .engine
        .store()
        .put(&ns, key, value)
        .await
        .map_err(store_err)?;
    Ok(HttpResponse::NoContent().finish())
}

/// A document, or null.
#[utoipa::path(get, path = "/api/v1/chat/store/items", tag = TAG, params(("namespace" = Option<String>, Query, description = "Labels joined with dots"), ("key" = String, Query, description = "The key")), responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn store_get(
    state: web::Data<AppState>,
    query: web::Query<HashMap<String, String>>,
) -> ApiResult<HttpResponse> {
    let Some(key) = query.get("key").filter(|k| !k.is_empty()) else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "the 'key' query parameter is required",
        ));
    };
    let ns: Vec<String> = query
        .get("namespace")
        .filter(|n| !n.is_empty())
        .map(|n| n.split('.').map(str::to_owned).collect())
        .unwrap_or_default();
    let item = state
        .engine
        .store()
        .get(&ns, key)
        .await
        .map_err(store_err)?;
    Ok(HttpResponse::Ok().json(item.as_ref().map(item_json)))
}

/// Deletes a document.
#[utoipa::path(delete, path = "/api/v1/chat/store/items", tag = TAG, request_body(content = Object, content_type = "application/json", description = "{namespace, key}"), responses((status = 204, description = "Done"), (status = 422, body = ErrorBody)))]
async fn store_delete(state: web::Data<AppState>, body: web::Bytes) -> ApiResult<HttpResponse> {
    let body = body_json(&body)?;
    let ns = namespace_of(body.get("namespace"), "namespace")?;
    let key = body
        .get("key")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::validation("key", "must be a string"))?;
    state
        .engine
        .store()
        .delete(&ns, key)
        .await
        .map_err(store_err)?;
    Ok(HttpResponse::NoContent().finish())
}

fn usize_of(v: Option<&Value>, default: usize) -> usize {
    v.and_then(Value::as_u64)
        .map_or(default, |n| usize::try_from(n).unwrap_or(default))
}

/// Searches documents.
#[utoipa::path(post, path = "/api/v1/chat/store/items/search", tag = TAG, request_body(content = Object, content_type = "application/json", description = "{namespace_prefix, filter?, query?, limit, offset}"), responses((status = 200, body = Object), (status = 422, body = ErrorBody)))]
async fn store_search(state: web::Data<AppState>, body: web::Bytes) -> ApiResult<HttpResponse> {
    let body = body_json(&body)?;
    let filter = match body.get("filter") {
        Some(Value::Object(o)) => o.clone(),
        None | Some(Value::Null) => Map::new(),
        Some(_) => return Err(ApiError::validation("filter", "must be an object")),
    };
    let items = state
        .engine
        .store()
        .search(StoreSearch {
            namespace_prefix: namespace_of(body.get("namespace_prefix"), "namespace_prefix")?,
            filter,
            query: body
                .get("query")
                .and_then(Value::as_str)
                .filter(|q| !q.trim().is_empty())
                .map(str::to_owned),
            limit: usize_of(body.get("limit"), 10).clamp(1, 1000),
            offset: usize_of(body.get("offset"), 0),
        })
        .await
        .map_err(store_err)?;
    Ok(HttpResponse::Ok().json(json!({"items": items.iter().map(item_json).collect::<Vec<_>>()})))
}

/// Lists namespaces.
#[utoipa::path(post, path = "/api/v1/chat/store/namespaces", tag = TAG, request_body(content = Object, content_type = "application/json", description = "{prefix?, suffix?, max_depth?, limit, offset}"), responses((status = 200, body = Object), (status = 422, body = ErrorBody)))]
async fn store_namespaces(state: web::Data<AppState>, body: web::Bytes) -> ApiResult<HttpResponse> {
    let body = body_json(&body)?;
    let namespaces = state
        .engine
        .store()
        .list_namespaces(NamespaceQuery {
            prefix: namespace_of(body.get("prefix"), "prefix")?,
            suffix: namespace_of(body.get("suffix"), "suffix")?,
            max_depth: body
                .get("max_depth")
                .and_then(Value::as_u64)
                .and_then(|n| usize::try_from(n).ok()),
            limit: usize_of(body.get("limit"), 100).clamp(1, 10_000),
            offset: usize_of(body.get("offset"), 0),
        })
        .await
        .map_err(store_err)?;
    Ok(HttpResponse::Ok().json(json!({"namespaces": namespaces})))
}

/// OpenAPI paths of the Hub protocol.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    info,
    assistants_search,
    assistants_count,
    assistant_get,
    assistant_graph,
    assistant_schemas,
    assistant_subgraphs,
    thread_create,
    threads_search,
    threads_count,
    thread_get,
    thread_patch,
    thread_delete,
    thread_copy,
    state_get,
    state_update,
    state_post_checkpoint,
    state_get_at,
    history_post,
    history_get,
    runs_create,
    runs_list,
    runs_stream,
    runs_wait,
    run_get,
    run_delete,
    run_cancel,
    run_join,
    run_join_stream,
    stateless_create,
    stateless_stream,
    stateless_wait,
    stateless_batch,
    stateless_join_stream,
    store_put,
    store_get,
    store_delete,
    store_search,
    store_namespaces
))]
pub struct Doc;

/// The LangGraph Platform routes, under `/chat`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/chat/info", web::get().to(info))
        .route("/chat/assistants/search", web::post().to(assistants_search))
        .route("/chat/assistants/count", web::post().to(assistants_count))
        .route(
            "/chat/assistants/{assistant_id}",
            web::get().to(assistant_get),
        )
        .route(
            "/chat/assistants/{assistant_id}/graph",
            web::get().to(assistant_graph),
        )
        .route(
            "/chat/assistants/{assistant_id}/schemas",
            web::get().to(assistant_schemas),
        )
        .route(
            "/chat/assistants/{assistant_id}/subgraphs",
            web::get().to(assistant_subgraphs),
        )
        .route("/chat/threads", web::post().to(thread_create))
        .route("/chat/threads/search", web::post().to(threads_search))
        .route("/chat/threads/count", web::post().to(threads_count))
        .route("/chat/threads/{thread_id}", web::get().to(thread_get))
        .route("/chat/threads/{thread_id}", web::patch().to(thread_patch))
        .route("/chat/threads/{thread_id}", web::delete().to(thread_delete))
        .route(
            "/chat/threads/{thread_id}/copy",
            web::post().to(thread_copy),
        )
        .route("/chat/threads/{thread_id}/state", web::get().to(state_get))
        .route(
            "/chat/threads/{thread_id}/state",
            web::post().to(state_update),
        )
        .route(
            "/chat/threads/{thread_id}/state/checkpoint",
            web::post().to(state_post_checkpoint),
        )
        .route(
            "/chat/threads/{thread_id}/state/{checkpoint_id}",
            web::get().to(state_get_at),
        )
        .route(
            "/chat/threads/{thread_id}/history",
            web::post().to(history_post),
        )
        .route(
            "/chat/threads/{thread_id}/history",
            web::get().to(history_get),
        )
        .route(
            "/chat/threads/{thread_id}/runs",
            web::post().to(runs_create),
        )
        .route("/chat/threads/{thread_id}/runs", web::get().to(runs_list))
        .route(
            "/chat/threads/{thread_id}/runs/stream",
            web::post().to(runs_stream),
        )
        .route(
            "/chat/threads/{thread_id}/runs/wait",
            web::post().to(runs_wait),
        )
        .route(
            "/chat/threads/{thread_id}/runs/{run_id}",
            web::get().to(run_get),
        )
        .route(
            "/chat/threads/{thread_id}/runs/{run_id}",
            web::delete().to(run_delete),
        )
        .route(
            "/chat/threads/{thread_id}/runs/{run_id}/cancel",
            web::post().to(run_cancel),
        )
        .route(
            "/chat/threads/{thread_id}/runs/{run_id}/join",
            web::get().to(run_join),
        )
        .route(
            "/chat/threads/{thread_id}/runs/{run_id}/stream",
            web::get().to(run_join_stream),
        )
        .route("/chat/runs", web::post().to(stateless_create))
        .route("/chat/runs/stream", web::post().to(stateless_stream))
        .route("/chat/runs/wait", web::post().to(stateless_wait))
        .route("/chat/runs/batch", web::post().to(stateless_batch))
        .route(
            "/chat/runs/{run_id}/stream",
            web::get().to(stateless_join_stream),
        )
        .route("/chat/store/items", web::put().to(store_put))
        .route("/chat/store/items", web::get().to(store_get))
        .route("/chat/store/items", web::delete().to(store_delete))
        .route("/chat/store/items/search", web::post().to(store_search))
        .route("/chat/store/namespaces", web::post().to(store_namespaces));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containment_is_like_jsonb() {
        assert!(contains(
            &json!({"a": 1, "b": {"c": 2}}),
            &json!({"b": {"c": 2}})
        ));
        assert!(!contains(&json!({"a": 1}), &json!({"a": 2})));
        assert!(contains(&json!({"t": [1, 2, 3]}), &json!({"t": [3]})));
        assert!(contains(&json!({}), &json!({})));
    }

    #[test]
    fn resume_accepts_old_and_new_shapes() {
        let call = fustat_runtime::message::ToolCall {
            id: "c".into(),
            name: "add".into(),
            arguments: json!({"a": 1}),
        };
        let pending = vec![Interrupt::for_tool_call("a", &call)];
        let old = resume_of(&json!([{"type": "accept", "args": null}]), &pending);
        assert!(matches!(old, Ok(Resume::ById(m)) if m.values().all(|d| *d == Decision::Accept)));
        let edit = resume_of(
            &json!({"decisions": [{"type": "edit", "edited_action": {"name": "add", "args": {"a": 5}}}]}),
            &pending,
        );
        assert!(
            matches!(edit, Ok(Resume::ById(m)) if m.values().all(|d| *d == Decision::Edit { args: json!({"a": 5}) }))
        );
        assert!(resume_of(&json!({"decisions": "x"}), &pending).is_err());
    }
}
