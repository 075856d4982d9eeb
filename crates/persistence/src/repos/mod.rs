//! Repositories: one per resource, each method one intention, transactions inside.
//!
//! Every write takes the acting principal (`actor`) for `created_by` / `modified_by`.
//! Every method validates its input (through the domain's `validate`) and checks
//! references, so callers need not.

mod agents;
mod api_keys;
mod apps;
mod convert;
mod mcp_servers;
mod orchestrators;
mod versions;

pub use agents::AgentRepo;
pub use api_keys::ApiKeyRepo;
pub use apps::AppRepo;
pub use mcp_servers::McpServerRepo;
pub use orchestrators::OrchestratorRepo;
pub use versions::{NewVersion, VersionRepo};

use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

/// All repositories over one pool. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Repos {
    /// `/api-keys`.
    pub api_keys: ApiKeyRepo,
    /// `/mcp-servers`.
    pub mcp_servers: McpServerRepo,
    /// `/agents`.
    pub agents: AgentRepo,
    /// `/orchestrators`.
    pub orchestrators: OrchestratorRepo,
    /// `/apps`.
    pub apps: AppRepo,
    /// `/versions`.
    pub versions: VersionRepo,
    /// Service tokens.
    pub tokens: crate::tokens::TokenRepo,
    /// Threads, runs and run events of the LangGraph Platform protocol.
    pub hub: crate::hub::HubRepo,
}

impl Repos {
    /// Repositories over `db`.
    pub fn new(db: DatabaseConnection) -> Self {
        Repos {
            api_keys: ApiKeyRepo::new(db.clone()),
            mcp_servers: McpServerRepo::new(db.clone()),
            agents: AgentRepo::new(db.clone()),
            orchestrators: OrchestratorRepo::new(db.clone()),
            apps: AppRepo::new(db.clone()),
            tokens: crate::tokens::TokenRepo::new(db.clone()),
            hub: crate::hub::HubRepo::new(db.clone()),
            versions: VersionRepo::new(db),
        }
    }
}

/// The current time at the precision both databases store (microseconds), so a row
/// reads back exactly as it was returned when written.
pub(crate) fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// A new row id (UUID v7: time-ordered).
pub(crate) fn new_id() -> Uuid {
    Uuid::now_v7()
}
