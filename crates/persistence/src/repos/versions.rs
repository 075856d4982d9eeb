//! `public.version`.

use chrono::NaiveDate;
use fustat_domain::{Audit, DomainError, Version, limits};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set};

use super::{convert, new_id, now};
use crate::entities::version;
use crate::error::Result;

/// A release to record.
#[derive(Debug, Clone)]
pub struct NewVersion {
    /// The version, e.g. `0.1.0`.
    pub version_number: String,
    /// Release date.
    pub release_date: NaiveDate,
    /// What the release brought.
    pub release_description: Option<String>,
}

/// Released versions of the service.
#[derive(Debug, Clone)]
pub struct VersionRepo {
    db: DatabaseConnection,
}

impl VersionRepo {
    pub(crate) fn new(db: DatabaseConnection) -> Self {
        VersionRepo { db }
    }

    /// All versions, newest release first.
    pub async fn list_newest_first(&self) -> Result<Vec<Version>> {
        Ok(version::Entity::find()
            .order_by_desc(version::Column::ReleaseDate)
            .order_by_desc(version::Column::CreatedAt)
            .order_by_desc(version::Column::Id)
            .all(&self.db)
            .await?
            .into_iter()
            .map(convert::version)
            .collect())
    }

    /// The newest release, if any is recorded.
    pub async fn current(&self) -> Result<Option<Version>> {
        Ok(version::Entity::find()
            .order_by_desc(version::Column::ReleaseDate)
            .order_by_desc(version::Column::CreatedAt)
            .order_by_desc(version::Column::Id)
            .one(&self.db)
            .await?
            .map(convert::version))
    }

    /// The version numbered `version_number`, if recorded.
    pub async fn find_by_number(&self, version_number: &str) -> Result<Option<Version>> {
        Ok(version::Entity::find()
            .filter(version::Column::VersionNumber.eq(version_number))
            .one(&self.db)
            .await?
            .map(convert::version))
    }

    /// Records a release.
    pub async fn create(&self, new: NewVersion, actor: &str) -> Result<Version> {
        if new.version_number.trim().is_empty() {
            return Err(DomainError::validation("version_number", "must not be empty").into());
        }
        if new.version_number.chars().count() > limits::VERSION_NUMBER {
            return Err(DomainError::validation(
                "version_number",
                format!("must be at most {} characters", limits::VERSION_NUMBER),
            )
            .into());
        }
        if let Some(d) = &new.release_description
            && d.chars().count() > limits::VERSION_DESCRIPTION
        {
            return Err(DomainError::validation(
                "release_description",
                format!("must be at most {} characters", limits::VERSION_DESCRIPTION),
            )
            .into());
        }
        let v = Version {
            id: new_id(),
            version_number: new.version_number,
            release_date: new.release_date,
            release_description: new.release_description,
            audit: Audit::new(now(), actor),
        };
        version::Entity::insert(version::ActiveModel {
            id: Set(v.id),
            version_number: Set(v.version_number.clone()),
            release_date: Set(v.release_date),
            release_description: Set(v.release_description.clone()),
            created_at: Set(v.audit.created_at),
            created_by: Set(v.audit.created_by.clone()),
            modified_at: Set(v.audit.modified_at),
            modified_by: Set(v.audit.modified_by.clone()),
        })
        .exec_without_returning(&self.db)
        .await?;
        Ok(v)
    }
}
