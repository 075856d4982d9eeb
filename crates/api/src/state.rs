//! What handlers share, and who is acting.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use fustat_domain::SYSTEM_ACTOR;
use fustat_mcp_client::McpPool;
use fustat_persistence::Repos;

use crate::auth::{AuthMode, Principal};
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
    /// Whether requests must authenticate.
    pub auth: AuthMode,
    /// Sizes requests may have.
    pub limits: InputLimits,
    /// Runs of the LangGraph Platform protocol (Agent Hub).
    pub hub: crate::hub::runs::HubRuns,
}

/// Sizes requests may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputLimits {
    /// Largest request body, in bytes (413 beyond).
    pub max_body_bytes: usize,
    /// Longest chat message, in characters (422 beyond).
    pub max_message_chars: usize,
}

impl Default for InputLimits {
    fn default() -> Self {
        InputLimits {
            max_body_bytes: crate::extract::MAX_JSON_BODY,
            max_message_chars: 100_000,
        }
    }
}

impl AppState {
    /// State over `repos`, `engine` and the MCP session pool `mcp` (the pool the engine's
    /// tools come from, so that edits to a server restart the session runs use).
    pub fn new(repos: Repos, engine: Engine, mcp: McpPool) -> Self {
        let hub = crate::hub::runs::HubRuns::new(repos.hub.clone(), engine.clone());
        AppState {
            repos,
            engine,
            mcp,
            hub,
            auth: AuthMode::Off,
            limits: InputLimits::default(),
        }
    }

    /// The same state with input `limits`.
    pub fn with_limits(mut self, limits: InputLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The same state with authentication `mode`.
    pub fn with_auth(mut self, mode: AuthMode) -> Self {
        self.auth = mode;
        self
    }
}

/// The principal making the request, recorded as `created_by` / `modified_by`: the
/// token's name, or `system` when authentication is off.
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

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let name = req
            .extensions()
            .get::<Principal>()
            .map(|p| p.name.clone())
            .unwrap_or_else(|| SYSTEM_ACTOR.to_owned());
        ready(Ok(Actor(name)))
    }
}
