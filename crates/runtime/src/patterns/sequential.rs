//! The sequential pattern: a pipeline of agents.

use async_trait::async_trait;
use serde_json::Value;

use super::{
    ContextRouting, Handoffs, InputMode, MAIN, OutputMode, Turn, agent_channel, agent_turn,
    check_agents, latest_request, pattern_str, set_pattern,
};
use crate::agent::Agent;
use crate::error::RunError;
use crate::event::EventKind;
use crate::graph::{Graph, GraphEdge, GraphNode, Next, StepCtx, StepOutcome};
use crate::message::Message;

/// A pipeline: the first agent works on the user's message, each next agent on the
/// previous one's output; the last agent's answer is the reply.
///
/// The first agent sees the conversation (or only the latest request, with
/// [`InputMode::LatestRequest`]); later agents see the request and the previous output.
/// With [`OutputMode::FullHistory`] every agent's work joins the conversation; by default
/// ([`OutputMode::FinalAnswer`]) only the last answer does.
#[derive(Debug, Clone)]
pub struct Sequential {
    name: String,
    agents: Vec<Agent>,
    routing: ContextRouting,
}

impl Sequential {
    /// A pipeline named `name` running `agents` in order.
    pub fn new(name: impl Into<String>, agents: Vec<Agent>) -> Result<Self, RunError> {
        check_agents("pipeline", &agents)?;
        Ok(Sequential {
            name: name.into(),
            agents,
            routing: ContextRouting {
                input: InputMode::FullHistory,
                output: OutputMode::FinalAnswer,
            },
        })
    }

    /// Sets the context routing.
    pub fn with_routing(mut self, routing: ContextRouting) -> Self {
        self.routing = routing;
        self
    }
}

#[async_trait]
impl Graph for Sequential {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &str {
        "sequential"
    }

    fn agents(&self) -> Vec<&Agent> {
        self.agents.iter().collect()
    }

    async fn step(&self, cx: &mut StepCtx) -> Result<StepOutcome, RunError> {
        let stage = cx
            .state
            .cursor
            .pattern
            .get("stage")
            .and_then(Value::as_u64)
            .map(|s| s as usize)
            .unwrap_or(0)
            .min(self.agents.len().saturating_sub(1));
        let agent = &self.agents[stage];
        let task = match pattern_str(cx, "task") {
            Some(t) => t,
            None => {
                let t = uuid::Uuid::now_v7().to_string();
                set_pattern(cx, "task", t.clone());
                t
            }
        };
        cx.state.cursor.active_agent = Some(agent.name().to_owned());
        cx.activate(agent.name(), vec![format!("{}:{task}", agent.name())])
            .await;
        let channel = agent_channel(agent.name());
        let prefix = if stage == 0 {
            match self.routing.input {
                InputMode::FullHistory => cx.state.messages().to_vec(),
                _ => latest_request(cx).into_iter().collect(),
            }
        } else {
            let request = latest_request(cx).map(|m| m.text()).unwrap_or_default();
            let prev_agent = pattern_str(cx, "previous_agent").unwrap_or_default();
            let prev = pattern_str(cx, "previous_output").unwrap_or_default();
            vec![Message::user(format!(
                "The request: {request}\n\nThe previous step ({prev_agent}) produced:\n\n{prev}\n\nDo your part of the work on it."
            ))]
        };
        let node = agent.name().to_owned();
        match agent_turn(cx, agent, &channel, &prefix, &Handoffs::default()).await? {
            Turn::Answered(answer) => {
                let own = cx.state.channel(&channel).to_vec();
                cx.state.clear(&channel);
                let last = stage + 1 == self.agents.len();
                if self.routing.output == OutputMode::FullHistory {
                    for m in own {
                        cx.state.push(MAIN, m);
                    }
                } else if last {
                    cx.state.push(MAIN, answer.clone());
                }
                if last {
                    cx.state.cursor.pattern.clear();
                    return Ok(StepOutcome::finish(node, Some(answer)));
                }
                let next = &self.agents[stage + 1];
                set_pattern(cx, "stage", (stage + 1) as u64);
                set_pattern(cx, "previous_agent", agent.name());
                set_pattern(cx, "previous_output", answer.text());
                set_pattern(cx, "task", uuid::Uuid::now_v7().to_string());
                cx.record_handoff(next.name())?;
                cx.emit(EventKind::Handoff {
                    from: agent.name().to_owned(),
                    to: next.name().to_owned(),
                    brief: None,
                })
                .await;
                Ok(StepOutcome::cont(node))
            }
            Turn::Working | Turn::HandOff { .. } => Ok(StepOutcome::cont(node)),
            Turn::Interrupted(i) => Ok(StepOutcome {
                node,
                next: Next::Interrupt(i),
            }),
        }
    }

    fn topology(&self) -> (Vec<GraphNode>, Vec<GraphEdge>) {
        let mut nodes = vec![GraphNode {
            id: "__start__".into(),
            kind: "start".into(),
        }];
        let mut edges = Vec::new();
        let mut prev = "__start__".to_owned();
        for a in &self.agents {
            nodes.push(GraphNode {
                id: a.name().to_owned(),
                kind: "agent".into(),
            });
            edges.push(GraphEdge {
                source: prev.clone(),
                target: a.name().to_owned(),
                conditional: false,
            });
            prev = a.name().to_owned();
        }
        nodes.push(GraphNode {
            id: "__end__".into(),
            kind: "end".into(),
        });
        edges.push(GraphEdge {
            source: prev,
            target: "__end__".into(),
            conditional: false,
        });
        (nodes, edges)
    }
}
