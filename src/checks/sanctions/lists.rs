//! Configured lists: loading from files, validation, activation and atomic hot swap.
//!
//! A [`ListSet`] holds an immutable [`Snapshot`] (active list versions plus their
//! [`Index`]) behind `RwLock<Arc<Snapshot>>`. A screening clones the `Arc` (the read
//! lock is held only for that clone) and then works lock-free on its snapshot, so an
//! activation never blocks or disturbs screenings in flight: it validates the new
//! version, builds the new index outside the lock, and swaps the pointer. A version that
//! fails validation is refused and the previously active version stays in use; an
//! empty set refuses to screen.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use serde::Serialize;

use super::index::Index;
use super::matcher::{
    Effect, Evidence, EvidenceField, Match, PackedNames, Query, Scorer, ScreeningPolicy,
    WEAK_ALIAS_FACTOR, evidence, prepare, types_compatible,
};
use super::model::{
    EntityType, FileDigest, IssueKind, ListEntry, ListVersion, NameKind, VersionStamp, digest,
};
use super::{ofac, un};

/// Which format a configured list is in, and where its files are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "format", rename_all = "snake_case")]
pub enum SourceConfig {
    /// OFAC SDN legacy CSV: `sdn.csv` (required), `alt.csv`, `add.csv`,
    /// `sdn_comments.csv` in `dir`.
    OfacSdn {
        /// Folder with the files.
        dir: PathBuf,
    },
    /// OFAC consolidated non-SDN legacy CSV: `cons_prim.csv` (required), `cons_alt.csv`,
    /// `cons_add.csv`, `cons_comments.csv` in `dir`.
    OfacNonSdn {
        /// Folder with the files.
        dir: PathBuf,
    },
    /// UN Security Council consolidated XML.
    UnConsolidated {
        /// The XML file.
        path: PathBuf,
    },
}

/// One configured list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListConfig {
    /// Stable list name (e.g. `ofac_sdn`); a new version replaces the active one of the
    /// same name.
    pub name: String,
    /// Format and files.
    pub source: SourceConfig,
}

/// A list could not be read at all (a required file is missing or unreadable).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Reading a file failed.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// Validation limits for activating a new version.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ValidationPolicy {
    /// A new version needs at least this fraction of the active version's entries
    /// (guards against truncated downloads).
    pub min_entry_ratio: f64,
    /// At most this many malformed records (orphan references do not count).
    pub max_malformed: usize,
}

impl Default for ValidationPolicy {
    fn default() -> Self {
        Self {
            min_entry_ratio: 0.9,
            max_malformed: 0,
        }
    }
}

/// Why a version was not activated. The previously active version stays in use.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ActivationError {
    /// The version has no entries.
    #[error("list {name}: version has no entries")]
    Empty {
        /// List name.
        name: String,
    },
    /// Far fewer entries than the active version.
    #[error("list {name}: {new} entries is less than {ratio} of the active {active}")]
    TooFewEntries {
        /// List name.
        name: String,
        /// Entries in the new version.
        new: usize,
        /// Entries in the active version.
        active: usize,
        /// The configured minimum ratio.
        ratio: f64,
    },
    /// Too many malformed records.
    #[error("list {name}: {malformed} malformed records (first: {first}), at most {max} allowed")]
    Damaged {
        /// List name.
        name: String,
        /// Number of malformed records.
        malformed: usize,
        /// The first one, with file and line.
        first: String,
        /// The configured maximum.
        max: usize,
    },
}

/// Screening is impossible.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ScreenError {
    /// No list is active: never screen against nothing.
    #[error("no sanctions list is active")]
    NoActiveLists,
}

/// The outcome of one screening: the list versions used and the potential matches.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Screening {
    /// Every list version screened against (recorded with the result).
    pub lists: Vec<VersionStamp>,
    /// Potential matches at or above the threshold, best first; for review, never a
    /// rejection.
    pub matches: Vec<Match>,
    /// Number of names scored (after blocking).
    pub candidates_scored: usize,
}

/// Reads a configured list's files and parses them into a [`ListVersion`]. Damaged
/// records are in [`ListVersion::issues`]; only an unreadable required file is an error.
pub fn load(config: &ListConfig) -> Result<ListVersion, LoadError> {
    let read = |p: &Path| {
        std::fs::read(p).map_err(|source| LoadError::Io {
            path: p.to_owned(),
            source,
        })
    };
    let optional = |p: PathBuf| -> Result<Option<(String, Vec<u8>)>, LoadError> {
        if p.exists() {
            Ok(Some((file_name(&p), read(&p)?)))
        } else {
            Ok(None)
        }
    };
    match &config.source {
        SourceConfig::OfacSdn { dir } | SourceConfig::OfacNonSdn { dir } => {
            let names: [&str; 4] = if matches!(config.source, SourceConfig::OfacSdn { .. }) {
                ["sdn.csv", "alt.csv", "add.csv", "sdn_comments.csv"]
            } else {
                [
                    "cons_prim.csv",
                    "cons_alt.csv",
                    "cons_add.csv",
                    "cons_comments.csv",
                ]
            };
            let [p, a, d, c] = names.map(|n| dir.join(n));
            let primary = (file_name(&p), read(&p)?);
            let (alt, add, comments) = (optional(a)?, optional(d)?, optional(c)?);
            fn as_ref(o: &Option<(String, Vec<u8>)>) -> Option<(&str, &[u8])> {
                o.as_ref().map(|(n, b)| (n.as_str(), b.as_slice()))
            }
            let files = ofac::OfacFiles {
                primary: (primary.0.as_str(), primary.1.as_slice()),
                alt: as_ref(&alt),
                add: as_ref(&add),
                comments: as_ref(&comments),
            };
            let (mut entries, issues) = ofac::parse(&files);
            compact(&mut entries);
            let mut digests: Vec<FileDigest> = vec![digest(&primary.0, &primary.1)];
            for (n, b) in [alt, add, comments].iter().flatten() {
                digests.push(digest(n, b));
            }
            Ok(ListVersion {
                name: config.name.clone(),
                published: None,
                entries,
                files: digests,
                issues,
            })
        }
        SourceConfig::UnConsolidated { path } => {
            let bytes = read(path)?;
            let name = file_name(path);
            let mut parsed = un::parse(&name, &bytes);
            compact(&mut parsed.entries);
            Ok(ListVersion {
                name: config.name.clone(),
                published: parsed.published,
                entries: parsed.entries,
                files: vec![digest(&name, &bytes)],
                issues: parsed.issues,
            })
        }
    }
}

/// Drops the spare capacity the parsers leave (vectors grow by doubling): a
/// list version stays in memory as long as it is active.
fn compact(entries: &mut Vec<ListEntry>) {
    entries.shrink_to_fit();
    for e in entries.iter_mut() {
        e.names.shrink_to_fit();
        e.birth_dates.shrink_to_fit();
        e.birth_places.shrink_to_fit();
        e.nationalities.shrink_to_fit();
        e.documents.shrink_to_fit();
        e.addresses.shrink_to_fit();
        e.programs.shrink_to_fit();
    }
}

fn file_name(p: &Path) -> String {
    p.file_name().map_or_else(
        || p.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// Checks a new version against the policy and the active version of the same name.
pub fn validate(
    new: &ListVersion,
    active: Option<&ListVersion>,
    policy: &ValidationPolicy,
) -> Result<(), ActivationError> {
    if new.entries.is_empty() {
        return Err(ActivationError::Empty {
            name: new.name.clone(),
        });
    }
    let malformed: Vec<_> = new
        .issues
        .iter()
        .filter(|i| i.kind == IssueKind::Malformed)
        .collect();
    if malformed.len() > policy.max_malformed {
        return Err(ActivationError::Damaged {
            name: new.name.clone(),
            malformed: malformed.len(),
            first: malformed
                .first()
                .map(ToString::to_string)
                .unwrap_or_default(),
            max: policy.max_malformed,
        });
    }
    if let Some(active) = active {
        let needed = active.entries.len() as f64 * policy.min_entry_ratio;
        if (new.entries.len() as f64) < needed {
            return Err(ActivationError::TooFewEntries {
                name: new.name.clone(),
                new: new.entries.len(),
                active: active.entries.len(),
                ratio: policy.min_entry_ratio,
            });
        }
    }
    Ok(())
}

/// An immutable set of active list versions with their index.
#[derive(Debug, Default)]
pub struct Snapshot {
    index: Index,
}

impl Snapshot {
    /// Builds a snapshot (and its index) over the given versions.
    pub fn new(lists: Vec<Arc<ListVersion>>) -> Self {
        Self {
            index: Index::build(lists),
        }
    }

    /// The active versions.
    pub fn lists(&self) -> &[Arc<ListVersion>] {
        self.index.lists()
    }

    /// The index.
    pub fn index(&self) -> &Index {
        &self.index
    }

    /// Screens a query against this snapshot.
    pub fn screen(
        &self,
        query: &Query,
        policy: &ScreeningPolicy,
    ) -> Result<Screening, ScreenError> {
        if self.lists().is_empty() {
            return Err(ScreenError::NoActiveLists);
        }
        let q = prepare(&query.name);
        // An unambiguous legal form (LLC, GmbH…) makes an untyped query an organisation.
        let qtype = query.entity_type.or(if q.org_form {
            Some(EntityType::Entity)
        } else {
            None
        });
        let candidates = self.index.candidates(&q, policy.max_candidates);
        // Best match per entry.
        let mut best: Vec<((u32, u32), Match)> = Vec::new();
        // Only the packed names and entry types are read until a name comes close to
        // the threshold: reading every candidate's entry cost more than scoring it.
        let compatible: Vec<u32> = candidates
            .iter()
            .copied()
            .filter(|id| {
                self.index
                    .entity_type(*id)
                    .is_some_and(|t| types_compatible(qtype, t))
            })
            .collect();
        let mut gathered = PackedNames::default();
        self.index.packed().gather(&compatible, &mut gathered);
        let mut scorer = Scorer::new(&q);
        for (k, id) in (0u32..).zip(&compatible) {
            let Some(name_score) = scorer.score_packed(&gathered, k) else {
                continue;
            };
            if name_score + 0.15 < policy.threshold {
                // Evidence adds at most 0.14 (see `matcher::evidence`); skip early.
                continue;
            }
            let Some(n) = self.index.name(*id) else {
                continue;
            };
            let Some(list) = self.lists().get(n.list as usize) else {
                continue;
            };
            let Some(entry) = list.entries.get(n.entry as usize) else {
                continue;
            };
            let Some(name) = entry.names.get(n.name as usize) else {
                continue;
            };
            let ns = scorer.explain();
            let mut ev = evidence(query, &q, entry, &prepare(&name.text));
            if name.kind == NameKind::WeakAlias {
                let adj = ns.score * WEAK_ALIAS_FACTOR - ns.score;
                ev.push(Evidence {
                    field: EvidenceField::AliasQuality,
                    effect: Effect::Contradicts,
                    query_value: query.name.clone(),
                    listed_value: "weak alias".to_owned(),
                    adjustment: adj,
                });
            }
            let score = (ns.score + ev.iter().map(|e| e.adjustment).sum::<f32>()).clamp(0.0, 1.0);
            if score < policy.threshold {
                continue;
            }
            let key = (n.list, n.entry);
            let m = Match {
                list: list.name.clone(),
                entry_id: entry.id.clone(),
                entity_type: entry.entity_type,
                primary_name: entry.primary_name().to_owned(),
                matched_name: name.text.clone(),
                matched_name_kind: name.kind,
                name: ns,
                evidence: ev,
                score,
                threshold: policy.threshold,
            };
            match best.iter_mut().find(|(k, _)| *k == key) {
                Some((_, existing)) if existing.score >= m.score => {}
                Some((_, existing)) => *existing = m,
                None => best.push((key, m)),
            }
        }
        let mut matches: Vec<Match> = best.into_iter().map(|(_, m)| m).collect();
        matches.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| a.entry_id.cmp(&b.entry_id))
        });
        matches.truncate(policy.max_results);
        Ok(Screening {
            lists: self.lists().iter().map(|l| l.stamp()).collect(),
            matches,
            candidates_scored: candidates.len(),
        })
    }
}

/// What happened to one configured list on [`ListSet::reload`].
#[derive(Debug)]
pub enum ReloadOutcome {
    /// A new version was activated.
    Activated(VersionStamp),
    /// The files are byte-identical to the active version: nothing to do.
    Unchanged(VersionStamp),
    /// The files could not be read; the active version stays.
    LoadFailed(LoadError),
    /// The new version failed validation; the active version stays.
    Refused(ActivationError),
}

/// The active lists, swappable at run time without blocking screenings.
#[derive(Debug, Default)]
pub struct ListSet {
    current: RwLock<Arc<Snapshot>>,
    /// Serialises activations so validate-build-swap is atomic among writers.
    writer: Mutex<()>,
    validation: ValidationPolicy,
}

impl ListSet {
    /// An empty set (screening refuses until a list is activated).
    pub fn new(validation: ValidationPolicy) -> Self {
        Self {
            current: RwLock::new(Arc::new(Snapshot::default())),
            writer: Mutex::new(()),
            validation,
        }
    }

    /// The current snapshot; hold it for as long as a screening (or a batch) runs.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        // A poisoned lock still holds a valid Arc: a writer only ever swaps it whole.
        match self.current.read() {
            Ok(g) => Arc::clone(&g),
            Err(p) => Arc::clone(&p.into_inner()),
        }
    }

    /// Stamps of the active versions.
    pub fn active(&self) -> Vec<VersionStamp> {
        self.snapshot().lists().iter().map(|l| l.stamp()).collect()
    }

    /// Validates `version` against the active version of the same name and, if it
    /// passes, activates it (replacing that version) with one atomic swap.
    pub fn activate(&self, version: ListVersion) -> Result<VersionStamp, ActivationError> {
        let _w = self
            .writer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let old = self.snapshot();
        let active = old.lists().iter().find(|l| l.name == version.name);
        validate(&version, active.map(|a| a.as_ref()), &self.validation)?;
        let stamp = version.stamp();
        let mut lists: Vec<Arc<ListVersion>> = old
            .lists()
            .iter()
            .filter(|l| l.name != version.name)
            .cloned()
            .collect();
        lists.push(Arc::new(version));
        lists.sort_by(|a, b| a.name.cmp(&b.name));
        let next = Arc::new(Snapshot::new(lists));
        match self.current.write() {
            Ok(mut g) => *g = next,
            Err(p) => *p.into_inner() = next,
        }
        Ok(stamp)
    }

    /// Loads every configured list and activates those whose files changed and that
    /// pass validation. Each list is independent: one failure leaves the others alone.
    pub fn reload(&self, configs: &[ListConfig]) -> Vec<(String, ReloadOutcome)> {
        configs
            .iter()
            .map(|c| {
                let outcome = match load(c) {
                    Err(e) => ReloadOutcome::LoadFailed(e),
                    Ok(v) => {
                        let current = self.snapshot();
                        match current.lists().iter().find(|l| l.name == v.name) {
                            Some(a) if a.files == v.files => ReloadOutcome::Unchanged(a.stamp()),
                            _ => match self.activate(v) {
                                Ok(s) => ReloadOutcome::Activated(s),
                                Err(e) => ReloadOutcome::Refused(e),
                            },
                        }
                    }
                };
                (c.name.clone(), outcome)
            })
            .collect()
    }

    /// Screens a query against the active lists.
    pub fn screen(
        &self,
        query: &Query,
        policy: &ScreeningPolicy,
    ) -> Result<Screening, ScreenError> {
        self.snapshot().screen(query, policy)
    }
}
