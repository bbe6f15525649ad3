//! The applicant's identity data: validated from what the app sends (every
//! bad field named), sealed with the application's data key for storage,
//! and reduced to a blind index for duplicate detection.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::crypto::blind_index::BlindIndexKey;
use crate::domain::address::PostalAddress;
use crate::domain::birth_date::BirthDate;
use crate::domain::contact::{EmailAddress, PhoneNumber};
use crate::domain::country::CountryCode;
use crate::domain::person_name::PersonName;

/// One invalid field, in terms the app can show next to the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    /// Path of the field, e.g. `identity.date_of_birth`.
    pub field: String,
    /// Stable code, e.g. `invalid_date`.
    pub code: String,
    /// Explanation.
    pub message: String,
}

impl FieldProblem {
    fn new(field: &str, code: &str, message: impl ToString) -> Self {
        Self {
            field: field.to_owned(),
            code: code.to_owned(),
            message: message.to_string(),
        }
    }
}

/// The identity as the app sends it (shape only; `parse` validates).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentityInput {
    /// Given names as on the identity document, any script.
    pub given_names: String,
    /// Family name(s) as on the identity document, any script.
    pub family_name: String,
    /// `YYYY-MM-DD`.
    pub date_of_birth: String,
    /// ISO 3166-1 alpha-2.
    pub nationality: String,
    /// ISO 3166-1 alpha-2.
    pub country_of_residence: String,
    /// Residential address.
    pub address: AddressInput,
    /// Optional email address.
    pub email: Option<String>,
    /// Optional phone number, E.164.
    pub phone: Option<String>,
}

/// A postal address as the app sends it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressInput {
    /// One to three street lines.
    pub lines: Vec<String>,
    /// City or locality.
    pub city: String,
    /// Postal code.
    pub postal_code: String,
    /// Region or state, where used.
    pub region: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country: String,
}

/// Validated identity data; the form it is sealed and shown in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    /// Given names (NFC).
    pub given_names: String,
    /// Family name (NFC).
    pub family_name: String,
    /// `YYYY-MM-DD`.
    pub date_of_birth: String,
    /// ISO 3166-1 alpha-2.
    pub nationality: String,
    /// ISO 3166-1 alpha-2.
    pub country_of_residence: String,
    /// Residential address.
    pub address: AddressView,
    /// Email address.
    pub email: Option<String>,
    /// Phone number (E.164).
    pub phone: Option<String>,
}

/// A validated address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressView {
    /// Street lines.
    pub lines: Vec<String>,
    /// City.
    pub city: String,
    /// Postal code.
    pub postal_code: String,
    /// Region.
    pub region: Option<String>,
    /// Country.
    pub country: String,
}

impl IdentityInput {
    /// Validates every field against the domain rules and the policy's
    /// minimum age; all problems are reported at once.
    pub fn parse(&self, today: NaiveDate, minimum_age: u32) -> Result<Identity, Vec<FieldProblem>> {
        let mut problems = Vec::new();
        let mut name = |field: &str, raw: &str| match PersonName::parse(raw) {
            Ok(n) => Some(n),
            Err(e) => {
                problems.push(FieldProblem::new(field, e.code(), &e));
                None
            }
        };
        let given = name("identity.given_names", &self.given_names);
        let family = name("identity.family_name", &self.family_name);
        let dob = match BirthDate::parse(&self.date_of_birth, today)
            .and_then(|d| d.require_age(minimum_age, today).map(|()| d))
        {
            Ok(d) => Some(d),
            Err(e) => {
                problems.push(FieldProblem::new("identity.date_of_birth", e.code(), &e));
                None
            }
        };
        let mut country = |field: &str, raw: &str| match CountryCode::parse(raw) {
            Ok(c) => Some(c),
            Err(e) => {
                problems.push(FieldProblem::new(field, "unknown_country", &e));
                None
            }
        };
        let nationality = country("identity.nationality", &self.nationality);
        let residence = country("identity.country_of_residence", &self.country_of_residence);
        let address_country = country("identity.address.country", &self.address.country);
        let address = address_country.and_then(|c| {
            match PostalAddress::parse(
                &self.address.lines,
                &self.address.city,
                &self.address.postal_code,
                self.address.region.as_deref(),
                c,
            ) {
                Ok(a) => Some(a),
                Err(e) => {
                    problems.push(FieldProblem::new(
                        &format!("identity.address.{}", e.field),
                        e.error.code(),
                        &e.error,
                    ));
                    None
                }
            }
        });
        let email = match self.email.as_deref().map(EmailAddress::parse).transpose() {
            Ok(e) => e,
            Err(e) => {
                problems.push(FieldProblem::new("identity.email", "invalid_email", &e));
                None
            }
        };
        let phone = match self.phone.as_deref().map(PhoneNumber::parse).transpose() {
            Ok(p) => p,
            Err(e) => {
                problems.push(FieldProblem::new("identity.phone", "invalid_phone", &e));
                None
            }
        };
        match (given, family, dob, nationality, residence, address) {
            (Some(given), Some(family), Some(dob), Some(nat), Some(res), Some(address))
                if problems.is_empty() =>
            {
                Ok(Identity {
                    given_names: given.as_str().to_owned(),
                    family_name: family.as_str().to_owned(),
                    date_of_birth: dob.date().format("%Y-%m-%d").to_string(),
                    nationality: nat.as_str().to_owned(),
                    country_of_residence: res.as_str().to_owned(),
                    address: AddressView {
                        lines: address.lines,
                        city: address.city,
                        postal_code: address.postal_code,
                        region: address.region,
                        country: address.country.as_str().to_owned(),
                    },
                    email: email.map(|e| e.as_str().to_owned()),
                    phone: phone.map(|p| p.as_str().to_owned()),
                })
            }
            _ => Err(problems),
        }
    }
}

impl Identity {
    /// Keyed index over who the person is (names case-folded, date of birth,
    /// nationality), for finding the same person twice without plaintext.
    pub fn blind_index(&self, key: &BlindIndexKey) -> String {
        let fold = |s: &str| {
            s.to_lowercase()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        };
        key.index(
            "identity",
            &format!(
                "{}\u{1f}{}\u{1f}{}\u{1f}{}",
                fold(&self.family_name),
                fold(&self.given_names),
                self.date_of_birth,
                self.nationality
            ),
        )
    }
}
