//! Durable run state: checkpoints written after every step as small deltas.
//!
//! A thread (conversation) is a tree of checkpoints. Each checkpoint records only what
//! its step changed: messages appended to (or removed from) named channels, plus a small
//! snapshot of control state (`values`: which agent is active, pending interrupts, …).
//! The state at a checkpoint is its ancestors' writes replayed in order, so storage grows
//! with new content, never with the whole history at every step. Forking (editing or
//! regenerating an earlier turn) is writing a checkpoint whose parent is not the head; the
//! original branch stays.
//!
//! Tool results are recorded as *pending writes* against the checkpoint they belong to as
//! soon as each call completes, so a run resumed after a crash never calls a finished tool
//! again.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio::sync::RwLock;

use crate::message::Message;

/// The channel holding the main conversation.
pub const MAIN_CHANNEL: &str = "messages";

/// Why a checkpoint was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum CheckpointSource {
    /// The input of a run was applied.
    Input,
    /// A step of a run completed.
    #[default]
    Loop,
    /// The state was edited from outside a run.
    Update,
    /// A copy of another checkpoint.
    Fork,
}

impl CheckpointSource {
    /// The lowercase name (`input`, `loop`, `update`, `fork`).
    pub fn as_str(&self) -> &'static str {
        match self {
            CheckpointSource::Input => "input",
            CheckpointSource::Loop => "loop",
            CheckpointSource::Update => "update",
            CheckpointSource::Fork => "fork",
        }
    }
}

/// A checkpoint's identity and metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointMeta {
    /// The thread it belongs to.
    pub thread_id: String,
    /// Its id: sorts lexicographically in creation order.
    pub checkpoint_id: String,
    /// The checkpoint it follows, if any.
    pub parent_id: Option<String>,
    /// The run that wrote it, if any.
    pub run_id: Option<String>,
    /// The step number within the thread (-1 for the input checkpoint of a new thread).
    pub step: i64,
    /// Why it was written.
    pub source: CheckpointSource,
    /// The node whose step it records (an agent's name, `tools`, `__input__`).
    pub node: Option<String>,
    /// When it was written.
    pub created_at: DateTime<Utc>,
    /// Free-form metadata (run metadata, assistant id, …).
    pub metadata: Value,
}

/// A new, time-ordered checkpoint id.
pub fn new_checkpoint_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// One change to a channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum ChannelOp {
    /// Append a message.
    Append {
        /// The message.
        message: Message,
    },
    /// Remove the message with this id.
    Remove {
        /// The id to remove.
        message_id: String,
    },
    /// Remove every message.
    Clear,
}

/// A change to a named channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelWrite {
    /// The channel ([`MAIN_CHANNEL`] for the conversation).
    pub channel: String,
    /// The change.
    pub op: ChannelOp,
}

impl ChannelWrite {
    /// Append `message` to `channel`.
    pub fn append(channel: impl Into<String>, message: Message) -> Self {
        ChannelWrite {
            channel: channel.into(),
            op: ChannelOp::Append { message },
        }
    }
}

/// What a step changed.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CheckpointDelta {
    /// Channel changes, in order.
    pub writes: Vec<ChannelWrite>,
    /// The control state after the step (small; replaces the parent's values).
    pub values: Map<String, Value>,
}

/// A tool result recorded against a checkpoint before the step that produced it finished.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingWrite {
    /// The task (tool call id) that produced it.
    pub task_id: String,
    /// The channel the message will go to.
    pub channel: String,
    /// The message.
    pub message: Message,
}

/// The state of a thread at one checkpoint.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ThreadState {
    /// The checkpoint (None only for an empty thread built in memory).
    pub checkpoint: Option<CheckpointMeta>,
    /// Every channel's messages.
    pub channels: BTreeMap<String, Vec<Message>>,
    /// The control state.
    pub values: Map<String, Value>,
    /// Tool results recorded against this checkpoint by an unfinished step.
    pub pending_writes: Vec<PendingWrite>,
}

impl ThreadState {
    /// The main conversation.
    pub fn messages(&self) -> &[Message] {
        self.channels
            .get(MAIN_CHANNEL)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// The messages of `channel`.
    pub fn channel(&self, channel: &str) -> &[Message] {
        self.channels.get(channel).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Applies a delta (used to rebuild state from stored deltas).
    pub fn apply(&mut self, delta: &CheckpointDelta) {
        for w in &delta.writes {
            apply_write(&mut self.channels, w);
        }
        self.values = delta.values.clone();
    }
}

fn apply_write(channels: &mut BTreeMap<String, Vec<Message>>, w: &ChannelWrite) {
    let list = channels.entry(w.channel.clone()).or_default();
    match &w.op {
        ChannelOp::Append { message } => {
            // A message with an id already present replaces it (an edit), as LangGraph's
            // add_messages reducer does.
            if let Some(existing) = list.iter_mut().find(|m| m.id == message.id) {
                *existing = message.clone();
            } else {
                list.push(message.clone());
            }
        }
        ChannelOp::Remove { message_id } => list.retain(|m| &m.id != message_id),
        ChannelOp::Clear => list.clear(),
    }
}

/// Which checkpoints [`Checkpointer::history`] returns.
#[derive(Debug, Clone, Default)]
pub struct HistoryQuery {
    /// At most this many (newest first).
    pub limit: usize,
    /// Only checkpoints older than this one.
    pub before: Option<String>,
    /// Only checkpoints on the branch ending at this checkpoint (default: the head).
    pub from: Option<String>,
}

/// Why a checkpointer failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// The parent or checkpoint does not exist.
    #[error("checkpoint not found: {0}")]
    NotFound(String),
    /// The storage failed.
    #[error("checkpoint storage failed: {0}")]
    Storage(String),
    /// The storage cannot be reached right now (no free connection, connection lost);
    /// trying again later may work.
    #[error("checkpoint storage is unavailable: {0}")]
    Unavailable(String),
}

/// Stores checkpoints. Implementations must make [`Checkpointer::put`] atomic: either the
/// checkpoint and all its writes are stored, or nothing is.
#[async_trait]
pub trait Checkpointer: Send + Sync {
    /// Stores a checkpoint and what its step changed.
    async fn put(
        &self,
        meta: CheckpointMeta,
        delta: CheckpointDelta,
    ) -> Result<(), CheckpointError>;

    /// Records a finished tool call against `checkpoint_id` (the checkpoint its step
    /// started from). Writing the same `task_id` twice keeps the first.
    async fn put_pending_write(
        &self,
        thread_id: &str,
        checkpoint_id: &str,
        write: PendingWrite,
    ) -> Result<(), CheckpointError>;

    /// The state at `checkpoint_id`, or at the thread's newest checkpoint when None.
    /// Ok(None) when the thread (or checkpoint) does not exist.
    async fn get(
        &self,
        thread_id: &str,
        checkpoint_id: Option<&str>,
    ) -> Result<Option<ThreadState>, CheckpointError>;

    /// States along one branch, newest first.
    async fn history(
        &self,
        thread_id: &str,
        query: HistoryQuery,
    ) -> Result<Vec<ThreadState>, CheckpointError>;

    /// Forgets a thread.
    async fn delete_thread(&self, thread_id: &str) -> Result<(), CheckpointError>;

    /// Forgets every checkpoint a run wrote (a rollback).
    async fn delete_run(&self, thread_id: &str, run_id: &str) -> Result<(), CheckpointError>;

    /// Copies every checkpoint of `from` into the empty thread `to`.
    async fn copy_thread(&self, from: &str, to: &str) -> Result<(), CheckpointError>;
}

/// Shared checkpointer.
pub type DynCheckpointer = Arc<dyn Checkpointer>;

#[derive(Debug, Clone)]
struct StoredCheckpoint {
    meta: CheckpointMeta,
    delta: CheckpointDelta,
    pending: Vec<PendingWrite>,
}

/// A thread's checkpoints by id.
pub type CheckpointMap = HashMap<String, (CheckpointMeta, CheckpointDelta)>;

/// A thread's pending writes by checkpoint id.
pub type PendingMap = HashMap<String, Vec<PendingWrite>>;

/// Rebuilds states from a thread's stored checkpoints (shared by storage backends).
///
/// `checkpoints` maps checkpoint id to (meta, delta); the returned states are for
/// `targets`, each rebuilt by replaying its ancestors.
pub fn rebuild_states(
    checkpoints: &CheckpointMap,
    pending: &PendingMap,
    targets: &[String],
) -> Result<Vec<ThreadState>, CheckpointError> {
    let mut out = Vec::with_capacity(targets.len());
    for target in targets {
        let mut chain = Vec::new();
        let mut cur = Some(target.clone());
        while let Some(id) = cur {
            let (meta, _) = checkpoints
                .get(&id)
                .ok_or_else(|| CheckpointError::NotFound(id.clone()))?;
            cur = meta.parent_id.clone();
            chain.push(id);
            if chain.len() > checkpoints.len() {
                return Err(CheckpointError::Storage(
                    "checkpoint parents form a cycle".into(),
                ));
            }
        }
        let mut state = ThreadState::default();
        for id in chain.iter().rev() {
            if let Some((_, delta)) = checkpoints.get(id) {
                state.apply(delta);
            }
        }
        state.checkpoint = checkpoints.get(target).map(|(m, _)| m.clone());
        state.pending_writes = pending.get(target).cloned().unwrap_or_default();
        out.push(state);
    }
    Ok(out)
}

/// The ids along the branch ending at `head`, newest first.
pub fn branch_ids(checkpoints: &CheckpointMap, head: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cur = Some(head.to_owned());
    while let Some(id) = cur {
        match checkpoints.get(&id) {
            Some((meta, _)) if ids.len() <= checkpoints.len() => {
                cur = meta.parent_id.clone();
                ids.push(id);
            }
            _ => break,
        }
    }
    ids
}

/// Keeps checkpoints in process memory (for embedding, tests and benchmarks).
#[derive(Debug, Default, Clone)]
pub struct MemoryCheckpointer {
    threads: Arc<RwLock<HashMap<String, BTreeMap<String, StoredCheckpoint>>>>,
}

impl MemoryCheckpointer {
    /// An empty checkpointer.
    pub fn new() -> Self {
        Self::default()
    }

    fn thread_maps(thread: &BTreeMap<String, StoredCheckpoint>) -> (CheckpointMap, PendingMap) {
        let cps = thread
            .iter()
            .map(|(k, v)| (k.clone(), (v.meta.clone(), v.delta.clone())))
            .collect();
        let pending = thread
            .iter()
            .map(|(k, v)| (k.clone(), v.pending.clone()))
            .collect();
        (cps, pending)
    }
}

#[async_trait]
impl Checkpointer for MemoryCheckpointer {
    async fn put(
        &self,
        meta: CheckpointMeta,
        delta: CheckpointDelta,
    ) -> Result<(), CheckpointError> {
        let mut threads = self.threads.write().await;
        let thread = threads.entry(meta.thread_id.clone()).or_default();
        if let Some(parent) = &meta.parent_id
            && !thread.contains_key(parent)
        {
            return Err(CheckpointError::NotFound(parent.clone()));
        }
        thread.insert(
            meta.checkpoint_id.clone(),
            StoredCheckpoint {
                meta,
                delta,
                pending: Vec::new(),
            },
        );
        Ok(())
    }

    async fn put_pending_write(
        &self,
        thread_id: &str,
        checkpoint_id: &str,
        write: PendingWrite,
    ) -> Result<(), CheckpointError> {
        let mut threads = self.threads.write().await;
        let cp = threads
            .get_mut(thread_id)
            .and_then(|t| t.get_mut(checkpoint_id))
            .ok_or_else(|| CheckpointError::NotFound(checkpoint_id.to_owned()))?;
        if !cp.pending.iter().any(|w| w.task_id == write.task_id) {
            cp.pending.push(write);
        }
        Ok(())
    }

    async fn get(
        &self,
        thread_id: &str,
        checkpoint_id: Option<&str>,
    ) -> Result<Option<ThreadState>, CheckpointError> {
        let threads = self.threads.read().await;
        let Some(thread) = threads.get(thread_id) else {
            return Ok(None);
        };
        let target = match checkpoint_id {
            Some(id) if thread.contains_key(id) => id.to_owned(),
            Some(_) => return Ok(None),
            None => match thread.keys().next_back() {
                Some(k) => k.clone(),
                None => return Ok(None),
            },
        };
        let (cps, pending) = Self::thread_maps(thread);
        Ok(rebuild_states(&cps, &pending, &[target])?.pop())
    }

    async fn history(
        &self,
        thread_id: &str,
        query: HistoryQuery,
    ) -> Result<Vec<ThreadState>, CheckpointError> {
        let threads = self.threads.read().await;
        let Some(thread) = threads.get(thread_id) else {
            return Ok(Vec::new());
        };
        let head = match &query.from {
            Some(id) => id.clone(),
            None => match thread.keys().next_back() {
                Some(k) => k.clone(),
                None => return Ok(Vec::new()),
            },
        };
        let (cps, pending) = Self::thread_maps(thread);
        let ids: Vec<String> = branch_ids(&cps, &head)
            .into_iter()
            .filter(|id| query.before.as_ref().is_none_or(|b| id < b))
            .take(if query.limit == 0 {
                usize::MAX
            } else {
                query.limit
            })
            .collect();
        rebuild_states(&cps, &pending, &ids)
    }

    async fn delete_thread(&self, thread_id: &str) -> Result<(), CheckpointError> {
        self.threads.write().await.remove(thread_id);
        Ok(())
    }

    async fn delete_run(&self, thread_id: &str, run_id: &str) -> Result<(), CheckpointError> {
        if let Some(thread) = self.threads.write().await.get_mut(thread_id) {
            thread.retain(|_, cp| cp.meta.run_id.as_deref() != Some(run_id));
        }
        Ok(())
    }

    async fn copy_thread(&self, from: &str, to: &str) -> Result<(), CheckpointError> {
        let mut threads = self.threads.write().await;
        let Some(src) = threads.get(from).cloned() else {
            return Err(CheckpointError::NotFound(from.to_owned()));
        };
        let copy = src
            .into_iter()
            .map(|(k, mut v)| {
                v.meta.thread_id = to.to_owned();
                (k, v)
            })
            .collect();
        threads.insert(to.to_owned(), copy);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(thread: &str, id: &str, parent: Option<&str>) -> CheckpointMeta {
        CheckpointMeta {
            thread_id: thread.into(),
            checkpoint_id: id.into(),
            parent_id: parent.map(Into::into),
            run_id: Some("r1".into()),
            step: 0,
            source: CheckpointSource::Loop,
            node: None,
            created_at: Utc::now(),
            metadata: Value::Null,
        }
    }

    fn append(text: &str) -> CheckpointDelta {
        CheckpointDelta {
            writes: vec![ChannelWrite::append(MAIN_CHANNEL, Message::user(text))],
            values: Map::new(),
        }
    }

    #[tokio::test]
    async fn deltas_rebuild_state_and_forks_keep_both_branches() {
        let cp = MemoryCheckpointer::new();
        cp.put(meta("t", "a", None), append("one")).await.unwrap();
        cp.put(meta("t", "b", Some("a")), append("two"))
            .await
            .unwrap();
        cp.put(meta("t", "c", Some("a")), append("two-bis"))
            .await
            .unwrap();

        let head = cp.get("t", None).await.unwrap().unwrap();
        let texts: Vec<_> = head.messages().iter().map(|m| m.text()).collect();
        assert_eq!(texts, ["one", "two-bis"]);

        let b = cp.get("t", Some("b")).await.unwrap().unwrap();
        assert_eq!(b.messages().len(), 2);
        assert_eq!(b.messages()[1].text(), "two");

        let hist = cp
            .history(
                "t",
                HistoryQuery {
                    limit: 10,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let ids: Vec<_> = hist
            .iter()
            .map(|s| s.checkpoint.as_ref().unwrap().checkpoint_id.clone())
            .collect();
        assert_eq!(ids, ["c", "a"]);
    }

    #[tokio::test]
    async fn unknown_parent_is_refused() {
        let cp = MemoryCheckpointer::new();
        let err = cp
            .put(meta("t", "b", Some("zz")), append("x"))
            .await
            .unwrap_err();
        assert_eq!(err, CheckpointError::NotFound("zz".into()));
    }
}
