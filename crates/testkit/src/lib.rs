//! # fustat-testkit
//!
//! Test support for Fustat's crates (a dev-dependency only):
//!
//! - [`db`]: throw-away SQLite and PostgreSQL databases.
//! - [`fake_llm`]: a scripted fake OpenAI-compatible HTTP server.
//! - [`mcp_fixture`]: a small MCP server over stdio and streamable HTTP.
//!
//! Test support may panic on setup failures: a test that cannot set up should fail loudly.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

pub mod db;
pub mod fake_llm;
pub mod mcp_fixture;
