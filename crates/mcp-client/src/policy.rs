//! What MCP servers may do: which commands may start, what environment a child gets,
//! which addresses may be reached, and how long anything may take.

use std::collections::BTreeMap;
use std::time::Duration;

use fustat_runtime::net::NetworkPolicy;

/// Commands stdio MCP servers may start when the operator configures nothing else: the
/// usual package runners and interpreters. Shells are not in the list.
pub const DEFAULT_ALLOWED_COMMANDS: &[&str] = &[
    "npx", "uvx", "uv", "node", "python", "python3", "deno", "bunx",
];

/// Environment variables every child inherits from the service, when set: what package
/// runners need to find programs and their caches. Nothing else of the service's own
/// environment (its database URL, its master key) reaches a child.
pub const BASE_ENV: &[&str] = &[
    "PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR",
];

/// The commands stdio MCP servers may start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandAllowlist {
    entries: Vec<String>,
}

impl Default for CommandAllowlist {
    fn default() -> Self {
        CommandAllowlist::new(DEFAULT_ALLOWED_COMMANDS.iter().copied())
    }
}

impl CommandAllowlist {
    /// An allowlist of these entries. An entry is a bare program name (`npx`, looked up
    /// on `PATH`), an absolute path (`/opt/tools/server`), or `*` for any command.
    pub fn new<S: Into<String>>(entries: impl IntoIterator<Item = S>) -> Self {
        CommandAllowlist {
            entries: entries
                .into_iter()
                .map(Into::into)
                .map(|e: String| e.trim().to_owned())
                .filter(|e| !e.is_empty())
                .collect(),
        }
    }

    /// An allowlist that allows any command.
    pub fn any() -> Self {
        CommandAllowlist::new(["*"])
    }

    /// The entries, as configured.
    pub fn entries(&self) -> &[String] {
        &self.entries
    }

    /// Checks `command`: a bare name must be listed as such, a path must be listed
    /// exactly. The error names the rule and the setting that changes it.
    pub fn check(&self, command: &str) -> Result<(), String> {
        if self.entries.iter().any(|e| e == "*" || e == command) {
            return Ok(());
        }
        let listed = if self.entries.is_empty() {
            "nothing".to_owned()
        } else {
            self.entries.join(", ")
        };
        Err(format!(
            "the command '{command}' is not in the allowlist of MCP server commands \
             (FUSTAT_MCP_ALLOWED_COMMANDS allows: {listed})"
        ))
    }
}

/// The rules and limits of an [`McpPool`](crate::McpPool).
#[derive(Debug, Clone)]
pub struct McpPolicy {
    /// Commands stdio servers may start.
    pub allowed_commands: CommandAllowlist,
    /// Names of environment variables children inherit (besides what they declare).
    pub inherit_env: Vec<String>,
    /// Which remote MCP URLs may be reached.
    pub network: NetworkPolicy,
    /// How long starting a server (spawn or connect, and the handshake) may take.
    pub start_timeout: Duration,
    /// How long one tool call may take unless the server's config sets `timeout`.
    pub call_timeout: Duration,
    /// How long listing tools may take.
    pub list_timeout: Duration,
}

impl Default for McpPolicy {
    fn default() -> Self {
        McpPolicy {
            allowed_commands: CommandAllowlist::default(),
            inherit_env: BASE_ENV.iter().map(|s| (*s).to_owned()).collect(),
            network: NetworkPolicy::open(),
            start_timeout: Duration::from_secs(60),
            call_timeout: Duration::from_secs(120),
            list_timeout: Duration::from_secs(30),
        }
    }
}

impl McpPolicy {
    /// The environment of a child: the inherited base (from this process) overlaid with
    /// what the server declares.
    pub fn child_env(&self, declared: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        let mut env = BTreeMap::new();
        for name in &self.inherit_env {
            if let Ok(value) = std::env::var(name) {
                env.insert(name.clone(), value);
            }
        }
        for (k, v) in declared {
            env.insert(k.clone(), v.clone());
        }
        env
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowlist_matches_names_and_paths_exactly() {
        let list = CommandAllowlist::default();
        assert!(list.check("npx").is_ok());
        let err = list.check("bash").unwrap_err();
        assert!(err.contains("'bash'") && err.contains("FUSTAT_MCP_ALLOWED_COMMANDS"));
        assert!(list.check("/usr/bin/npx").is_err());
        let custom = CommandAllowlist::new(["/opt/server", " "]);
        assert_eq!(custom.entries(), ["/opt/server"]);
        assert!(custom.check("/opt/server").is_ok());
        assert!(custom.check("server").is_err());
        assert!(CommandAllowlist::any().check("/anything").is_ok());
    }

    #[test]
    fn children_get_only_the_base_and_what_they_declare() {
        let policy = McpPolicy {
            inherit_env: vec!["PATH".into()],
            ..McpPolicy::default()
        };
        let declared = BTreeMap::from([("TOKEN".to_owned(), "x".to_owned())]);
        let env = policy.child_env(&declared);
        assert!(env.contains_key("PATH"));
        assert_eq!(env.get("TOKEN").map(String::as_str), Some("x"));
        assert!(!env.contains_key("HOME"));
    }
}
