//! Messages and state in the LangChain JSON shapes the LangGraph SDKs read and write.

use fustat_runtime::checkpoint::ThreadState;
use fustat_runtime::interrupt::Interrupt;
use fustat_runtime::message::{Content, ContentPart, Message, Role, ToolCall, new_message_id};
use fustat_runtime::state::Cursor;
use serde_json::{Map, Value, json};

/// A message content in LangChain's shape: a string, or a list of blocks.
pub fn content_out(content: &Content) -> Value {
    match content {
        Content::Text(t) => Value::String(t.clone()),
        Content::Parts(parts) => Value::Array(
            parts
                .iter()
                .map(|p| match p {
                    ContentPart::Text { text } => json!({"type": "text", "text": text}),
                    ContentPart::Image { url } => {
                        json!({"type": "image_url", "image_url": {"url": url}})
                    }
                    ContentPart::File {
                        mime_type,
                        data,
                        filename,
                    } => json!({
                        "type": "file",
                        "mimeType": mime_type,
                        "data": data,
                        "metadata": {"filename": filename},
                    }),
                })
                .collect(),
        ),
    }
}

fn tool_calls_out(calls: &[ToolCall]) -> Value {
    Value::Array(
        calls
            .iter()
            .map(|c| json!({"name": c.name, "args": c.arguments, "id": c.id, "type": "tool_call"}))
            .collect(),
    )
}

/// A message as LangChain serialises it (`type` human/ai/tool/system).
pub fn message_out(m: &Message) -> Value {
    let mut v = json!({
        "type": match m.role {
            Role::User => "human",
            Role::Assistant => "ai",
            Role::Tool => "tool",
            Role::System => "system",
        },
        "content": content_out(&m.content),
        "id": m.id,
        "name": m.name,
        "additional_kwargs": {},
        "response_metadata": {},
    });
    let Some(obj) = v.as_object_mut() else {
        return v;
    };
    match m.role {
        Role::Assistant => {
            obj.insert("tool_calls".into(), tool_calls_out(&m.tool_calls));
            obj.insert("invalid_tool_calls".into(), json!([]));
            obj.insert(
                "usage_metadata".into(),
                m.usage.map_or(Value::Null, |u| {
                    json!({
                        "input_tokens": u.input_tokens,
                        "output_tokens": u.output_tokens,
                        "total_tokens": u.total(),
                    })
                }),
            );
        }
        Role::Tool => {
            obj.insert("tool_call_id".into(), json!(m.tool_call_id));
            obj.insert(
                "status".into(),
                json!(if m.is_error { "error" } else { "success" }),
            );
            if let Some(a) = &m.artifact {
                obj.insert("artifact".into(), a.clone());
            }
        }
        _ => {}
    }
    v
}

/// The messages as a list of LangChain messages.
pub fn messages_out(messages: &[Message]) -> Value {
    Value::Array(messages.iter().map(message_out).collect())
}

/// An interrupt as the protocol shows it: `{value, id}`.
pub fn interrupt_out(i: &Interrupt) -> Value {
    json!({"value": i.value(), "id": i.id})
}

fn block_in(block: &Value, at: &str) -> Result<ContentPart, String> {
    if let Value::String(s) = block {
        return Ok(ContentPart::Text { text: s.clone() });
    }
    let kind = block.get("type").and_then(Value::as_str).unwrap_or("text");
    let mime = || {
        block
            .get("mimeType")
            .or_else(|| block.get("mime_type"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    match kind {
        "text" => Ok(ContentPart::Text {
            text: block
                .get("text")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("{at}.text: a text block needs a string 'text'"))?
                .to_owned(),
        }),
        "image_url" => {
            let url = match block.get("image_url") {
                Some(Value::String(u)) => u.clone(),
                Some(v) => v
                    .get("url")
                    .and_then(Value::as_str)
                    .ok_or_else(|| format!("{at}.image_url: needs a 'url'"))?
                    .to_owned(),
                None => return Err(format!("{at}.image_url: missing")),
            };
            Ok(ContentPart::Image { url })
        }
        "image" => {
            if let Some(url) = block.get("url").and_then(Value::as_str) {
                return Ok(ContentPart::Image {
                    url: url.to_owned(),
                });
            }
            let data = block
                .get("data")
                .or_else(|| block.get("base64"))
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    format!("{at}.data: an image block needs base64 'data' or a 'url'")
                })?;
            let mime = mime().unwrap_or_else(|| "image/png".to_owned());
            Ok(ContentPart::Image {
                url: format!("data:{mime};base64,{data}"),
            })
        }
        "file" => {
            let data = block
                .get("data")
                .or_else(|| block.get("base64"))
                .and_then(Value::as_str)
                .ok_or_else(|| format!("{at}.data: a file block needs base64 'data'"))?;
            let filename = block
                .get("metadata")
                .and_then(|m| m.get("filename").or_else(|| m.get("name")))
                .and_then(Value::as_str)
                .map(str::to_owned);
            Ok(ContentPart::File {
                mime_type: mime().unwrap_or_else(|| "application/octet-stream".to_owned()),
                data: data.to_owned(),
                filename,
            })
        }
        other => Err(format!(
            "{at}.type: unsupported content block '{other}' (expected text, image_url, image or file)"
        )),
    }
}

fn content_in(v: Option<&Value>, at: &str) -> Result<Content, String> {
    match v {
        None | Some(Value::Null) => Ok(Content::Text(String::new())),
        Some(Value::String(s)) => Ok(Content::Text(s.clone())),
        Some(Value::Array(blocks)) => {
            let parts = blocks
                .iter()
                .enumerate()
                .map(|(i, b)| block_in(b, &format!("{at}[{i}]")))
                .collect::<Result<Vec<_>, _>>()?;
            // A single text block is plain text.
            match parts.as_slice() {
                [ContentPart::Text { text }] => Ok(Content::Text(text.clone())),
                _ => Ok(Content::Parts(parts)),
            }
        }
        Some(_) => Err(format!(
            "{at}: must be a string or a list of content blocks"
        )),
    }
}

/// A message from a client, in LangChain's `type` style or OpenAI's `role` style.
pub fn message_in(v: &Value, at: &str) -> Result<Message, String> {
    let obj = match v {
        Value::String(s) => return Ok(Message::user(s.clone())),
        Value::Object(o) => o,
        _ => return Err(format!("{at}: a message must be an object")),
    };
    let kind = obj
        .get("type")
        .or_else(|| obj.get("role"))
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{at}.type: a message needs a 'type' (or 'role')"))?;
    let role = match kind {
        "human" | "user" | "HumanMessage" => Role::User,
        "ai" | "assistant" | "AIMessage" | "AIMessageChunk" => Role::Assistant,
        "tool" | "ToolMessage" => Role::Tool,
        "system" | "developer" | "SystemMessage" => Role::System,
        other => {
            return Err(format!(
                "{at}.type: unsupported message type '{other}' (expected human, ai, tool or system)"
            ));
        }
    };
    let content = content_in(obj.get("content"), &format!("{at}.content"))?;
    let mut m = match role {
        Role::User => Message::user(content),
        Role::Assistant => Message::assistant(content),
        Role::System => Message::system(content),
        Role::Tool => {
            let call_id = obj
                .get("tool_call_id")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("{at}.tool_call_id: a tool message needs one"))?;
            let call = ToolCall {
                id: call_id.to_owned(),
                name: obj
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                arguments: Value::Null,
            };
            let failed = obj.get("status").and_then(Value::as_str) == Some("error");
            Message::tool_result(&call, content, failed)
        }
    };
    if let Some(id) = obj
        .get("id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    {
        m.id = id.to_owned();
    } else {
        m.id = new_message_id();
    }
    if role != Role::Tool
        && let Some(name) = obj.get("name").and_then(Value::as_str)
    {
        m.name = Some(name.to_owned());
    }
    if role == Role::Assistant
        && let Some(Value::Array(calls)) = obj.get("tool_calls")
    {
        for (i, c) in calls.iter().enumerate() {
            let name = c
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("{at}.tool_calls[{i}].name: required"))?;
            m.tool_calls.push(ToolCall {
                id: c
                    .get("id")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .unwrap_or_else(new_message_id),
                name: name.to_owned(),
                arguments: c.get("args").cloned().unwrap_or_else(|| json!({})),
            });
        }
    }
    Ok(m)
}

/// The messages of a run's `input` (`{"messages": [...]}`, a single message, or a bare
/// string); `field` names the input in errors.
pub fn input_messages(input: &Value, field: &str) -> Result<Vec<Message>, String> {
    let list = match input {
        Value::Object(o) => match o.get("messages") {
            Some(Value::Array(a)) => a.clone(),
            Some(Value::Null) | None => Vec::new(),
            Some(one) => vec![one.clone()],
        },
        Value::String(_) => vec![input.clone()],
        Value::Array(a) => a.clone(),
        Value::Null => Vec::new(),
        _ => {
            return Err(format!("{field}: expected an object with 'messages'"));
        }
    };
    list.iter()
        .enumerate()
        .map(|(i, m)| message_in(m, &format!("{field}.messages[{i}]")))
        .collect()
}

/// The paused calls of a state.
pub fn interrupts_of(state: &ThreadState) -> Vec<Interrupt> {
    Cursor::from_values(&state.values).interrupts
}

/// A thread's `values`: `{"messages": [...]}`.
pub fn values_of(messages: &[Message]) -> Value {
    json!({"messages": messages_out(messages)})
}

fn checkpoint_ref(thread_id: &str, checkpoint_id: &str) -> Value {
    json!({
        "thread_id": thread_id,
        "checkpoint_ns": "",
        "checkpoint_id": checkpoint_id,
        "checkpoint_map": null,
    })
}

/// The id of the task a paused node runs as (stable for one checkpoint).
pub fn task_id(checkpoint_id: &str, node: &str) -> String {
    // FNV-1a twice (different offsets) over "<checkpoint>/<node>", shaped as a UUID.
    let mut a: u64 = 0xcbf2_9ce4_8422_2325;
    let mut b: u64 = 0x8422_2325_cbf2_9ce4;
    for byte in checkpoint_id.bytes().chain([b'/']).chain(node.bytes()) {
        a = (a ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        b = (b ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    uuid::Uuid::from_u64_pair(a, b).to_string()
}

/// A `ThreadState` of the protocol, for the state at one checkpoint.
pub fn thread_state_out(thread_id: &str, state: Option<&ThreadState>) -> Value {
    let Some(state) = state else {
        return json!({
            "values": {},
            "next": [],
            "checkpoint": null,
            "metadata": {},
            "created_at": null,
            "parent_checkpoint": null,
            "tasks": [],
            "interrupts": [],
            "checkpoint_id": null,
            "parent_checkpoint_id": null,
        });
    };
    let cursor = Cursor::from_values(&state.values);
    let interrupts: Vec<Value> = cursor.interrupts.iter().map(interrupt_out).collect();
    let next: Vec<String> = cursor.next.clone();
    let meta = state.checkpoint.as_ref();
    let checkpoint_id = meta.map(|m| m.checkpoint_id.clone()).unwrap_or_default();
    let tasks: Vec<Value> = next
        .iter()
        .map(|node| {
            json!({
                "id": task_id(&checkpoint_id, node),
                "name": node,
                "path": ["__pregel_pull", node],
                "error": null,
                "interrupts": interrupts,
                "checkpoint": null,
                "state": null,
                "result": null,
            })
        })
        .collect();
    let mut metadata = Map::new();
    if let Some(m) = meta {
        if let Value::Object(extra) = &m.metadata {
            metadata.extend(extra.clone());
        }
        metadata.insert("source".into(), json!(m.source.as_str()));
        metadata.insert("step".into(), json!(m.step));
        metadata.insert("parents".into(), json!({}));
        metadata.insert(
            "writes".into(),
            match &m.node {
                Some(n) if m.source.as_str() == "loop" => json!({ n: null }),
                _ => Value::Null,
            },
        );
        if let Some(r) = &m.run_id {
            metadata.insert("run_id".into(), json!(r));
        }
    }
    let parent = meta.and_then(|m| m.parent_id.clone());
    json!({
        "values": values_of(state.messages()),
        "next": next,
        "checkpoint": meta.map(|m| checkpoint_ref(thread_id, &m.checkpoint_id)),
        "metadata": metadata,
        "created_at": meta.map(|m| m.created_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
        "parent_checkpoint": parent.as_deref().map(|p| checkpoint_ref(thread_id, p)),
        "tasks": tasks,
        "interrupts": interrupts,
        "checkpoint_id": meta.map(|m| m.checkpoint_id.clone()),
        "parent_checkpoint_id": parent,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn client_messages_in_both_styles() {
        let m = message_in(
            &json!({"id": "m1", "type": "human", "content": [{"type": "text", "text": "hi"}]}),
            "input",
        )
        .unwrap();
        assert_eq!(
            (m.role, m.text(), m.id.as_str()),
            (Role::User, "hi".into(), "m1")
        );
        let m = message_in(&json!({"role": "user", "content": "yo"}), "input").unwrap();
        assert_eq!(m.role, Role::User);
        let img = message_in(
            &json!({"type": "human", "content": [{"type": "text", "text": "see"},
                {"type": "image", "mimeType": "image/png", "data": "AAAA"}]}),
            "input",
        )
        .unwrap();
        assert!(matches!(&img.content, Content::Parts(p) if p.len() == 2));
        let err = message_in(&json!({"type": "bogus"}), "input.messages[0]").unwrap_err();
        assert!(err.contains("input.messages[0].type"), "{err}");
        let err = message_in(&json!({"type": "tool", "content": "x"}), "m").unwrap_err();
        assert!(err.contains("tool_call_id"), "{err}");
    }

    #[test]
    fn messages_go_out_in_langchain_shape() {
        let call = ToolCall {
            id: "c1".into(),
            name: "add".into(),
            arguments: json!({"a": 1}),
        };
        let ai = Message::assistant_tool_calls("", vec![call.clone()]);
        let v = message_out(&ai);
        assert_eq!(v["type"], "ai");
        assert_eq!(v["tool_calls"][0]["type"], "tool_call");
        let t = message_out(&Message::tool_result(&call, "2", false));
        assert_eq!(
            (t["type"].as_str(), t["tool_call_id"].as_str()),
            (Some("tool"), Some("c1"))
        );
        assert_eq!(t["status"], "success");
    }
}
