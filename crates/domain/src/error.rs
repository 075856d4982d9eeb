//! The error taxonomy shared by every layer. The HTTP layer maps each kind to a status:
//! validation → 422, not found → 404, conflict → 409.

use std::fmt::Display;

/// What can go wrong with a request, independent of how it arrived.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// Input that breaks a rule; `field` is its path in the request body
    /// (`name`, `mcp_servers[1].mcp_server_id`).
    #[error("{field}: {message}")]
    Validation {
        /// Path of the offending field.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// The addressed row does not exist.
    #[error("{entity} with id {id} not found")]
    NotFound {
        /// Human name of the kind of row (`Agent`, `API key`).
        entity: &'static str,
        /// The id that was asked for.
        id: String,
    },
    /// The request contradicts the stored state (a duplicate name, a row still in use).
    #[error("{0}")]
    Conflict(String),
}

impl DomainError {
    /// A validation error for `field`.
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        DomainError::Validation {
            field: field.into(),
            message: message.into(),
        }
    }

    /// A not-found error for the row `id` of kind `entity`.
    pub fn not_found(entity: &'static str, id: impl Display) -> Self {
        DomainError::NotFound {
            entity,
            id: id.to_string(),
        }
    }

    /// A conflict with the stored state.
    pub fn conflict(message: impl Into<String>) -> Self {
        DomainError::Conflict(message.into())
    }
}
