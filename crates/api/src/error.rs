//! The HTTP error: a status and a FastAPI-style body `{"detail": "..."}`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use fustat_domain::DomainError;
use fustat_persistence::PersistenceError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The body of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong, naming the field or the conflicting row.
    #[schema(example = "name: must be at most 100 characters (got 120)")]
    pub detail: String,
}

/// An error response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status}: {detail}")]
pub struct ApiError {
    /// The status code.
    pub status: StatusCode,
    /// The `detail` of the body.
    pub detail: String,
}

impl ApiError {
    /// An error with `status` and `detail`.
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            detail: detail.into(),
        }
    }

    /// 422 naming `field`.
    pub fn validation(field: &str, message: impl std::fmt::Display) -> Self {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("{field}: {message}"),
        )
    }

    /// 404 `Not Found`.
    pub fn not_found() -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "Not Found")
    }

    /// 500, with the cause logged and not shown.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status).json(ErrorBody {
            detail: self.detail.clone(),
        })
    }
}

impl From<DomainError> for ApiError {
    fn from(err: DomainError) -> Self {
        let status = match err {
            DomainError::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            DomainError::NotFound { .. } => StatusCode::NOT_FOUND,
            DomainError::Conflict(_) => StatusCode::CONFLICT,
        };
        ApiError::new(status, err.to_string())
    }
}

impl From<PersistenceError> for ApiError {
    fn from(err: PersistenceError) -> Self {
        match err {
            PersistenceError::Domain(e) => e.into(),
            PersistenceError::Unavailable(e) => {
                tracing::error!(error = %e, "database unavailable");
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "Database unavailable")
            }
            other => ApiError::internal(&other),
        }
    }
}

impl ApiError {
    /// 503 when the database cannot be reached right now, else 500 (cause logged).
    pub fn storage(cause: &dyn std::fmt::Display, unavailable: bool) -> Self {
        if unavailable {
            tracing::error!(error = %cause, "database unavailable");
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "Database unavailable")
        } else {
            ApiError::internal(cause)
        }
    }

    /// A checkpoint store failure: 503 when the database is unavailable, else 500.
    pub fn checkpoint(err: &fustat_runtime::checkpoint::CheckpointError) -> Self {
        let unavailable = matches!(
            err,
            fustat_runtime::checkpoint::CheckpointError::Unavailable(_)
        );
        ApiError::storage(err, unavailable)
    }

    /// A run that could not start: 409 for input that does not apply to the
    /// conversation's state, 503 when the database is unavailable, else 500.
    pub fn run_start(err: fustat_runtime::RunError) -> Self {
        match err {
            fustat_runtime::RunError::InvalidInput(m) => ApiError::new(StatusCode::CONFLICT, m),
            fustat_runtime::RunError::Checkpoint(e) => ApiError::checkpoint(&e),
            other => ApiError::internal(&other),
        }
    }
}

impl From<fustat_persistence::hub::HubError> for ApiError {
    fn from(err: fustat_persistence::hub::HubError) -> Self {
        let unavailable = err.is_unavailable();
        match err {
            fustat_persistence::hub::HubError::ThreadExists(id) => {
                ApiError::new(StatusCode::CONFLICT, format!("Thread {id} already exists"))
            }
            other => ApiError::storage(&other, unavailable),
        }
    }
}

/// Handler results.
pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use fustat_runtime::RunError;
    use fustat_runtime::checkpoint::CheckpointError;

    use super::*;

    #[test]
    fn storage_failures_are_503_when_the_database_is_unavailable() {
        let e = ApiError::run_start(RunError::Checkpoint(CheckpointError::Unavailable(
            "pool timed out".into(),
        )));
        assert_eq!(
            (e.status, e.detail.as_str()),
            (StatusCode::SERVICE_UNAVAILABLE, "Database unavailable")
        );
        let e = ApiError::run_start(RunError::Checkpoint(CheckpointError::Storage("x".into())));
        assert_eq!(e.status, StatusCode::INTERNAL_SERVER_ERROR);
        let e = ApiError::run_start(RunError::InvalidInput("nothing to resume".into()));
        assert_eq!(
            (e.status, e.detail.as_str()),
            (StatusCode::CONFLICT, "nothing to resume")
        );
    }
}
