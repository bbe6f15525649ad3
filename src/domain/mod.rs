//! Pure domain types and rules: no actix, no sqlx, no I/O. Time comes in
//! through [`clock::Clock`] so expiry and SLA rules are testable.

pub mod clock;
