//! The Studio chat protocol: run events encoded as Studio's SSE events.
//!
//! Each event is one `data: <json>` line and a blank line, the JSON being
//! `{"event_type", "data", "timestamp", "session_id"}`.

use std::collections::HashMap;

use chrono::{SecondsFormat, Utc};
use fustat_runtime::event::{EventKind, RunEvent, RunStatus};
use serde_json::{Value, json};

/// Turns a run's events into Studio events.
#[derive(Debug)]
pub struct StudioEncoder {
    session_id: Option<String>,
    root: String,
    /// Text streamed so far, per message id.
    streamed: HashMap<String, String>,
}

impl StudioEncoder {
    /// An encoder for a conversation (`session_id`) with the agent or orchestrator `root`.
    pub fn new(session_id: Option<String>, root: impl Into<String>) -> Self {
        StudioEncoder {
            session_id,
            root: root.into(),
            streamed: HashMap::new(),
        }
    }

    /// The SSE frame of one Studio event.
    pub fn frame(&self, event_type: &str, data: Value) -> String {
        let payload = json!({
            "event_type": event_type,
            "data": data,
            "timestamp": Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true),
            "session_id": self.session_id,
        });
        format!("data: {payload}\n\n")
    }

    /// The Studio events (as SSE frames) for one run event; most give one, some none.
    pub fn encode(&mut self, event: &RunEvent) -> Option<String> {
        let agent = event.agent.as_str();
        let (event_type, data) = match &event.kind {
            EventKind::RunStarted { .. } => (
                "stream_start",
                json!({
                    "message": format!("Started a run with {}", self.root),
                    "agent_name": self.root,
                    "run_id": event.run_id,
                }),
            ),
            EventKind::AgentActive { agent } => (
                "agent_updated",
                json!({"agent_name": agent, "namespace": event.namespace}),
            ),
            EventKind::TokenDelta { message_id, text } => {
                let content = self.streamed.entry(message_id.clone()).or_default();
                content.push_str(text);
                (
                    "message_delta",
                    json!({
                        "delta": text,
                        "content": content,
                        "agent_name": agent,
                        "message_id": message_id,
                    }),
                )
            }
            EventKind::MessageComplete { message } => {
                self.streamed.remove(&message.id);
                let content = message.text();
                if content.is_empty() {
                    return None;
                }
                (
                    "message_complete",
                    json!({
                        "content": content,
                        "agent_name": agent,
                        "message_id": message.id,
                    }),
                )
            }
            EventKind::ToolCall { call, source } => (
                "tool_call",
                json!({
                    "tool_name": call.name,
                    "arguments": call.arguments,
                    "call_id": call.id,
                    "agent_name": agent,
                    "server": source,
                }),
            ),
            EventKind::ToolResult {
                message,
                duration_ms,
            } => (
                "tool_output",
                json!({
                    "tool_name": message.name,
                    "output": message.text(),
                    "call_id": message.tool_call_id,
                    "is_error": message.is_error,
                    "agent_name": agent,
                    "duration_ms": duration_ms,
                }),
            ),
            EventKind::Handoff { from, to, brief } => (
                "handoff",
                json!({"from": from, "to": to, "from_agent": from, "to_agent": to, "brief": brief}),
            ),
            EventKind::Interrupted { interrupts } => (
                "interrupt",
                json!({
                    "message": "The run is paused: a tool call waits for a decision.",
                    "agent_name": agent,
                    "interrupts": interrupts.iter().map(|i| json!({
                        "id": i.id,
                        "agent_name": i.agent,
                        "value": i.value(),
                    })).collect::<Vec<_>>(),
                }),
            ),
            EventKind::Custom { value } => ("custom", json!({"agent_name": agent, "value": value})),
            EventKind::Error { error } => (
                "error",
                json!({"message": error.message, "details": error.kind, "agent_name": agent}),
            ),
            EventKind::Finished { status, usage, .. } => (
                "stream_end",
                json!({
                    "message": match status {
                        RunStatus::Success => "Stream completed",
                        RunStatus::Interrupted => "Stream paused for a decision",
                        RunStatus::Cancelled => "Stream cancelled",
                        RunStatus::LimitReached => "Stream stopped at a limit",
                        RunStatus::Error => "Stream ended with an error",
                    },
                    "status": status,
                    "tokens_used": usage.total(),
                }),
            ),
            EventKind::ToolCallDelta { .. }
            | EventKind::MessageAdded { .. }
            | EventKind::StepCompleted { .. } => return None,
        };
        Some(self.frame(event_type, data))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fustat_runtime::message::Usage;

    fn ev(kind: EventKind) -> RunEvent {
        RunEvent {
            run_id: "r".into(),
            thread_id: "t".into(),
            step: 0,
            agent: "Ada".into(),
            namespace: vec![],
            kind,
        }
    }

    fn parse(frame: &str) -> Value {
        assert!(frame.starts_with("data: ") && frame.ends_with("\n\n"));
        serde_json::from_str(frame.trim_start_matches("data: ").trim()).unwrap()
    }

    #[test]
    fn deltas_carry_both_the_new_text_and_the_whole_text() {
        let mut enc = StudioEncoder::new(Some("c1".into()), "Ada");
        let a = parse(
            &enc.encode(&ev(EventKind::TokenDelta {
                message_id: "m".into(),
                text: "Hel".into(),
            }))
            .unwrap(),
        );
        let b = parse(
            &enc.encode(&ev(EventKind::TokenDelta {
                message_id: "m".into(),
                text: "lo".into(),
            }))
            .unwrap(),
        );
        assert_eq!(a["event_type"], "message_delta");
        assert_eq!(b["data"]["delta"], "lo");
        assert_eq!(b["data"]["content"], "Hello");
        assert_eq!(b["session_id"], "c1");
        assert!(b["timestamp"].as_str().unwrap().ends_with('Z'));
        let end = parse(
            &enc.encode(&ev(EventKind::Finished {
                status: RunStatus::Success,
                answer: None,
                usage: Usage {
                    input_tokens: 3,
                    output_tokens: 4,
                },
            }))
            .unwrap(),
        );
        assert_eq!(end["event_type"], "stream_end");
        assert_eq!(end["data"]["tokens_used"], 7);
    }
}
