//! KYC checks and their providers. So far: the built-in sanctions
//! screening engine; the provider trait, the durable job queue, the MRZ check
//! provider and the vendor adapter arrive with the checks feature.

pub mod sanctions;
