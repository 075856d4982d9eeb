//! # fustat-persistence
//!
//! Fustat's storage on SQLite or PostgreSQL through SeaORM:
//!
//! - [`connect`] opens a pool (and [`migrate_up`] & co. run the `migration` crate);
//! - [`Repos`] groups one repository per resource ([`ApiKeyRepo`], [`McpServerRepo`],
//!   [`AgentRepo`], [`OrchestratorRepo`], [`AppRepo`], [`VersionRepo`]). Each method is
//!   one intention (`AgentRepo::get_with_relations`), validates its input, checks
//!   references and runs in one transaction where it writes more than one row;
//! - [`PersistenceError`] is either a [`fustat_domain::DomainError`] (the request's
//!   fault) or a database failure.
//!
//! - [`DbCheckpointer`] and [`DbStore`] keep the runtime's run state and long-term memory
//!   in the `runtime` schema.
//!
//! Entities are private: other crates see domain types only.

mod db;
mod entities;
mod error;
pub mod hub;
mod repos;
mod run_state;
pub mod secrets;
pub mod tokens;

pub use db::{
    Backend, DbOptions, connect, has_pending_migrations, migrate_down, migrate_fresh, migrate_up,
    migration_status, redact_database_url,
};
pub use error::{PersistenceError, Result};
pub use hub::HubRepo;
pub use repos::{
    AgentRepo, ApiKeyRepo, AppRepo, McpServerRepo, NewVersion, OrchestratorRepo, Repos, VersionRepo,
};
pub use run_state::{DbCheckpointer, DbStore};
pub use sea_orm::DatabaseConnection;
