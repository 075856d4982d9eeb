//! `/api/v1/orchestrators`.

use actix_web::{HttpResponse, web};
use fustat_domain::{OrchestratorInput, OrchestratorOut};
use utoipa::OpenApi;

use super::{API_PREFIX, MessageOut, created};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{IdPath, Json};
use crate::state::{Actor, AppState};

const TAG: &str = "orchestrators";

/// All orchestrators with their API key and sub-agents, most recently changed first.
#[utoipa::path(get, path = "/api/v1/orchestrators", tag = TAG,
    responses((status = 200, body = [OrchestratorOut])))]
pub async fn list(state: web::Data<AppState>) -> ApiResult<web::Json<Vec<OrchestratorOut>>> {
    let list = state.repos.orchestrators.list_with_relations().await?;
    Ok(web::Json(list.iter().map(OrchestratorOut::from).collect()))
}

/// One orchestrator with its API key and sub-agents.
#[utoipa::path(get, path = "/api/v1/orchestrators/{id}", tag = TAG,
    params(("id" = uuid::Uuid, Path, description = "Orchestrator id")),
    responses((status = 200, body = OrchestratorOut), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn get(state: web::Data<AppState>, id: IdPath) -> ApiResult<web::Json<OrchestratorOut>> {
    let o = state.repos.orchestrators.get_with_relations(id.0).await?;
    Ok(web::Json(OrchestratorOut::from(&o)))
}

/// Creates an orchestrator with its sub-agents (unknown ids: 422 naming the list item).
#[utoipa::path(post, path = "/api/v1/orchestrators", tag = TAG, request_body = OrchestratorInput,
    responses((status = 200, body = OrchestratorOut), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn create(
    state: web::Data<AppState>,
    actor: Actor,
    Json(input): Json<OrchestratorInput>,
) -> ApiResult<HttpResponse> {
    let o = state
        .repos
        .orchestrators
        .create(input, actor.as_str())
        .await?;
    Ok(created(
        format!("{API_PREFIX}/orchestrators/{}", o.orchestrator.id),
        OrchestratorOut::from(&o),
    ))
}

/// Replaces an orchestrator and its sub-agent list, all or nothing.
#[utoipa::path(put, path = "/api/v1/orchestrators/{id}", tag = TAG, request_body = OrchestratorInput,
    params(("id" = uuid::Uuid, Path, description = "Orchestrator id")),
    responses((status = 200, body = OrchestratorOut), (status = 404, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update(
    state: web::Data<AppState>,
    actor: Actor,
    id: IdPath,
    Json(input): Json<OrchestratorInput>,
) -> ApiResult<web::Json<OrchestratorOut>> {
    let o = state
        .repos
        .orchestrators
        .update(id.0, input, actor.as_str())
        .await?;
    Ok(web::Json(OrchestratorOut::from(&o)))
}

/// Deletes an orchestrator (its sub-agents stay).
#[utoipa::path(delete, path = "/api/v1/orchestrators/{id}", tag = TAG,
    params(("id" = uuid::Uuid, Path, description = "Orchestrator id")),
    responses((status = 200, body = MessageOut), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn delete(state: web::Data<AppState>, id: IdPath) -> ApiResult<web::Json<MessageOut>> {
    state.repos.orchestrators.delete(id.0).await?;
    Ok(web::Json(MessageOut::new(
        "Orchestrator deleted successfully",
    )))
}

/// Routes of this module (inside the `/api/v1` scope).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/orchestrators")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(
        web::resource("/orchestrators/{id}")
            .route(web::get().to(get))
            .route(web::put().to(update))
            .route(web::delete().to(delete)),
    );
}

/// OpenAPI of this module.
#[derive(OpenApi)]
#[openapi(paths(list, get, create, update, delete))]
pub struct Doc;
