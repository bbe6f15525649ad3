//! The built-in sanctions check: the declared name, date of birth and
//! nationality screened against the active official lists (see
//! `checks::sanctions` and `checks::screening`). Potential matches make the
//! check `consider` with the full explanation as evidence, for an officer to
//! judge; screening never rejects by itself. With no list active the check
//! cannot be done: that is a provider error (retried, then `error`), never a
//! clear result.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::json;

use super::pipeline::{CheckInput, Provider, ProviderError, ProviderResult};
use super::sanctions::matcher::Query;
use super::sanctions::model::{EntityType, PartialDate};
use super::screening::Sanctions;
use crate::domain::check::CheckState;

/// The provider name recorded with sanctions checks.
pub const PROVIDER: &str = "builtin-sanctions";

/// Screens applicants against the lists held by [`Sanctions`].
#[derive(Debug, Clone)]
pub struct SanctionsCheck {
    sanctions: Arc<Sanctions>,
}

impl SanctionsCheck {
    /// A check over the gateway's configured lists.
    pub fn new(sanctions: Arc<Sanctions>) -> Self {
        Self { sanctions }
    }
}

#[async_trait]
impl Provider for SanctionsCheck {
    fn name(&self) -> &'static str {
        PROVIDER
    }

    async fn run(
        &self,
        _check_id: &str,
        input: &CheckInput,
    ) -> Result<ProviderResult, ProviderError> {
        let id = &input.identity;
        let query = Query {
            name: format!("{} {}", id.given_names, id.family_name),
            entity_type: Some(EntityType::Individual),
            birth_date: PartialDate::parse_iso(&id.date_of_birth),
            nationality: Some(id.nationality.clone()),
        };
        let screening = self
            .sanctions
            .list_set()
            .screen(&query, self.sanctions.policy())
            .map_err(|e| ProviderError {
                reason: "sanctions_lists_unavailable",
                detail: e.to_string(),
            })?;
        let state = if screening.matches.is_empty() {
            CheckState::Clear
        } else {
            CheckState::Consider
        };
        let reasons = if screening.matches.is_empty() {
            Vec::new()
        } else {
            vec!["sanctions_potential_match".to_owned()]
        };
        Ok(ProviderResult {
            state,
            reasons,
            evidence: json!({
                "lists": screening.lists,
                "matches": screening.matches,
                "candidates_scored": screening.candidates_scored,
                "threshold": self.sanctions.policy().threshold,
            }),
        })
    }
}
