//! Service versions (`/versions`).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::audit::Audit;

/// A released version of the service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Version {
    /// Row id.
    pub id: Uuid,
    /// The version, e.g. `0.1.0`.
    #[schema(example = "0.1.0")]
    pub version_number: String,
    /// Release date, `YYYY-MM-DD`.
    pub release_date: NaiveDate,
    /// What the release brought.
    pub release_description: Option<String>,
    /// Audit columns.
    #[serde(flatten)]
    pub audit: Audit,
}
