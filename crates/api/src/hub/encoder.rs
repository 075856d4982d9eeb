//! Turns run events into the LangGraph Platform stream: one SSE event per stream mode the
//! client asked for, in execution order.

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use fustat_runtime::event::{EventKind, RunErrorInfo, RunEvent};
use fustat_runtime::interrupt::Interrupt;
use fustat_runtime::message::Message;
use serde_json::{Value, json};

use super::convert::{interrupt_out, message_out, task_id, values_of};

/// The stream modes of the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// The full state after each step.
    Values,
    /// What each step changed.
    Updates,
    /// LLM tokens as `[chunk, metadata]` (`messages-tuple`).
    MessagesTuple,
    /// Legacy `messages/partial` and `messages/complete`.
    Messages,
    /// Anything a node wrote.
    Custom,
    /// Checkpoints and tasks.
    Debug,
    /// LangChain callback events.
    Events,
    /// Task starts and ends.
    Tasks,
    /// Checkpoints as written.
    Checkpoints,
    /// Tool calls starting and ending.
    Tools,
    /// Sub-agents starting and ending (`lifecycle|<namespace>`).
    Lifecycle,
}

impl Mode {
    /// Parses a mode name; None when unknown.
    pub fn parse(s: &str) -> Option<Mode> {
        Some(match s {
            "values" => Mode::Values,
            "updates" => Mode::Updates,
            "messages-tuple" => Mode::MessagesTuple,
            "messages" => Mode::Messages,
            "custom" => Mode::Custom,
            "debug" => Mode::Debug,
            "events" => Mode::Events,
            "tasks" => Mode::Tasks,
            "checkpoints" => Mode::Checkpoints,
            "tools" => Mode::Tools,
            "lifecycle" => Mode::Lifecycle,
            _ => return None,
        })
    }
}

/// One SSE event to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Out {
    /// The event name (`values`, `messages|agent:…`).
    pub event: String,
    /// The data (sent as one line of JSON).
    pub data: Value,
}

/// Who the run is, for message metadata.
#[derive(Debug, Clone)]
pub struct RunInfo {
    /// The run.
    pub run_id: String,
    /// The thread.
    pub thread_id: String,
    /// The assistant.
    pub assistant_id: String,
    /// Its graph (`agent` or the pattern).
    pub graph_id: String,
}

/// The encoder of one run's stream.
#[derive(Debug)]
pub struct Encoder {
    modes: HashSet<Mode>,
    subgraphs: bool,
    info: RunInfo,
    /// The main conversation as the client sees it.
    messages: Vec<Message>,
    /// Ids whose tokens were streamed (never re-sent whole).
    streamed: HashSet<String>,
    /// Legacy `messages` mode: the text accumulated per id.
    partial: HashMap<String, Value>,
    last_checkpoint: Option<String>,
    /// The last root `values` payload (for `/runs/wait`).
    pub last_values: Option<Value>,
    /// The error the run reported.
    pub error: Option<Value>,
    /// The interrupts the run paused on.
    pub interrupts: Vec<Interrupt>,
    /// The sub-agent namespace events last came from (for `lifecycle`).
    active_ns: Option<Vec<String>>,
}

/// The error event payload: `{"error": "<Name>", "message": "…"}`.
pub fn error_out(e: &RunErrorInfo) -> Value {
    let name: String = e
        .kind
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
                None => String::new(),
            }
        })
        .collect();
    json!({"error": if name.is_empty() { "Error".to_owned() } else { name }, "message": e.message})
}

impl Encoder {
    /// An encoder for the given modes.
    pub fn new(modes: HashSet<Mode>, subgraphs: bool, info: RunInfo) -> Self {
        Encoder {
            modes,
            subgraphs,
            info,
            messages: Vec::new(),
            streamed: HashSet::new(),
            partial: HashMap::new(),
            last_checkpoint: None,
            last_values: None,
            error: None,
            interrupts: Vec::new(),
            active_ns: None,
        }
    }

    /// The first event of every stream.
    pub fn metadata(&self) -> Out {
        Out {
            event: "metadata".into(),
            data: json!({"run_id": self.info.run_id, "attempt": 1}),
        }
    }

    fn wants(&self, m: Mode) -> bool {
        self.modes.contains(&m)
    }

    /// The event name for `mode` from `namespace`; None when sub-agent events are not
    /// wanted in this mode.
    fn name(&self, mode: &str, namespace: &[String], root_only: bool) -> Option<String> {
        if namespace.is_empty() {
            return Some(mode.to_owned());
        }
        if self.subgraphs {
            return Some(format!("{mode}|{}", namespace.join("|")));
        }
        if root_only {
            None
        } else {
            Some(mode.to_owned())
        }
    }

    fn msg_meta(&self, ev: &RunEvent) -> Value {
        let ns = if ev.namespace.is_empty() {
            format!("{}:{}", ev.agent, task_id(&self.info.run_id, &ev.agent))
        } else {
            ev.namespace.join("|")
        };
        json!({
            "langgraph_step": ev.step,
            "langgraph_node": ev.agent,
            "langgraph_triggers": [format!("branch:to:{}", ev.agent)],
            "langgraph_path": ["__pregel_pull", ev.agent],
            "langgraph_checkpoint_ns": ns,
            "checkpoint_ns": ns,
            "tags": [],
            "run_id": self.info.run_id,
            "thread_id": self.info.thread_id,
            "assistant_id": self.info.assistant_id,
            "graph_id": self.info.graph_id,
            "run_attempt": 1,
        })
    }

    fn values_now(&self) -> Value {
        values_of(&self.messages)
    }

    fn push_values(&mut self, out: &mut Vec<Out>, with_interrupts: bool) {
        let mut v = self.values_now();
        if with_interrupts
            && !self.interrupts.is_empty()
            && let Some(o) = v.as_object_mut()
        {
            o.insert(
                "__interrupt__".into(),
                Value::Array(self.interrupts.iter().map(interrupt_out).collect()),
            );
        }
        self.last_values = Some(v.clone());
        if self.wants(Mode::Values) {
            out.push(Out {
                event: "values".into(),
                data: v,
            });
        }
    }

    fn apply(&mut self, m: &Message) {
        if let Some(existing) = self.messages.iter_mut().find(|x| x.id == m.id) {
            *existing = m.clone();
        } else {
            self.messages.push(m.clone());
        }
    }

    /// A whole (not streamed) message for the message modes.
    fn whole_message(&mut self, out: &mut Vec<Out>, ev: &RunEvent, m: &Message) {
        if self.streamed.contains(&m.id) {
            return;
        }
        let meta = self.msg_meta(ev);
        let body = message_out(m);
        if self.wants(Mode::MessagesTuple)
            && let Some(name) = self.name("messages", &ev.namespace, false)
        {
            out.push(Out {
                event: name,
                data: json!([body, meta]),
            });
        }
        if self.wants(Mode::Messages) && ev.namespace.is_empty() {
            out.push(Out {
                event: "messages/metadata".into(),
                data: json!({ m.id.clone(): {"metadata": meta} }),
            });
            out.push(Out {
                event: "messages/complete".into(),
                data: json!([body]),
            });
        }
    }

    fn chunk(
        &mut self,
        out: &mut Vec<Out>,
        ev: &RunEvent,
        message_id: &str,
        text: &str,
        tool_chunk: Option<Value>,
    ) {
        let first = self.streamed.insert(message_id.to_owned());
        let meta = self.msg_meta(ev);
        let chunk = json!({
            "type": "AIMessageChunk",
            "id": message_id,
            "content": text,
            "name": ev.agent,
            "tool_call_chunks": tool_chunk.iter().collect::<Vec<_>>(),
            "tool_calls": [],
            "invalid_tool_calls": [],
            "additional_kwargs": {},
            "response_metadata": {},
            "usage_metadata": null,
        });
        if self.wants(Mode::MessagesTuple)
            && let Some(name) = self.name("messages", &ev.namespace, false)
        {
            out.push(Out {
                event: name,
                data: json!([chunk, meta]),
            });
        }
        if self.wants(Mode::Messages) && ev.namespace.is_empty() {
            if first {
                out.push(Out {
                    event: "messages/metadata".into(),
                    data: json!({ message_id: {"metadata": meta} }),
                });
            }
            let acc = self
                .partial
                .entry(message_id.to_owned())
                .or_insert_with(|| {
                    json!({"type": "ai", "id": message_id, "content": "", "tool_calls": [],
                    "invalid_tool_calls": [], "additional_kwargs": {}, "response_metadata": {}})
                });
            if let Some(Value::String(c)) = acc.get_mut("content") {
                c.push_str(text);
            }
            out.push(Out {
                event: "messages/partial".into(),
                data: json!([acc.clone()]),
            });
        }
        if self.wants(Mode::Events) {
            out.push(Out {
                event: "events".into(),
                data: json!({
                    "event": "on_chat_model_stream",
                    "name": ev.agent,
                    "run_id": self.info.run_id,
                    "tags": [],
                    "metadata": meta,
                    "data": {"chunk": chunk},
                    "parent_ids": [],
                }),
            });
        }
    }

    fn lifecycle_event(&self, out: &mut Vec<Out>, ns: &[String], what: &str, error: Option<Value>) {
        let mut data = json!({"event": what, "namespace": ns});
        if let (Some(e), Some(o)) = (error, data.as_object_mut()) {
            o.insert("error".into(), e);
        }
        out.push(Out {
            event: format!("lifecycle|{}", ns.join("|")),
            data,
        });
    }

    /// `lifecycle` events: a sub-agent starts when events first come from its namespace
    /// and completes when they stop (or fails or pauses with the run).
    fn lifecycle(&mut self, out: &mut Vec<Out>, ev: &RunEvent) {
        let ending = match &ev.kind {
            EventKind::Error { error } => Some(("failed", Some(error_out(error)))),
            EventKind::Interrupted { .. } => Some(("interrupted", None)),
            EventKind::Finished { .. } => Some(("completed", None)),
            _ => None,
        };
        if let Some((what, error)) = ending {
            if let Some(ns) = self.active_ns.take() {
                self.lifecycle_event(out, &ns, what, error);
            }
            return;
        }
        if self.active_ns.as_deref() == Some(ev.namespace.as_slice()) {
            return;
        }
        if let Some(prev) = self.active_ns.take() {
            self.lifecycle_event(out, &prev, "completed", None);
        }
        if !ev.namespace.is_empty() {
            self.lifecycle_event(out, &ev.namespace, "started", None);
            self.active_ns = Some(ev.namespace.clone());
        }
    }

    fn tool_event(&self, out: &mut Vec<Out>, ev: &RunEvent, data: Value) {
        if self.wants(Mode::Tools)
            && let Some(name) = self.name("tools", &ev.namespace, false)
        {
            out.push(Out { event: name, data });
        }
    }

    /// The SSE events for one run event.
    pub fn encode(&mut self, ev: &RunEvent) -> Vec<Out> {
        let mut out = Vec::new();
        if self.wants(Mode::Lifecycle) {
            self.lifecycle(&mut out, ev);
        }
        match &ev.kind {
            EventKind::RunStarted { messages, .. } => {
                self.messages = messages.clone();
                self.push_values(&mut out, false);
                if self.wants(Mode::Events) {
                    out.push(Out {
                        event: "events".into(),
                        data: json!({"event": "on_chain_start", "name": self.info.graph_id,
                            "run_id": self.info.run_id, "tags": [], "metadata": {},
                            "data": {"input": self.values_now()}, "parent_ids": []}),
                    });
                }
            }
            EventKind::TokenDelta { message_id, text } => {
                self.chunk(&mut out, ev, message_id, text, None);
            }
            EventKind::ToolCallDelta {
                message_id,
                index,
                id,
                name,
                arguments,
            } => {
                let tc = json!({"id": id, "name": name, "args": arguments, "index": index,
                    "type": "tool_call_chunk"});
                self.chunk(&mut out, ev, message_id, "", Some(tc));
            }
            EventKind::MessageComplete { message } => {
                if self.streamed.contains(&message.id) {
                    if self.wants(Mode::Messages) && ev.namespace.is_empty() {
                        out.push(Out {
                            event: "messages/complete".into(),
                            data: json!([message_out(message)]),
                        });
                    }
                } else {
                    self.whole_message(&mut out, ev, message);
                }
            }
            EventKind::MessageAdded { message } => {
                if message.role != fustat_runtime::message::Role::User {
                    self.whole_message(&mut out, ev, message);
                }
            }
            EventKind::ToolResult { message, .. } => {
                let data = if message.is_error {
                    json!({"event": "on_tool_error", "toolCallId": message.tool_call_id,
                        "name": message.name, "error": message.text()})
                } else {
                    json!({"event": "on_tool_end", "toolCallId": message.tool_call_id,
                        "name": message.name, "output": message_out(message)["content"]})
                };
                self.tool_event(&mut out, ev, data);
                self.whole_message(&mut out, ev, message);
                if self.wants(Mode::Events) {
                    out.push(Out {
                        event: "events".into(),
                        data: json!({"event": "on_tool_end", "name": message.name,
                            "run_id": self.info.run_id, "tags": [], "metadata": self.msg_meta(ev),
                            "data": {"output": message_out(message)}, "parent_ids": []}),
                    });
                }
            }
            EventKind::ToolCall { call, .. } => {
                self.tool_event(
                    &mut out,
                    ev,
                    json!({"event": "on_tool_start", "toolCallId": call.id, "name": call.name,
                        "input": call.arguments}),
                );
                if self.wants(Mode::Events) {
                    out.push(Out {
                        event: "events".into(),
                        data: json!({"event": "on_tool_start", "name": call.name,
                            "run_id": self.info.run_id, "tags": [], "metadata": self.msg_meta(ev),
                            "data": {"input": call.arguments}, "parent_ids": []}),
                    });
                }
            }
            EventKind::StepCompleted {
                node,
                checkpoint_id,
                new_messages,
            } => {
                for m in new_messages {
                    self.apply(m);
                }
                let update = if new_messages.is_empty() {
                    Value::Null
                } else {
                    json!({"messages": new_messages.iter().map(message_out).collect::<Vec<_>>()})
                };
                if self.wants(Mode::Updates) {
                    out.push(Out {
                        event: "updates".into(),
                        data: json!({ node.clone(): update.clone() }),
                    });
                }
                let task = task_id(checkpoint_id, node);
                let now = Utc::now().to_rfc3339();
                let config = json!({"configurable": {"thread_id": self.info.thread_id,
                    "checkpoint_ns": "", "checkpoint_id": checkpoint_id}});
                let parent_config = self.last_checkpoint.as_ref().map(|p| {
                    json!({"configurable": {"thread_id": self.info.thread_id,
                        "checkpoint_ns": "", "checkpoint_id": p}})
                });
                let metadata = json!({"source": "loop", "step": ev.step, "run_id": self.info.run_id,
                    "assistant_id": self.info.assistant_id, "graph_id": self.info.graph_id});
                if self.wants(Mode::Tasks) {
                    out.push(Out {
                        event: "tasks".into(),
                        data: json!({"id": task, "name": node, "input": null,
                            "triggers": [format!("branch:to:{node}")]}),
                    });
                    out.push(Out {
                        event: "tasks".into(),
                        data: json!({"id": task, "name": node, "error": null,
                            "interrupts": [], "result": update}),
                    });
                }
                if self.wants(Mode::Checkpoints) || self.wants(Mode::Debug) {
                    let payload = json!({"config": config, "parent_config": parent_config,
                        "values": self.values_now(), "metadata": metadata, "next": [],
                        "tasks": []});
                    if self.wants(Mode::Checkpoints) {
                        out.push(Out {
                            event: "checkpoints".into(),
                            data: payload.clone(),
                        });
                    }
                    if self.wants(Mode::Debug) {
                        out.push(Out {
                            event: "debug".into(),
                            data: json!({"type": "task_result", "step": ev.step, "timestamp": now,
                                "payload": {"id": task, "name": node, "error": null,
                                    "result": [["messages", update.get("messages")]],
                                    "interrupts": []}}),
                        });
                        out.push(Out {
                            event: "debug".into(),
                            data: json!({"type": "checkpoint", "step": ev.step,
                                "timestamp": now, "payload": payload}),
                        });
                    }
                }
                self.last_checkpoint = Some(checkpoint_id.clone());
                self.push_values(&mut out, false);
            }
            EventKind::Interrupted { interrupts } => {
                self.interrupts = interrupts.clone();
                let list: Vec<Value> = interrupts.iter().map(interrupt_out).collect();
                if self.wants(Mode::Updates) {
                    out.push(Out {
                        event: "updates".into(),
                        data: json!({"__interrupt__": list}),
                    });
                }
                self.push_values(&mut out, true);
            }
            EventKind::Custom { value } => {
                if self.wants(Mode::Custom)
                    && let Some(name) = self.name("custom", &ev.namespace, false)
                {
                    out.push(Out {
                        event: name,
                        data: value.clone(),
                    });
                }
            }
            EventKind::Error { error } => {
                let e = error_out(error);
                self.error = Some(e.clone());
                out.push(Out {
                    event: "error".into(),
                    data: e,
                });
            }
            EventKind::Finished { .. } => {
                if self.wants(Mode::Events) {
                    out.push(Out {
                        event: "events".into(),
                        data: json!({"event": "on_chain_end", "name": self.info.graph_id,
                            "run_id": self.info.run_id, "tags": [], "metadata": {},
                            "data": {"output": self.values_now()}, "parent_ids": []}),
                    });
                }
            }
            EventKind::AgentActive { .. } | EventKind::Handoff { .. } => {}
        }
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn ev(kind: EventKind, ns: Vec<String>) -> RunEvent {
        RunEvent {
            run_id: "r".into(),
            thread_id: "t".into(),
            step: 1,
            agent: "a".into(),
            namespace: ns,
            kind,
        }
    }

    fn encoder(modes: &[Mode], subgraphs: bool) -> Encoder {
        Encoder::new(
            modes.iter().copied().collect(),
            subgraphs,
            RunInfo {
                run_id: "r".into(),
                thread_id: "t".into(),
                assistant_id: "x".into(),
                graph_id: "agent".into(),
            },
        )
    }

    #[test]
    fn tokens_are_deltas_and_the_streamed_message_is_not_resent() {
        let mut e = encoder(&[Mode::MessagesTuple, Mode::Values], false);
        let answer = Message::assistant("hello").with_id("m1");
        let a = e.encode(&ev(
            EventKind::TokenDelta {
                message_id: "m1".into(),
                text: "hel".into(),
            },
            vec![],
        ));
        assert_eq!(a[0].event, "messages");
        assert_eq!(a[0].data[0]["content"], "hel");
        assert_eq!(a[0].data[0]["id"], "m1");
        let b = e.encode(&ev(
            EventKind::MessageComplete {
                message: answer.clone(),
            },
            vec![],
        ));
        assert!(b.is_empty());
        let c = e.encode(&ev(
            EventKind::StepCompleted {
                node: "a".into(),
                checkpoint_id: "c1".into(),
                new_messages: vec![answer],
            },
            vec![],
        ));
        assert_eq!(c[0].event, "values");
        assert_eq!(c[0].data["messages"][0]["content"], "hello");
    }

    #[test]
    fn sub_agent_events_are_namespaced_only_with_subgraphs() {
        let delta = EventKind::TokenDelta {
            message_id: "m".into(),
            text: "x".into(),
        };
        let mut e = encoder(&[Mode::MessagesTuple], true);
        let out = e.encode(&ev(delta.clone(), vec!["researcher:1".into()]));
        assert_eq!(out[0].event, "messages|researcher:1");
        let mut e = encoder(&[Mode::MessagesTuple], false);
        let out = e.encode(&ev(delta, vec!["researcher:1".into()]));
        assert_eq!(out[0].event, "messages");
    }

    #[test]
    fn tool_and_lifecycle_events() {
        use fustat_runtime::message::ToolCall;
        let mut e = encoder(&[Mode::Tools, Mode::Lifecycle], true);
        let call = ToolCall {
            id: "c1".into(),
            name: "search".into(),
            arguments: json!({"q": "x"}),
        };
        let ns = vec!["researcher:1".to_owned()];
        let out = e.encode(&ev(
            EventKind::ToolCall {
                call: call.clone(),
                source: None,
            },
            ns.clone(),
        ));
        assert_eq!(out[0].event, "lifecycle|researcher:1");
        assert_eq!(
            out[0].data,
            json!({"event": "started", "namespace": ["researcher:1"]})
        );
        assert_eq!(out[1].event, "tools|researcher:1");
        assert_eq!(out[1].data["event"], "on_tool_start");
        assert_eq!(out[1].data["toolCallId"], "c1");
        let out = e.encode(&ev(
            EventKind::ToolResult {
                message: Message::tool_result(&call, "found", false),
                duration_ms: 1,
            },
            ns,
        ));
        assert_eq!(out[0].data["event"], "on_tool_end");
        assert_eq!(out[0].data["output"], "found");
        let out = e.encode(&ev(
            EventKind::TokenDelta {
                message_id: "m".into(),
                text: "back at the root".into(),
            },
            vec![],
        ));
        assert_eq!(out[0].data["event"], "completed");
    }

    #[test]
    fn errors_are_objects_with_a_name() {
        let mut e = encoder(&[Mode::Values], false);
        let out = e.encode(&ev(
            EventKind::Error {
                error: RunErrorInfo {
                    kind: "model_error".into(),
                    message: "boom".into(),
                },
            },
            vec![],
        ));
        assert_eq!(out[0].event, "error");
        assert_eq!(
            out[0].data,
            json!({"error": "ModelError", "message": "boom"})
        );
    }
}
