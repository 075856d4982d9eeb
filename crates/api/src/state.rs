//! What handlers share, and who is acting.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use fustat_domain::SYSTEM_ACTOR;
use fustat_mcp_client::McpPool;
use fustat_persistence::Repos;

use crate::engine::Engine;

/// Shared state of the HTTP app: the repositories and the engine that runs assistants.
/// Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    /// Configuration storage.
    pub repos: Repos,
    /// Builds and runs agents and orchestrators.
    pub engine: Engine,
    /// Live sessions to MCP servers.
    pub mcp: McpPool,
}

impl AppState {
    /// State over `repos`, `engine` and the MCP session pool `mcp` (the pool the engine's
    /// tools come from, so that edits to a server restart the session runs use).
    pub fn new(repos: Repos, engine: Engine, mcp: McpPool) -> Self {
        AppState { repos, engine, mcp }
    }
}

/// The principal making the request, recorded as `created_by` / `modified_by`.
/// Until authentication exists it is always `system`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor(pub String);

impl Actor {
    /// The principal's name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromRequest for Actor {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(_req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(Actor(SYSTEM_ACTOR.to_owned())))
    }
}
