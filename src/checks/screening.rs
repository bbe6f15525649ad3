//! The sanctions screening use case: the configured lists held in a [`ListSet`],
//! loaded at start-up, reloaded when their files change or an admin asks, and ad-hoc
//! screenings by staff, each audited without the name in the log.
//!
//! Loading and indexing a list is blocking work; it runs on the blocking pool, one
//! reload at a time, while screenings keep using the snapshot they hold (the
//! [`ListSet`] swaps snapshots atomically). A version that cannot be read or fails
//! validation is reported and never replaces the active one.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};

use super::sanctions::lists::{self, ListConfig, ListSet, Screening, SourceConfig};
use super::sanctions::matcher::{Query, ScreeningPolicy};
use super::sanctions::model::{IssueKind, LoadIssue, VersionStamp};
use crate::audit::AuditLog;
use crate::audit::entry::{AuditEvent, Target};
use crate::config::{SanctionsListFormat, SanctionsSettings};
use crate::domain::clock::Clock;
use crate::onboarding::Caller;

/// At most this many load issues are kept per reload report (the counts are exact).
pub const MAX_REPORTED_ISSUES: usize = 20;

/// What started a reload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReloadTrigger {
    /// The gateway started.
    Startup,
    /// The watcher saw a list's files change.
    FileChange,
    /// An admin asked for it.
    Admin,
}

impl ReloadTrigger {
    /// Stable name for logs, audit and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Startup => "startup",
            Self::FileChange => "file_change",
            Self::Admin => "admin",
        }
    }
}

/// How a reload of one list ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReloadResult {
    /// A new version is active.
    Activated,
    /// The files are byte-identical to the active version.
    Unchanged,
    /// A required file could not be read; the active version (if any) stays.
    LoadFailed,
    /// The version failed validation; the active version (if any) stays.
    Refused,
}

impl ReloadResult {
    /// Stable name for logs, audit and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Activated => "activated",
            Self::Unchanged => "unchanged",
            Self::LoadFailed => "load_failed",
            Self::Refused => "refused",
        }
    }
}

/// The outcome of the latest reload of one list.
#[derive(Debug, Clone)]
pub struct ReloadReport {
    /// When it finished.
    pub at: DateTime<Utc>,
    /// What started it.
    pub trigger: ReloadTrigger,
    /// How it ended.
    pub result: ReloadResult,
    /// The version that was read (also when refused); none when unreadable.
    pub version: Option<VersionStamp>,
    /// Damaged records in that version.
    pub malformed_records: usize,
    /// Well-formed records referring to an entry that does not exist.
    pub orphan_records: usize,
    /// The first [`MAX_REPORTED_ISSUES`] bad records, with file and line.
    pub issues: Vec<LoadIssue>,
    /// Why it was refused or could not be read.
    pub reason: Option<String>,
}

/// One configured list: its active version and its latest reload.
#[derive(Debug, Clone)]
pub struct ListStatus {
    /// The configured name.
    pub name: String,
    /// The configured format.
    pub format: SanctionsListFormat,
    /// The version screenings use now; none until one loads and validates.
    pub active: Option<VersionStamp>,
    /// The latest reload; none before the first.
    pub last_reload: Option<ReloadReport>,
}

/// Screening cannot run.
#[derive(Debug, thiserror::Error)]
pub enum ScreeningError {
    /// No list is active (none configured, or none loaded and validated).
    #[error("no sanctions list is active")]
    Unavailable,
    /// The audit entry could not be recorded, so the result is not released.
    #[error(transparent)]
    Audit(#[from] crate::audit::log::AuditError),
    /// The reload task failed.
    #[error("reload task failed: {0}")]
    Task(String),
}

/// An ad-hoc screening's result and the audit entry that records it.
#[derive(Debug)]
pub struct AdhocScreening {
    /// The list versions and potential matches.
    pub screening: Screening,
    /// The `event_id` of the audit entry.
    pub audit_event_id: String,
}

/// Size and modification time of each file a list is read from (`None`: absent).
type Fingerprint = Vec<(PathBuf, Option<(u64, SystemTime)>)>;

#[derive(Debug)]
struct Configured {
    config: ListConfig,
    format: SanctionsListFormat,
}

/// The built-in sanctions screening: configured lists, reloads and ad-hoc screening.
pub struct Sanctions {
    lists: Vec<Configured>,
    set: ListSet,
    policy: ScreeningPolicy,
    audit: Arc<AuditLog>,
    clock: Arc<dyn Clock>,
    /// The files of each list as last read. Held for a whole reload (on the
    /// blocking pool), so reloads run one at a time.
    seen: Mutex<BTreeMap<String, Fingerprint>>,
    /// The latest reload of each list. Held only to read or replace a report,
    /// never during a reload, so the status never waits for one.
    reports: Mutex<BTreeMap<String, ReloadReport>>,
}

impl std::fmt::Debug for Sanctions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sanctions")
            .field("lists", &self.lists)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

fn list_config(s: &crate::config::SanctionsListSettings) -> ListConfig {
    let source = match s.format {
        SanctionsListFormat::OfacSdn => SourceConfig::OfacSdn {
            dir: s.path.clone(),
        },
        SanctionsListFormat::OfacNonSdn => SourceConfig::OfacNonSdn {
            dir: s.path.clone(),
        },
        SanctionsListFormat::UnConsolidated => SourceConfig::UnConsolidated {
            path: s.path.clone(),
        },
    };
    ListConfig {
        name: s.name.clone(),
        source,
    }
}

/// The files a list is read from (the same names [`lists::load`] reads).
fn files(config: &ListConfig) -> Vec<PathBuf> {
    match &config.source {
        SourceConfig::OfacSdn { dir } => ["sdn.csv", "alt.csv", "add.csv", "sdn_comments.csv"]
            .iter()
            .map(|n| dir.join(n))
            .collect(),
        SourceConfig::OfacNonSdn { dir } => [
            "cons_prim.csv",
            "cons_alt.csv",
            "cons_add.csv",
            "cons_comments.csv",
        ]
        .iter()
        .map(|n| dir.join(n))
        .collect(),
        SourceConfig::UnConsolidated { path } => vec![path.clone()],
    }
}

fn fingerprint(config: &ListConfig) -> Fingerprint {
    files(config)
        .into_iter()
        .map(|p| {
            let meta = std::fs::metadata(&p)
                .ok()
                .and_then(|m| Some((m.len(), m.modified().ok()?)));
            (p, meta)
        })
        .collect()
}

fn sha256_hex(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Sanctions {
    /// The configured lists, none active yet (call [`Sanctions::reload`]).
    pub fn new(settings: &SanctionsSettings, audit: Arc<AuditLog>, clock: Arc<dyn Clock>) -> Self {
        Self {
            lists: settings
                .lists
                .iter()
                .map(|l| Configured {
                    config: list_config(l),
                    format: l.format,
                })
                .collect(),
            set: ListSet::new(lists::ValidationPolicy::default()),
            policy: ScreeningPolicy {
                threshold: settings.review_threshold,
                ..ScreeningPolicy::default()
            },
            audit,
            clock,
            seen: Mutex::new(BTreeMap::new()),
            reports: Mutex::new(BTreeMap::new()),
        }
    }

    /// The active lists.
    pub fn list_set(&self) -> &ListSet {
        &self.set
    }

    /// The screening policy (threshold and bounds) in force.
    pub fn policy(&self) -> &ScreeningPolicy {
        &self.policy
    }

    /// Every configured list with its active version and latest reload.
    pub fn status(&self) -> Vec<ListStatus> {
        let active = self.set.active();
        let reports = self.reports.lock().unwrap_or_else(PoisonError::into_inner);
        self.lists
            .iter()
            .map(|c| ListStatus {
                name: c.config.name.clone(),
                format: c.format,
                active: active.iter().find(|s| s.name == c.config.name).cloned(),
                last_reload: reports.get(&c.config.name).cloned(),
            })
            .collect()
    }

    /// Reloads every configured list (or, for [`ReloadTrigger::FileChange`], those
    /// whose files changed since they were last read) on the blocking pool, records
    /// the outcome in the audit log when anything was reloaded, and returns the
    /// status of every list. `actor` is the admin who asked, if any.
    pub async fn reload(
        self: &Arc<Self>,
        trigger: ReloadTrigger,
        actor: Option<&Caller>,
    ) -> Result<Vec<ListStatus>, ScreeningError> {
        let this = Arc::clone(self);
        let reloaded = tokio::task::spawn_blocking(move || this.reload_blocking(trigger))
            .await
            .map_err(|e| ScreeningError::Task(e.to_string()))?;
        let noteworthy = reloaded
            .iter()
            .any(|(_, r)| r.result != ReloadResult::Unchanged);
        if actor.is_some() || noteworthy {
            let event = self.reload_event(trigger, actor, &reloaded);
            self.audit.record(&[event]).await?;
        }
        Ok(self.status())
    }

    fn reload_blocking(&self, trigger: ReloadTrigger) -> Vec<(String, ReloadReport)> {
        let mut seen_files = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let mut out = Vec::new();
        for c in &self.lists {
            let name = &c.config.name;
            // Taken before reading, so a change while reading is seen next round.
            let seen = fingerprint(&c.config);
            if trigger == ReloadTrigger::FileChange && seen_files.get(name) == Some(&seen) {
                continue;
            }
            let report = self.reload_one(&c.config, trigger);
            log_report(name, &report);
            seen_files.insert(name.clone(), seen);
            self.reports
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(name.clone(), report.clone());
            out.push((name.clone(), report));
        }
        out
    }

    fn reload_one(&self, config: &ListConfig, trigger: ReloadTrigger) -> ReloadReport {
        let mut report = ReloadReport {
            at: self.clock.now(),
            trigger,
            result: ReloadResult::LoadFailed,
            version: None,
            malformed_records: 0,
            orphan_records: 0,
            issues: Vec::new(),
            reason: None,
        };
        let version = match lists::load(config) {
            Ok(v) => v,
            Err(lists::LoadError::Io { path, source }) => {
                // The file name, not the server's directory layout.
                let file = path.file_name().map_or_else(
                    || path.display().to_string(),
                    |n| n.to_string_lossy().into_owned(),
                );
                report.reason = Some(format!("cannot read {file}: {source}"));
                return report;
            }
        };
        let count = |kind| version.issues.iter().filter(|i| i.kind == kind).count();
        report.malformed_records = count(IssueKind::Malformed);
        report.orphan_records = count(IssueKind::Orphan);
        report.issues = version
            .issues
            .iter()
            .take(MAX_REPORTED_ISSUES)
            .cloned()
            .collect();
        report.version = Some(version.stamp());
        let snapshot = self.set.snapshot();
        let unchanged = snapshot
            .lists()
            .iter()
            .any(|l| l.name == version.name && l.files == version.files);
        if unchanged {
            report.result = ReloadResult::Unchanged;
            return report;
        }
        drop(snapshot);
        match self.set.activate(version) {
            Ok(_) => report.result = ReloadResult::Activated,
            Err(e) => {
                report.result = ReloadResult::Refused;
                report.reason = Some(e.to_string());
            }
        }
        report.at = self.clock.now();
        report
    }

    fn reload_event(
        &self,
        trigger: ReloadTrigger,
        actor: Option<&Caller>,
        reloaded: &[(String, ReloadReport)],
    ) -> AuditEvent {
        let all_ok = reloaded
            .iter()
            .all(|(_, r)| matches!(r.result, ReloadResult::Activated | ReloadResult::Unchanged));
        let result = if all_ok { "success" } else { "failure" };
        let mut event = match actor {
            Some(caller) => self.caller_event("sanctions.reload", caller, result),
            None => self
                .audit
                .event("sanctions.reload", self.audit.system_actor(), result, None),
        };
        // List names and outcomes only: nothing personal.
        let summary: Vec<String> = reloaded
            .iter()
            .map(|(name, r)| format!("{name}={}", r.result.as_str()))
            .collect();
        event.target = Some(Target {
            kind: "sanctions_lists".to_owned(),
            id: trigger.as_str().to_owned(),
            state_before: None,
            state_after: Some(summary.join(",")),
        });
        event.record_digest = Some(self.active_digest());
        event
    }

    /// SHA-256 over the active versions' names and hashes: which lists a
    /// screening or reload saw, in one value.
    fn active_digest(&self) -> String {
        let stamps: Vec<String> = self
            .set
            .active()
            .iter()
            .map(|s| format!("{}:{}", s.name, s.sha256))
            .collect();
        sha256_hex(stamps.join("\n").as_bytes())
    }

    fn caller_event(&self, action: &str, caller: &Caller, result: &str) -> AuditEvent {
        let actor = self.audit.subject_actor(
            "staff",
            &caller.subject,
            &caller.auth_method,
            caller.client_id.as_deref(),
        );
        let mut event = self
            .audit
            .event(action, actor, result, caller.client_ip.clone());
        event.request_id = caller.request_id.clone();
        event.trace_id = caller.trace_id.clone();
        event
    }

    /// Screens `query` against the active lists for a staff member and records the
    /// screening in the audit log before the result is released. The entry holds
    /// a keyed pseudonym of the query (never the name), whether anything matched,
    /// and the digest of the list versions used.
    pub async fn screen_adhoc(
        &self,
        caller: &Caller,
        query: &Query,
    ) -> Result<AdhocScreening, ScreeningError> {
        let screening = self
            .set
            .screen(query, &self.policy)
            .map_err(|_| ScreeningError::Unavailable)?;
        let mut event = self.caller_event("screening.adhoc", caller, "success");
        let key = format!(
            "{}\u{1f}{}\u{1f}{}\u{1f}{}",
            query.name,
            query.birth_date.map(|d| d.to_string()).unwrap_or_default(),
            query.nationality.as_deref().unwrap_or_default(),
            query
                .entity_type
                .map(|t| format!("{t:?}"))
                .unwrap_or_default(),
        );
        event.target = Some(Target {
            kind: "screening_query".to_owned(),
            id: self.audit.pseudonym("screening_query", &key),
            state_before: None,
            state_after: Some(
                if screening.matches.is_empty() {
                    "no_match"
                } else {
                    "potential_match"
                }
                .to_owned(),
            ),
        });
        let stamps: Vec<String> = screening
            .lists
            .iter()
            .map(|s| format!("{}:{}", s.name, s.sha256))
            .collect();
        event.record_digest = Some(sha256_hex(stamps.join("\n").as_bytes()));
        let audit_event_id = event.event_id.clone();
        self.audit.record(&[event]).await?;
        Ok(AdhocScreening {
            screening,
            audit_event_id,
        })
    }

    /// Checks the list files every `interval` and reloads the lists whose size or
    /// modification time changed (the reload itself skips byte-identical files).
    pub fn spawn_watcher(self: &Arc<Self>, interval: Duration) -> tokio::task::JoinHandle<()> {
        let this = Arc::clone(self);
        tokio::spawn(async move {
            if this.lists.is_empty() {
                return;
            }
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticker.tick().await;
            loop {
                ticker.tick().await;
                if let Err(error) = this.reload(ReloadTrigger::FileChange, None).await {
                    tracing::error!(%error, "sanctions list reload failed");
                }
            }
        })
    }
}

fn log_report(name: &str, r: &ReloadReport) {
    let (entries, sha256) = r
        .version
        .as_ref()
        .map_or((0, ""), |v| (v.entry_count, v.sha256.as_str()));
    match r.result {
        ReloadResult::Activated | ReloadResult::Unchanged => tracing::info!(
            list = name,
            trigger = r.trigger.as_str(),
            result = r.result.as_str(),
            entries,
            sha256,
            malformed = r.malformed_records,
            orphans = r.orphan_records,
            "sanctions list loaded"
        ),
        ReloadResult::LoadFailed | ReloadResult::Refused => tracing::warn!(
            list = name,
            trigger = r.trigger.as_str(),
            result = r.result.as_str(),
            entries,
            sha256,
            malformed = r.malformed_records,
            orphans = r.orphan_records,
            reason = r.reason.as_deref().unwrap_or_default(),
            "sanctions list version not activated; the active version stays"
        ),
    }
    for issue in &r.issues {
        tracing::warn!(list = name, kind = ?issue.kind, record = %issue, "bad sanctions list record");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_lists_read_the_files_the_loader_reads() {
        let s = crate::config::SanctionsListSettings {
            name: "sdn".into(),
            format: SanctionsListFormat::OfacSdn,
            path: "lists/sdn".into(),
        };
        let c = list_config(&s);
        assert_eq!(c.name, "sdn");
        assert_eq!(files(&c)[0], PathBuf::from("lists/sdn/sdn.csv"));
        let s = crate::config::SanctionsListSettings {
            format: SanctionsListFormat::UnConsolidated,
            path: "un.xml".into(),
            ..s
        };
        assert_eq!(files(&list_config(&s)), vec![PathBuf::from("un.xml")]);
    }
}
