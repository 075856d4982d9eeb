//! The swarm pattern: agents hand control to each other directly.

use std::collections::HashMap;

use async_trait::async_trait;

use super::{Handoffs, MAIN, Turn, accept_handoff, agent_turn, check_agents};
use crate::agent::Agent;
use crate::error::RunError;
use crate::graph::{Graph, GraphEdge, GraphNode, Next, StepCtx, StepOutcome};

/// Agents that hand off to each other directly, sharing the conversation.
///
/// Each agent gets a `transfer_to_<agent>` tool for every other agent. The agent in
/// control is remembered across turns: the next message goes to whoever answered last.
/// The first agent starts.
#[derive(Debug, Clone)]
pub struct Swarm {
    name: String,
    agents: Vec<Agent>,
    handoffs: HashMap<String, Handoffs>,
}

impl Swarm {
    /// A swarm named `name` of `agents` (the first one starts).
    pub fn new(name: impl Into<String>, agents: Vec<Agent>) -> Result<Self, RunError> {
        check_agents("swarm", &agents)?;
        let handoffs = agents
            .iter()
            .map(|a| {
                let others = agents.iter().filter(|o| o.name() != a.name());
                (a.name().to_owned(), Handoffs::to(others, false))
            })
            .collect();
        Ok(Swarm {
            name: name.into(),
            agents,
            handoffs,
        })
    }
}

#[async_trait]
impl Graph for Swarm {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &str {
        "swarm"
    }

    fn agents(&self) -> Vec<&Agent> {
        self.agents.iter().collect()
    }

    async fn step(&self, cx: &mut StepCtx) -> Result<StepOutcome, RunError> {
        let active = cx
            .state
            .cursor
            .active_agent
            .as_deref()
            .and_then(|n| self.agents.iter().find(|a| a.name() == n))
            .or_else(|| self.agents.first())
            .ok_or_else(|| RunError::Config("the swarm has no agents".into()))?;
        let name = active.name().to_owned();
        cx.state.cursor.active_agent = Some(name.clone());
        cx.activate(&name, Vec::new()).await;
        let handoffs = self.handoffs.get(&name).cloned().unwrap_or_default();
        match agent_turn(cx, active, MAIN, &[], &handoffs).await? {
            Turn::Answered(m) => Ok(StepOutcome::finish(name, Some(m))),
            Turn::Working => Ok(StepOutcome::cont(name)),
            Turn::Interrupted(i) => Ok(StepOutcome {
                node: name,
                next: Next::Interrupt(i),
            }),
            Turn::HandOff { to, brief, call } => {
                accept_handoff(cx, MAIN, &name, &to, &call, brief).await?;
                cx.state.cursor.active_agent = Some(to);
                Ok(StepOutcome::cont(name))
            }
        }
    }

    fn topology(&self) -> (Vec<GraphNode>, Vec<GraphEdge>) {
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
                conditional: true,
            });
            for b in &self.agents {
                if a.name() != b.name() {
                    edges.push(GraphEdge {
                        source: a.name().to_owned(),
                        target: b.name().to_owned(),
                        conditional: true,
                    });
                }
            }
            edges.push(GraphEdge {
                source: a.name().to_owned(),
                target: "__end__".into(),
                conditional: true,
            });
        }
        nodes.push(GraphNode {
            id: "__end__".into(),
            kind: "end".into(),
        });
        (nodes, edges)
    }
}
