//! The parallel pattern: every agent works on the message at once; the orchestrator's
//! model merges their answers.

use async_trait::async_trait;
use serde_json::{Map, Value, json};

use super::{
    ContextRouting, Handoffs, InputMode, MAIN, OutputMode, Turn, agent_channel, agent_turn,
    check_agents, latest_request, pattern_str, set_pattern,
};
use crate::agent::Agent;
use crate::error::RunError;
use crate::event::EventKind;
use crate::graph::{Graph, GraphEdge, GraphNode, Next, StepCtx, StepOutcome};
use crate::message::Message;
use crate::react::call_model;

/// Agents working on the same message concurrently; a merger (the orchestrator's model
/// and prompt) combines their answers into the reply. An agent that fails is reported
/// to the merger and on the event stream; the others' work still counts.
#[derive(Debug, Clone)]
pub struct Parallel {
    merger: Agent,
    agents: Vec<Agent>,
    routing: ContextRouting,
}

impl Parallel {
    /// Agents run side by side; `merger` writes the reply.
    pub fn new(merger: Agent, agents: Vec<Agent>) -> Result<Self, RunError> {
        check_agents("parallel team", &agents)?;
        Ok(Parallel {
            merger,
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

    fn done(cx: &StepCtx) -> Map<String, Value> {
        cx.state
            .cursor
            .pattern
            .get("done")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    }

    async fn branches(&self, cx: &mut StepCtx) -> Result<StepOutcome, RunError> {
        let name = self.merger.name().to_owned();
        let task = match pattern_str(cx, "task") {
            Some(t) => t,
            None => {
                let t = uuid::Uuid::now_v7().to_string();
                set_pattern(cx, "task", t.clone());
                t
            }
        };
        let mut done = Self::done(cx);
        let prefix: Vec<Message> = match self.routing.input {
            InputMode::FullHistory => cx.state.messages().to_vec(),
            _ => latest_request(cx).into_iter().collect(),
        };
        let mut branches = Vec::new();
        for agent in self.agents.iter().filter(|a| !done.contains_key(a.name())) {
            let channel = agent_channel(agent.name());
            let b = cx.branch(
                agent.name(),
                vec![format!("{}:{task}", agent.name())],
                &channel,
            );
            if b.state.channel(&channel).is_empty() {
                b.emit(EventKind::AgentActive {
                    agent: agent.name().to_owned(),
                })
                .await;
            }
            branches.push((agent, channel, b));
        }
        let results =
            futures::future::join_all(branches.into_iter().map(|(agent, channel, mut b)| {
                let prefix = &prefix;
                async move {
                    let r = agent_turn(&mut b, agent, &channel, prefix, &Handoffs::default()).await;
                    (agent, b, r)
                }
            }))
            .await;
        let mut interrupts = Vec::new();
        for (agent, b, result) in results {
            cx.absorb(b);
            match result {
                Ok(Turn::Answered(m)) => {
                    done.insert(
                        agent.name().to_owned(),
                        json!({"ok": true, "text": m.text()}),
                    );
                }
                Ok(Turn::Working | Turn::HandOff { .. }) => {}
                Ok(Turn::Interrupted(i)) => interrupts.extend(i),
                Err(RunError::Cancelled) => return Err(RunError::Cancelled),
                Err(e) => {
                    let message = e.to_string();
                    tracing::warn!(agent = agent.name(), error = %message, "an agent of a parallel team failed");
                    cx.set_agent(agent.name(), Vec::new());
                    cx.emit(EventKind::Custom {
                        value: json!({"type": "agent_failed", "agent": agent.name(), "message": message}),
                    })
                    .await;
                    done.insert(
                        agent.name().to_owned(),
                        json!({"ok": false, "text": message}),
                    );
                }
            }
        }
        cx.set_agent(&name, Vec::new());
        set_pattern(cx, "done", Value::Object(done.clone()));
        if !interrupts.is_empty() {
            return Ok(StepOutcome {
                node: name,
                next: Next::Interrupt(interrupts),
            });
        }
        if done.len() == self.agents.len() {
            set_pattern(cx, "phase", "merge");
        }
        Ok(StepOutcome::cont(name))
    }

    async fn merge(&self, cx: &mut StepCtx) -> Result<StepOutcome, RunError> {
        let name = self.merger.name().to_owned();
        cx.activate(&name, Vec::new()).await;
        let done = Self::done(cx);
        let mut answers = String::new();
        for agent in &self.agents {
            let entry = done.get(agent.name());
            let ok = entry
                .and_then(|e| e.get("ok"))
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let text = entry
                .and_then(|e| e.get("text"))
                .and_then(Value::as_str)
                .unwrap_or("(no answer)");
            if ok {
                answers.push_str(&format!("### {}\n{text}\n\n", agent.name()));
            } else {
                answers.push_str(&format!("### {} (failed)\n{text}\n\n", agent.name()));
            }
        }
        let mut history = cx.state.messages().to_vec();
        history.push(Message::user(format!(
            "The agents worked on the request above. Their answers:\n\n{answers}Write the final answer for the user from their answers. If an agent failed, say what is missing because of it."
        )));
        let answer = call_model(cx, &self.merger, history, Vec::new()).await?;
        for agent in &self.agents {
            let channel = agent_channel(agent.name());
            if self.routing.output == OutputMode::FullHistory {
                for m in cx.state.channel(&channel).to_vec() {
                    cx.state.push(MAIN, m);
                }
            }
            cx.state.clear(&channel);
        }
        cx.state.push(MAIN, answer.clone());
        cx.state.cursor.pattern.clear();
        Ok(StepOutcome::finish(name, Some(answer)))
    }
}

#[async_trait]
impl Graph for Parallel {
    fn name(&self) -> &str {
        self.merger.name()
    }

    fn kind(&self) -> &str {
        "parallel"
    }

    fn agents(&self) -> Vec<&Agent> {
        std::iter::once(&self.merger)
            .chain(self.agents.iter())
            .collect()
    }

    async fn step(&self, cx: &mut StepCtx) -> Result<StepOutcome, RunError> {
        if pattern_str(cx, "phase").as_deref() == Some("merge") {
            self.merge(cx).await
        } else {
            self.branches(cx).await
        }
    }

    fn topology(&self) -> (Vec<GraphNode>, Vec<GraphEdge>) {
        let m = self.merger.name().to_owned();
        let mut nodes = vec![GraphNode {
            id: "__start__".into(),
            kind: "start".into(),
        }];
        let mut edges = Vec::new();
        for a in &self.agents {
            nodes.push(GraphNode {
                id: a.name().to_owned(),
                kind: "agent".into(),
            });
            edges.push(GraphEdge {
                source: "__start__".into(),
                target: a.name().to_owned(),
                conditional: false,
            });
            edges.push(GraphEdge {
                source: a.name().to_owned(),
                target: m.clone(),
                conditional: false,
            });
        }
        nodes.push(GraphNode {
            id: m.clone(),
            kind: "merge".into(),
        });
        nodes.push(GraphNode {
            id: "__end__".into(),
            kind: "end".into(),
        });
        edges.push(GraphEdge {
            source: m,
            target: "__end__".into(),
            conditional: false,
        });
        (nodes, edges)
    }
}
