//! The persistence error: a domain error (the request's fault) or a database failure.

use fustat_domain::DomainError;
use sea_orm::{DbErr, SqlErr};

/// What a repository call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum PersistenceError {
    /// The request breaks a rule or contradicts the stored state; the caller's fault.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// The database failed (unreachable, I/O, a bug). Never caused by input.
    #[error("database error: {0}")]
    Database(DbErr),
    /// The database did not answer in time or the pool had no connection to give.
    #[error("database unavailable: {0}")]
    Unavailable(DbErr),
    /// The database could not be reached or opened. `url` has its password redacted.
    #[error("cannot connect to the database at {url}: {source}")]
    Connect {
        /// The database URL with any password replaced by `***`.
        url: String,
        /// Why.
        source: DbErr,
    },
    /// The configuration names a database this build cannot use.
    #[error("unsupported database URL {0}: expected sqlite:… or postgres://…")]
    UnsupportedUrl(String),
    /// A stored value this version cannot read.
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
}

impl From<DbErr> for PersistenceError {
    /// Constraint violations (a race the repository's own checks could not see, such as
    /// two concurrent inserts of the same name) are conflicts, not failures.
    fn from(err: DbErr) -> Self {
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => PersistenceError::Domain(
                DomainError::conflict("a row with the same unique value already exists"),
            ),
            Some(SqlErr::ForeignKeyConstraintViolation(_)) => {
                PersistenceError::Domain(DomainError::conflict(
                    "the change conflicts with related rows (a referenced row is missing \
                     or a row is still in use)",
                ))
            }
            _ if matches!(err, DbErr::ConnectionAcquire(_) | DbErr::Conn(_)) => {
                PersistenceError::Unavailable(err)
            }
            _ => PersistenceError::Database(err),
        }
    }
}

/// Shorthand for repository results.
pub type Result<T, E = PersistenceError> = std::result::Result<T, E>;
