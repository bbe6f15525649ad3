//! What the document and liveness vendor holds for our checks, the daily
//! spending counter and the webhook events seen, for both backends side by
//! side. The SQL is the same on both (upserts with `excluded`, `RETURNING`);
//! the link to a vendor check is written once and the database refuses any
//! change to it.

use async_trait::async_trait;
use sqlx::Row;

use super::audit::QueueAudit;
use super::{PostgresStore, SqliteStore, StoreError};
use crate::checks::vendor::{VendorCheckRow, VendorStore};
use crate::onboarding::AuditRows;

fn db(e: sqlx::Error) -> StoreError {
    StoreError::from_sqlx(e)
}

const COLUMNS: &str = "v.check_id, v.applicant_id, v.document_ids, v.live_photo_id, v.check_requested_us, \
     v.vendor_check_id, v.next_poll_us, v.deadline_us";
const PROGRESS: &str = "INSERT INTO vendor_checks (check_id, applicant_id, document_ids, live_photo_id, \
     check_requested_us, created_us, updated_us) VALUES ($1, $2, $3, $4, $5, $6, $6) \
     ON CONFLICT (check_id) DO UPDATE SET applicant_id = excluded.applicant_id, \
     document_ids = excluded.document_ids, live_photo_id = excluded.live_photo_id, \
     check_requested_us = excluded.check_requested_us, updated_us = excluded.updated_us";
const LINK: &str = "UPDATE vendor_checks SET vendor_check_id = $2, next_poll_us = $3, deadline_us = $4, \
     updated_us = $5 WHERE check_id = $1 AND vendor_check_id IS NULL";
const POLL_AT: &str =
    "UPDATE vendor_checks SET next_poll_us = $2, updated_us = $3 WHERE check_id = $1";
const RESERVE: &str = "INSERT INTO vendor_spend (day, billable_calls) VALUES ($1, 1) \
     ON CONFLICT (day) DO UPDATE SET billable_calls = vendor_spend.billable_calls + 1 \
     WHERE vendor_spend.billable_calls < $2 RETURNING billable_calls";
const SPENT: &str = "SELECT billable_calls FROM vendor_spend WHERE day = $1";
const EVENT_SEEN: &str = "SELECT 1 FROM vendor_webhook_events WHERE event_id = $1";
const EVENT_RECORD: &str = "INSERT INTO vendor_webhook_events (event_id, received_us, outcome) \
     VALUES ($1, $2, $3) ON CONFLICT (event_id) DO NOTHING";

macro_rules! row_from {
    ($row:expr) => {{
        let row = $row;
        let ids: String = row.try_get(2).map_err(db)?;
        VendorCheckRow {
            check_id: row.try_get(0).map_err(db)?,
            applicant_id: row.try_get(1).map_err(db)?,
            document_ids: ids
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            live_photo_id: row.try_get(3).map_err(db)?,
            check_requested_us: row.try_get(4).map_err(db)?,
            vendor_check_id: row.try_get(5).map_err(db)?,
            next_poll_us: row.try_get(6).map_err(db)?,
            deadline_us: row.try_get(7).map_err(db)?,
        }
    }};
}

macro_rules! vendor_store {
    ($store:ty) => {
        #[async_trait]
        impl VendorStore for $store {
            async fn vendor_check_get(
                &self,
                check_id: &str,
            ) -> Result<Option<VendorCheckRow>, StoreError> {
                let sql = format!("SELECT {COLUMNS} FROM vendor_checks v WHERE v.check_id = $1");
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(check_id)
                    .fetch_optional(self.pool())
                    .await
                    .map_err(db)?;
                Ok(match row {
                    Some(r) => Some(row_from!(&r)),
                    None => None,
                })
            }

            async fn vendor_check_by_vendor_id(
                &self,
                vendor_check_id: &str,
            ) -> Result<Option<VendorCheckRow>, StoreError> {
                let sql =
                    format!("SELECT {COLUMNS} FROM vendor_checks v WHERE v.vendor_check_id = $1");
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(vendor_check_id)
                    .fetch_optional(self.pool())
                    .await
                    .map_err(db)?;
                Ok(match row {
                    Some(r) => Some(row_from!(&r)),
                    None => None,
                })
            }

            async fn vendor_check_progress(
                &self,
                row: &VendorCheckRow,
                now_us: i64,
            ) -> Result<(), StoreError> {
                sqlx::query(PROGRESS)
                    .bind(&row.check_id)
                    .bind(&row.applicant_id)
                    .bind(row.document_ids.join(","))
                    .bind(&row.live_photo_id)
                    .bind(row.check_requested_us)
                    .bind(now_us)
                    .execute(self.pool())
                    .await
                    .map_err(db)?;
                Ok(())
            }

            async fn vendor_check_link(
                &self,
                check_id: &str,
                vendor_check_id: &str,
                next_poll_us: i64,
                deadline_us: i64,
                now_us: i64,
                audit: &AuditRows,
            ) -> Result<bool, StoreError> {
                let mut tx = self.pool().begin().await.map_err(db)?;
                let linked = sqlx::query(LINK)
                    .bind(check_id)
                    .bind(vendor_check_id)
                    .bind(next_poll_us)
                    .bind(deadline_us)
                    .bind(now_us)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                if linked.rows_affected() != 1 {
                    tx.rollback().await.map_err(db)?;
                    return Ok(false);
                }
                tx.queue_audit(&audit, now_us).await?;
                tx.commit().await.map_err(db)?;
                Ok(true)
            }

            async fn vendor_checks_due(
                &self,
                now_us: i64,
                limit: u32,
            ) -> Result<Vec<VendorCheckRow>, StoreError> {
                let sql = format!(
                    "SELECT {COLUMNS} FROM vendor_checks v JOIN checks c ON c.id = v.check_id \
                     WHERE c.state = 'pending' AND v.vendor_check_id IS NOT NULL \
                     AND v.next_poll_us <= $1 ORDER BY v.next_poll_us LIMIT $2"
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(now_us)
                    .bind(i64::from(limit))
                    .fetch_all(self.pool())
                    .await
                    .map_err(db)?;
                let mut out = Vec::with_capacity(rows.len());
                for r in &rows {
                    out.push(row_from!(r));
                }
                Ok(out)
            }

            async fn vendor_check_poll_at(
                &self,
                check_id: &str,
                next_poll_us: i64,
                now_us: i64,
            ) -> Result<(), StoreError> {
                sqlx::query(POLL_AT)
                    .bind(check_id)
                    .bind(next_poll_us)
                    .bind(now_us)
                    .execute(self.pool())
                    .await
                    .map_err(db)?;
                Ok(())
            }

            async fn vendor_spend_reserve(&self, day: &str, cap: u32) -> Result<bool, StoreError> {
                if cap == 0 {
                    return Ok(false);
                }
                let row = sqlx::query(RESERVE)
                    .bind(day)
                    .bind(i64::from(cap))
                    .fetch_optional(self.pool())
                    .await
                    .map_err(db)?;
                Ok(row.is_some())
            }

            async fn vendor_spent(&self, day: &str) -> Result<u64, StoreError> {
                let row: Option<(i64,)> = sqlx::query_as(SPENT)
                    .bind(day)
                    .fetch_optional(self.pool())
                    .await
                    .map_err(db)?;
                Ok(row.map_or(0, |(n,)| u64::try_from(n).unwrap_or(0)))
            }

            async fn vendor_event_seen(&self, event_id: &str) -> Result<bool, StoreError> {
                let row = sqlx::query(EVENT_SEEN)
                    .bind(event_id)
                    .fetch_optional(self.pool())
                    .await
                    .map_err(db)?;
                Ok(row.is_some())
            }

            async fn vendor_event_record(
                &self,
                event_id: &str,
                outcome: &str,
                now_us: i64,
            ) -> Result<bool, StoreError> {
                let done = sqlx::query(EVENT_RECORD)
                    .bind(event_id)
                    .bind(now_us)
                    .bind(outcome)
                    .execute(self.pool())
                    .await
                    .map_err(db)?;
                Ok(done.rows_affected() == 1)
            }
        }
    };
}

vendor_store!(PostgresStore);
vendor_store!(SqliteStore);
