//! Liveness and readiness probes for orchestrators.

pub mod live;
pub mod ready;
