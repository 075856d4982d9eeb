//! Maximum lengths (in characters) of text fields, the column sizes of the contract.

/// `api_key.name`.
pub const API_KEY_NAME: usize = 100;
/// `api_key.provider_name`.
pub const API_KEY_PROVIDER_NAME: usize = 100;
/// `api_key.model_name`.
pub const API_KEY_MODEL_NAME: usize = 100;
/// `api_key.base_url`.
pub const API_KEY_BASE_URL: usize = 255;
/// `api_key.secret_key`.
pub const API_KEY_SECRET_KEY: usize = 255;
/// `mcp_server.name`.
pub const MCP_SERVER_NAME: usize = 100;
/// `agent.name`.
pub const AGENT_NAME: usize = 150;
/// `orchestrator.name`.
pub const ORCHESTRATOR_NAME: usize = 100;
/// `app_type` of agents and orchestrators.
pub const APP_TYPE: usize = 50;
/// `version.version_number`.
pub const VERSION_NUMBER: usize = 50;
/// `version.release_description`.
pub const VERSION_DESCRIPTION: usize = 255;
/// `created_by` / `modified_by`.
pub const ACTOR: usize = 100;
