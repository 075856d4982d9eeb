//! The state a run works on: the conversation's channels plus a small control cursor.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::checkpoint::{ChannelOp, ChannelWrite, MAIN_CHANNEL, ThreadState};
use crate::interrupt::Interrupt;
use crate::message::Message;

/// Control state saved with every checkpoint (small: it never holds the conversation).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Cursor {
    /// The agent in control, when a pattern remembers one (a swarm, a supervisor's
    /// sub-agent mid-task).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_agent: Option<String>,
    /// Tool calls waiting for a human decision.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub interrupts: Vec<Interrupt>,
    /// The nodes that would run next (empty when the run is done).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub next: Vec<String>,
    /// Pattern-specific control state.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub pattern: Map<String, Value>,
}

impl Cursor {
    /// Reads a cursor from checkpoint values (unknown or broken values give the default).
    pub fn from_values(values: &Map<String, Value>) -> Self {
        serde_json::from_value(Value::Object(values.clone())).unwrap_or_default()
    }

    /// The cursor as checkpoint values.
    pub fn to_values(&self) -> Map<String, Value> {
        match serde_json::to_value(self) {
            Ok(Value::Object(m)) => m,
            _ => Map::new(),
        }
    }
}

/// The state of a thread while a run works on it.
///
/// Every change goes through [`RunState::push`] (or [`RunState::write`]), which also
/// records it, so the runner can checkpoint exactly what a step changed.
#[derive(Debug, Clone, Default)]
pub struct RunState {
    channels: BTreeMap<String, Vec<Message>>,
    /// The control cursor.
    pub cursor: Cursor,
    writes: Vec<ChannelWrite>,
}

impl RunState {
    /// The state stored at a checkpoint.
    pub fn from_thread_state(state: &ThreadState) -> Self {
        RunState {
            channels: state.channels.clone(),
            cursor: Cursor::from_values(&state.values),
            writes: Vec::new(),
        }
    }

    /// The main conversation.
    pub fn messages(&self) -> &[Message] {
        self.channel(MAIN_CHANNEL)
    }

    /// The messages of a channel.
    pub fn channel(&self, channel: &str) -> &[Message] {
        self.channels.get(channel).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Every channel.
    pub fn channels(&self) -> &BTreeMap<String, Vec<Message>> {
        &self.channels
    }

    /// Appends a message to a channel.
    pub fn push(&mut self, channel: &str, message: Message) {
        self.write(ChannelWrite::append(channel, message));
    }

    /// Applies and records a channel change.
    pub fn write(&mut self, write: ChannelWrite) {
        let list = self.channels.entry(write.channel.clone()).or_default();
        match &write.op {
            ChannelOp::Append { message } => {
                if let Some(existing) = list.iter_mut().find(|m| m.id == message.id) {
                    *existing = message.clone();
                } else {
                    list.push(message.clone());
                }
            }
            ChannelOp::Remove { message_id } => list.retain(|m| &m.id != message_id),
            ChannelOp::Clear => list.clear(),
        }
        self.writes.push(write);
    }

    /// Empties a channel.
    pub fn clear(&mut self, channel: &str) {
        if self.channels.get(channel).is_some_and(|c| !c.is_empty()) {
            self.write(ChannelWrite {
                channel: channel.to_owned(),
                op: ChannelOp::Clear,
            });
        }
    }

    /// True when changes were made since the last [`RunState::take_writes`].
    pub fn is_dirty(&self) -> bool {
        !self.writes.is_empty()
    }

    /// The changes made since the last call.
    pub fn take_writes(&mut self) -> Vec<ChannelWrite> {
        std::mem::take(&mut self.writes)
    }
}
