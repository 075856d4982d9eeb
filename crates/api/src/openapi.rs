//! The OpenAPI document (served at `/openapi.json`, browsed at `/docs`).
//!
//! Each route module has a `Doc` listing its paths; [`openapi`] merges them. A new
//! module adds one `merge_from` line here and one `configure` line in `crate::build_app`.

use utoipa::OpenApi;

use crate::routes;

/// The document's header and the shared schemas.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Fustat",
        description = "Agent orchestration service: configuration of LLM API keys, MCP \
                       servers, agents and orchestrators, and the apps Hub lists."
    ),
    components(schemas(crate::error::ErrorBody, routes::MessageOut)),
    tags(
        (name = "health", description = "Liveness"),
        (name = "versions", description = "Released versions of the service"),
        (name = "api-keys", description = "LLM provider credentials (secrets are masked)"),
        (name = "mcp-servers", description = "MCP servers agents can use"),
        (name = "agents", description = "Agents"),
        (name = "orchestrators", description = "Orchestrators over sub-agents"),
        (name = "apps", description = "Published agents and orchestrators, as Hub lists them"),
        (name = "chat", description = "Chat with agents and orchestrators: Studio's streaming protocol"),
        (name = "hub", description = "Agent Hub's chat: the LangGraph Platform protocol (see docs/hub-protocol.md)"),
    )
)]
struct ApiDoc;

/// The whole OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
        .merge_from(routes::health::Doc::openapi())
        .merge_from(routes::versions::Doc::openapi())
        .merge_from(routes::api_keys::Doc::openapi())
        .merge_from(routes::mcp_servers::Doc::openapi())
        .merge_from(routes::tokens::Doc::openapi())
        .merge_from(routes::agents::Doc::openapi())
        .merge_from(routes::orchestrators::Doc::openapi())
        .merge_from(routes::apps::Doc::openapi())
        .merge_from(routes::chat::Doc::openapi())
        .merge_from(routes::hub::Doc::openapi())
}
