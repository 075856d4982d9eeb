//! `/api/v1/tokens`: service tokens (admin only).

use actix_web::{HttpResponse, web};
use fustat_persistence::tokens::{NewToken, Role, ServiceToken};
use serde::Deserialize;
use utoipa::{OpenApi, ToSchema};

use super::{API_PREFIX, created};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::Json;
use crate::state::{Actor, AppState};

const TAG: &str = "tokens";

/// Body of `POST /api/v1/tokens`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct TokenInput {
    /// A unique name: who or what uses the token (at most 100 characters).
    #[schema(example = "agent-hub")]
    pub name: String,
    /// `admin` or `user`.
    pub role: Role,
}

/// Every service token, newest first (never the tokens themselves).
#[utoipa::path(get, path = "/api/v1/tokens", tag = TAG,
    responses((status = 200, body = [ServiceToken]), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn list(state: web::Data<AppState>) -> ApiResult<web::Json<Vec<ServiceToken>>> {
    Ok(web::Json(state.repos.tokens.list().await?))
}

/// Creates a token. The response is the only time the token is shown.
#[utoipa::path(post, path = "/api/v1/tokens", tag = TAG, request_body = TokenInput,
    responses((status = 200, body = NewToken), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn create(
    state: web::Data<AppState>,
    actor: Actor,
    Json(input): Json<TokenInput>,
) -> ApiResult<HttpResponse> {
    let token = state
        .repos
        .tokens
        .create(&input.name, input.role, actor.as_str())
        .await?;
    Ok(created(
        format!("{API_PREFIX}/tokens/{}", token.info.id),
        token,
    ))
}

/// Revokes a token (by id or name); it is refused from then on.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = TAG,
    params(("id" = String, Path, description = "Token id or name")),
    responses((status = 200, body = ServiceToken), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<web::Json<ServiceToken>> {
    Ok(web::Json(state.repos.tokens.revoke(&id).await?))
}

/// Routes of this module (inside the `/api/v1` scope).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/tokens")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(web::resource("/tokens/{id}").route(web::delete().to(revoke)));
}

/// OpenAPI of this module.
#[derive(OpenApi)]
#[openapi(
    paths(list, create, revoke),
    components(schemas(TokenInput, ServiceToken, NewToken, Role))
)]
pub struct Doc;
