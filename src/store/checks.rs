//! Check rows for both backends, side by side. Rows are added by the
//! submission transaction (`store::applications`); here they are read, and
//! ended once, in one transaction with the audit entry.

use async_trait::async_trait;
use sqlx::Row;

use super::audit::QueueAudit;
use super::{PostgresStore, SqliteStore, StoreError};
use crate::checks::pipeline::{CheckCompletion, CheckRecord, CheckStore};
use crate::domain::check::{CheckKind, CheckState};

fn db(e: sqlx::Error) -> StoreError {
    StoreError::from_sqlx(e)
}

const COLUMNS: &str = "id, application_id, round, kind, provider, state, reason_codes, evidence_sealed, \
     policy_version, created_us, completed_us";
const COMPLETE: &str = "UPDATE checks SET state = $1, reason_codes = $2, evidence_sealed = $3, completed_us = $4 \
     WHERE id = $5 AND state = 'pending'";

macro_rules! check_from {
    ($row:expr) => {{
        let row = $row;
        let kind: String = row.try_get(3).map_err(db)?;
        let state: String = row.try_get(5).map_err(db)?;
        let reasons: String = row.try_get(6).map_err(db)?;
        CheckRecord {
            id: row.try_get(0).map_err(db)?,
            application_id: row.try_get(1).map_err(db)?,
            round: row.try_get(2).map_err(db)?,
            kind: CheckKind::parse(&kind)
                .ok_or_else(|| StoreError::Other(format!("unknown stored check kind {kind}")))?,
            provider: row.try_get(4).map_err(db)?,
            state: CheckState::parse(&state)
                .ok_or_else(|| StoreError::Other(format!("unknown stored check state {state}")))?,
            reason_codes: reasons
                .split(',')
                .filter(|r| !r.is_empty())
                .map(str::to_owned)
                .collect(),
            evidence_sealed: row.try_get(7).map_err(db)?,
            policy_version: row.try_get(8).map_err(db)?,
            created_us: row.try_get(9).map_err(db)?,
            completed_us: row.try_get(10).map_err(db)?,
        }
    }};
}

macro_rules! check_store {
    ($store:ty) => {
        #[async_trait]
        impl CheckStore for $store {
            async fn check_get(&self, id: &str) -> Result<Option<CheckRecord>, StoreError> {
                let sql = format!("SELECT {COLUMNS} FROM checks WHERE id = $1");
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(id)
                    .fetch_optional(self.pool())
                    .await
                    .map_err(db)?;
                Ok(match row {
                    Some(r) => Some(check_from!(&r)),
                    None => None,
                })
            }

            async fn check_list(
                &self,
                application_id: &str,
            ) -> Result<Vec<CheckRecord>, StoreError> {
                let sql = format!(
                    "SELECT {COLUMNS} FROM checks WHERE application_id = $1 ORDER BY round, kind"
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(application_id)
                    .fetch_all(self.pool())
                    .await
                    .map_err(db)?;
                let mut out = Vec::with_capacity(rows.len());
                for r in &rows {
                    out.push(check_from!(r));
                }
                Ok(out)
            }

            async fn check_complete(&self, done: &CheckCompletion<'_>) -> Result<bool, StoreError> {
                let mut tx = self.pool().begin().await.map_err(db)?;
                let updated = sqlx::query(COMPLETE)
                    .bind(done.state.as_str())
                    .bind(&done.reason_codes)
                    .bind(&done.evidence_sealed)
                    .bind(done.now_us)
                    .bind(done.id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                if updated.rows_affected() != 1 {
                    // Ended already: nothing to record twice.
                    tx.rollback().await.map_err(db)?;
                    return Ok(false);
                }
                tx.queue_audit(&done.audit, done.now_us).await?;
                tx.commit().await.map_err(db)?;
                Ok(true)
            }
        }
    };
}

check_store!(PostgresStore);
check_store!(SqliteStore);
