//! Sanctions screening for staff: ad-hoc screening of a name, the configured
//! lists with their active versions and latest reloads, and an admin reload.
//! Handlers validate and authorize; [`crate::checks::screening`] does the rest.
//! The views here mirror the engine's types so the API stays stable when the
//! engine changes.

pub mod list;
pub mod reload;
pub mod screen;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::checks::sanctions::matcher::{Effect, EvidenceField, PairMethod};
use crate::checks::sanctions::model::{EntityType, IssueKind, LoadIssue, NameKind, VersionStamp};
use crate::checks::screening::{ListStatus, ReloadReport, ReloadResult, ScreeningError};
use crate::http::errors::{ApiError, ErrorCode};

/// One version of one list, as recorded with every screening.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ListVersionView {
    /// The configured list name.
    pub name: String,
    /// Publication date, when the source states one (the UN list does; OFAC CSV does not).
    pub published: Option<String>,
    /// Entries in this version.
    pub entry_count: u64,
    /// SHA-256 over the version's files (lower-case hex).
    pub sha256: String,
}

impl From<&VersionStamp> for ListVersionView {
    fn from(s: &VersionStamp) -> Self {
        Self {
            name: s.name.clone(),
            published: s.published.clone(),
            entry_count: s.entry_count as u64,
            sha256: s.sha256.clone(),
        }
    }
}

/// What a party is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntityTypeView {
    /// A natural person.
    Individual,
    /// A company, organisation or group.
    Entity,
    /// A ship.
    Vessel,
    /// An aircraft.
    Aircraft,
}

impl From<EntityType> for EntityTypeView {
    fn from(t: EntityType) -> Self {
        match t {
            EntityType::Individual => Self::Individual,
            EntityType::Entity => Self::Entity,
            EntityType::Vessel => Self::Vessel,
            EntityType::Aircraft => Self::Aircraft,
        }
    }
}

impl From<EntityTypeView> for EntityType {
    fn from(t: EntityTypeView) -> Self {
        match t {
            EntityTypeView::Individual => Self::Individual,
            EntityTypeView::Entity => Self::Entity,
            EntityTypeView::Vessel => Self::Vessel,
            EntityTypeView::Aircraft => Self::Aircraft,
        }
    }
}

/// Where a listed name comes from.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NameKindView {
    /// The primary name.
    Primary,
    /// A strong alias.
    Alias,
    /// A weak alias (OFAC remark-only a.k.a., UN "Low" quality): lowers the score.
    WeakAlias,
    /// A former name.
    FormerName,
    /// The name in its original script.
    OriginalScript,
}

impl From<NameKind> for NameKindView {
    fn from(k: NameKind) -> Self {
        match k {
            NameKind::Primary => Self::Primary,
            NameKind::Alias => Self::Alias,
            NameKind::WeakAlias => Self::WeakAlias,
            NameKind::FormerName => Self::FormerName,
            NameKind::OriginalScript => Self::OriginalScript,
        }
    }
}

/// How two tokens were paired.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PairMethodView {
    /// Identical after normalization.
    Exact,
    /// Jaro-Winkler similarity.
    JaroWinkler,
    /// One side is an initial of the other.
    Initial,
    /// Same consonant skeleton (transliteration variants).
    Skeleton,
}

impl From<PairMethod> for PairMethodView {
    fn from(m: PairMethod) -> Self {
        match m {
            PairMethod::Exact => Self::Exact,
            PairMethod::JaroWinkler => Self::JaroWinkler,
            PairMethod::Initial => Self::Initial,
            PairMethod::Skeleton => Self::Skeleton,
        }
    }
}

/// A field compared besides the name.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceFieldView {
    /// Date of birth.
    BirthDate,
    /// Nationality or citizenship.
    Nationality,
    /// Company legal form.
    LegalForm,
    /// The quality of the alias that matched.
    AliasQuality,
}

impl From<EvidenceField> for EvidenceFieldView {
    fn from(f: EvidenceField) -> Self {
        match f {
            EvidenceField::BirthDate => Self::BirthDate,
            EvidenceField::Nationality => Self::Nationality,
            EvidenceField::LegalForm => Self::LegalForm,
            EvidenceField::AliasQuality => Self::AliasQuality,
        }
    }
}

/// Whether a field supports or contradicts a match.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EffectView {
    /// Raises the score.
    Corroborates,
    /// Lowers the score.
    Contradicts,
}

impl From<Effect> for EffectView {
    fn from(e: Effect) -> Self {
        match e {
            Effect::Corroborates => Self::Corroborates,
            Effect::Contradicts => Self::Contradicts,
        }
    }
}

/// How a reload of one list ended.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReloadResultView {
    /// The version read is now active.
    Activated,
    /// The files are byte-identical to the active version.
    Unchanged,
    /// A required file could not be read; the previous version stays active.
    LoadFailed,
    /// The version failed validation (damaged records, far fewer entries than the
    /// active version, or none); the previous version stays active.
    Refused,
}

impl From<ReloadResult> for ReloadResultView {
    fn from(r: ReloadResult) -> Self {
        match r {
            ReloadResult::Activated => Self::Activated,
            ReloadResult::Unchanged => Self::Unchanged,
            ReloadResult::LoadFailed => Self::LoadFailed,
            ReloadResult::Refused => Self::Refused,
        }
    }
}

/// A record of a list file that could not be used.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoadIssueView {
    /// File name.
    pub file: String,
    /// 1-based line where the record starts.
    pub line: u64,
    /// `malformed` (counts against validation) or `orphan` (refers to an entry
    /// that does not exist; reported only).
    pub kind: String,
    /// What is wrong.
    pub message: String,
}

impl From<&LoadIssue> for LoadIssueView {
    fn from(i: &LoadIssue) -> Self {
        Self {
            file: i.file.clone(),
            line: i.line,
            kind: match i.kind {
                IssueKind::Malformed => "malformed",
                IssueKind::Orphan => "orphan",
            }
            .to_owned(),
            message: i.message.clone(),
        }
    }
}

/// The latest reload of one list.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReloadView {
    /// When it finished (RFC 3339, UTC).
    pub at: String,
    /// What started it: `startup`, `file_change` or `admin`.
    pub trigger: String,
    /// How it ended.
    pub result: ReloadResultView,
    /// The version that was read, also when it was refused; absent when unreadable.
    pub version: Option<ListVersionView>,
    /// Damaged records in that version.
    pub malformed_records: u64,
    /// Records referring to entries that do not exist.
    pub orphan_records: u64,
    /// The first bad records, with file and line.
    pub issues: Vec<LoadIssueView>,
    /// Why it was refused or could not be read.
    pub reason: Option<String>,
}

impl From<&ReloadReport> for ReloadView {
    fn from(r: &ReloadReport) -> Self {
        Self {
            at: r.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            trigger: r.trigger.as_str().to_owned(),
            result: r.result.into(),
            version: r.version.as_ref().map(Into::into),
            malformed_records: r.malformed_records as u64,
            orphan_records: r.orphan_records as u64,
            issues: r.issues.iter().map(Into::into).collect(),
            reason: r.reason.clone(),
        }
    }
}

/// One configured list.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListStatusView {
    /// The configured name.
    pub name: String,
    /// `ofac_sdn`, `ofac_non_sdn` or `un_consolidated`.
    pub format: String,
    /// The version screenings use now; absent until one loads and validates.
    pub active: Option<ListVersionView>,
    /// The latest reload; absent before the first.
    pub last_reload: Option<ReloadView>,
}

/// The configured lists.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListsView {
    /// Whether at least one list is active (otherwise screening answers 503).
    pub screening_available: bool,
    /// Every configured list, in configuration order.
    pub lists: Vec<ListStatusView>,
}

impl From<Vec<ListStatus>> for ListsView {
    fn from(lists: Vec<ListStatus>) -> Self {
        Self {
            screening_available: lists.iter().any(|l| l.active.is_some()),
            lists: lists
                .iter()
                .map(|l| ListStatusView {
                    name: l.name.clone(),
                    format: l.format.as_str().to_owned(),
                    active: l.active.as_ref().map(Into::into),
                    last_reload: l.last_reload.as_ref().map(Into::into),
                })
                .collect(),
        }
    }
}

impl From<ScreeningError> for ApiError {
    fn from(error: ScreeningError) -> Self {
        match error {
            ScreeningError::Unavailable => ApiError::new(
                ErrorCode::ScreeningUnavailable,
                "No sanctions list is active, so nothing can be screened. \
                 GET /v1/sanctions/lists shows why.",
            ),
            ScreeningError::Audit(e) => e.into(),
            ScreeningError::Task(e) => ApiError::internal(anyhow::anyhow!(e)),
        }
    }
}
