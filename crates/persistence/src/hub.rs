//! Threads, runs and the events of resumable runs: the records behind the LangGraph
//! Platform protocol (Agent Hub's chat API).
//!
//! A thread's messages live in its checkpoints ([`crate::DbCheckpointer`], keyed by the
//! thread id); this repository keeps what the protocol adds around them: the thread's
//! metadata and status, every run with its request and outcome, and the numbered stream
//! events of resumable runs so a client that reconnects can be replayed what it missed,
//! also after a restart.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionTrait,
};
use serde_json::Value;

use crate::entities::{run, run_event, thread};
use crate::repos::now;

/// A thread as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ThreadRecord {
    /// Its id (a UUID).
    pub thread_id: String,
    /// Free-form metadata (an object).
    pub metadata: Value,
    /// `idle`, `busy`, `interrupted` or `error`.
    pub status: String,
    /// The error of the last run, when it failed.
    pub error: Option<Value>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it (or its metadata) last changed.
    pub updated_at: DateTime<Utc>,
    /// When its state last changed.
    pub state_updated_at: DateTime<Utc>,
}

/// A run as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecord {
    /// Its id (a UUID v7).
    pub run_id: String,
    /// The thread it runs on.
    pub thread_id: String,
    /// The assistant (agent or orchestrator) it runs.
    pub assistant_id: String,
    /// `pending`, `running`, `success`, `error`, `timeout` or `interrupted`.
    pub status: String,
    /// `reject`, `interrupt`, `rollback` or `enqueue`.
    pub multitask_strategy: String,
    /// Free-form metadata (an object).
    pub metadata: Value,
    /// The request it was created with.
    pub kwargs: Value,
    /// Why it failed, when it did.
    pub error: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When its status last changed.
    pub updated_at: DateTime<Utc>,
}

/// One stream event of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecord {
    /// Its position in the run's stream (from 0).
    pub seq: i64,
    /// The SSE event name (`values`, `messages`, `updates|agent:…`).
    pub event: String,
    /// The SSE data (one line of JSON).
    pub data: String,
}

/// Why a thread operation failed.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    /// A thread with this id exists already.
    #[error("thread {0} already exists")]
    ThreadExists(String),
    /// The database failed.
    #[error("database error: {0}")]
    Db(#[from] DbErr),
}

impl HubError {
    /// True when the database cannot be reached right now (no free connection, the
    /// connection was lost): trying again later may work.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            HubError::Db(DbErr::ConnectionAcquire(_) | DbErr::Conn(_))
        )
    }
}

fn thread_record(m: thread::Model) -> ThreadRecord {
    ThreadRecord {
        thread_id: m.thread_id,
        metadata: m.metadata,
        status: m.status,
        error: m.error,
        created_at: m.created_at,
        updated_at: m.updated_at,
        state_updated_at: m.state_updated_at,
    }
}

fn run_record(m: run::Model) -> RunRecord {
    RunRecord {
        run_id: m.run_id,
        thread_id: m.thread_id,
        assistant_id: m.assistant_id,
        status: m.status,
        multitask_strategy: m.multitask_strategy,
        metadata: m.metadata,
        kwargs: m.kwargs,
        error: m.error,
        created_at: m.created_at,
        updated_at: m.updated_at,
    }
}

/// Merges the keys of `patch` into `base` (both objects; `base` becomes one if needed).
pub fn merge_metadata(base: &mut Value, patch: &Value) {
    if !base.is_object() {
        *base = Value::Object(Default::default());
    }
    if let (Some(b), Some(p)) = (base.as_object_mut(), patch.as_object()) {
        for (k, v) in p {
            b.insert(k.clone(), v.clone());
        }
    }
}

/// Threads, runs and run events in the database.
#[derive(Debug, Clone)]
pub struct HubRepo {
    db: DatabaseConnection,
}

impl HubRepo {
    /// A repository over `db` (migrated).
    pub fn new(db: DatabaseConnection) -> Self {
        HubRepo { db }
    }

    /// Creates a thread (status `idle`).
    pub async fn create_thread(
        &self,
        thread_id: &str,
        metadata: Value,
    ) -> Result<ThreadRecord, HubError> {
        if self.get_thread(thread_id).await?.is_some() {
            return Err(HubError::ThreadExists(thread_id.to_owned()));
        }
        let t = now();
        let row = thread::ActiveModel {
            thread_id: Set(thread_id.to_owned()),
            metadata: Set(if metadata.is_object() {
                metadata
            } else {
                Value::Object(Default::default())
            }),
            status: Set("idle".to_owned()),
            error: Set(None),
            created_at: Set(t),
            updated_at: Set(t),
            state_updated_at: Set(t),
        };
        match thread::Entity::insert(row)
            .exec_without_returning(&self.db)
            .await
        {
            Ok(_) => {}
            // Two creations raced: the other one won.
            Err(e) if self.get_thread(thread_id).await?.is_some() => {
                tracing::debug!(error = %e, "thread created concurrently");
                return Err(HubError::ThreadExists(thread_id.to_owned()));
            }
            Err(e) => return Err(e.into()),
        }
        self.get_thread(thread_id)
            .await?
            .ok_or_else(|| HubError::Db(DbErr::RecordNotFound(thread_id.to_owned())))
    }

    /// A thread, if it exists.
    pub async fn get_thread(&self, thread_id: &str) -> Result<Option<ThreadRecord>, HubError> {
        Ok(thread::Entity::find_by_id(thread_id.to_owned())
            .one(&self.db)
            .await?
            .map(thread_record))
    }

    /// Every thread, most recently updated first.
    pub async fn list_threads(&self) -> Result<Vec<ThreadRecord>, HubError> {
        Ok(thread::Entity::find()
            .order_by_desc(thread::Column::UpdatedAt)
            .order_by_desc(thread::Column::ThreadId)
            .all(&self.db)
            .await?
            .into_iter()
            .map(thread_record)
            .collect())
    }

    /// Merges `patch` into a thread's metadata; None when the thread does not exist.
    pub async fn merge_thread_metadata(
        &self,
        thread_id: &str,
        patch: &Value,
    ) -> Result<Option<ThreadRecord>, HubError> {
        let txn = self.db.begin().await?;
        let Some(row) = thread::Entity::find_by_id(thread_id.to_owned())
            .one(&txn)
            .await?
        else {
            return Ok(None);
        };
        let mut metadata = row.metadata.clone();
        merge_metadata(&mut metadata, patch);
        let mut active: thread::ActiveModel = row.into();
        active.metadata = Set(metadata);
        active.updated_at = Set(now());
        let saved = active.update(&txn).await?;
        txn.commit().await?;
        Ok(Some(thread_record(saved)))
    }

    /// Sets a thread's status (and its error, cleared unless given).
    pub async fn set_thread_status(
        &self,
        thread_id: &str,
        status: &str,
        error: Option<Value>,
        state_changed: bool,
    ) -> Result<(), HubError> {
        let t = now();
        let mut update = thread::Entity::update_many()
            .col_expr(thread::Column::Status, Expr::value(status.to_owned()))
            .col_expr(thread::Column::Error, Expr::value(error))
            .col_expr(thread::Column::UpdatedAt, Expr::value(t));
        if state_changed {
            update = update.col_expr(thread::Column::StateUpdatedAt, Expr::value(t));
        }
        update
            .filter(thread::Column::ThreadId.eq(thread_id))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Forgets a thread with its runs and their events (not its checkpoints).
    pub async fn delete_thread(&self, thread_id: &str) -> Result<bool, HubError> {
        let txn = self.db.begin().await?;
        let runs: Vec<String> = run::Entity::find()
            .select_only()
            .column(run::Column::RunId)
            .filter(run::Column::ThreadId.eq(thread_id))
            .into_tuple()
            .all(&txn)
            .await?;
        if !runs.is_empty() {
            run_event::Entity::delete_many()
                .filter(run_event::Column::RunId.is_in(runs))
                .exec(&txn)
                .await?;
        }
        run::Entity::delete_many()
            .filter(run::Column::ThreadId.eq(thread_id))
            .exec(&txn)
            .await?;
        let deleted = thread::Entity::delete_by_id(thread_id.to_owned())
            .exec(&txn)
            .await?
            .rows_affected
            > 0;
        txn.commit().await?;
        Ok(deleted)
    }

    /// Records a new run.
    pub async fn create_run(&self, r: &RunRecord) -> Result<(), HubError> {
        let row = run::ActiveModel {
            run_id: Set(r.run_id.clone()),
            thread_id: Set(r.thread_id.clone()),
            assistant_id: Set(r.assistant_id.clone()),
            status: Set(r.status.clone()),
            multitask_strategy: Set(r.multitask_strategy.clone()),
            metadata: Set(r.metadata.clone()),
            kwargs: Set(r.kwargs.clone()),
            error: Set(r.error.clone()),
            created_at: Set(r.created_at),
            updated_at: Set(r.updated_at),
        };
        run::Entity::insert(row)
            .exec_without_returning(&self.db)
            .await?;
        Ok(())
    }

    /// A run of a thread, if it exists.
    pub async fn get_run(
        &self,
        thread_id: &str,
        run_id: &str,
    ) -> Result<Option<RunRecord>, HubError> {
        Ok(run::Entity::find_by_id(run_id.to_owned())
            .filter(run::Column::ThreadId.eq(thread_id))
            .one(&self.db)
            .await?
            .map(run_record))
    }

    /// A run, whatever its thread.
    pub async fn find_run(&self, run_id: &str) -> Result<Option<RunRecord>, HubError> {
        Ok(run::Entity::find_by_id(run_id.to_owned())
            .one(&self.db)
            .await?
            .map(run_record))
    }

    /// A thread's runs, newest first.
    pub async fn list_runs(
        &self,
        thread_id: &str,
        status: Option<&str>,
        limit: u64,
        offset: u64,
    ) -> Result<Vec<RunRecord>, HubError> {
        let mut q = run::Entity::find().filter(run::Column::ThreadId.eq(thread_id));
        if let Some(s) = status {
            q = q.filter(run::Column::Status.eq(s));
        }
        Ok(q.order_by_desc(run::Column::CreatedAt)
            .order_by_desc(run::Column::RunId)
            .limit(limit)
            .offset(offset)
            .all(&self.db)
            .await?
            .into_iter()
            .map(run_record)
            .collect())
    }

    /// Sets a run's status (and error).
    pub async fn set_run_status(
        &self,
        run_id: &str,
        status: &str,
        error: Option<String>,
    ) -> Result<(), HubError> {
        run::Entity::update_many()
            .col_expr(run::Column::Status, Expr::value(status.to_owned()))
            .col_expr(run::Column::Error, Expr::value(error))
            .col_expr(run::Column::UpdatedAt, Expr::value(now()))
            .filter(run::Column::RunId.eq(run_id))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Forgets a run and its events.
    pub async fn delete_run(&self, run_id: &str) -> Result<bool, HubError> {
        let txn = self.db.begin().await?;
        run_event::Entity::delete_many()
            .filter(run_event::Column::RunId.eq(run_id))
            .exec(&txn)
            .await?;
        let n = run::Entity::delete_by_id(run_id.to_owned())
            .exec(&txn)
            .await?
            .rows_affected;
        txn.commit().await?;
        Ok(n > 0)
    }

    /// Stores stream events of a run.
    pub async fn append_events(
        &self,
        run_id: &str,
        events: &[EventRecord],
    ) -> Result<(), HubError> {
        if events.is_empty() {
            return Ok(());
        }
        let t = Utc::now();
        let rows = events.iter().map(|e| run_event::ActiveModel {
            run_id: Set(run_id.to_owned()),
            seq: Set(e.seq),
            event: Set(e.event.clone()),
            data: Set(e.data.clone()),
            created_at: Set(t),
        });
        run_event::Entity::insert_many(rows)
            .exec_without_returning(&self.db)
            .await?;
        Ok(())
    }

    /// The stored events of a run after position `after` (all with None), in order.
    pub async fn events_after(
        &self,
        run_id: &str,
        after: Option<i64>,
    ) -> Result<Vec<EventRecord>, HubError> {
        let mut q = run_event::Entity::find().filter(run_event::Column::RunId.eq(run_id));
        if let Some(a) = after {
            q = q.filter(run_event::Column::Seq.gt(a));
        }
        Ok(q.order_by_asc(run_event::Column::Seq)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|m| EventRecord {
                seq: m.seq,
                event: m.event,
                data: m.data,
            })
            .collect())
    }

    /// Marks runs left `pending` or `running` by a previous process as failed and
    /// returns their threads (whose status the caller recomputes).
    pub async fn fail_unfinished_runs(&self, reason: &str) -> Result<Vec<String>, HubError> {
        let stale = run::Entity::find()
            .filter(run::Column::Status.is_in(["pending", "running"]))
            .all(&self.db)
            .await?;
        let mut threads: Vec<String> = stale.iter().map(|r| r.thread_id.clone()).collect();
        threads.sort();
        threads.dedup();
        if !stale.is_empty() {
            run::Entity::update_many()
                .col_expr(run::Column::Status, Expr::value("error"))
                .col_expr(run::Column::Error, Expr::value(reason.to_owned()))
                .col_expr(run::Column::UpdatedAt, Expr::value(now()))
                .filter(run::Column::Status.is_in(["pending", "running"]))
                .exec(&self.db)
                .await?;
        }
        Ok(threads)
    }
}
