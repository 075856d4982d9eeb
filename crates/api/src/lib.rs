//! placeholder

pub mod studio_sse;
