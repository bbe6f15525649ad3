//! Decisions, cases, case history and the outbox for both backends, side
//! by side. Every review change is one transaction (`review_write`) with its
//! guards: the application's state and row version, the case's row version.

use async_trait::async_trait;
use sqlx::Row;

use super::audit::QueueAudit;
use super::{PostgresStore, SqliteStore, StoreError};
use crate::onboarding::{ApplicationRecord, ApplicationStore};
use crate::review::handoff::{OutboxRecord, OutboxStore, OutboxUpdate};
use crate::review::store::{
    CaseEvent, CaseFilter, CaseRecord, CaseWrite, DecisionRecord, OutboxEvent, RescreeningRecord,
    ReviewStore, ReviewWrite,
};

fn db(e: sqlx::Error) -> StoreError {
    StoreError::from_sqlx(e)
}

const READY: &str = "SELECT a.id FROM applications a WHERE a.state = 'checking' AND NOT EXISTS \
     (SELECT 1 FROM checks c WHERE c.application_id = a.id AND c.state = 'pending') ORDER BY a.updated_us LIMIT $1";
const TRANSITION: &str = "UPDATE applications SET state = $1, updated_us = $2, row_version = row_version + 1 \
     WHERE id = $3 AND row_version = $4 AND state = $5";
const INSERT_DECISION: &str = "INSERT INTO decisions (id, application_id, round, outcome, reason_codes, decided_by, \
     confirmed_by, policy_version, policy_sha256, inputs_sha256, request_items, created_us) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";
const CASE_COLUMNS: &str = "id, application_id, round, state, priority, reason_codes, high_risk, sla_due_us, \
     assignee, lease_until_us, proposal_by, proposal_reason, proposal_inputs, proposal_us, created_us, updated_us, \
     row_version";
const INSERT_CASE: &str = "INSERT INTO cases (id, application_id, round, state, priority, reason_codes, high_risk, \
     sla_due_us, assignee, lease_until_us, proposal_by, proposal_reason, proposal_inputs, proposal_us, created_us, \
     updated_us, row_version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, 1)";
const UPDATE_CASE: &str = "UPDATE cases SET round = $1, state = $2, priority = $3, reason_codes = $4, high_risk = $5, \
     sla_due_us = $6, assignee = $7, lease_until_us = $8, proposal_by = $9, proposal_reason = $10, \
     proposal_inputs = $11, proposal_us = $12, updated_us = $13, row_version = row_version + 1 \
     WHERE id = $14 AND row_version = $15";
const INSERT_EVENT: &str = "INSERT INTO case_events (id, case_id, round, kind, actor, role, reason_code, note_sealed, \
     created_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
const EVENT_COLUMNS: &str =
    "id, case_id, round, kind, actor, role, reason_code, note_sealed, created_us";
pub(super) const INSERT_OUTBOX: &str = "INSERT INTO outbox (id, application_id, event_type, dedupe_key, payload, state, \
     attempts, next_attempt_us, created_us) VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6) \
     ON CONFLICT (dedupe_key) DO NOTHING";
const DECISION_COLUMNS: &str = "id, application_id, round, outcome, reason_codes, decided_by, confirmed_by, \
     policy_version, policy_sha256, inputs_sha256, request_items, created_us";
const INSERT_RESCREENING: &str = "INSERT INTO rescreenings (id, application_id, lists_sha256, matched_entries, \
     new_matches, evidence_sealed, created_us) VALUES ($1, $2, $3, $4, $5, $6, $7)";
const IDEM_PUT: &str = "INSERT INTO idempotency_keys (scope, idem_key, request_sha256, status, response, created_us) \
     VALUES ($1, $2, $3, $4, $5, $6)";

fn codes(raw: &str) -> Vec<String> {
    raw.split(',')
        .filter(|r| !r.is_empty())
        .map(str::to_owned)
        .collect()
}

macro_rules! case_from {
    ($row:expr) => {{
        let row = $row;
        let reasons: String = row.try_get(5).map_err(db)?;
        CaseRecord {
            id: row.try_get(0).map_err(db)?,
            application_id: row.try_get(1).map_err(db)?,
            round: row.try_get(2).map_err(db)?,
            state: row.try_get(3).map_err(db)?,
            priority: row.try_get(4).map_err(db)?,
            reason_codes: codes(&reasons),
            high_risk: row.try_get(6).map_err(db)?,
            sla_due_us: row.try_get(7).map_err(db)?,
            assignee: row.try_get(8).map_err(db)?,
            lease_until_us: row.try_get(9).map_err(db)?,
            proposal_by: row.try_get(10).map_err(db)?,
            proposal_reason: row.try_get(11).map_err(db)?,
            proposal_inputs: row.try_get(12).map_err(db)?,
            proposal_us: row.try_get(13).map_err(db)?,
            created_us: row.try_get(14).map_err(db)?,
            updated_us: row.try_get(15).map_err(db)?,
            row_version: row.try_get(16).map_err(db)?,
        }
    }};
}

macro_rules! review_store {
    ($store:ty, $db:ty) => {
        #[async_trait]
        impl ReviewStore for $store {
            async fn review_ready(&self, limit: u32) -> Result<Vec<ApplicationRecord>, StoreError> {
                let ids: Vec<String> = sqlx::query_scalar(READY)
                    .bind(i64::from(limit))
                    .fetch_all(self.pool())
                    .await
                    .map_err(db)?;
                let mut out = Vec::with_capacity(ids.len());
                for id in ids {
                    if let Some(app) = self.application_get(&id).await? {
                        out.push(app);
                    }
                }
                Ok(out)
            }

            async fn review_write(&self, w: &ReviewWrite<'_>) -> Result<(), StoreError> {
                let now_us = w
                    .app_change
                    .map(|c| c.now_us)
                    .or(w.decision.map(|d| d.created_us))
                    .or(w.events.first().map(|e| e.created_us))
                    .unwrap_or_default();
                let mut tx = self.pool().begin().await.map_err(db)?;
                if let Some(change) = w.app_change {
                    let done = sqlx::query(TRANSITION)
                        .bind(change.to.as_str())
                        .bind(change.now_us)
                        .bind(&change.id)
                        .bind(change.row_version)
                        .bind(change.from.as_str())
                        .execute(&mut *tx)
                        .await
                        .map_err(db)?;
                    if done.rows_affected() != 1 {
                        return Err(StoreError::Conflict("application".to_owned()));
                    }
                }
                if let Some(d) = w.decision {
                    let items = d
                        .request_items
                        .as_ref()
                        .map(|i| serde_json::to_string(i).unwrap_or_default());
                    sqlx::query(INSERT_DECISION)
                        .bind(&d.id)
                        .bind(&d.application_id)
                        .bind(d.round)
                        .bind(&d.outcome)
                        .bind(d.reason_codes.join(","))
                        .bind(&d.decided_by)
                        .bind(&d.confirmed_by)
                        .bind(&d.policy_version)
                        .bind(&d.policy_sha256)
                        .bind(&d.inputs_sha256)
                        .bind(items)
                        .bind(d.created_us)
                        .execute(&mut *tx)
                        .await
                        .map_err(db)?;
                }
                match &w.case {
                    None => {}
                    Some(CaseWrite::Insert(c)) => {
                        sqlx::query(INSERT_CASE)
                            .bind(&c.id)
                            .bind(&c.application_id)
                            .bind(c.round)
                            .bind(&c.state)
                            .bind(c.priority)
                            .bind(c.reason_codes.join(","))
                            .bind(c.high_risk)
                            .bind(c.sla_due_us)
                            .bind(&c.assignee)
                            .bind(c.lease_until_us)
                            .bind(&c.proposal_by)
                            .bind(&c.proposal_reason)
                            .bind(&c.proposal_inputs)
                            .bind(c.proposal_us)
                            .bind(c.created_us)
                            .bind(c.updated_us)
                            .execute(&mut *tx)
                            .await
                            .map_err(db)?;
                    }
                    Some(CaseWrite::Update { record: c, expected }) => {
                        let done = sqlx::query(UPDATE_CASE)
                            .bind(c.round)
                            .bind(&c.state)
                            .bind(c.priority)
                            .bind(c.reason_codes.join(","))
                            .bind(c.high_risk)
                            .bind(c.sla_due_us)
                            .bind(&c.assignee)
                            .bind(c.lease_until_us)
                            .bind(&c.proposal_by)
                            .bind(&c.proposal_reason)
                            .bind(&c.proposal_inputs)
                            .bind(c.proposal_us)
                            .bind(c.updated_us)
                            .bind(&c.id)
                            .bind(*expected)
                            .execute(&mut *tx)
                            .await
                            .map_err(db)?;
                        if done.rows_affected() != 1 {
                            return Err(StoreError::Conflict("case".to_owned()));
                        }
                    }
                }
                for e in w.events {
                    sqlx::query(INSERT_EVENT)
                        .bind(&e.id)
                        .bind(&e.case_id)
                        .bind(e.round)
                        .bind(&e.kind)
                        .bind(&e.actor)
                        .bind(&e.role)
                        .bind(&e.reason_code)
                        .bind(&e.note_sealed)
                        .bind(e.created_us)
                        .execute(&mut *tx)
                        .await
                        .map_err(db)?;
                }
                if let Some(o) = w.outbox {
                    sqlx::query(INSERT_OUTBOX)
                        .bind(&o.id)
                        .bind(&o.application_id)
                        .bind(&o.event_type)
                        .bind(&o.dedupe_key)
                        .bind(&o.payload_sealed)
                        .bind(o.created_us)
                        .execute(&mut *tx)
                        .await
                        .map_err(db)?;
                }
                if let Some(r) = w.rescreening {
                    sqlx::query(INSERT_RESCREENING)
                        .bind(&r.id)
                        .bind(&r.application_id)
                        .bind(&r.lists_sha256)
                        .bind(r.matched_entries.join(","))
                        .bind(r.new_matches.join(","))
                        .bind(&r.evidence_sealed)
                        .bind(r.created_us)
                        .execute(&mut *tx)
                        .await
                        .map_err(db)?;
                }
                tx.queue_audit(&w.audit, now_us).await?;
                if let Some(i) = w.idem {
                    sqlx::query(IDEM_PUT)
                        .bind(&i.scope)
                        .bind(&i.key)
                        .bind(&i.request_sha256)
                        .bind(i32::from(i.status))
                        .bind(&i.response)
                        .bind(now_us)
                        .execute(&mut *tx)
                        .await
                        .map_err(db)?;
                }
                tx.commit().await.map_err(db)
            }

            async fn case_get(&self, id: &str) -> Result<Option<CaseRecord>, StoreError> {
                let sql = format!("SELECT {CASE_COLUMNS} FROM cases WHERE id = $1");
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(id)
                    .fetch_optional(self.pool())
                    .await
                    .map_err(db)?;
                Ok(match row {
                    Some(r) => Some(case_from!(&r)),
                    None => None,
                })
            }

            async fn case_for_application(
                &self,
                application_id: &str,
            ) -> Result<Option<CaseRecord>, StoreError> {
                let sql = format!("SELECT {CASE_COLUMNS} FROM cases WHERE application_id = $1");
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(application_id)
                    .fetch_optional(self.pool())
                    .await
                    .map_err(db)?;
                Ok(match row {
                    Some(r) => Some(case_from!(&r)),
                    None => None,
                })
            }

            async fn case_list(&self, f: &CaseFilter) -> Result<Vec<CaseRecord>, StoreError> {
                // Effective priority: an overdue case is one level more urgent.
                let mut b = sqlx::QueryBuilder::<$db>::new(format!(
                    "SELECT {CASE_COLUMNS} FROM (SELECT *, (CASE WHEN sla_due_us < "
                ));
                b.push_bind(f.now_us);
                b.push(" THEN priority - 1 ELSE priority END) AS effective FROM cases WHERE state = 'open'");
                if let Some(reason) = &f.reason {
                    // Reason codes are snake_case, so a comma-delimited match is exact.
                    // `_` is a LIKE wildcard: escaped, so the match is exact.
                    b.push(" AND (',' || reason_codes || ',') LIKE ");
                    b.push_bind(format!("%,{},%", reason.replace('_', "\\_")));
                    b.push(" ESCAPE '\\'");
                }
                match &f.assignee {
                    None => {}
                    Some(Some(who)) => {
                        b.push(" AND assignee = ");
                        b.push_bind(who.clone());
                        b.push(" AND lease_until_us >= ");
                        b.push_bind(f.now_us);
                    }
                    Some(None) => {
                        b.push(" AND (assignee IS NULL OR lease_until_us < ");
                        b.push_bind(f.now_us);
                        b.push(")");
                    }
                }
                match f.overdue {
                    None => {}
                    Some(true) => {
                        b.push(" AND sla_due_us < ");
                        b.push_bind(f.now_us);
                    }
                    Some(false) => {
                        b.push(" AND sla_due_us >= ");
                        b.push_bind(f.now_us);
                    }
                }
                b.push(") q");
                if let Some((p, due, id)) = &f.after {
                    b.push(" WHERE (effective > ");
                    b.push_bind(*p);
                    b.push(" OR (effective = ");
                    b.push_bind(*p);
                    b.push(" AND (sla_due_us > ");
                    b.push_bind(*due);
                    b.push(" OR (sla_due_us = ");
                    b.push_bind(*due);
                    b.push(" AND id > ");
                    b.push_bind(id.clone());
                    b.push("))))");
                }
                b.push(" ORDER BY effective, sla_due_us, id LIMIT ");
                b.push_bind(i64::from(f.limit));
                let rows = b.build().fetch_all(self.pool()).await.map_err(db)?;
                let mut out = Vec::with_capacity(rows.len());
                for r in &rows {
                    out.push(case_from!(r));
                }
                Ok(out)
            }

            async fn case_events(&self, case_id: &str) -> Result<Vec<CaseEvent>, StoreError> {
                let sql = format!(
                    "SELECT {EVENT_COLUMNS} FROM case_events WHERE case_id = $1 ORDER BY id"
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(case_id)
                    .fetch_all(self.pool())
                    .await
                    .map_err(db)?;
                let mut out = Vec::with_capacity(rows.len());
                for r in &rows {
                    out.push(CaseEvent {
                        id: r.try_get(0).map_err(db)?,
                        case_id: r.try_get(1).map_err(db)?,
                        round: r.try_get(2).map_err(db)?,
                        kind: r.try_get(3).map_err(db)?,
                        actor: r.try_get(4).map_err(db)?,
                        role: r.try_get(5).map_err(db)?,
                        reason_code: r.try_get(6).map_err(db)?,
                        note_sealed: r.try_get(7).map_err(db)?,
                        created_us: r.try_get(8).map_err(db)?,
                    });
                }
                Ok(out)
            }

            async fn review_stalled(&self, cutoff_us: i64, limit: u32) -> Result<Vec<ApplicationRecord>, StoreError> {
                let ids: Vec<String> = sqlx::query_scalar(
                    "SELECT a.id FROM applications a WHERE a.state IN ('draft', 'info_requested') AND a.updated_us < $1 \
                     AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.dedupe_key = \
                     'stalled:' || a.id || ':' || a.state || ':' || CAST(a.updated_us AS TEXT)) \
                     ORDER BY a.updated_us LIMIT $2",
                )
                .bind(cutoff_us)
                .bind(i64::from(limit))
                .fetch_all(self.pool())
                .await
                .map_err(db)?;
                let mut out = Vec::with_capacity(ids.len());
                for id in ids {
                    if let Some(app) = self.application_get(&id).await? {
                        out.push(app);
                    }
                }
                Ok(out)
            }

            async fn review_mrz_documents(
                &self,
                after_id: &str,
                limit: u32,
            ) -> Result<Vec<crate::documents::DocumentRecord>, StoreError> {
                let rows: Vec<(String, String)> = sqlx::query_as(
                    "SELECT d.id, d.application_id FROM documents d JOIN applications a ON a.id = d.application_id \
                     WHERE d.mrz_sealed IS NOT NULL AND d.superseded_by IS NULL AND d.id > $1 \
                     AND a.state IN ('draft', 'submitted', 'checking', 'in_review', 'info_requested') \
                     AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.dedupe_key = 'expiring:' || d.id) \
                     ORDER BY d.id LIMIT $2",
                )
                .bind(after_id)
                .bind(i64::from(limit))
                .fetch_all(self.pool())
                .await
                .map_err(db)?;
                let mut out = Vec::with_capacity(rows.len());
                for (id, app_id) in rows {
                    if let Some(d) = crate::documents::DocumentStore::document_list(self, &app_id)
                        .await?
                        .into_iter()
                        .find(|d| d.id == id)
                    {
                        out.push(d);
                    }
                }
                Ok(out)
            }

            async fn outbox_raise(&self, o: &OutboxEvent, audit: &crate::onboarding::AuditRows) -> Result<(), StoreError> {
                let mut tx = self.pool().begin().await.map_err(db)?;
                let done = sqlx::query(INSERT_OUTBOX)
                    .bind(&o.id)
                    .bind(&o.application_id)
                    .bind(&o.event_type)
                    .bind(&o.dedupe_key)
                    .bind(&o.payload_sealed)
                    .bind(o.created_us)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                if done.rows_affected() == 1 {
                    tx.queue_audit(&audit, o.created_us).await?;
                }
                tx.commit().await.map_err(db)
            }

            async fn rescreen_due(&self, lists_sha256: &str, limit: u32) -> Result<Vec<ApplicationRecord>, StoreError> {
                let ids: Vec<String> = sqlx::query_scalar(
                    "SELECT a.id FROM applications a WHERE a.state = 'approved' AND NOT EXISTS \
                     (SELECT 1 FROM rescreenings r WHERE r.application_id = a.id AND r.lists_sha256 = $1) \
                     ORDER BY a.id LIMIT $2",
                )
                .bind(lists_sha256)
                .bind(i64::from(limit))
                .fetch_all(self.pool())
                .await
                .map_err(db)?;
                let mut out = Vec::with_capacity(ids.len());
                for id in ids {
                    if let Some(app) = self.application_get(&id).await? {
                        out.push(app);
                    }
                }
                Ok(out)
            }

            async fn rescreenings_for(&self, application_id: &str) -> Result<Vec<RescreeningRecord>, StoreError> {
                let rows = sqlx::query(
                    "SELECT id, application_id, lists_sha256, matched_entries, new_matches, evidence_sealed, created_us \
                     FROM rescreenings WHERE application_id = $1 ORDER BY created_us, id",
                )
                .bind(application_id)
                .fetch_all(self.pool())
                .await
                .map_err(db)?;
                let mut out = Vec::with_capacity(rows.len());
                for r in &rows {
                    let matched: String = r.try_get(3).map_err(db)?;
                    let new: String = r.try_get(4).map_err(db)?;
                    out.push(RescreeningRecord {
                        id: r.try_get(0).map_err(db)?,
                        application_id: r.try_get(1).map_err(db)?,
                        lists_sha256: r.try_get(2).map_err(db)?,
                        matched_entries: codes(&matched),
                        new_matches: codes(&new),
                        evidence_sealed: r.try_get(5).map_err(db)?,
                        created_us: r.try_get(6).map_err(db)?,
                    });
                }
                Ok(out)
            }

            async fn case_counts(&self, now_us: i64) -> Result<(i64, i64), StoreError> {
                let row: (i64, i64) = sqlx::query_as(
                    "SELECT CAST(COUNT(*) AS BIGINT), CAST(COALESCE(SUM(CASE WHEN sla_due_us < $1 THEN 1 ELSE 0 END), 0) AS BIGINT) \
                     FROM cases WHERE state = 'open'",
                )
                .bind(now_us)
                .fetch_one(self.pool())
                .await
                .map_err(db)?;
                Ok(row)
            }

            async fn decisions_for(
                &self,
                application_id: &str,
            ) -> Result<Vec<DecisionRecord>, StoreError> {
                let sql = format!(
                    "SELECT {DECISION_COLUMNS} FROM decisions WHERE application_id = $1 ORDER BY created_us, id"
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(application_id)
                    .fetch_all(self.pool())
                    .await
                    .map_err(db)?;
                let mut out = Vec::with_capacity(rows.len());
                for r in &rows {
                    let reasons: String = r.try_get(4).map_err(db)?;
                    let items: Option<String> = r.try_get(10).map_err(db)?;
                    out.push(DecisionRecord {
                        id: r.try_get(0).map_err(db)?,
                        application_id: r.try_get(1).map_err(db)?,
                        round: r.try_get(2).map_err(db)?,
                        outcome: r.try_get(3).map_err(db)?,
                        reason_codes: codes(&reasons),
                        decided_by: r.try_get(5).map_err(db)?,
                        confirmed_by: r.try_get(6).map_err(db)?,
                        policy_version: r.try_get(7).map_err(db)?,
                        policy_sha256: r.try_get(8).map_err(db)?,
                        inputs_sha256: r.try_get(9).map_err(db)?,
                        request_items: items.and_then(|i| serde_json::from_str(&i).ok()),
                        created_us: r.try_get(11).map_err(db)?,
                    });
                }
                Ok(out)
            }
        }
    };
}

review_store!(PostgresStore, sqlx::Postgres);
review_store!(SqliteStore, sqlx::Sqlite);

const OUTBOX_COLUMNS: &str = "id, application_id, event_type, payload, state, attempts, next_attempt_us, last_error, \
     created_us, delivered_us";
/// The oldest undelivered event of each application only, so events go out
/// in order per application.
const OUTBOX_DUE: &str = "SELECT o.id, o.application_id, o.event_type, o.payload, o.state, o.attempts, \
     o.next_attempt_us, o.last_error, o.created_us, o.delivered_us FROM outbox o \
     WHERE o.state = 'pending' AND o.next_attempt_us <= $1 AND NOT EXISTS (SELECT 1 FROM outbox p \
     WHERE p.application_id = o.application_id AND p.state IN ('pending', 'failed') AND p.id < o.id) \
     ORDER BY o.id LIMIT $2";
const OUTBOX_CLAIM: &str = "UPDATE outbox SET next_attempt_us = $1 WHERE id = $2 AND state = 'pending' \
     AND next_attempt_us = $3";
const OUTBOX_UPDATE: &str = "UPDATE outbox SET state = $1, attempts = $2, next_attempt_us = $3, last_error = $4, \
     delivered_us = $5 WHERE id = $6 AND state = 'pending' AND next_attempt_us = $7";
const OUTBOX_REPLAY: &str = "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_us = $1, \
     last_error = NULL WHERE id = $2 AND state = 'failed'";

macro_rules! outbox_from {
    ($row:expr) => {{
        let r = $row;
        OutboxRecord {
            id: r.try_get(0).map_err(db)?,
            application_id: r.try_get(1).map_err(db)?,
            event_type: r.try_get(2).map_err(db)?,
            payload_sealed: r.try_get(3).map_err(db)?,
            state: r.try_get(4).map_err(db)?,
            attempts: r.try_get(5).map_err(db)?,
            next_attempt_us: r.try_get(6).map_err(db)?,
            last_error: r.try_get(7).map_err(db)?,
            created_us: r.try_get(8).map_err(db)?,
            delivered_us: r.try_get(9).map_err(db)?,
        }
    }};
}

macro_rules! outbox_store {
    ($store:ty) => {
        #[async_trait]
        impl OutboxStore for $store {
            async fn outbox_due(
                &self,
                now_us: i64,
                limit: u32,
            ) -> Result<Vec<OutboxRecord>, StoreError> {
                let rows = sqlx::query(OUTBOX_DUE)
                    .bind(now_us)
                    .bind(i64::from(limit))
                    .fetch_all(self.pool())
                    .await
                    .map_err(db)?;
                let mut out = Vec::with_capacity(rows.len());
                for r in &rows {
                    out.push(outbox_from!(r));
                }
                Ok(out)
            }

            async fn outbox_claim(
                &self,
                id: &str,
                expected: i64,
                until: i64,
            ) -> Result<bool, StoreError> {
                let done = sqlx::query(OUTBOX_CLAIM)
                    .bind(until)
                    .bind(id)
                    .bind(expected)
                    .execute(self.pool())
                    .await
                    .map_err(db)?;
                Ok(done.rows_affected() == 1)
            }

            async fn outbox_update(&self, u: &OutboxUpdate<'_>) -> Result<bool, StoreError> {
                let mut tx = self.pool().begin().await.map_err(db)?;
                let done = sqlx::query(OUTBOX_UPDATE)
                    .bind(u.state)
                    .bind(u.attempts)
                    .bind(u.next_attempt_us)
                    .bind(u.last_error)
                    .bind(u.delivered_us)
                    .bind(u.id)
                    .bind(u.claimed_until_us)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                if done.rows_affected() != 1 {
                    tx.rollback().await.map_err(db)?;
                    return Ok(false);
                }
                tx.queue_audit(&u.audit, u.next_attempt_us).await?;
                tx.commit().await.map_err(db)?;
                Ok(true)
            }

            async fn outbox_get(&self, id: &str) -> Result<Option<OutboxRecord>, StoreError> {
                let sql = format!("SELECT {OUTBOX_COLUMNS} FROM outbox WHERE id = $1");
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(id)
                    .fetch_optional(self.pool())
                    .await
                    .map_err(db)?;
                Ok(match row {
                    Some(r) => Some(outbox_from!(&r)),
                    None => None,
                })
            }

            async fn outbox_list(
                &self,
                state: &str,
                limit: u32,
            ) -> Result<Vec<OutboxRecord>, StoreError> {
                let sql = format!(
                    "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE state = $1 ORDER BY id LIMIT $2"
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(state)
                    .bind(i64::from(limit))
                    .fetch_all(self.pool())
                    .await
                    .map_err(db)?;
                let mut out = Vec::with_capacity(rows.len());
                for r in &rows {
                    out.push(outbox_from!(r));
                }
                Ok(out)
            }

            async fn outbox_replay(
                &self,
                id: &str,
                now_us: i64,
                audit: &crate::onboarding::AuditRows,
            ) -> Result<bool, StoreError> {
                let mut tx = self.pool().begin().await.map_err(db)?;
                let done = sqlx::query(OUTBOX_REPLAY)
                    .bind(now_us)
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                if done.rows_affected() != 1 {
                    tx.rollback().await.map_err(db)?;
                    return Ok(false);
                }
                tx.queue_audit(&audit, now_us).await?;
                tx.commit().await.map_err(db)?;
                Ok(true)
            }
        }
    };
}

outbox_store!(PostgresStore);
outbox_store!(SqliteStore);
