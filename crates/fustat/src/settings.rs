//! Settings: built-in defaults < `fustat.toml` < `.env` < environment < command line.
//!
//! Every setting is a field of [`Settings`]; its environment variable is `FUSTAT_` and
//! the field name in capitals (`FUSTAT_PORT`). Nested sections added later (say
//! `auth.mode`) use `__` in the variable name (`FUSTAT_AUTH__MODE`) and a `[auth]` table
//! in `fustat.toml`. The database URL is also read from `DATABASE_URL`, or assembled
//! from the earlier service's `DB_USER`, `DB_PASSWORD`, `DB_HOST`, `DB_PORT` and
//! `DB_NAME` when `DATABASE_URL` is unset.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use config::{Config, Environment, File};
use fustat_api::{DEV_CORS_ORIGINS, HttpConfig};
use fustat_persistence::redact_database_url;
use serde::{Deserialize, Serialize};

/// The default database: a SQLite file under `./data/`.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/fustat.db?mode=rwc";

/// The settings file read from the working directory unless `--config` or
/// `FUSTAT_CONFIG` names another.
pub const DEFAULT_CONFIG_FILE: &str = "fustat.toml";

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Everything Fustat can be configured with.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Address to listen on.
    pub host: String,
    /// Port to listen on.
    pub port: u16,
    /// `sqlite://…` or `postgres://…`.
    pub database_url: String,
    /// Connection pool size (default: 1 for SQLite, 10 for PostgreSQL).
    pub db_max_connections: Option<u32>,
    /// Apply pending migrations when `serve` (or `seed`) starts.
    pub auto_migrate: bool,
    /// Log filter: a level (`info`) or `tracing` directives (`info,fustat=debug`).
    pub log_level: String,
    /// `text` or `json`.
    pub log_format: LogFormat,
    /// Origins allowed by CORS, or `*`.
    pub cors_origins: Vec<String>,
    /// HTTP worker threads (default: one per CPU core).
    pub workers: Option<usize>,
    /// Commands stdio MCP servers may start (bare names looked up on PATH, absolute
    /// paths, or `*` for any).
    pub mcp_allowed_commands: Vec<String>,
    /// Environment variables MCP server processes inherit from the service (besides
    /// the ones their configuration declares).
    pub mcp_inherit_env: Vec<String>,
    /// Seconds an MCP server may take to start and complete the handshake.
    pub mcp_start_timeout_secs: u64,
    /// Seconds one MCP tool call may take (an HTTP server's `timeout` wins).
    pub mcp_call_timeout_secs: u64,
    /// Refuse outbound destinations (remote MCP servers, LLM base URLs) in private,
    /// loopback and link-local address ranges.
    pub deny_private_networks: bool,
    /// Hosts allowed even when private networks are denied.
    pub allowed_hosts: Vec<String>,
    /// `auto` (required unless listening on a loopback address), `required` or `off`
    /// (only allowed on a loopback address).
    pub auth: AuthSetting,
    /// The master key for secrets at rest (base64 of 32 bytes); wins over the key file.
    pub master_key: Option<String>,
    /// The master key file, created with a new key (owner-only) when missing.
    pub master_key_file: String,
    /// Longest chat message, in characters.
    pub max_message_chars: usize,
    /// Largest request body, in bytes.
    pub max_body_bytes: usize,
    /// Longest tool result kept in a conversation, in bytes (longer ones are cut, with a
    /// note the model sees).
    pub max_tool_result_bytes: usize,
    /// Most steps (model calls and tool rounds) in one run.
    pub max_steps: u32,
    /// Most handoffs between agents in one run.
    pub max_handoffs: u32,
}

/// The `auth` setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum AuthSetting {
    /// Required unless the service listens on a loopback address.
    #[default]
    Auto,
    /// Always required.
    Required,
    /// Off (refused on a non-loopback address).
    Off,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            host: "127.0.0.1".to_owned(),
            port: 8000,
            database_url: DEFAULT_DATABASE_URL.to_owned(),
            db_max_connections: None,
            auto_migrate: true,
            log_level: "info".to_owned(),
            log_format: LogFormat::Text,
            cors_origins: DEV_CORS_ORIGINS.iter().map(|s| (*s).to_owned()).collect(),
            workers: None,
            mcp_allowed_commands: fustat_mcp_client::DEFAULT_ALLOWED_COMMANDS
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            mcp_inherit_env: fustat_mcp_client::BASE_ENV
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            mcp_start_timeout_secs: 60,
            mcp_call_timeout_secs: 120,
            deny_private_networks: false,
            allowed_hosts: Vec::new(),
            auth: AuthSetting::Auto,
            master_key: None,
            master_key_file: "data/master.key".to_owned(),
            max_message_chars: 100_000,
            max_body_bytes: 1024 * 1024,
            max_tool_result_bytes: fustat_runtime::graph::RunLimits::default()
                .max_tool_result_bytes,
            max_steps: fustat_runtime::graph::RunLimits::default().max_steps,
            max_handoffs: fustat_runtime::graph::RunLimits::default().max_handoffs,
        }
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("database_url", &redact_database_url(&self.database_url))
            .field("db_max_connections", &self.db_max_connections)
            .field("auto_migrate", &self.auto_migrate)
            .field("log_level", &self.log_level)
            .field("log_format", &self.log_format)
            .field("cors_origins", &self.cors_origins)
            .field("workers", &self.workers)
            .field("mcp_allowed_commands", &self.mcp_allowed_commands)
            .field("mcp_inherit_env", &self.mcp_inherit_env)
            .field("mcp_start_timeout_secs", &self.mcp_start_timeout_secs)
            .field("mcp_call_timeout_secs", &self.mcp_call_timeout_secs)
            .field("deny_private_networks", &self.deny_private_networks)
            .field("allowed_hosts", &self.allowed_hosts)
            .field("auth", &self.auth)
            .field("master_key", &self.master_key.as_ref().map(|_| "***"))
            .field("master_key_file", &self.master_key_file)
            .field("max_message_chars", &self.max_message_chars)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("max_tool_result_bytes", &self.max_tool_result_bytes)
            .field("max_steps", &self.max_steps)
            .field("max_handoffs", &self.max_handoffs)
            .finish()
    }
}

/// Values given on the command line; they win over everything else.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--config`.
    pub config_file: Option<PathBuf>,
    /// `--host`.
    pub host: Option<String>,
    /// `--port`.
    pub port: Option<u16>,
    /// `--database-url`.
    pub database_url: Option<String>,
}

/// Why the settings could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A source could not be read or a value has the wrong type.
    #[error("invalid settings: {0}")]
    Config(#[from] config::ConfigError),
    /// A value is out of range.
    #[error("invalid settings: {0}")]
    Invalid(String),
}

impl Settings {
    /// Reads the settings from the files and `env` (the process environment with `.env`
    /// already merged in), then applies `overrides`.
    pub fn load(
        env: &HashMap<String, String>,
        overrides: &Overrides,
    ) -> Result<Settings, SettingsError> {
        let file = overrides
            .config_file
            .clone()
            .or_else(|| env.get("FUSTAT_CONFIG").map(PathBuf::from));
        let file_source = match &file {
            Some(path) => File::from(path.as_path()).required(true),
            None => File::from(Path::new(DEFAULT_CONFIG_FILE)).required(false),
        };
        let fustat_env: config::Map<String, String> = env
            .iter()
            .filter(|(k, _)| k.as_str() != "FUSTAT_CONFIG")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut builder = Config::builder()
            .add_source(Config::try_from(&Settings::default())?)
            .add_source(file_source)
            .add_source(
                Environment::with_prefix("FUSTAT")
                    .prefix_separator("_")
                    .separator("__")
                    .ignore_empty(true)
                    .try_parsing(true)
                    .list_separator(",")
                    .with_list_parse_key("cors_origins")
                    .with_list_parse_key("mcp_allowed_commands")
                    .with_list_parse_key("mcp_inherit_env")
                    .with_list_parse_key("allowed_hosts")
                    .source(Some(fustat_env)),
            );
        if let Some(url) = database_url_from_env(env) {
            builder = builder.set_override("database_url", url)?;
        }
        let settings: Settings = builder
            .set_override_option("host", overrides.host.clone())?
            .set_override_option("port", overrides.port)?
            .set_override_option("database_url", overrides.database_url.clone())?
            .build()?
            .try_deserialize()?;
        settings.validated()
    }

    fn validated(mut self) -> Result<Settings, SettingsError> {
        self.cors_origins = self
            .cors_origins
            .into_iter()
            .map(|o| o.trim().to_owned())
            .filter(|o| !o.is_empty())
            .collect();
        for list in [
            &mut self.mcp_allowed_commands,
            &mut self.mcp_inherit_env,
            &mut self.allowed_hosts,
        ] {
            *list = list
                .iter()
                .map(|o| o.trim().to_owned())
                .filter(|o| !o.is_empty())
                .collect();
        }
        if self.auth == AuthSetting::Off && !self.is_loopback() {
            return Err(SettingsError::Invalid(format!(
                "auth = off is only allowed when listening on a loopback address, not {}; \
                 create a token with `fustat token create --role admin --name NAME`",
                self.host
            )));
        }
        for (name, value) in [
            ("max_message_chars", self.max_message_chars),
            ("max_body_bytes", self.max_body_bytes),
            ("max_tool_result_bytes", self.max_tool_result_bytes),
            ("max_steps", self.max_steps as usize),
            ("max_handoffs", self.max_handoffs as usize),
        ] {
            if value == 0 {
                return Err(SettingsError::Invalid(format!("{name} must be at least 1")));
            }
        }
        if self.mcp_start_timeout_secs == 0 || self.mcp_call_timeout_secs == 0 {
            return Err(SettingsError::Invalid(
                "mcp_start_timeout_secs and mcp_call_timeout_secs must be at least 1".to_owned(),
            ));
        }
        self.http_config()
            .validate()
            .map_err(SettingsError::Invalid)?;
        fustat_persistence::Backend::of(&self.database_url)
            .map_err(|e| SettingsError::Invalid(e.to_string()))?;
        if self.db_max_connections == Some(0) {
            return Err(SettingsError::Invalid(
                "db_max_connections must be at least 1".to_owned(),
            ));
        }
        if self.workers == Some(0) {
            return Err(SettingsError::Invalid(
                "workers must be at least 1".to_owned(),
            ));
        }
        Ok(self)
    }

    /// The HTTP app's settings.
    pub fn http_config(&self) -> HttpConfig {
        HttpConfig {
            cors_origins: self.cors_origins.clone(),
        }
    }

    /// The limits of one run.
    pub fn run_limits(&self) -> fustat_runtime::graph::RunLimits {
        fustat_runtime::graph::RunLimits {
            max_steps: self.max_steps,
            max_handoffs: self.max_handoffs,
            max_tool_result_bytes: self.max_tool_result_bytes,
            ..Default::default()
        }
    }

    /// The request size limits.
    pub fn input_limits(&self) -> fustat_api::InputLimits {
        fustat_api::InputLimits {
            max_body_bytes: self.max_body_bytes,
            max_message_chars: self.max_message_chars,
        }
    }

    /// True when the service listens on a loopback address only.
    pub fn is_loopback(&self) -> bool {
        let host = self.host.trim_start_matches('[').trim_end_matches(']');
        host.eq_ignore_ascii_case("localhost")
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }

    /// Whether requests must authenticate.
    pub fn auth_mode(&self) -> fustat_api::auth::AuthMode {
        match (self.auth, self.is_loopback()) {
            (AuthSetting::Off, _) | (AuthSetting::Auto, true) => fustat_api::auth::AuthMode::Off,
            _ => fustat_api::auth::AuthMode::Required,
        }
    }

    /// The outbound address policy.
    pub fn network_policy(&self) -> fustat_runtime::net::NetworkPolicy {
        fustat_runtime::net::NetworkPolicy {
            allow_private: !self.deny_private_networks,
            allowed_hosts: self.allowed_hosts.clone(),
        }
    }

    /// The MCP client's policy.
    pub fn mcp_policy(&self) -> fustat_mcp_client::McpPolicy {
        fustat_mcp_client::McpPolicy {
            allowed_commands: fustat_mcp_client::CommandAllowlist::new(
                self.mcp_allowed_commands.iter().cloned(),
            ),
            inherit_env: self.mcp_inherit_env.clone(),
            network: self.network_policy(),
            start_timeout: std::time::Duration::from_secs(self.mcp_start_timeout_secs),
            call_timeout: std::time::Duration::from_secs(self.mcp_call_timeout_secs),
            ..fustat_mcp_client::McpPolicy::default()
        }
    }

    /// The database pool's settings.
    pub fn db_options(&self) -> fustat_persistence::DbOptions {
        fustat_persistence::DbOptions {
            max_connections: self.db_max_connections,
            ..Default::default()
        }
    }
}

/// `DATABASE_URL`, else a PostgreSQL URL from `DB_*` when any of them is set.
fn database_url_from_env(env: &HashMap<String, String>) -> Option<String> {
    let get = |k: &str| env.get(k).filter(|v| !v.is_empty());
    if let Some(url) = get("DATABASE_URL") {
        return Some(url.clone());
    }
    if ["DB_USER", "DB_PASSWORD", "DB_HOST", "DB_PORT", "DB_NAME"]
        .iter()
        .all(|k| get(k).is_none())
    {
        return None;
    }
    let mut url = url::Url::parse("postgres://localhost").ok()?;
    url.set_host(Some(get("DB_HOST").map_or("localhost", String::as_str)))
        .ok()?;
    let port = get("DB_PORT").and_then(|p| p.parse().ok()).unwrap_or(5432);
    url.set_port(Some(port)).ok()?;
    url.set_username(get("DB_USER").map_or("postgres", String::as_str))
        .ok()?;
    if let Some(password) = get("DB_PASSWORD") {
        url.set_password(Some(password)).ok()?;
    }
    url.set_path(get("DB_NAME").map_or("fustat", String::as_str));
    Some(url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults() {
        let s = Settings::load(&env(&[]), &Overrides::default()).unwrap();
        assert_eq!(s.host, "127.0.0.1");
        assert_eq!(s.port, 8000);
        assert_eq!(s.database_url, DEFAULT_DATABASE_URL);
        assert!(s.auto_migrate);
        assert_eq!(s.log_format, LogFormat::Text);
        assert!(s.cors_origins.contains(&"http://localhost:3000".to_owned()));
        assert!(s.cors_origins.contains(&"http://localhost:8080".to_owned()));
        assert!(s.mcp_allowed_commands.contains(&"npx".to_owned()));
        assert!(!s.deny_private_networks);
    }

    #[test]
    fn authentication_follows_the_listen_address() {
        use fustat_api::auth::AuthMode;
        let s = Settings::load(&env(&[]), &Overrides::default()).unwrap();
        assert_eq!(s.auth_mode(), AuthMode::Off);
        let s = Settings::load(&env(&[("FUSTAT_HOST", "0.0.0.0")]), &Overrides::default()).unwrap();
        assert_eq!(s.auth_mode(), AuthMode::Required);
        let s =
            Settings::load(&env(&[("FUSTAT_AUTH", "required")]), &Overrides::default()).unwrap();
        assert_eq!(s.auth_mode(), AuthMode::Required);
        let err = Settings::load(
            &env(&[("FUSTAT_HOST", "0.0.0.0"), ("FUSTAT_AUTH", "off")]),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("loopback"), "{err}");
        let s = Settings::load(
            &env(&[("FUSTAT_MASTER_KEY", "c2VjcmV0")]),
            &Overrides::default(),
        )
        .unwrap();
        assert!(!format!("{s:?}").contains("c2VjcmV0"));
    }

    #[test]
    fn mcp_policy_from_environment() {
        let e = env(&[
            ("FUSTAT_MCP_ALLOWED_COMMANDS", "npx, /opt/mcp/server"),
            ("FUSTAT_MCP_CALL_TIMEOUT_SECS", "5"),
            ("FUSTAT_DENY_PRIVATE_NETWORKS", "true"),
            ("FUSTAT_ALLOWED_HOSTS", "llm.internal"),
        ]);
        let s = Settings::load(&e, &Overrides::default()).unwrap();
        let policy = s.mcp_policy();
        assert!(policy.allowed_commands.check("/opt/mcp/server").is_ok());
        assert!(policy.allowed_commands.check("uvx").is_err());
        assert_eq!(policy.call_timeout, std::time::Duration::from_secs(5));
        assert!(!policy.network.allow_private);
        assert_eq!(policy.network.allowed_hosts, vec!["llm.internal"]);
        let bad = env(&[("FUSTAT_MCP_START_TIMEOUT_SECS", "0")]);
        assert!(Settings::load(&bad, &Overrides::default()).is_err());
    }

    #[test]
    fn environment_then_command_line() {
        let e = env(&[
            ("FUSTAT_HOST", "0.0.0.0"),
            ("FUSTAT_PORT", "9000"),
            ("FUSTAT_LOG_FORMAT", "json"),
            ("FUSTAT_LOG_LEVEL", "info,fustat=debug"),
            ("FUSTAT_AUTO_MIGRATE", "false"),
            (
                "FUSTAT_CORS_ORIGINS",
                "https://studio.example.com, https://hub.example.com",
            ),
            ("FUSTAT_DB_MAX_CONNECTIONS", "4"),
            ("DATABASE_URL", "postgres://u:p@db/fustat"),
            ("UNRELATED", "x"),
        ]);
        let s = Settings::load(&e, &Overrides::default()).unwrap();
        assert_eq!(s.host, "0.0.0.0");
        assert_eq!(s.port, 9000);
        assert_eq!(s.log_format, LogFormat::Json);
        assert_eq!(s.log_level, "info,fustat=debug");
        assert!(!s.auto_migrate);
        assert_eq!(
            s.cors_origins,
            vec!["https://studio.example.com", "https://hub.example.com"]
        );
        assert_eq!(s.db_max_connections, Some(4));
        assert_eq!(s.database_url, "postgres://u:p@db/fustat");

        let cli = Overrides {
            port: Some(7000),
            database_url: Some("sqlite::memory:".to_owned()),
            ..Default::default()
        };
        let s = Settings::load(&e, &cli).unwrap();
        assert_eq!(s.port, 7000);
        assert_eq!(s.database_url, "sqlite::memory:");
        assert_eq!(s.host, "0.0.0.0");
    }

    #[test]
    fn file_below_environment() {
        let dir = std::env::temp_dir().join(format!("fustat-settings-{}", uuid_like()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("fustat.toml");
        std::fs::write(
            &path,
            "port = 8100\nhost = \"0.0.0.0\"\nlog_format = \"json\"\n",
        )
        .unwrap();
        let cli = Overrides {
            config_file: Some(path.clone()),
            ..Default::default()
        };
        let s = Settings::load(&env(&[("FUSTAT_PORT", "8200")]), &cli).unwrap();
        assert_eq!(s.port, 8200);
        assert_eq!(s.host, "0.0.0.0");
        assert_eq!(s.log_format, LogFormat::Json);
        std::fs::remove_dir_all(dir).unwrap();
    }

    fn uuid_like() -> u128 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    }

    #[test]
    fn old_db_variables_build_a_postgres_url() {
        let e = env(&[
            ("DB_USER", "fustat"),
            ("DB_PASSWORD", "p@ss word"),
            ("DB_HOST", "db.internal"),
            ("DB_PORT", "5433"),
            ("DB_NAME", "llm"),
        ]);
        let s = Settings::load(&e, &Overrides::default()).unwrap();
        assert_eq!(
            s.database_url,
            "postgres://fustat:p%40ss%20word@db.internal:5433/llm"
        );
        assert!(!format!("{s:?}").contains("p%40ss"));
        let mut with_url = e.clone();
        with_url.insert("DATABASE_URL".into(), "sqlite://x.db".into());
        let s = Settings::load(&with_url, &Overrides::default()).unwrap();
        assert_eq!(s.database_url, "sqlite://x.db");
    }

    #[test]
    fn bad_values_are_refused() {
        for (k, v) in [
            ("FUSTAT_PORT", "not-a-port"),
            ("FUSTAT_LOG_FORMAT", "xml"),
            ("FUSTAT_CORS_ORIGINS", "localhost:3000"),
            ("DATABASE_URL", "mysql://x/y"),
        ] {
            assert!(
                Settings::load(&env(&[(k, v)]), &Overrides::default()).is_err(),
                "{k}={v}"
            );
        }
    }
}
