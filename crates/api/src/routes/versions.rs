//! `/versions` (no `/api/v1` prefix).

use actix_web::http::StatusCode;
use actix_web::web;
use fustat_domain::Version;
use utoipa::OpenApi;

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;

/// All versions, newest release first.
#[utoipa::path(get, path = "/versions", tag = "versions",
    responses((status = 200, body = [Version])))]
pub async fn list(state: web::Data<AppState>) -> ApiResult<web::Json<Vec<Version>>> {
    Ok(web::Json(state.repos.versions.list_newest_first().await?))
}

/// The newest release.
#[utoipa::path(get, path = "/versions/current", tag = "versions",
    responses((status = 200, body = Version), (status = 404, body = ErrorBody)))]
pub async fn current(state: web::Data<AppState>) -> ApiResult<web::Json<Version>> {
    state
        .repos
        .versions
        .current()
        .await?
        .map(web::Json)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "No version found"))
}

/// Routes of this module.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/versions", web::get().to(list))
        .route("/versions/current", web::get().to(current));
}

/// OpenAPI of this module.
#[derive(OpenApi)]
#[openapi(paths(list, current))]
pub struct Doc;
