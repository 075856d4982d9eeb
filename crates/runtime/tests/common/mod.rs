//! A scripted in-process model for loop and pattern tests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use fustat_runtime::message::Usage;
use fustat_runtime::model::{ChatModel, ChatRequest, ModelChunk, ModelError, ModelStream};
use serde_json::Value;

pub enum Reply {
    Text(&'static str),
    Calls(Vec<(&'static str, Value)>),
    Hang,
    Fail(ModelError),
}

#[derive(Default)]
pub struct Scripted {
    pub replies: Mutex<VecDeque<Reply>>,
    pub requests: Mutex<Vec<ChatRequest>>,
}

impl Scripted {
    pub fn new(replies: Vec<Reply>) -> Arc<Self> {
        Arc::new(Scripted {
            replies: Mutex::new(replies.into()),
            requests: Mutex::default(),
        })
    }

    pub fn requests(&self) -> Vec<ChatRequest> {
        self.requests.lock().unwrap().clone()
    }
}

#[async_trait]
impl ChatModel for Scripted {
    fn model_name(&self) -> &str {
        "scripted"
    }

    async fn stream(&self, request: ChatRequest) -> Result<ModelStream, ModelError> {
        self.requests.lock().unwrap().push(request);
        let reply = self
            .replies
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or(Reply::Text("(script exhausted)"));
        let chunks: Vec<Result<ModelChunk, ModelError>> = match reply {
            Reply::Text(t) => {
                let (a, b) = t.split_at(t.len() / 2);
                vec![
                    Ok(ModelChunk::Text(a.into())),
                    Ok(ModelChunk::Text(b.into())),
                    Ok(ModelChunk::Usage(Usage {
                        input_tokens: 10,
                        output_tokens: 5,
                    })),
                    Ok(ModelChunk::Finish("stop".into())),
                ]
            }
            Reply::Calls(calls) => {
                let mut v = Vec::new();
                for (i, (name, args)) in calls.into_iter().enumerate() {
                    let args = args.to_string();
                    let (a, b) = args.split_at(args.len() / 2);
                    v.push(Ok(ModelChunk::ToolCallDelta {
                        index: i as u32,
                        id: Some(format!("call_{}_{}", name, uuid::Uuid::new_v4().simple())),
                        name: Some(name.into()),
                        arguments: a.into(),
                    }));
                    v.push(Ok(ModelChunk::ToolCallDelta {
                        index: i as u32,
                        id: None,
                        name: None,
                        arguments: b.into(),
                    }));
                }
                v.push(Ok(ModelChunk::Finish("tool_calls".into())));
                v
            }
            Reply::Hang => {
                return Ok(Box::pin(futures::stream::pending()));
            }
            Reply::Fail(e) => return Err(e),
        };
        Ok(Box::pin(futures::stream::iter(chunks)))
    }
}
