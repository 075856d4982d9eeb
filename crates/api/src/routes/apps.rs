//! `/api/v1/apps`: what Hub lists.

use actix_web::web;
use fustat_domain::PublishedApp;
use utoipa::OpenApi;

use crate::error::ApiResult;
use crate::state::AppState;

const TAG: &str = "apps";

/// Published orchestrators, then published agents.
#[utoipa::path(get, path = "/api/v1/apps", tag = TAG,
    responses((status = 200, body = [PublishedApp])))]
pub async fn list(state: web::Data<AppState>) -> ApiResult<web::Json<Vec<PublishedApp>>> {
    Ok(web::Json(state.repos.apps.list_published().await?))
}

/// Published agents, with `app_type` `agent`.
#[utoipa::path(get, path = "/api/v1/apps/agents", tag = TAG,
    responses((status = 200, body = [PublishedApp])))]
pub async fn agents(state: web::Data<AppState>) -> ApiResult<web::Json<Vec<PublishedApp>>> {
    Ok(web::Json(state.repos.apps.list_published_agents().await?))
}

/// Routes of this module (inside the `/api/v1` scope).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/apps", web::get().to(list))
        .route("/apps/agents", web::get().to(agents));
}

/// OpenAPI of this module.
#[derive(OpenApi)]
#[openapi(paths(list, agents))]
pub struct Doc;
