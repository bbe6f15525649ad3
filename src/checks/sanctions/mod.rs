//! The built-in sanctions/PEP screening engine (pure core; the provider
//! adapter, list watching and re-screening are still to come).
//!
//! Flow: loaders ([`ofac`], [`un`]) turn official list files into format-neutral
//! [`model`] entries; [`lists`] validates and activates list versions in a [`lists::ListSet`]
//! that can be hot-swapped; each activation builds an immutable [`index`] of names
//! prepared by [`normalize`]; a screening takes candidates from the index and scores
//! them with [`matcher`], returning explained potential matches for review (never a
//! rejection). No I/O except reading the configured files in [`lists::load`].

pub mod index;
pub mod lists;
pub mod matcher;
pub mod model;
pub mod normalize;
pub mod ofac;
pub mod un;

#[cfg(test)]
mod tests;
