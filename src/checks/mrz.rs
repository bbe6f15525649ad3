//! The built-in MRZ check: the machine readable zone the app read off the
//! applicant's travel document is parsed (ICAO 9303 TD1, TD2, TD3, visas),
//! every check digit verified, and the holder compared with the declared
//! identity (name with MRZ transliteration, date of birth, nationality) and
//! the expiry with today (see `domain::mrz`).
//!
//! A fault never rejects by itself: it makes the check `consider`, with the
//! findings' reason codes, and the decision step sends it to review.

use async_trait::async_trait;
use chrono::NaiveDate;
use serde_json::json;

use super::pipeline::{CheckInput, Provider, ProviderError, ProviderResult};
use crate::domain::check::CheckState;
use crate::domain::country::CountryCode;
use crate::domain::mrz::{self, DeclaredIdentity, Severity};

/// The provider name recorded with MRZ checks.
pub const PROVIDER: &str = "builtin-mrz";

/// The built-in MRZ check (no I/O).
#[derive(Debug, Default, Clone, Copy)]
pub struct MrzCheck;

#[async_trait]
impl Provider for MrzCheck {
    fn name(&self) -> &'static str {
        PROVIDER
    }

    async fn run(
        &self,
        _check_id: &str,
        input: &CheckInput,
    ) -> Result<ProviderResult, ProviderError> {
        Ok(check(input))
    }
}

fn consider(reason: &str, evidence: serde_json::Value) -> ProviderResult {
    ProviderResult {
        state: CheckState::Consider,
        reasons: vec![reason.to_owned()],
        evidence,
    }
}

/// The check itself, pure.
pub fn check(input: &CheckInput) -> ProviderResult {
    let travel: Vec<_> = input
        .documents
        .iter()
        .filter(|d| d.kind.bears_mrz())
        .collect();
    if travel.is_empty() {
        return consider(
            "mrz_document_missing",
            json!({ "detail": "no passport, identity card or residence permit was uploaded" }),
        );
    }
    let with_mrz: Vec<_> = travel
        .iter()
        .filter_map(|d| d.mrz.as_deref().map(|m| (*d, m)))
        .collect();
    if with_mrz.is_empty() {
        return consider(
            "mrz_not_provided",
            json!({ "detail": "no MRZ was sent with the travel document" }),
        );
    }
    let Some(declared) = declared(input) else {
        return consider(
            "identity_unreadable",
            json!({ "detail": "the declared date of birth or nationality could not be read" }),
        );
    };
    let mut reasons: Vec<String> = Vec::new();
    let mut failed = false;
    let mut documents = Vec::new();
    for (doc, text) in with_mrz {
        match mrz::parse(text, input.today) {
            Err(e) => {
                failed = true;
                push_unique(&mut reasons, "mrz_unreadable");
                documents.push(json!({
                    "document_id": doc.id,
                    "kind": doc.kind.as_str(),
                    "error": e.to_string(),
                }));
            }
            Ok(parsed) => {
                let found = mrz::compare(&parsed, &declared, input.today);
                let mut listed = Vec::new();
                for f in &found {
                    failed |= f.severity() == Severity::Failure;
                    push_unique(&mut reasons, f.code().as_str());
                    listed.push(json!({
                        "code": f.code().as_str(),
                        "field": f.field().map(|x| x.as_str()),
                        "severity": match f.severity() {
                            Severity::Failure => "failure",
                            Severity::Informational => "informational",
                        },
                        "detail": f.detail(),
                    }));
                }
                documents.push(json!({
                    "document_id": doc.id,
                    "kind": doc.kind.as_str(),
                    "format": format!("{:?}", parsed.format()),
                    "check_digits_valid": parsed.is_valid(),
                    "findings": listed,
                }));
            }
        }
    }
    ProviderResult {
        state: if failed {
            CheckState::Consider
        } else {
            CheckState::Clear
        },
        reasons,
        evidence: json!({ "documents": documents, "today": input.today.to_string() }),
    }
}

fn push_unique(reasons: &mut Vec<String>, code: &str) {
    if !reasons.iter().any(|r| r == code) {
        reasons.push(code.to_owned());
    }
}

/// The declared identity as the comparison needs it; `None` if stored data
/// cannot be read (it was validated when it was stored).
fn declared(input: &CheckInput) -> Option<DeclaredIdentity> {
    let id = &input.identity;
    Some(DeclaredIdentity {
        family_name: id.family_name.clone(),
        given_names: id.given_names.clone(),
        date_of_birth: NaiveDate::parse_from_str(&id.date_of_birth, "%Y-%m-%d").ok()?,
        nationality: CountryCode::parse(&id.nationality)
            .ok()?
            .alpha3()
            .to_owned(),
    })
}
