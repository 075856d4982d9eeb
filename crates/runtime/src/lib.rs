//! # fustat-runtime
//!
//! The agent runtime of Fustat, usable on its own: no database, no HTTP server.
//!
//! - [`message`]: the provider-neutral message model.
//! - [`model`]: the [`ChatModel`](model::ChatModel) trait, one streaming LLM call.
//! - [`tool`]: the [`Tool`](tool::Tool) trait and in-process tools.
//! - [`interrupt`]: human-in-the-loop interrupts and decisions.
//! - [`event`]: the run event stream.
//! - [`checkpoint`]: durable run state as small per-step deltas.

pub mod checkpoint;
pub mod event;
pub mod interrupt;
pub mod message;
pub mod model;
pub mod tool;
