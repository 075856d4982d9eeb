//! The LangGraph Platform protocol (Agent Hub's chat API): message and state shapes,
//! the stream encoder and the run manager. The HTTP handlers are in
//! [`crate::routes::hub`].

pub mod convert;
pub mod encoder;
pub mod runs;
