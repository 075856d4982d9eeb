//! Context-window management: keeping what is sent to a model within its token budget.
//!
//! Token counts are estimated (about four bytes per token plus a per-message overhead),
//! which is close enough to stay clear of a limit with the default safety margin. When a
//! conversation is over budget, the oldest turns are dropped whole: the system prompt is
//! always kept, an assistant message asking for tools is never separated from the tool
//! results answering it, and a short note tells the model that earlier turns were left
//! out. The stored conversation is never changed; only the request is.

use crate::message::{Message, Role};

/// Estimated tokens of one message.
pub fn estimate_tokens(message: &Message) -> usize {
    let mut bytes = message.content.approx_len();
    for call in &message.tool_calls {
        bytes += call.name.len() + call.arguments.to_string().len() + 16;
    }
    bytes.div_ceil(4) + 6
}

/// Estimated tokens of a list of messages.
pub fn estimate_all(messages: &[Message]) -> usize {
    messages.iter().map(estimate_tokens).sum()
}

/// A model's token budget for the prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContextBudget {
    /// Tokens the prompt (system prompt, history and tool specs) may use.
    pub max_prompt_tokens: usize,
}

impl ContextBudget {
    /// The budget for a model with a `window`-token context, leaving a quarter (at most
    /// 8,192 tokens) for the answer.
    pub fn for_window(window: u32) -> Self {
        let window = window as usize;
        let reserve = (window / 4).min(8192);
        ContextBudget {
            max_prompt_tokens: window.saturating_sub(reserve).max(256),
        }
    }
}

/// Drops the oldest turns of `messages` (a system prompt first, if any, then the history)
/// until the estimate fits `budget`, minus `fixed_tokens` used elsewhere (tool specs).
/// Returns the messages to send and how many history messages were left out.
pub fn fit_to_budget(
    messages: Vec<Message>,
    budget: ContextBudget,
    fixed_tokens: usize,
) -> (Vec<Message>, usize) {
    let limit = budget.max_prompt_tokens.saturating_sub(fixed_tokens);
    if estimate_all(&messages) <= limit {
        return (messages, 0);
    }
    let (system, history): (Vec<Message>, Vec<Message>) = {
        let mut it = messages.into_iter().peekable();
        let mut system = Vec::new();
        while it.peek().is_some_and(|m| m.role == Role::System) {
            if let Some(m) = it.next() {
                system.push(m);
            }
        }
        (system, it.collect())
    };
    let note_tokens = 40;
    let mut used = estimate_all(&system) + note_tokens;
    // Walk back from the newest message, keeping whole groups (an assistant message with
    // tool calls together with its results) while they fit.
    let groups = group_turns(&history);
    let mut keep_from = history.len();
    for &(start, end) in groups.iter().rev() {
        let cost = estimate_all(&history[start..end]);
        if used + cost > limit && keep_from < history.len() {
            break;
        }
        used += cost;
        keep_from = start;
        if used > limit {
            break;
        }
    }
    // Never start with tool results or an assistant message (some providers refuse a
    // history that does not start with the user).
    while keep_from < history.len() && history[keep_from].role != Role::User {
        let next = groups
            .iter()
            .find(|&&(s, _)| s > keep_from)
            .map(|&(s, _)| s)
            .unwrap_or(history.len());
        if next >= history.len() {
            break;
        }
        keep_from = next;
    }
    let dropped = keep_from;
    let mut out = system;
    if dropped > 0 {
        out.push(Message::system(format!(
            "Note: the {dropped} oldest messages of this conversation were left out to fit the context window."
        )));
    }
    out.extend(history.into_iter().skip(keep_from));
    (out, dropped)
}

/// Splits a history into groups that must stay together: an assistant message with tool
/// calls plus the tool results after it; every other message alone.
fn group_turns(history: &[Message]) -> Vec<(usize, usize)> {
    let mut groups = Vec::new();
    let mut i = 0;
    while i < history.len() {
        let start = i;
        i += 1;
        if history[start].role == Role::Assistant && !history[start].tool_calls.is_empty() {
            while i < history.len() && history[i].role == Role::Tool {
                i += 1;
            }
        }
        groups.push((start, i));
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::ToolCall;

    fn long(role: Role, n: usize) -> Message {
        let mut m = Message::user("x".repeat(n));
        m.role = role;
        m
    }

    #[test]
    fn short_conversations_are_untouched() {
        let msgs = vec![Message::system("s"), Message::user("hi")];
        let (out, dropped) = fit_to_budget(
            msgs.clone(),
            ContextBudget {
                max_prompt_tokens: 1000,
            },
            0,
        );
        assert_eq!(out, msgs);
        assert_eq!(dropped, 0);
    }

    #[test]
    fn old_turns_go_first_and_tool_pairs_stay_together() {
        let call = ToolCall {
            id: "c".into(),
            name: "t".into(),
            arguments: serde_json::json!({}),
        };
        let mut msgs = vec![Message::system("system prompt")];
        for _ in 0..20 {
            msgs.push(long(Role::User, 400));
            msgs.push(long(Role::Assistant, 400));
        }
        msgs.push(Message::user("latest"));
        msgs.push(Message::assistant_tool_calls("", vec![call.clone()]));
        msgs.push(Message::tool_result(&call, "x".repeat(400), false));
        let budget = ContextBudget {
            max_prompt_tokens: 1000,
        };
        let (out, dropped) = fit_to_budget(msgs, budget, 0);
        assert!(dropped > 0);
        assert!(estimate_all(&out) <= 1000, "{}", estimate_all(&out));
        assert_eq!(out[0].text(), "system prompt");
        assert!(out[1].text().contains("left out"));
        assert_eq!(out[2].role, Role::User);
        let n = out.len();
        assert_eq!(out[n - 1].role, Role::Tool);
        assert_eq!(out[n - 2].tool_calls.len(), 1);
    }

    #[test]
    fn the_newest_group_is_kept_even_when_alone_over_budget() {
        let msgs = vec![Message::system("s"), long(Role::User, 40_000)];
        let (out, _) = fit_to_budget(
            msgs,
            ContextBudget {
                max_prompt_tokens: 100,
            },
            0,
        );
        assert_eq!(out.last().unwrap().role, Role::User);
    }
}
