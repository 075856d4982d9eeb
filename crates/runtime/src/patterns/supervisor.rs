//! The supervisor pattern: a supervisor model hands the task to sub-agents with
//! `transfer_to_<agent>` tools; control returns to it when a sub-agent answers.

use async_trait::async_trait;

use super::{
    ContextRouting, Handoffs, InputMode, MAIN, OutputMode, Turn, accept_handoff, agent_channel,
    agent_turn, check_agents, latest_request, pattern_str, set_pattern,
};
use crate::agent::Agent;
use crate::error::RunError;
use crate::event::EventKind;
use crate::graph::{Graph, GraphEdge, GraphNode, Next, StepCtx, StepOutcome};
use crate::message::{Message, ToolCall};

/// A supervisor with sub-agents.
///
/// The supervisor (its own model and prompt) gets one handoff tool per sub-agent. A
/// sub-agent runs its own ReAct loop with its own model and tools; when it answers,
/// control returns to the supervisor, which answers the user or hands off again.
/// [`ContextRouting`] decides what a sub-agent sees (the whole conversation, only the
/// latest request, or a brief the supervisor writes) and what comes back (everything it
/// did, or only its answer).
///
/// ```no_run
/// # use std::sync::Arc;
/// # use fustat_runtime::{agent::Agent, model::ChatModel, patterns::Supervisor};
/// # fn demo(model: Arc<dyn ChatModel>) -> Result<(), fustat_runtime::RunError> {
/// let researcher = Agent::builder("researcher", model.clone()).description("finds facts").build();
/// let writer = Agent::builder("writer", model.clone()).description("writes prose").build();
/// let team = Supervisor::builder(Agent::builder("lead", model).build())
///     .agent(researcher)
///     .agent(writer)
///     .build()?;
/// # let _ = team; Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Supervisor {
    supervisor: Agent,
    agents: Vec<Agent>,
    routing: ContextRouting,
    handoffs: Handoffs,
}

/// Builds a [`Supervisor`].
#[derive(Debug)]
pub struct SupervisorBuilder {
    supervisor: Agent,
    agents: Vec<Agent>,
    routing: ContextRouting,
}

impl Supervisor {
    /// Starts a supervisor whose own model and prompt are `supervisor`'s.
    pub fn builder(supervisor: Agent) -> SupervisorBuilder {
        SupervisorBuilder {
            supervisor,
            agents: Vec::new(),
            routing: ContextRouting::default(),
        }
    }

    /// How context flows to and from the sub-agents.
    pub fn routing(&self) -> ContextRouting {
        self.routing
    }
}

impl SupervisorBuilder {
    /// Adds a sub-agent.
    pub fn agent(mut self, agent: Agent) -> Self {
        self.agents.push(agent);
        self
    }

    /// Adds sub-agents.
    pub fn agents(mut self, agents: impl IntoIterator<Item = Agent>) -> Self {
        self.agents.extend(agents);
        self
    }

    /// Sets the context routing.
    pub fn routing(mut self, routing: ContextRouting) -> Self {
        self.routing = routing;
        self
    }

    /// The supervisor; fails when there are no sub-agents or two share a name.
    pub fn build(self) -> Result<Supervisor, RunError> {
        check_agents("supervisor", &self.agents)?;
        let handoffs = Handoffs::to(&self.agents, self.routing.input == InputMode::Brief);
        Ok(Supervisor {
            supervisor: self.supervisor,
            agents: self.agents,
            routing: self.routing,
            handoffs,
        })
    }
}

impl Supervisor {
    fn name_str(&self) -> &str {
        self.supervisor.name()
    }

    async fn supervise(&self, cx: &mut StepCtx) -> Result<StepOutcome, RunError> {
        let name = self.name_str().to_owned();
        cx.state.cursor.active_agent = None;
        cx.activate(&name, Vec::new()).await;
        match agent_turn(cx, &self.supervisor, MAIN, &[], &self.handoffs).await? {
            Turn::Answered(m) => Ok(StepOutcome::finish(name, Some(m))),
            Turn::Working => Ok(StepOutcome::cont(name)),
            Turn::Interrupted(i) => Ok(StepOutcome {
                node: name,
                next: Next::Interrupt(i),
            }),
            Turn::HandOff { to, brief, call } => {
                accept_handoff(cx, MAIN, &name, &to, &call, brief.clone()).await?;
                set_pattern(cx, "worker", to.clone());
                set_pattern(cx, "task", call.id.clone());
                if let Some(b) = brief {
                    set_pattern(cx, "brief", b);
                }
                cx.state.cursor.active_agent = Some(to);
                Ok(StepOutcome::cont(name))
            }
        }
    }

    async fn work(&self, cx: &mut StepCtx, agent: &Agent) -> Result<StepOutcome, RunError> {
        let task = pattern_str(cx, "task").unwrap_or_default();
        cx.activate(agent.name(), vec![format!("{}:{task}", agent.name())])
            .await;
        let (channel, prefix) = if self.routing.shares_main() {
            (MAIN.to_owned(), Vec::new())
        } else {
            let prefix = match self.routing.input {
                InputMode::FullHistory => cx.state.messages().to_vec(),
                InputMode::LatestRequest => latest_request(cx).into_iter().collect(),
                InputMode::Brief => {
                    let brief = pattern_str(cx, "brief")
                        .filter(|b| !b.trim().is_empty())
                        .or_else(|| latest_request(cx).map(|m| m.text()))
                        .unwrap_or_default();
                    vec![Message::user(brief)]
                }
            };
            (agent_channel(agent.name()), prefix)
        };
        let node = agent.name().to_owned();
        match agent_turn(cx, agent, &channel, &prefix, &Handoffs::default()).await? {
            Turn::Answered(answer) => {
                self.give_back(cx, agent, &channel, answer).await;
                Ok(StepOutcome::cont(node))
            }
            Turn::Working | Turn::HandOff { .. } => Ok(StepOutcome::cont(node)),
            Turn::Interrupted(i) => Ok(StepOutcome {
                node,
                next: Next::Interrupt(i),
            }),
        }
    }

    /// Moves the sub-agent's work into the main conversation as the routing says, and
    /// hands control back with a completed `transfer_back_to_supervisor` exchange.
    async fn give_back(&self, cx: &mut StepCtx, agent: &Agent, channel: &str, answer: Message) {
        if channel != MAIN {
            let own = cx.state.channel(channel).to_vec();
            match self.routing.output {
                OutputMode::FullHistory => {
                    for m in own {
                        cx.state.push(MAIN, m);
                    }
                }
                OutputMode::FinalAnswer => cx.state.push(MAIN, answer),
            }
            cx.state.clear(channel);
        }
        let call = ToolCall {
            id: format!("call_back_{}", uuid::Uuid::now_v7().simple()),
            name: "transfer_back_to_supervisor".into(),
            arguments: serde_json::json!({}),
        };
        cx.state.push(
            MAIN,
            Message::assistant_tool_calls("", vec![call.clone()]).with_name(agent.name()),
        );
        cx.state.push(
            MAIN,
            Message::tool_result(
                &call,
                format!("Successfully transferred back to {}", self.name_str()),
                false,
            ),
        );
        for key in ["worker", "task", "brief"] {
            cx.state.cursor.pattern.remove(key);
        }
        cx.state.cursor.active_agent = None;
        cx.emit(EventKind::Handoff {
            from: agent.name().to_owned(),
            to: self.name_str().to_owned(),
            brief: None,
        })
        .await;
    }
}

#[async_trait]
impl Graph for Supervisor {
    fn name(&self) -> &str {
        self.name_str()
    }

    fn kind(&self) -> &str {
        "supervisor"
    }

    fn agents(&self) -> Vec<&Agent> {
        std::iter::once(&self.supervisor)
            .chain(self.agents.iter())
            .collect()
    }

    async fn step(&self, cx: &mut StepCtx) -> Result<StepOutcome, RunError> {
        let worker = pattern_str(cx, "worker");
        match worker.and_then(|w| self.agents.iter().find(|a| a.name() == w)) {
            Some(agent) => self.work(cx, agent).await,
            None => self.supervise(cx).await,
        }
    }

    fn topology(&self) -> (Vec<GraphNode>, Vec<GraphEdge>) {
        let sup = self.name_str().to_owned();
        let mut nodes = vec![
            GraphNode {
                id: "__start__".into(),
                kind: "start".into(),
            },
            GraphNode {
                id: sup.clone(),
                kind: "supervisor".into(),
            },
        ];
        let mut edges = vec![GraphEdge {
            source: "__start__".into(),
            target: sup.clone(),
            conditional: false,
        }];
        for a in &self.agents {
            nodes.push(GraphNode {
                id: a.name().to_owned(),
                kind: "agent".into(),
            });
            edges.push(GraphEdge {
                source: sup.clone(),
                target: a.name().to_owned(),
                conditional: true,
            });
            edges.push(GraphEdge {
                source: a.name().to_owned(),
                target: sup.clone(),
                conditional: false,
            });
        }
        nodes.push(GraphNode {
            id: "__end__".into(),
            kind: "end".into(),
        });
        edges.push(GraphEdge {
            source: sup,
            target: "__end__".into(),
            conditional: true,
        });
        (nodes, edges)
    }
}
