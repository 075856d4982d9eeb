//! # fustat-domain
//!
//! The nouns of Fustat's configuration (API keys, MCP servers, agents, orchestrators,
//! apps, versions), their validation, and the error taxonomy. No I/O, no framework types.

pub mod mcp;
