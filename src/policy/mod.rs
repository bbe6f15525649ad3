//! The onboarding policy: loaded from `policies/` once at start-up,
//! validated, and identified by id, version and the SHA-256 of the file, which
//! every consent and decision records. It must not change while running.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Deserialize;

use crate::domain::check::CheckKind;
use crate::domain::country::CountryCode;

/// What is wrong with a policy file; the message names the part.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The file cannot be read.
    #[error("{path}: {reason}")]
    Read {
        /// The file.
        path: String,
        /// The OS error.
        reason: String,
    },
    /// The file is not valid TOML for the policy schema.
    #[error("{path}: {reason}")]
    Parse {
        /// The file.
        path: String,
        /// The parser's message (names the key).
        reason: String,
    },
    /// The content breaks a rule.
    #[error("policy {path}: {reason}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    id: String,
    version: String,
    minimum_age: u32,
    default_locale: String,
    locales: Vec<String>,
    draft_expiry_days: u32,
    products: Vec<RawProduct>,
    consents: Vec<RawConsent>,
    decision: RawDecision,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDecision {
    review_all: bool,
    fail_outcome: String,
    high_risk_countries: Vec<String>,
    sla_hours: u32,
    default_priority: u32,
    priorities: BTreeMap<String, u32>,
    approve_reasons: Vec<String>,
    reject_reasons: Vec<String>,
    request_info_reasons: Vec<String>,
    stalled_after_hours: u32,
    document_expiry_warning_days: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProduct {
    id: String,
    jurisdictions: Vec<String>,
    required_consents: Vec<String>,
    optional_consents: Vec<String>,
    /// Checks run on submission, by name (`mrz`, `sanctions`).
    checks: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConsent {
    purpose: String,
    version: String,
    texts: BTreeMap<String, String>,
}

/// A product an applicant can apply for.
#[derive(Debug, Clone)]
pub struct Product {
    /// Product id, e.g. `current_account`.
    pub id: String,
    /// Where it is offered.
    pub jurisdictions: BTreeSet<CountryCode>,
    /// Consent purposes that must be granted before submission.
    pub required_consents: Vec<String>,
    /// Consent purposes that are offered but never block anything.
    pub optional_consents: Vec<String>,
    /// Checks that submission starts, each once.
    pub checks: Vec<CheckKind>,
}

/// One consent text in one locale, with its hash.
#[derive(Debug, Clone)]
pub struct ConsentText {
    /// Purpose, e.g. `kyc_processing`.
    pub purpose: String,
    /// Text version.
    pub version: String,
    /// Locale of this text.
    pub locale: String,
    /// The exact text.
    pub text: String,
    /// Lowercase hex SHA-256 of the UTF-8 text.
    pub sha256: String,
}

/// The loaded, validated policy.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Policy id.
    pub id: String,
    /// Policy version.
    pub version: String,
    /// Lowercase hex SHA-256 of the policy file.
    pub sha256: String,
    /// Minimum applicant age in years.
    pub minimum_age: u32,
    /// Fallback locale.
    pub default_locale: String,
    /// Locales every consent text exists in.
    pub locales: Vec<String>,
    /// Days after which an untouched draft expires.
    pub draft_expiry_days: u32,
    /// Products by id.
    pub products: BTreeMap<String, Product>,
    /// Consent texts by (purpose, locale).
    pub consents: BTreeMap<(String, String), ConsentText>,
    /// How check results become decisions, and what officers may decide.
    pub decision: DecisionPolicy,
}

/// How check results become approve, review or reject, and the reason
/// codes officers choose from.
#[derive(Debug, Clone)]
pub struct DecisionPolicy {
    /// Send every case to review, whatever the checks say (a switch for
    /// incidents and for the first weeks of a new product).
    pub review_all: bool,
    /// Whether a check that failed on the evidence rejects without a person
    /// (otherwise it goes to review like everything else).
    pub reject_on_fail: bool,
    /// Nationality or residence here: review, and a high-risk case.
    pub high_risk_countries: BTreeSet<CountryCode>,
    /// Hours from opening a case to its SLA due time.
    pub sla_hours: u32,
    /// Priority of a case whose reasons are not in `priorities` (1 is the most urgent).
    pub default_priority: u32,
    /// Priority by reason code; a case takes the most urgent of its reasons.
    pub priorities: BTreeMap<String, u32>,
    /// Reason codes an officer may give when approving.
    pub approve_reasons: Vec<String>,
    /// … when rejecting.
    pub reject_reasons: Vec<String>,
    /// … when asking the applicant for more information.
    pub request_info_reasons: Vec<String>,
    /// An application waiting on the applicant (draft, information
    /// requested) this long without progress raises `application.stalled`.
    pub stalled_after_hours: u32,
    /// A travel document expiring within this many days raises
    /// `document.expiring`, so the bank can ask for a new one in time.
    pub document_expiry_warning_days: u32,
}

fn sha256_hex(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Policy {
    /// Reads and validates a policy file.
    pub fn load(path: &Path) -> Result<Self, PolicyError> {
        let bytes = std::fs::read(path).map_err(|e| PolicyError::Read {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Self::from_bytes(&bytes, &path.display().to_string())
    }

    /// Parses and validates policy bytes (`name` labels errors).
    pub fn from_bytes(bytes: &[u8], name: &str) -> Result<Self, PolicyError> {
        let text = std::str::from_utf8(bytes).map_err(|e| PolicyError::Parse {
            path: name.to_owned(),
            reason: e.to_string(),
        })?;
        let raw: RawPolicy = toml::from_str(text).map_err(|e| PolicyError::Parse {
            path: name.to_owned(),
            reason: e.to_string(),
        })?;
        let invalid = |reason: String| PolicyError::Invalid {
            path: name.to_owned(),
            reason,
        };
        if raw.id.is_empty() || raw.version.is_empty() {
            return Err(invalid("id and version must not be empty".into()));
        }
        if !(14..=120).contains(&raw.minimum_age) {
            return Err(invalid("minimum_age must be between 14 and 120".into()));
        }
        if !raw.locales.contains(&raw.default_locale) {
            return Err(invalid("default_locale must be one of locales".into()));
        }
        let mut consents = BTreeMap::new();
        let mut purposes = BTreeSet::new();
        for c in &raw.consents {
            if !purposes.insert(c.purpose.clone()) {
                return Err(invalid(format!("consent `{}` is defined twice", c.purpose)));
            }
            for locale in &raw.locales {
                let text = c
                    .texts
                    .get(locale)
                    .filter(|t| !t.trim().is_empty())
                    .ok_or_else(|| {
                        invalid(format!("consent `{}` has no `{locale}` text", c.purpose))
                    })?;
                consents.insert(
                    (c.purpose.clone(), locale.clone()),
                    ConsentText {
                        purpose: c.purpose.clone(),
                        version: c.version.clone(),
                        locale: locale.clone(),
                        text: text.clone(),
                        sha256: sha256_hex(text.as_bytes()),
                    },
                );
            }
        }
        let mut products = BTreeMap::new();
        for p in raw.products {
            let jurisdictions = p
                .jurisdictions
                .iter()
                .map(|j| {
                    CountryCode::parse(j).map_err(|_| {
                        invalid(format!("product `{}`: unknown jurisdiction `{j}`", p.id))
                    })
                })
                .collect::<Result<BTreeSet<_>, _>>()?;
            for purpose in p.required_consents.iter().chain(&p.optional_consents) {
                if !purposes.contains(purpose) {
                    return Err(invalid(format!(
                        "product `{}`: no consent text for `{purpose}`",
                        p.id
                    )));
                }
            }
            if p.required_consents
                .iter()
                .any(|r| p.optional_consents.contains(r))
            {
                return Err(invalid(format!(
                    "product `{}`: a consent is both required and optional",
                    p.id
                )));
            }
            let mut checks = Vec::new();
            for name in &p.checks {
                let kind = CheckKind::parse(name).ok_or_else(|| {
                    invalid(format!(
                        "product `{}`: unknown check `{name}` (known: mrz, sanctions)",
                        p.id
                    ))
                })?;
                if checks.contains(&kind) {
                    return Err(invalid(format!(
                        "product `{}`: check `{name}` is listed twice",
                        p.id
                    )));
                }
                checks.push(kind);
            }
            if checks.is_empty() {
                return Err(invalid(format!(
                    "product `{}`: at least one check is required",
                    p.id
                )));
            }
            let id = p.id.clone();
            if products
                .insert(
                    id.clone(),
                    Product {
                        id: p.id,
                        jurisdictions,
                        required_consents: p.required_consents,
                        optional_consents: p.optional_consents,
                        checks,
                    },
                )
                .is_some()
            {
                return Err(invalid(format!("product `{id}` is defined twice")));
            }
        }
        if products.is_empty() {
            return Err(invalid("at least one product is required".into()));
        }
        let d = raw.decision;
        let reject_on_fail = match d.fail_outcome.as_str() {
            "reject" => true,
            "review" => false,
            other => {
                return Err(invalid(format!(
                    "decision.fail_outcome: `{other}` (use review or reject)"
                )));
            }
        };
        let high_risk_countries = d
            .high_risk_countries
            .iter()
            .map(|c| {
                CountryCode::parse(c).map_err(|_| {
                    invalid(format!(
                        "decision.high_risk_countries: unknown country `{c}`"
                    ))
                })
            })
            .collect::<Result<BTreeSet<_>, _>>()?;
        if d.stalled_after_hours == 0 {
            return Err(invalid(
                "decision.stalled_after_hours: must be at least 1".into(),
            ));
        }
        if d.sla_hours == 0 || d.default_priority == 0 || d.priorities.values().any(|p| *p == 0) {
            return Err(invalid(
                "decision: sla_hours and priorities must be at least 1".into(),
            ));
        }
        for (key, list) in [
            ("approve_reasons", &d.approve_reasons),
            ("reject_reasons", &d.reject_reasons),
            ("request_info_reasons", &d.request_info_reasons),
        ] {
            if list.is_empty() {
                return Err(invalid(format!("decision.{key}: at least one reason code")));
            }
            if let Some(bad) = list.iter().find(|r| {
                r.is_empty()
                    || r.len() > 64
                    || !r
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            }) {
                return Err(invalid(format!(
                    "decision.{key}: `{bad}` is not a snake_case reason code"
                )));
            }
        }
        let decision = DecisionPolicy {
            review_all: d.review_all,
            reject_on_fail,
            high_risk_countries,
            sla_hours: d.sla_hours,
            default_priority: d.default_priority,
            priorities: d.priorities,
            approve_reasons: d.approve_reasons,
            reject_reasons: d.reject_reasons,
            request_info_reasons: d.request_info_reasons,
            stalled_after_hours: d.stalled_after_hours,
            document_expiry_warning_days: d.document_expiry_warning_days,
        };
        Ok(Self {
            decision,
            id: raw.id,
            version: raw.version,
            sha256: sha256_hex(bytes),
            minimum_age: raw.minimum_age,
            default_locale: raw.default_locale,
            locales: raw.locales,
            draft_expiry_days: raw.draft_expiry_days,
            products,
            consents,
        })
    }

    /// `id@version` as recorded in audit entries.
    pub fn label(&self) -> String {
        format!("{}@{}", self.id, self.version)
    }

    /// The best locale for an `Accept-Language` value or explicit choice,
    /// falling back to the default (RFC 9110 §12.5.4, without q-weights
    /// beyond order).
    pub fn negotiate_locale(&self, wanted: Option<&str>) -> String {
        if let Some(wanted) = wanted {
            for tag in wanted.split(',') {
                let tag = tag
                    .split(';')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_ascii_lowercase();
                let primary = tag.split('-').next().unwrap_or_default();
                if let Some(l) = self.locales.iter().find(|l| l.as_str() == primary) {
                    return l.clone();
                }
            }
        }
        self.default_locale.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> Policy {
        Policy::load(Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/policies/onboarding.toml"
        )))
        .unwrap()
    }

    #[test]
    fn the_shipped_policy_is_valid_and_has_three_languages() {
        let p = shipped();
        assert_eq!(p.sha256.len(), 64);
        for purpose in ["kyc_processing", "terms", "marketing"] {
            for locale in ["en", "de", "pt"] {
                assert!(
                    p.consents.contains_key(&(purpose.into(), locale.into())),
                    "{purpose}/{locale}"
                );
            }
        }
        assert_eq!(p.negotiate_locale(Some("de-AT,de;q=0.9,en;q=0.5")), "de");
        assert_eq!(p.negotiate_locale(Some("fr-FR")), "en");
        assert_eq!(p.negotiate_locale(None), "en");
    }

    #[test]
    fn broken_policies_are_refused_with_the_reason() {
        let base = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/policies/onboarding.toml"
        ))
        .unwrap();
        let missing_pt = base.replacen("pt = \"Li e aceito", "# pt = \"Li e aceito", 1);
        let err = Policy::from_bytes(missing_pt.as_bytes(), "p")
            .unwrap_err()
            .to_string();
        assert!(err.contains("`terms` has no `pt` text"), "{err}");
        let bad_country = base.replacen("\"DE\", \"AT\"", "\"DE\", \"XX\"", 1);
        assert!(
            Policy::from_bytes(bad_country.as_bytes(), "p")
                .unwrap_err()
                .to_string()
                .contains("XX")
        );
        let unknown_key = format!("{base}\nsurprise = 1\n");
        assert!(
            Policy::from_bytes(unknown_key.as_bytes(), "p")
                .unwrap_err()
                .to_string()
                .contains("surprise")
        );
    }
}
