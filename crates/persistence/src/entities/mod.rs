//! SeaORM entities. Table names are unqualified: on PostgreSQL the connection's
//! `search_path` finds them in their schemas (see the `migration` crate).

pub(crate) mod agent;
pub(crate) mod agent_mcp_server;
pub(crate) mod api_key;
pub(crate) mod checkpoint;
pub(crate) mod checkpoint_write;
pub(crate) mod mcp_server;
pub(crate) mod orchestrator;
pub(crate) mod orchestrator_sub_agent;
pub(crate) mod pending_write;
pub(crate) mod run;
pub(crate) mod run_event;
pub(crate) mod service_token;
pub(crate) mod store_item;
pub(crate) mod thread;
pub(crate) mod version;
