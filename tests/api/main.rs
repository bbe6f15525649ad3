//! API tests: the real gateway over TLS, used as a bank app, an officer, an

#![expect(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "a test fails loudly at the first broken expectation"
)]
//! auditor or an operator would. One binary; one file per area.

mod applications;
mod audit;
mod auth;
mod checks;
mod cli;
mod documents;
mod e2e;
mod errors;
mod health;
mod helpers;
mod jobs;
mod review;
mod screening;
mod tls;
mod vendor;
