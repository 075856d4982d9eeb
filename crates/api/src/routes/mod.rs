//! Route handlers, one module per resource. Each module has `configure` (its routes)
//! and `Doc` (its OpenAPI paths); `crate::build_app` and `crate::openapi` list them.

use actix_web::HttpResponse;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub mod agents;
pub mod api_keys;
pub mod apps;
pub mod chat;
pub mod health;
pub mod hub;
pub mod mcp_servers;
pub mod orchestrators;
pub mod tokens;
pub mod versions;

/// The prefix of the configuration API.
pub const API_PREFIX: &str = "/api/v1";

/// A confirmation message (the body of most `DELETE`s).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MessageOut {
    /// What happened.
    #[schema(example = "Agent deleted successfully")]
    pub message: String,
}

impl MessageOut {
    /// A message.
    pub fn new(message: impl Into<String>) -> Self {
        MessageOut {
            message: message.into(),
        }
    }
}

/// A created resource: `200 OK` (the status the earlier service answered, which the apps
/// expect) with `Location` and `body`.
pub(crate) fn created(location: String, body: impl Serialize) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((actix_web::http::header::LOCATION, location))
        .json(body)
}
