//! Run state in the database: the runtime's [`Checkpointer`] and [`Store`] over SeaORM.
//!
//! A checkpoint row holds a step's metadata and small control state; its channel changes
//! (new messages) are rows of `checkpoint_write`. Each step therefore writes only what it
//! added, and a thread's state is rebuilt by replaying the writes along its branch.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::Utc;
use fustat_runtime::checkpoint::{
    ChannelOp, ChannelWrite, CheckpointDelta, CheckpointError, CheckpointMap, CheckpointMeta,
    CheckpointSource, Checkpointer, HistoryQuery, PendingMap, PendingWrite, ThreadState,
    branch_ids, rebuild_states,
};
use fustat_runtime::message::Message;
use fustat_runtime::store::{
    NamespaceQuery, Store, StoreError, StoreItem, StoreSearch, finish_namespaces, finish_search,
    validate_namespace,
};
use sea_orm::sea_query::{ExprTrait, OnConflict};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, TransactionTrait,
};
use serde_json::Value;

use crate::entities::{checkpoint, checkpoint_write, pending_write, store_item};

fn storage(e: DbErr) -> CheckpointError {
    if matches!(e, DbErr::ConnectionAcquire(_) | DbErr::Conn(_)) {
        CheckpointError::Unavailable(e.to_string())
    } else {
        CheckpointError::Storage(e.to_string())
    }
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> CheckpointError {
    CheckpointError::Storage(format!("stored {what} is invalid: {e}"))
}

fn source_from(s: &str) -> CheckpointSource {
    match s {
        "input" => CheckpointSource::Input,
        "update" => CheckpointSource::Update,
        "fork" => CheckpointSource::Fork,
        _ => CheckpointSource::Loop,
    }
}

/// Checkpoints in the database.
#[derive(Debug, Clone)]
pub struct DbCheckpointer {
    db: DatabaseConnection,
}

impl DbCheckpointer {
    /// A checkpointer over `db` (migrated).
    pub fn new(db: DatabaseConnection) -> Self {
        DbCheckpointer { db }
    }

    /// Every checkpoint, write and pending write of a thread.
    async fn load_thread<C: ConnectionTrait>(
        db: &C,
        thread_id: &str,
    ) -> Result<(CheckpointMap, PendingMap), CheckpointError> {
        let rows = checkpoint::Entity::find()
            .filter(checkpoint::Column::ThreadId.eq(thread_id))
            .all(db)
            .await
            .map_err(storage)?;
        if rows.is_empty() {
            return Ok((HashMap::new(), HashMap::new()));
        }
        let writes = checkpoint_write::Entity::find()
            .filter(checkpoint_write::Column::ThreadId.eq(thread_id))
            .order_by_asc(checkpoint_write::Column::CheckpointId)
            .order_by_asc(checkpoint_write::Column::Seq)
            .all(db)
            .await
            .map_err(storage)?;
        let pending_rows = pending_write::Entity::find()
            .filter(pending_write::Column::ThreadId.eq(thread_id))
            .order_by_asc(pending_write::Column::CreatedAt)
            .all(db)
            .await
            .map_err(storage)?;

        let mut by_cp: HashMap<String, Vec<ChannelWrite>> = HashMap::new();
        for w in writes {
            let op = match w.op.as_str() {
                "append" => {
                    let message: Message = serde_json::from_value(w.message.unwrap_or(Value::Null))
                        .map_err(|e| corrupt("message", e))?;
                    ChannelOp::Append { message }
                }
                "remove" => ChannelOp::Remove {
                    message_id: w.message_id.unwrap_or_default(),
                },
                _ => ChannelOp::Clear,
            };
            by_cp
                .entry(w.checkpoint_id)
                .or_default()
                .push(ChannelWrite {
                    channel: w.channel,
                    op,
                });
        }
        let mut map = HashMap::with_capacity(rows.len());
        for r in rows {
            let values = match r.state_values {
                Value::Object(m) => m,
                _ => Default::default(),
            };
            let meta = CheckpointMeta {
                thread_id: r.thread_id,
                checkpoint_id: r.checkpoint_id.clone(),
                parent_id: r.parent_id,
                run_id: r.run_id,
                step: r.step,
                source: source_from(&r.source),
                node: r.node,
                created_at: r.created_at,
                metadata: r.metadata,
            };
            let delta = CheckpointDelta {
                writes: by_cp.remove(&r.checkpoint_id).unwrap_or_default(),
                values,
            };
            map.insert(r.checkpoint_id, (meta, delta));
        }
        let mut pending: PendingMap = HashMap::new();
        for p in pending_rows {
            let message: Message =
                serde_json::from_value(p.message).map_err(|e| corrupt("tool result", e))?;
            pending
                .entry(p.checkpoint_id)
                .or_default()
                .push(PendingWrite {
                    task_id: p.task_id,
                    channel: p.channel,
                    message,
                });
        }
        Ok((map, pending))
    }

    fn head(map: &CheckpointMap) -> Option<String> {
        map.keys().max().cloned()
    }
}

fn write_rows(
    meta: &CheckpointMeta,
    writes: &[ChannelWrite],
) -> Result<Vec<checkpoint_write::ActiveModel>, CheckpointError> {
    writes
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let (op, message_id, message) = match &w.op {
                ChannelOp::Append { message } => (
                    "append",
                    Some(message.id.clone()),
                    Some(serde_json::to_value(message).map_err(|e| corrupt("message", e))?),
                ),
                ChannelOp::Remove { message_id } => ("remove", Some(message_id.clone()), None),
                ChannelOp::Clear => ("clear", None, None),
            };
            Ok(checkpoint_write::ActiveModel {
                thread_id: Set(meta.thread_id.clone()),
                checkpoint_id: Set(meta.checkpoint_id.clone()),
                seq: Set(i32::try_from(i).unwrap_or(i32::MAX)),
                channel: Set(w.channel.clone()),
                op: Set(op.to_owned()),
                message_id: Set(message_id),
                message: Set(message),
            })
        })
        .collect()
}

fn checkpoint_row(meta: &CheckpointMeta, values: Value) -> checkpoint::ActiveModel {
    checkpoint::ActiveModel {
        thread_id: Set(meta.thread_id.clone()),
        checkpoint_id: Set(meta.checkpoint_id.clone()),
        parent_id: Set(meta.parent_id.clone()),
        run_id: Set(meta.run_id.clone()),
        step: Set(meta.step),
        source: Set(meta.source.as_str().to_owned()),
        node: Set(meta.node.clone()),
        state_values: Set(values),
        metadata: Set(meta.metadata.clone()),
        created_at: Set(meta.created_at),
    }
}

async fn insert_checkpoint<C: ConnectionTrait>(
    db: &C,
    meta: &CheckpointMeta,
    delta: &CheckpointDelta,
) -> Result<(), CheckpointError> {
    checkpoint::Entity::insert(checkpoint_row(meta, Value::Object(delta.values.clone())))
        .exec_without_returning(db)
        .await
        .map_err(storage)?;
    let rows = write_rows(meta, &delta.writes)?;
    // Keep each statement well under the backends' bound-parameter limits.
    for chunk in rows.chunks(500) {
        checkpoint_write::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(db)
            .await
            .map_err(storage)?;
    }
    Ok(())
}

#[async_trait]
impl Checkpointer for DbCheckpointer {
    async fn put(
        &self,
        meta: CheckpointMeta,
        delta: CheckpointDelta,
    ) -> Result<(), CheckpointError> {
        let txn = self.db.begin().await.map_err(storage)?;
        if let Some(parent) = &meta.parent_id {
            let exists = checkpoint::Entity::find()
                .select_only()
                .column(checkpoint::Column::CheckpointId)
                .filter(checkpoint::Column::ThreadId.eq(meta.thread_id.as_str()))
                .filter(checkpoint::Column::CheckpointId.eq(parent.as_str()))
                .into_tuple::<String>()
                .one(&txn)
                .await
                .map_err(storage)?;
            if exists.is_none() {
                return Err(CheckpointError::NotFound(parent.clone()));
            }
        }
        insert_checkpoint(&txn, &meta, &delta).await?;
        txn.commit().await.map_err(storage)
    }

    async fn put_pending_write(
        &self,
        thread_id: &str,
        checkpoint_id: &str,
        write: PendingWrite,
    ) -> Result<(), CheckpointError> {
        let message =
            serde_json::to_value(&write.message).map_err(|e| corrupt("tool result", e))?;
        let row = pending_write::ActiveModel {
            thread_id: Set(thread_id.to_owned()),
            checkpoint_id: Set(checkpoint_id.to_owned()),
            task_id: Set(write.task_id),
            channel: Set(write.channel),
            message: Set(message),
            created_at: Set(Utc::now()),
        };
        let result = pending_write::Entity::insert(row)
            .on_conflict(
                OnConflict::columns([
                    pending_write::Column::ThreadId,
                    pending_write::Column::CheckpointId,
                    pending_write::Column::TaskId,
                ])
                .do_nothing()
                .to_owned(),
            )
            .exec_without_returning(&self.db)
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e)
                if matches!(
                    e.sql_err(),
                    Some(sea_orm::SqlErr::ForeignKeyConstraintViolation(_))
                ) =>
            {
                Err(CheckpointError::NotFound(checkpoint_id.to_owned()))
            }
            Err(e) => Err(storage(e)),
        }
    }

    async fn get(
        &self,
        thread_id: &str,
        checkpoint_id: Option<&str>,
    ) -> Result<Option<ThreadState>, CheckpointError> {
        let (map, pending) = Self::load_thread(&self.db, thread_id).await?;
        let target = match checkpoint_id {
            Some(id) if map.contains_key(id) => id.to_owned(),
            Some(_) => return Ok(None),
            None => match Self::head(&map) {
                Some(h) => h,
                None => return Ok(None),
            },
        };
        Ok(rebuild_states(&map, &pending, &[target])?.pop())
    }

    async fn history(
        &self,
        thread_id: &str,
        query: HistoryQuery,
    ) -> Result<Vec<ThreadState>, CheckpointError> {
        let (map, pending) = Self::load_thread(&self.db, thread_id).await?;
        let head = match query.from.clone().or_else(|| Self::head(&map)) {
            Some(h) if map.contains_key(&h) => h,
            _ => return Ok(Vec::new()),
        };
        let ids: Vec<String> = branch_ids(&map, &head)
            .into_iter()
            .filter(|id| query.before.as_ref().is_none_or(|b| id < b))
            .take(if query.limit == 0 {
                usize::MAX
            } else {
                query.limit
            })
            .collect();
        rebuild_states(&map, &pending, &ids)
    }

    async fn delete_thread(&self, thread_id: &str) -> Result<(), CheckpointError> {
        let txn = self.db.begin().await.map_err(storage)?;
        pending_write::Entity::delete_many()
            .filter(pending_write::Column::ThreadId.eq(thread_id))
            .exec(&txn)
            .await
            .map_err(storage)?;
        checkpoint_write::Entity::delete_many()
            .filter(checkpoint_write::Column::ThreadId.eq(thread_id))
            .exec(&txn)
            .await
            .map_err(storage)?;
        checkpoint::Entity::delete_many()
            .filter(checkpoint::Column::ThreadId.eq(thread_id))
            .exec(&txn)
            .await
            .map_err(storage)?;
        txn.commit().await.map_err(storage)
    }

    async fn delete_run(&self, thread_id: &str, run_id: &str) -> Result<(), CheckpointError> {
        let txn = self.db.begin().await.map_err(storage)?;
        let ids: Vec<String> = checkpoint::Entity::find()
            .select_only()
            .column(checkpoint::Column::CheckpointId)
            .filter(checkpoint::Column::ThreadId.eq(thread_id))
            .filter(checkpoint::Column::RunId.eq(run_id))
            .into_tuple::<String>()
            .all(&txn)
            .await
            .map_err(storage)?;
        for chunk in ids.chunks(500) {
            let cond = Condition::all()
                .add(pending_write::Column::ThreadId.eq(thread_id))
                .add(pending_write::Column::CheckpointId.is_in(chunk.to_vec()));
            pending_write::Entity::delete_many()
                .filter(cond)
                .exec(&txn)
                .await
                .map_err(storage)?;
            checkpoint_write::Entity::delete_many()
                .filter(checkpoint_write::Column::ThreadId.eq(thread_id))
                .filter(checkpoint_write::Column::CheckpointId.is_in(chunk.to_vec()))
                .exec(&txn)
                .await
                .map_err(storage)?;
            checkpoint::Entity::delete_many()
                .filter(checkpoint::Column::ThreadId.eq(thread_id))
                .filter(checkpoint::Column::CheckpointId.is_in(chunk.to_vec()))
                .exec(&txn)
                .await
                .map_err(storage)?;
        }
        txn.commit().await.map_err(storage)
    }

    async fn copy_thread(&self, from: &str, to: &str) -> Result<(), CheckpointError> {
        let txn = self.db.begin().await.map_err(storage)?;
        let (map, pending) = Self::load_thread(&txn, from).await?;
        if map.is_empty() {
            return Err(CheckpointError::NotFound(from.to_owned()));
        }
        // Parents first, so a checkpoint never precedes the one it follows.
        let mut ids: Vec<&String> = map.keys().collect();
        ids.sort();
        for id in ids {
            if let Some((meta, delta)) = map.get(id) {
                let mut meta = meta.clone();
                meta.thread_id = to.to_owned();
                insert_checkpoint(&txn, &meta, delta).await?;
            }
        }
        for (cp, writes) in pending {
            for w in writes {
                let message =
                    serde_json::to_value(&w.message).map_err(|e| corrupt("tool result", e))?;
                pending_write::Entity::insert(pending_write::ActiveModel {
                    thread_id: Set(to.to_owned()),
                    checkpoint_id: Set(cp.clone()),
                    task_id: Set(w.task_id),
                    channel: Set(w.channel),
                    message: Set(message),
                    created_at: Set(Utc::now()),
                })
                .exec_without_returning(&txn)
                .await
                .map_err(storage)?;
            }
        }
        txn.commit().await.map_err(storage)
    }
}

/// Long-term memory in the database.
#[derive(Debug, Clone)]
pub struct DbStore {
    db: DatabaseConnection,
}

impl DbStore {
    /// A store over `db` (migrated).
    pub fn new(db: DatabaseConnection) -> Self {
        DbStore { db }
    }
}

fn store_err(e: DbErr) -> StoreError {
    StoreError::Storage(e.to_string())
}

fn join(namespace: &[String]) -> String {
    namespace.join(".")
}

fn split(namespace: &str) -> Vec<String> {
    namespace.split('.').map(str::to_owned).collect()
}

fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

fn item(row: store_item::Model) -> StoreItem {
    StoreItem {
        namespace: split(&row.namespace),
        key: row.item_key,
        value: row.value,
        created_at: row.created_at,
        updated_at: row.updated_at,
        score: None,
    }
}

#[async_trait]
impl Store for DbStore {
    async fn put(&self, namespace: &[String], key: &str, value: Value) -> Result<(), StoreError> {
        validate_namespace(namespace)?;
        let now = Utc::now();
        let row = store_item::ActiveModel {
            namespace: Set(join(namespace)),
            item_key: Set(key.to_owned()),
            value: Set(value),
            created_at: Set(now),
            updated_at: Set(now),
        };
        store_item::Entity::insert(row)
            .on_conflict(
                OnConflict::columns([store_item::Column::Namespace, store_item::Column::ItemKey])
                    .update_columns([store_item::Column::Value, store_item::Column::UpdatedAt])
                    .to_owned(),
            )
            .exec_without_returning(&self.db)
            .await
            .map_err(store_err)?;
        Ok(())
    }

    async fn get(&self, namespace: &[String], key: &str) -> Result<Option<StoreItem>, StoreError> {
        Ok(
            store_item::Entity::find_by_id((join(namespace), key.to_owned()))
                .one(&self.db)
                .await
                .map_err(store_err)?
                .map(item),
        )
    }

    async fn delete(&self, namespace: &[String], key: &str) -> Result<(), StoreError> {
        store_item::Entity::delete_by_id((join(namespace), key.to_owned()))
            .exec(&self.db)
            .await
            .map_err(store_err)?;
        Ok(())
    }

    async fn search(&self, search: StoreSearch) -> Result<Vec<StoreItem>, StoreError> {
        let mut q = store_item::Entity::find();
        if !search.namespace_prefix.is_empty() {
            let prefix = join(&search.namespace_prefix);
            q = q.filter(
                Condition::any()
                    .add(store_item::Column::Namespace.eq(prefix.as_str()))
                    .add(
                        sea_orm::sea_query::Expr::col(store_item::Column::Namespace).like(
                            sea_orm::sea_query::LikeExpr::new(format!(
                                "{}.%",
                                escape_like(&prefix)
                            ))
                            .escape('\\'),
                        ),
                    ),
            );
        }
        let rows = q.all(&self.db).await.map_err(store_err)?;
        Ok(finish_search(rows.into_iter().map(item).collect(), &search))
    }

    async fn list_namespaces(&self, query: NamespaceQuery) -> Result<Vec<Vec<String>>, StoreError> {
        let all: Vec<String> = store_item::Entity::find()
            .select_only()
            .column(store_item::Column::Namespace)
            .distinct()
            .into_tuple::<String>()
            .all(&self.db)
            .await
            .map_err(store_err)?;
        Ok(finish_namespaces(
            all.iter().map(|n| split(n)).collect(),
            &query,
        ))
    }
}
