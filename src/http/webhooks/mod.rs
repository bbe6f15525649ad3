//! Webhooks that providers send to the gateway. They carry no access token:
//! each is authenticated by its signature over the raw body, checked by the
//! use case ([`crate::checks::vendor`]) before anything in it is believed.

pub mod vendor;
