//! # fustat-seed
//!
//! Example data for a fresh installation: the service version, example API keys with
//! placeholder secrets, and an example MCP server. Idempotent: a row whose name (or
//! version number) already exists is left alone, so running it twice adds nothing.

use chrono::NaiveDate;
use fustat_domain::mcp::{McpMode, McpTransport};
use fustat_domain::{ApiKeyInput, McpServerInput, SYSTEM_ACTOR};
use fustat_persistence::{NewVersion, PersistenceError, Repos};
use serde_json::json;

/// What a seed run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeedReport {
    /// Rows created, as `kind 'name'`.
    pub created: Vec<String>,
    /// Rows that already existed, as `kind 'name'`.
    pub skipped: Vec<String>,
}

/// The version rows.
fn versions() -> Vec<NewVersion> {
    vec![NewVersion {
        version_number: "0.1.0".to_owned(),
        release_date: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default(),
        release_description: Some(
            "First release of Fustat: the configuration API on SQLite and PostgreSQL.".to_owned(),
        ),
    }]
}

/// The example API keys. Their secrets are placeholders to replace in Studio.
fn api_keys() -> Vec<ApiKeyInput> {
    [
        (
            "OpenAI (example)",
            "OpenAI",
            "gpt-4o-mini",
            Some("https://api.openai.com/v1/"),
            "sk-replace-me-with-your-openai-key",
        ),
        (
            "Groq (example)",
            "Groq",
            "llama-3.3-70b-versatile",
            Some("https://api.groq.com/openai/v1"),
            "gsk_replace-me-with-your-groq-key",
        ),
        (
            "Ollama (example)",
            "Ollama",
            "llama3.2",
            Some("http://localhost:11434/"),
            "ollama-placeholder-key",
        ),
    ]
    .into_iter()
    .map(|(name, provider, model, base_url, secret)| ApiKeyInput {
        name: name.to_owned(),
        provider_name: provider.to_owned(),
        model_name: model.to_owned(),
        base_url: base_url.map(str::to_owned),
        secret_key: secret.to_owned(),
    })
    .collect()
}

/// The example MCP servers.
fn mcp_servers() -> Vec<McpServerInput> {
    vec![McpServerInput {
        name: "Everything (example)".to_owned(),
        description: Some(
            "The MCP reference test server: echo, add, sample resources and prompts.".to_owned(),
        ),
        transport: Some(McpTransport::Stdio),
        mode: Some(McpMode::Autonomous),
        config_json: json!({
            "command": "npx",
            "args": ["-y", "@modelcontextprotocol/server-everything"]
        }),
    }]
}

/// Inserts what is missing.
pub async fn run(repos: &Repos) -> Result<SeedReport, PersistenceError> {
    let mut report = SeedReport::default();
    for v in versions() {
        let label = format!("version '{}'", v.version_number);
        if repos
            .versions
            .find_by_number(&v.version_number)
            .await?
            .is_some()
        {
            report.skipped.push(label);
        } else {
            repos.versions.create(v, SYSTEM_ACTOR).await?;
            report.created.push(label);
        }
    }
    for key in api_keys() {
        let label = format!("API key '{}'", key.name);
        if repos.api_keys.find_by_name(&key.name).await?.is_some() {
            report.skipped.push(label);
        } else {
            repos.api_keys.create(key, SYSTEM_ACTOR).await?;
            report.created.push(label);
        }
    }
    for server in mcp_servers() {
        let label = format!("MCP server '{}'", server.name);
        if repos
            .mcp_servers
            .find_by_name(&server.name)
            .await?
            .is_some()
        {
            report.skipped.push(label);
        } else {
            repos.mcp_servers.create(server, SYSTEM_ACTOR).await?;
            report.created.push(label);
        }
    }
    tracing::info!(
        created = report.created.len(),
        skipped = report.skipped.len(),
        "seed finished"
    );
    Ok(report)
}
