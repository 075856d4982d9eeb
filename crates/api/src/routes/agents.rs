//! `/api/v1/agents`.

use actix_web::{HttpResponse, web};
use fustat_domain::{AgentInput, AgentOut};
use utoipa::OpenApi;

use super::{API_PREFIX, MessageOut, created};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{IdPath, Json};
use crate::state::{Actor, AppState};

const TAG: &str = "agents";

/// All agents with their API key and MCP servers, most recently changed first.
#[utoipa::path(get, path = "/api/v1/agents", tag = TAG,
    responses((status = 200, body = [AgentOut])))]
pub async fn list(state: web::Data<AppState>) -> ApiResult<web::Json<Vec<AgentOut>>> {
    let agents = state.repos.agents.list_with_relations().await?;
    Ok(web::Json(agents.iter().map(AgentOut::from).collect()))
}

/// One agent with its API key and MCP servers.
#[utoipa::path(get, path = "/api/v1/agents/{id}", tag = TAG,
    params(("id" = uuid::Uuid, Path, description = "Agent id")),
    responses((status = 200, body = AgentOut), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn get(state: web::Data<AppState>, id: IdPath) -> ApiResult<web::Json<AgentOut>> {
    let agent = state.repos.agents.get_with_relations(id.0).await?;
    Ok(web::Json(AgentOut::from(&agent)))
}

/// Creates an agent with its MCP servers (unknown ids: 422 naming the list item).
#[utoipa::path(post, path = "/api/v1/agents", tag = TAG, request_body = AgentInput,
    responses((status = 200, body = AgentOut), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn create(
    state: web::Data<AppState>,
    actor: Actor,
    Json(input): Json<AgentInput>,
) -> ApiResult<HttpResponse> {
    let agent = state.repos.agents.create(input, actor.as_str()).await?;
    Ok(created(
        format!("{API_PREFIX}/agents/{}", agent.agent.id),
        AgentOut::from(&agent),
    ))
}

/// Replaces an agent and its MCP server list, all or nothing.
#[utoipa::path(put, path = "/api/v1/agents/{id}", tag = TAG, request_body = AgentInput,
    params(("id" = uuid::Uuid, Path, description = "Agent id")),
    responses((status = 200, body = AgentOut), (status = 404, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update(
    state: web::Data<AppState>,
    actor: Actor,
    id: IdPath,
    Json(input): Json<AgentInput>,
) -> ApiResult<web::Json<AgentOut>> {
    let agent = state
        .repos
        .agents
        .update(id.0, input, actor.as_str())
        .await?;
    Ok(web::Json(AgentOut::from(&agent)))
}

/// Deletes an agent; refused (409) while an orchestrator uses it.
#[utoipa::path(delete, path = "/api/v1/agents/{id}", tag = TAG,
    params(("id" = uuid::Uuid, Path, description = "Agent id")),
    responses((status = 200, body = MessageOut), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn delete(state: web::Data<AppState>, id: IdPath) -> ApiResult<web::Json<MessageOut>> {
    state.repos.agents.delete(id.0).await?;
    Ok(web::Json(MessageOut::new("Agent deleted successfully")))
}

/// Writes an agent from a one-line description with an LLM (structured output) and
/// saves it. 422 when no API key is usable or the model's answer is not a usable agent;
/// 502 when the provider fails.
#[utoipa::path(post, path = "/api/v1/agents/ai-generate", tag = TAG,
    request_body = crate::engine::GenerateAgentRequest,
    responses((status = 200, body = AgentOut), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 502, body = ErrorBody)))]
pub async fn ai_generate(
    state: web::Data<AppState>,
    actor: Actor,
    Json(input): Json<crate::engine::GenerateAgentRequest>,
) -> ApiResult<HttpResponse> {
    let agent = state.engine.generate_agent(&input, actor.as_str()).await?;
    Ok(created(
        format!("{API_PREFIX}/agents/{}", agent.agent.id),
        AgentOut::from(&agent),
    ))
}

/// Routes of this module (inside the `/api/v1` scope).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/agents/ai-generate", web::post().to(ai_generate));
    cfg.service(
        web::resource("/agents")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(
        web::resource("/agents/{id}")
            .route(web::get().to(get))
            .route(web::put().to(update))
            .route(web::delete().to(delete)),
    );
}

/// OpenAPI of this module.
#[derive(OpenApi)]
#[openapi(
    paths(list, get, create, update, delete, ai_generate),
    components(schemas(crate::engine::GenerateAgentRequest))
)]
pub struct Doc;
