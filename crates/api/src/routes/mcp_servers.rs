//! `/api/v1/mcp-servers`.

use actix_web::{HttpResponse, web};
use fustat_domain::{McpServer, McpServerInput};
use utoipa::OpenApi;

use super::{API_PREFIX, MessageOut, created};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{IdPath, Json};
use crate::state::{Actor, AppState};

const TAG: &str = "mcp-servers";

/// All MCP servers, most recently changed first.
#[utoipa::path(get, path = "/api/v1/mcp-servers", tag = TAG,
    responses((status = 200, body = [McpServer])))]
pub async fn list(state: web::Data<AppState>) -> ApiResult<web::Json<Vec<McpServer>>> {
    Ok(web::Json(state.repos.mcp_servers.list().await?))
}

/// One MCP server.
#[utoipa::path(get, path = "/api/v1/mcp-servers/{id}", tag = TAG,
    params(("id" = uuid::Uuid, Path, description = "MCP server id")),
    responses((status = 200, body = McpServer), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn get(state: web::Data<AppState>, id: IdPath) -> ApiResult<web::Json<McpServer>> {
    Ok(web::Json(state.repos.mcp_servers.get(id.0).await?))
}

/// Creates an MCP server; `config_json` must fit the transport.
#[utoipa::path(post, path = "/api/v1/mcp-servers", tag = TAG, request_body = McpServerInput,
    responses((status = 200, body = McpServer), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn create(
    state: web::Data<AppState>,
    actor: Actor,
    Json(input): Json<McpServerInput>,
) -> ApiResult<HttpResponse> {
    let server = state
        .repos
        .mcp_servers
        .create(input, actor.as_str())
        .await?;
    Ok(created(
        format!("{API_PREFIX}/mcp-servers/{}", server.id),
        server,
    ))
}

/// Replaces an MCP server.
#[utoipa::path(put, path = "/api/v1/mcp-servers/{id}", tag = TAG,
    request_body = McpServerInput,
    params(("id" = uuid::Uuid, Path, description = "MCP server id")),
    responses((status = 200, body = McpServer), (status = 404, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update(
    state: web::Data<AppState>,
    actor: Actor,
    id: IdPath,
    Json(input): Json<McpServerInput>,
) -> ApiResult<web::Json<McpServer>> {
    Ok(web::Json(
        state
            .repos
            .mcp_servers
            .update(id.0, input, actor.as_str())
            .await?,
    ))
}

/// Deletes an MCP server; refused (409) while an agent uses it.
#[utoipa::path(delete, path = "/api/v1/mcp-servers/{id}", tag = TAG,
    params(("id" = uuid::Uuid, Path, description = "MCP server id")),
    responses((status = 200, body = MessageOut), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn delete(state: web::Data<AppState>, id: IdPath) -> ApiResult<web::Json<MessageOut>> {
    state.repos.mcp_servers.delete(id.0).await?;
    Ok(web::Json(MessageOut::new("McpServer deleted successfully")))
}

/// Routes of this module (inside the `/api/v1` scope).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/mcp-servers")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(
        web::resource("/mcp-servers/{id}")
            .route(web::get().to(get))
            .route(web::put().to(update))
            .route(web::delete().to(delete)),
    );
    // `GET /mcp-servers/{id}/tools` (list a server's tools through the MCP client)
    // belongs here, as `web::resource("/mcp-servers/{id}/tools")`, with its path in `Doc`.
}

/// OpenAPI of this module.
#[derive(OpenApi)]
#[openapi(paths(list, get, create, update, delete))]
pub struct Doc;
