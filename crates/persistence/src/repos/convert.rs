//! Rows to domain records.

use fustat_domain::{Agent, Audit, McpServer, Orchestrator, Version};

use crate::entities::{agent, mcp_server, orchestrator, version};
use crate::error::{PersistenceError, Result};

macro_rules! audit_of {
    ($m:expr) => {
        Audit {
            created_at: $m.created_at,
            created_by: $m.created_by.clone(),
            modified_at: $m.modified_at,
            modified_by: $m.modified_by.clone(),
        }
    };
}
pub(crate) use audit_of;

pub(crate) fn mcp_server(m: mcp_server::Model) -> Result<McpServer> {
    Ok(McpServer {
        id: m.id,
        transport: m
            .transport
            .parse()
            .map_err(|e| PersistenceError::Corrupt(format!("mcp_server {}: {e}", m.id)))?,
        mode: m
            .mode
            .parse()
            .map_err(|e| PersistenceError::Corrupt(format!("mcp_server {}: {e}", m.id)))?,
        audit: audit_of!(m),
        name: m.name,
        description: m.description,
        config_json: m.config_json,
    })
}

pub(crate) fn agent(m: agent::Model) -> Agent {
    Agent {
        id: m.id,
        audit: audit_of!(m),
        name: m.name,
        description: m.description,
        role: m.role,
        task: m.task,
        instructions: m.instructions,
        publish_as_app: m.publish_as_app,
        app_type: m.app_type,
        api_key_id: m.api_key_id,
    }
}

pub(crate) fn orchestrator(m: orchestrator::Model) -> Result<Orchestrator> {
    Ok(Orchestrator {
        id: m.id,
        pattern: m
            .pattern
            .parse()
            .map_err(|e| PersistenceError::Corrupt(format!("orchestrator {}: {e}", m.id)))?,
        context_routing: fustat_domain::ContextRouting {
            input: m
                .context_input
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(|e| PersistenceError::Corrupt(format!("orchestrator {}: {e}", m.id)))?,
            output: m
                .context_output
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(|e| PersistenceError::Corrupt(format!("orchestrator {}: {e}", m.id)))?,
        },
        audit: audit_of!(m),
        name: m.name,
        description: m.description,
        instructions: m.instructions,
        publish_as_app: m.publish_as_app,
        app_type: m.app_type,
        api_key_id: m.api_key_id,
    })
}

pub(crate) fn version(m: version::Model) -> Version {
    Version {
        id: m.id,
        audit: audit_of!(m),
        version_number: m.version_number,
        release_date: m.release_date,
        release_description: m.release_description,
    }
}
