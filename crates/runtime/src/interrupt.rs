//! Human-in-the-loop: the interrupt a supervised tool call raises, and the decision that
//! resumes it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::message::ToolCall;

/// The tool call a human is asked to review.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionRequest {
    /// The tool's name.
    pub action: String,
    /// The arguments the model chose.
    pub args: Value,
}

/// Which decisions the reviewer may take.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HumanInterruptConfig {
    /// Run the tool as asked.
    pub allow_accept: bool,
    /// Run it with edited arguments.
    pub allow_edit: bool,
    /// Answer in the tool's place.
    pub allow_respond: bool,
    /// Skip the tool.
    pub allow_ignore: bool,
}

impl Default for HumanInterruptConfig {
    fn default() -> Self {
        HumanInterruptConfig {
            allow_accept: true,
            allow_edit: true,
            allow_respond: true,
            allow_ignore: true,
        }
    }
}

/// The payload of an interrupt, in the agent-inbox (`HumanInterrupt`) shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HumanInterrupt {
    /// The tool call under review.
    pub action_request: ActionRequest,
    /// Which decisions are allowed.
    pub config: HumanInterruptConfig,
    /// What the reviewer is asked.
    pub description: String,
}

/// A paused tool call waiting for a human decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interrupt {
    /// A stable id for this interrupt (resumes may address it).
    pub id: String,
    /// The agent whose tool call is paused.
    pub agent: String,
    /// The paused call.
    pub call: ToolCall,
    /// What the reviewer sees.
    pub request: HumanInterrupt,
}

impl Interrupt {
    /// The interrupt for a tool call of `agent`.
    pub fn for_tool_call(agent: &str, call: &ToolCall) -> Self {
        Interrupt {
            id: interrupt_id(&call.id),
            agent: agent.to_owned(),
            call: call.clone(),
            request: HumanInterrupt {
                action_request: ActionRequest {
                    action: call.name.clone(),
                    args: call.arguments.clone(),
                },
                config: HumanInterruptConfig::default(),
                description: "Please review the tool call".to_owned(),
            },
        }
    }

    /// The interrupt value as the contract shows it: a one-element list.
    pub fn value(&self) -> Value {
        serde_json::to_value(vec![&self.request]).unwrap_or(Value::Null)
    }
}

/// A deterministic interrupt id for a tool call: 32 hex digits.
fn interrupt_id(call_id: &str) -> String {
    // FNV-1a, twice with different offsets: stable across processes and versions.
    let mut a: u64 = 0xcbf2_9ce4_8422_2325;
    let mut b: u64 = 0x8422_2325_cbf2_9ce4;
    for byte in call_id.bytes() {
        a = (a ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        b = (b ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    format!("{a:016x}{b:016x}")
}

/// A human's decision on a paused tool call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Decision {
    /// Run the tool as the model asked.
    Accept,
    /// Run the tool with these arguments instead.
    Edit {
        /// The arguments to use.
        args: Value,
    },
    /// Do not run the tool; this text becomes its result.
    Response {
        /// The text the model sees as the tool's result.
        text: String,
    },
    /// Do not run the tool; the model is told the tool is not available.
    Ignore,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn interrupt_value_matches_the_contract() {
        let call = ToolCall {
            id: "call_1".into(),
            name: "get_time".into(),
            arguments: json!({"tz": "UTC"}),
        };
        let i = Interrupt::for_tool_call("a", &call);
        assert_eq!(
            i.value(),
            json!([{
                "action_request": {"action": "get_time", "args": {"tz": "UTC"}},
                "config": {"allow_accept": true, "allow_edit": true, "allow_respond": true, "allow_ignore": true},
                "description": "Please review the tool call"
            }])
        );
        assert_eq!(i.id.len(), 32);
        assert_eq!(i.id, Interrupt::for_tool_call("b", &call).id);
    }
}
