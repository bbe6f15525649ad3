//! `/v1/me`: the caller as the gateway authenticated it.

pub mod get;
