//! `/api/v1/mcp-servers`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use fustat_domain::audit::Audit;
use fustat_domain::{McpServer, McpServerInput};
use fustat_mcp_client::McpError;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use super::{API_PREFIX, MessageOut, created};
use crate::error::{ApiError, ApiResult, ErrorBody};
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
    check_policy(&state, &input).await?;
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
    state.repos.mcp_servers.get(id.0).await?;
    check_policy(&state, &input).await?;
    let server = state
        .repos
        .mcp_servers
        .update(id.0, input, actor.as_str())
        .await?;
    // The next use starts a session with the new configuration.
    state.mcp.invalidate(id.0).await;
    Ok(web::Json(server))
}

/// Deletes an MCP server; refused (409) while an agent uses it.
#[utoipa::path(delete, path = "/api/v1/mcp-servers/{id}", tag = TAG,
    params(("id" = uuid::Uuid, Path, description = "MCP server id")),
    responses((status = 200, body = MessageOut), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn delete(state: web::Data<AppState>, id: IdPath) -> ApiResult<web::Json<MessageOut>> {
    state.repos.mcp_servers.delete(id.0).await?;
    state.mcp.invalidate(id.0).await;
    Ok(web::Json(MessageOut::new("McpServer deleted successfully")))
}

/// One tool of an MCP server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct McpToolOut {
    /// The tool's name on its server.
    #[schema(example = "get_current_time")]
    pub tool_name: String,
    /// What it does.
    pub tool_description: String,
    /// The JSON schema of its arguments.
    #[schema(value_type = Object)]
    pub input_schema: serde_json::Value,
}

/// Connects to the server (starting it when it is not running) and lists its tools.
///
/// A server that cannot be used answers with the reason: 422 when its configuration or
/// the operator's policy is the problem, 502 when it could not be started or reached or
/// failed the MCP handshake, 504 when it did not answer in time.
#[utoipa::path(get, path = "/api/v1/mcp-servers/{id}/tools", tag = TAG,
    params(("id" = uuid::Uuid, Path, description = "MCP server id")),
    responses((status = 200, body = [McpToolOut]), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 502, body = ErrorBody),
        (status = 504, body = ErrorBody)))]
pub async fn tools(
    state: web::Data<AppState>,
    id: IdPath,
) -> ApiResult<web::Json<Vec<McpToolOut>>> {
    let server = state.repos.mcp_servers.get(id.0).await?;
    let tools = state.mcp.tools(&server).await.map_err(mcp_error)?;
    Ok(web::Json(
        tools
            .iter()
            .map(|t| McpToolOut {
                tool_name: t.name.clone(),
                tool_description: t.description.clone(),
                input_schema: t.input_schema.clone(),
            })
            .collect(),
    ))
}

/// The HTTP form of an MCP failure.
pub(crate) fn mcp_error(e: McpError) -> ApiError {
    let status = if e.is_config_problem() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else if e.is_timeout() {
        StatusCode::GATEWAY_TIMEOUT
    } else if matches!(e, McpError::ShuttingDown) {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::BAD_GATEWAY
    };
    ApiError::new(status, e.to_string())
}

/// Refuses (422) a configuration the operator's MCP policy does not allow: a command
/// outside the allowlist, a URL in a denied address range.
async fn check_policy(state: &AppState, input: &McpServerInput) -> Result<(), ApiError> {
    let candidate = McpServer {
        id: uuid::Uuid::nil(),
        name: input.name.clone(),
        description: None,
        transport: input.transport(),
        mode: input.mode(),
        config_json: input.config_json.clone(),
        audit: Audit::new(chrono::Utc::now(), fustat_domain::SYSTEM_ACTOR),
    };
    match state.mcp.check(&candidate).await {
        Ok(()) => Ok(()),
        Err(McpError::NotAllowed { message, .. }) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("{message} (refused by the MCP server policy)"),
        )),
        // Malformed configurations are reported by validation with the field's name.
        Err(_) => Ok(()),
    }
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
    )
    .service(web::resource("/mcp-servers/{id}/tools").route(web::get().to(tools)));
}

/// OpenAPI of this module.
#[derive(OpenApi)]
#[openapi(
    paths(list, get, create, update, delete, tools),
    components(schemas(McpToolOut))
)]
pub struct Doc;
