//! The job queue for both backends, side by side. PostgreSQL claims with
//! `FOR UPDATE SKIP LOCKED`, so concurrent workers never wait on each other
//! and never take the same job; SQLite serializes writers (`BEGIN IMMEDIATE`).

use async_trait::async_trait;

use super::{PostgresStore, SqliteStore, StoreError};
use crate::jobs::{ClaimedJob, JobStatus, JobStore, NewJob, Retry};

fn db(e: sqlx::Error) -> StoreError {
    StoreError::from_sqlx(e)
}

pub(super) const ENQUEUE: &str = "INSERT INTO jobs (id, kind, dedupe_key, payload, state, attempts, max_attempts, run_after_us, \
     created_us, updated_us) VALUES ($1, $2, $3, $4, 'queued', 0, $5, $6, $6, $6) ON CONFLICT (dedupe_key) DO NOTHING";
const READY: &str =
    "(state = 'queued' AND run_after_us <= $3) OR (state = 'running' AND lease_until_us < $3)";
const COMPLETE: &str = "UPDATE jobs SET state = 'done', lease_owner = NULL, lease_until_us = NULL, updated_us = $3 \
     WHERE id = $1 AND lease_owner = $2 AND state = 'running'";
const REQUEUE: &str = "UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_until_us = NULL, last_error = $3, \
     run_after_us = $4, updated_us = $5 WHERE id = $1 AND lease_owner = $2 AND state = 'running'";
const GIVE_UP: &str = "UPDATE jobs SET state = 'failed', lease_owner = NULL, lease_until_us = NULL, last_error = $3, \
     updated_us = $4 WHERE id = $1 AND lease_owner = $2 AND state = 'running'";
const STATUS: &str =
    "SELECT state, attempts, last_error, run_after_us FROM jobs WHERE dedupe_key = $1";

type ClaimRow = (String, String, Vec<u8>, i32, i32);

fn claimed(rows: Vec<ClaimRow>) -> Vec<ClaimedJob> {
    rows.into_iter()
        .map(|(id, kind, payload, attempt, max)| ClaimedJob {
            id,
            kind,
            payload,
            attempt: u32::try_from(attempt).unwrap_or(0),
            max_attempts: u32::try_from(max).unwrap_or(0),
        })
        .collect()
}

fn bounded_error(error: &str) -> String {
    error.chars().take(1000).collect()
}

macro_rules! job_store {
    ($store:ty, $claim:expr, $begin:expr) => {
        #[async_trait]
        impl JobStore for $store {
            async fn jobs_enqueue(&self, jobs: &[NewJob], now_us: i64) -> Result<u64, StoreError> {
                let mut tx = self.pool().begin().await.map_err(db)?;
                let mut added = 0;
                for job in jobs {
                    let done = sqlx::query(ENQUEUE)
                        .bind(uuid::Uuid::now_v7().to_string())
                        .bind(&job.kind)
                        .bind(&job.dedupe_key)
                        .bind(&job.payload)
                        .bind(i32::try_from(job.max_attempts).unwrap_or(i32::MAX))
                        .bind(now_us)
                        .execute(&mut *tx)
                        .await
                        .map_err(db)?;
                    added += done.rows_affected();
                }
                tx.commit().await.map_err(db)?;
                Ok(added)
            }

            async fn jobs_claim(
                &self,
                owner: &str,
                now_us: i64,
                lease_until_us: i64,
                limit: u32,
            ) -> Result<Vec<ClaimedJob>, StoreError> {
                let mut tx = self.pool().begin_with($begin).await.map_err(db)?;
                let rows: Vec<ClaimRow> = sqlx::query_as(sqlx::AssertSqlSafe($claim))
                    .bind(owner)
                    .bind(lease_until_us)
                    .bind(now_us)
                    .bind(i64::from(limit))
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(db)?;
                tx.commit().await.map_err(db)?;
                Ok(claimed(rows))
            }

            async fn jobs_complete(
                &self,
                id: &str,
                owner: &str,
                now_us: i64,
            ) -> Result<bool, StoreError> {
                let done = sqlx::query(COMPLETE)
                    .bind(id)
                    .bind(owner)
                    .bind(now_us)
                    .execute(self.pool())
                    .await
                    .map_err(db)?;
                Ok(done.rows_affected() == 1)
            }

            async fn jobs_fail(
                &self,
                id: &str,
                owner: &str,
                error: &str,
                retry: Retry,
                now_us: i64,
            ) -> Result<bool, StoreError> {
                let done = match retry {
                    Retry::At(at) => {
                        sqlx::query(REQUEUE)
                            .bind(id)
                            .bind(owner)
                            .bind(bounded_error(error))
                            .bind(at)
                            .bind(now_us)
                            .execute(self.pool())
                            .await
                    }
                    Retry::GiveUp => {
                        sqlx::query(GIVE_UP)
                            .bind(id)
                            .bind(owner)
                            .bind(bounded_error(error))
                            .bind(now_us)
                            .execute(self.pool())
                            .await
                    }
                }
                .map_err(db)?;
                Ok(done.rows_affected() == 1)
            }

            async fn jobs_status(&self, dedupe_key: &str) -> Result<Option<JobStatus>, StoreError> {
                let row: Option<(String, i32, Option<String>, i64)> = sqlx::query_as(STATUS)
                    .bind(dedupe_key)
                    .fetch_optional(self.pool())
                    .await
                    .map_err(db)?;
                Ok(
                    row.map(|(state, attempts, last_error, run_after_us)| JobStatus {
                        state,
                        attempts: u32::try_from(attempts).unwrap_or(0),
                        last_error,
                        run_after_us,
                    }),
                )
            }
        }
    };
}

job_store!(
    PostgresStore,
    format!(
        "UPDATE jobs SET state = 'running', lease_owner = $1, lease_until_us = $2, attempts = attempts + 1, \
         updated_us = $3 WHERE id IN (SELECT id FROM jobs WHERE {READY} ORDER BY run_after_us, id LIMIT $4 \
         FOR UPDATE SKIP LOCKED) RETURNING id, kind, payload, attempts, max_attempts"
    ),
    "BEGIN"
);
job_store!(
    SqliteStore,
    format!(
        "UPDATE jobs SET state = 'running', lease_owner = $1, lease_until_us = $2, attempts = attempts + 1, \
         updated_us = $3 WHERE id IN (SELECT id FROM jobs WHERE {READY} ORDER BY run_after_us, id LIMIT $4) \
         RETURNING id, kind, payload, attempts, max_attempts"
    ),
    "BEGIN IMMEDIATE"
);
