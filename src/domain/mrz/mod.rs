//! Machine readable zones (ICAO Doc 9303): parsing TD1, TD2, TD3 and visa
//! MRZs, verifying every check digit, and comparing the result with the
//! identity an applicant declared.
//!
//! Pure domain code: no I/O, no clock (today's date is always a parameter),
//! no framework. [`parse()`] turns MRZ text into an [`Mrz`] that carries every
//! fault it found; [`compare()`] turns an `Mrz` and a [`DeclaredIdentity`] into
//! [`Finding`]s with stable reason codes for the decision step.

pub mod check_digit;
pub mod compare;
pub mod fields;
pub mod parse;
pub mod transliterate;

#[cfg(test)]
mod vectors;

#[cfg(test)]
mod test_support;

pub use compare::{DeclaredIdentity, Finding, ReasonCode, Severity, compare, findings};
pub use fields::{
    DateRole, DocumentCode, DocumentKind, DocumentNumber, FieldError, InvalidDateReason, MrzDate,
    MrzName, Sex, StateCode,
};
pub use parse::{MAX_INPUT_BYTES, Mrz, MrzError, MrzField, MrzFormat, MrzProblem, parse};
