//! # fustat-runtime
//!
//! The agent runtime of Fustat, usable on its own: no database, no HTTP server.
//!
//! - [`message`]: the provider-neutral message model.
//! - [`model`]: the [`ChatModel`](model::ChatModel) trait, one streaming LLM call.
//! - [`openai`]: the model client for OpenAI and OpenAI-compatible providers.
//! - [`tool`]: the [`Tool`](tool::Tool) trait, in-process tools and tool providers.
//! - [`agent`]: agents (name, system prompt, model, tools).
//! - [`graph`]: the step-by-step execution model every pattern implements.
//! - [`react`]: the ReAct loop and [`AgentGraph`](react::AgentGraph), one agent as a graph.
//! - [`patterns`]: multi-agent patterns (supervisor, swarm, sequential, parallel, router).
//! - [`run`]: the [`Runtime`](run::Runtime) that runs graphs with checkpoints.
//! - [`interrupt`]: human-in-the-loop interrupts and decisions.
//! - [`event`]: the run event stream.
//! - [`checkpoint`]: durable run state as small per-step deltas.
//! - [`state`]: the state a run works on.
//! - [`store`]: long-term memory shared across conversations.
//! - [`context`]: keeping requests within a model's context window.

#![warn(missing_docs)]

pub mod agent;
pub mod checkpoint;
pub mod context;
pub mod error;
pub mod event;
pub mod graph;
pub mod interrupt;
pub mod message;
pub mod model;
pub mod net;
pub mod openai;
pub mod patterns;
pub mod react;
pub mod run;
pub mod state;
pub mod store;
pub mod tool;

pub use error::RunError;
