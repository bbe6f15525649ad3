//! The sandbox provider for document and liveness checks in the dev profile,
//! so the whole flow runs with no vendor account. As vendors' sandboxes do,
//! the outcome is forced by the input: a family name containing `consider`
//! gives `consider`, `fail` gives `fail`, `timeout` never answers (the worker
//! times the attempt out, retries, and the check ends `error` with
//! `provider_timeout`); anything else is `clear`. A check whose document or
//! selfie is missing is `consider`, as with the real vendor. No image ever
//! leaves the gateway and nothing is billed.

use async_trait::async_trait;
use serde_json::json;

use super::pipeline::{CheckInput, Provider, ProviderError, ProviderResult};
use crate::domain::check::{CheckKind, CheckState};

/// The provider name recorded with sandbox checks.
pub const PROVIDER: &str = "sandbox";

/// Forced outcomes for one kind of vendor check.
#[derive(Debug, Clone, Copy)]
pub struct SandboxCheck {
    kind: CheckKind,
}

impl SandboxCheck {
    /// A sandbox for `kind` (`document` or `liveness`).
    pub fn new(kind: CheckKind) -> Self {
        Self { kind }
    }
}

/// What the sandbox answers for this input; `None` means it never answers.
pub fn outcome(kind: CheckKind, input: &CheckInput) -> Option<ProviderResult> {
    if let Some(missing) = super::vendor::missing_input(kind, &input.documents) {
        return Some(ProviderResult {
            state: CheckState::Consider,
            reasons: vec![missing.to_owned()],
            evidence: json!({ "sandbox": true, "detail": "nothing to check" }),
        });
    }
    let family = input.identity.family_name.to_lowercase();
    let (state, reason) = if family.contains("timeout") {
        return None;
    } else if family.contains("consider") {
        (CheckState::Consider, Some(format!("{kind}_consider")))
    } else if family.contains("fail") {
        (CheckState::Fail, Some(format!("{kind}_fail")))
    } else {
        (CheckState::Clear, None)
    };
    Some(ProviderResult {
        state,
        reasons: reason.into_iter().collect(),
        evidence: json!({
            "sandbox": true,
            "result": state.as_str(),
            "documents": input.documents.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(),
        }),
    })
}

#[async_trait]
impl Provider for SandboxCheck {
    fn name(&self) -> &'static str {
        PROVIDER
    }

    async fn run(
        &self,
        _check_id: &str,
        input: &CheckInput,
    ) -> Result<ProviderResult, ProviderError> {
        match outcome(self.kind, input) {
            Some(result) => Ok(result),
            // The worker's per-attempt timeout ends the wait.
            None => std::future::pending().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::pipeline::DocumentFacts;
    use crate::domain::document::DocumentKind;
    use crate::onboarding::identity::Identity;

    fn input(family: &str, kinds: &[DocumentKind]) -> CheckInput {
        let identity: Identity = serde_json::from_value(json!({
            "given_names": "Anna",
            "family_name": family,
            "date_of_birth": "1974-08-12",
            "nationality": "SE",
            "country_of_residence": "DE",
            "address": { "lines": ["Hauptstraße 5"], "city": "Berlin", "postal_code": "10115", "country": "DE" }
        }))
        .unwrap();
        CheckInput {
            application_id: "a".into(),
            product: "current_account".into(),
            jurisdiction: "DE".into(),
            identity,
            documents: kinds
                .iter()
                .enumerate()
                .map(|(i, k)| DocumentFacts {
                    id: format!("d{i}"),
                    kind: *k,
                    side: None,
                    mrz: None,
                })
                .collect(),
            today: chrono::NaiveDate::default(),
        }
    }

    #[test]
    fn the_family_name_forces_the_outcome() {
        let docs = [DocumentKind::Passport, DocumentKind::Selfie];
        let state = |family: &str, kind| outcome(kind, &input(family, &docs)).map(|r| r.state);
        assert_eq!(
            state("Eriksson", CheckKind::Document),
            Some(CheckState::Clear)
        );
        assert_eq!(
            state("Considerine", CheckKind::Liveness),
            Some(CheckState::Consider)
        );
        assert_eq!(state("Failla", CheckKind::Document), Some(CheckState::Fail));
        assert_eq!(state("Timeoutson", CheckKind::Document), None);
    }

    #[test]
    fn missing_images_are_for_review_never_clear() {
        let r = outcome(
            CheckKind::Liveness,
            &input("Eriksson", &[DocumentKind::Passport]),
        )
        .unwrap();
        assert_eq!(r.state, CheckState::Consider);
        assert_eq!(r.reasons, vec!["selfie_missing".to_owned()]);
        let r = outcome(
            CheckKind::Document,
            &input("Eriksson", &[DocumentKind::Selfie]),
        )
        .unwrap();
        assert_eq!(r.reasons, vec!["document_missing".to_owned()]);
    }
}
