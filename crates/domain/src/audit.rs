//! Who created and last changed a row, and when.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The acting principal when nobody is authenticated.
pub const SYSTEM_ACTOR: &str = "system";

/// The four audit columns every row carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Audit {
    /// When the row was created.
    pub created_at: DateTime<Utc>,
    /// Who created it.
    #[schema(example = "system")]
    pub created_by: String,
    /// When it was last changed.
    pub modified_at: DateTime<Utc>,
    /// Who last changed it.
    #[schema(example = "system")]
    pub modified_by: String,
}

impl Audit {
    /// A new row's audit columns: created and modified by `actor` at `at`.
    pub fn new(at: DateTime<Utc>, actor: &str) -> Self {
        Audit {
            created_at: at,
            created_by: actor.to_owned(),
            modified_at: at,
            modified_by: actor.to_owned(),
        }
    }
}
