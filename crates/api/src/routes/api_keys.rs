//! `/api/v1/api-keys`: LLM provider credentials. Secrets are returned masked.

use actix_web::{HttpResponse, web};
use fustat_domain::{ApiKeyInput, ApiKeyOut};
use utoipa::OpenApi;

use super::{API_PREFIX, created};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{IdPath, Json};
use crate::state::{Actor, AppState};

const TAG: &str = "api-keys";

/// All API keys, by name.
#[utoipa::path(get, path = "/api/v1/api-keys", tag = TAG,
    responses((status = 200, body = [ApiKeyOut])))]
pub async fn list(state: web::Data<AppState>) -> ApiResult<web::Json<Vec<ApiKeyOut>>> {
    let keys = state.repos.api_keys.list_by_name().await?;
    Ok(web::Json(keys.iter().map(ApiKeyOut::from).collect()))
}

/// One API key.
#[utoipa::path(get, path = "/api/v1/api-keys/{id}", tag = TAG,
    params(("id" = uuid::Uuid, Path, description = "API key id")),
    responses((status = 200, body = ApiKeyOut), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn get(state: web::Data<AppState>, id: IdPath) -> ApiResult<web::Json<ApiKeyOut>> {
    let key = state.repos.api_keys.get(id.0).await?;
    Ok(web::Json(ApiKeyOut::from(&key)))
}

/// Creates an API key (names are unique).
#[utoipa::path(post, path = "/api/v1/api-keys", tag = TAG, request_body = ApiKeyInput,
    responses((status = 200, body = ApiKeyOut), (status = 409, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    state: web::Data<AppState>,
    actor: Actor,
    Json(input): Json<ApiKeyInput>,
) -> ApiResult<HttpResponse> {
    let key = state.repos.api_keys.create(input, actor.as_str()).await?;
    Ok(created(
        format!("{API_PREFIX}/api-keys/{}", key.id),
        ApiKeyOut::from(&key),
    ))
}

/// Replaces an API key. Sending back the masked `secret_key` keeps the stored secret.
#[utoipa::path(put, path = "/api/v1/api-keys/{id}", tag = TAG, request_body = ApiKeyInput,
    params(("id" = uuid::Uuid, Path, description = "API key id")),
    responses((status = 200, body = ApiKeyOut), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn update(
    state: web::Data<AppState>,
    actor: Actor,
    id: IdPath,
    Json(input): Json<ApiKeyInput>,
) -> ApiResult<web::Json<ApiKeyOut>> {
    let key = state
        .repos
        .api_keys
        .update(id.0, input, actor.as_str())
        .await?;
    Ok(web::Json(ApiKeyOut::from(&key)))
}

/// Deletes an API key and returns it; refused (409) while an agent or orchestrator uses
/// it.
#[utoipa::path(delete, path = "/api/v1/api-keys/{id}", tag = TAG,
    params(("id" = uuid::Uuid, Path, description = "API key id")),
    responses((status = 200, body = ApiKeyOut), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn delete(state: web::Data<AppState>, id: IdPath) -> ApiResult<web::Json<ApiKeyOut>> {
    let key = state.repos.api_keys.delete(id.0).await?;
    Ok(web::Json(ApiKeyOut::from(&key)))
}

/// Routes of this module (inside the `/api/v1` scope).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api-keys")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(
        web::resource("/api-keys/{id}")
            .route(web::get().to(get))
            .route(web::put().to(update))
            .route(web::delete().to(delete)),
    );
}

/// OpenAPI of this module.
#[derive(OpenApi)]
#[openapi(paths(list, get, create, update, delete))]
pub struct Doc;
