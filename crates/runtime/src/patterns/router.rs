//! The router pattern: the orchestrator's model picks one agent per message.

use async_trait::async_trait;
use serde_json::{Value, json};

use super::{Handoffs, MAIN, Turn, agent_turn, check_agents, pattern_str, set_pattern};
use crate::agent::Agent;
use crate::error::RunError;
use crate::event::EventKind;
use crate::graph::{Graph, GraphEdge, GraphNode, Next, StepCtx, StepOutcome};
use crate::message::Message;
use crate::model::ResponseSchema;
use crate::react::call_model_with;

/// A router: for every user message, the router's model chooses exactly one agent (with
/// structured output), and that agent answers directly.
#[derive(Debug, Clone)]
pub struct Router {
    router: Agent,
    agents: Vec<Agent>,
}

impl Router {
    /// A router whose model and prompt are `router`'s, choosing among `agents`.
    pub fn new(router: Agent, agents: Vec<Agent>) -> Result<Self, RunError> {
        check_agents("router", &agents)?;
        Ok(Router { router, agents })
    }

    fn schema(&self) -> ResponseSchema {
        let names: Vec<&str> = self.agents.iter().map(Agent::name).collect();
        ResponseSchema {
            name: "route".into(),
            schema: json!({
                "type": "object",
                "properties": {
                    "agent": {"type": "string", "enum": names, "description": "The agent that should answer."},
                    "reason": {"type": "string", "description": "Why this agent, in one sentence."}
                },
                "required": ["agent", "reason"],
                "additionalProperties": false
            }),
        }
    }

    fn instructions(&self) -> String {
        let mut s = String::from(
            "Choose the one agent best suited to answer the latest user message. Answer with JSON: {\"agent\": <name>, \"reason\": <one sentence>}. The agents:\n",
        );
        for a in &self.agents {
            s.push_str(&format!(
                "- {}: {}\n",
                a.name(),
                a.description().unwrap_or("(no description)")
            ));
        }
        s
    }

    /// Reads the model's choice; a name that is not an agent's falls back to the agent
    /// whose name it mentions, then to the first agent.
    fn choice(&self, text: &str) -> (String, String) {
        let parsed: Option<Value> = serde_json::from_str(text.trim()).ok().or_else(|| {
            let start = text.find('{')?;
            let end = text.rfind('}')?;
            serde_json::from_str(text.get(start..=end)?).ok()
        });
        let reason = parsed
            .as_ref()
            .and_then(|v| v.get("reason"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let wanted = parsed
            .as_ref()
            .and_then(|v| v.get("agent"))
            .and_then(Value::as_str)
            .unwrap_or(text);
        if let Some(a) = self.agents.iter().find(|a| a.name() == wanted) {
            return (a.name().to_owned(), reason);
        }
        let lower = wanted.to_lowercase();
        if let Some(a) = self
            .agents
            .iter()
            .find(|a| lower.contains(&a.name().to_lowercase()))
        {
            return (a.name().to_owned(), reason);
        }
        let first = self
            .agents
            .first()
            .map(|a| a.name().to_owned())
            .unwrap_or_default();
        (
            first,
            "the router's choice could not be read; the first agent answers".into(),
        )
    }
}

#[async_trait]
impl Graph for Router {
    fn name(&self) -> &str {
        self.router.name()
    }

    fn kind(&self) -> &str {
        "router"
    }

    fn agents(&self) -> Vec<&Agent> {
        std::iter::once(&self.router)
            .chain(self.agents.iter())
            .collect()
    }

    async fn step(&self, cx: &mut StepCtx) -> Result<StepOutcome, RunError> {
        let name = self.router.name().to_owned();
        let routed =
            pattern_str(cx, "routed").and_then(|r| self.agents.iter().find(|a| a.name() == r));
        let Some(agent) = routed else {
            cx.activate(&name, Vec::new()).await;
            let mut history = vec![Message::system(self.instructions())];
            history.extend_from_slice(cx.state.messages());
            let reply = call_model_with(
                cx,
                &self.router,
                history,
                Vec::new(),
                Some(self.schema()),
                false,
            )
            .await?;
            let (to, reason) = self.choice(&reply.text());
            cx.record_handoff(&to)?;
            set_pattern(cx, "routed", to.clone());
            cx.state.cursor.active_agent = Some(to.clone());
            cx.emit(EventKind::Handoff {
                from: name.clone(),
                to,
                brief: Some(reason).filter(|r| !r.is_empty()),
            })
            .await;
            return Ok(StepOutcome::cont(name));
        };
        let node = agent.name().to_owned();
        cx.activate(agent.name(), Vec::new()).await;
        match agent_turn(cx, agent, MAIN, &[], &Handoffs::default()).await? {
            Turn::Answered(m) => Ok(StepOutcome::finish(node, Some(m))),
            Turn::Working | Turn::HandOff { .. } => Ok(StepOutcome::cont(node)),
            Turn::Interrupted(i) => Ok(StepOutcome {
                node,
                next: Next::Interrupt(i),
            }),
        }
    }

    fn topology(&self) -> (Vec<GraphNode>, Vec<GraphEdge>) {
        let r = self.router.name().to_owned();
        let mut nodes = vec![
            GraphNode {
                id: "__start__".into(),
                kind: "start".into(),
            },
            GraphNode {
                id: r.clone(),
                kind: "router".into(),
            },
        ];
        let mut edges = vec![GraphEdge {
            source: "__start__".into(),
            target: r.clone(),
            conditional: false,
        }];
        for a in &self.agents {
            nodes.push(GraphNode {
                id: a.name().to_owned(),
                kind: "agent".into(),
            });
            edges.push(GraphEdge {
                source: r.clone(),
                target: a.name().to_owned(),
                conditional: true,
            });
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
