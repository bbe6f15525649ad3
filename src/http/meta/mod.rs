//! Operational endpoints about the service itself: metrics, the OpenAPI
//! document, and what the caller's TLS connection looks like.

pub mod connection;
pub mod metrics;
pub mod openapi;
