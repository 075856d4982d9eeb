//! # fustat-testkit
//!
//! Test support for Fustat's crates (a dev-dependency only):
//!
//! - [`db`]: throw-away SQLite and PostgreSQL databases.
pub mod db;
