//! KYC checks and their providers: the [`pipeline`] (the `Provider` trait,
//! check records, the worker on the durable job queue), the built-in
//! [`mrz`] check and [`sanctions_check`], the sanctions screening engine
//! ([`sanctions`], pure) and its use case ([`screening`]: configured lists,
//! reloads, audited ad-hoc screening), the document and liveness
//! [`vendor`] adapter over HTTPS with its webhooks, and the [`sandbox`] that
//! stands in for it in the dev profile.

pub mod mrz;
pub mod pipeline;
pub mod sanctions;
pub mod sanctions_check;
pub mod sandbox;
pub mod screening;
pub mod vendor;
