//! Log output: readable text by default, JSON lines on request.

use tracing_subscriber::EnvFilter;

use crate::settings::LogFormat;

/// Libraries that log SQL (with bound values, which may include secrets) at debug
/// level; kept at `warn` unless the filter names them explicitly.
const QUIET_BY_DEFAULT: [&str; 3] = ["sqlx", "sea_orm", "sea_orm_migration"];

/// The filter for `level`, with the quiet defaults appended.
pub fn filter_directives(level: &str) -> String {
    let mut directives = level.trim().to_owned();
    for target in QUIET_BY_DEFAULT {
        if !directives.contains(target) {
            directives.push_str(&format!(",{target}=warn"));
        }
    }
    directives
}

/// Installs the global subscriber. Logs go to stderr, so that what commands print on
/// stdout (a new token, a rotated key) can be captured cleanly.
pub fn init(level: &str, format: LogFormat) -> Result<(), String> {
    let filter = EnvFilter::try_new(filter_directives(level))
        .map_err(|e| format!("invalid log level '{level}': {e}"))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
    }
    .map_err(|e| format!("cannot install the logger: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_logging_stays_quiet_unless_asked_for() {
        assert_eq!(
            filter_directives("debug"),
            "debug,sqlx=warn,sea_orm=warn,sea_orm_migration=warn"
        );
        assert!(filter_directives("info,sqlx=debug").contains("sqlx=debug"));
        assert!(!filter_directives("info,sqlx=debug").contains("sqlx=warn"));
    }
}
