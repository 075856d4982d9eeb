//! `GET /`.

use actix_web::{get, web};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

/// The health check body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// Always `healthy` when the service answers.
    #[schema(example = "healthy")]
    pub status: String,
}

/// Health check.
#[utoipa::path(get, path = "/", tag = "health",
    responses((status = 200, description = "The service is up", body = Health)))]
#[get("/")]
pub async fn root() -> web::Json<Health> {
    web::Json(Health {
        status: "healthy".to_owned(),
    })
}

/// Routes of this module.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(root);
}

/// OpenAPI of this module.
#[derive(OpenApi)]
#[openapi(paths(root))]
pub struct Doc;
