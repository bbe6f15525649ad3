//! Pure domain types and rules: no actix, no sqlx, no I/O. Time comes in
//! through [`clock::Clock`] so expiry and SLA rules are testable.

pub mod address;
pub mod application_state;
pub mod birth_date;
pub mod check;
pub mod clock;
pub mod contact;
pub mod country;
pub mod document;
pub mod mrz;
pub mod person_name;
pub mod text;
