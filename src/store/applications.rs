//! Applications, consents and idempotency keys for both backends, side by
//! side. Each write is one transaction that also enqueues its audit entries
//! (see `store::audit`) and stores its idempotency record.

use async_trait::async_trait;
use sqlx::{QueryBuilder, Row};

use super::audit::QueueAudit;
use super::{PostgresStore, SqliteStore, StoreError};
use crate::crypto::envelope::WrappedKey;
use crate::onboarding::{
    ApplicationFilter, ApplicationRecord, ApplicationStore, AuditRows, ConsentRecord,
    IdempotencyWrite, StateChange, StoredResponse,
};

fn db(e: sqlx::Error) -> StoreError {
    StoreError::from_sqlx(e)
}

const APP_COLUMNS: &str = "id, owner_index, created_by, product, jurisdiction, state, identity_sealed, \
     identity_index, dek_kek_id, dek_wrapped, policy_version, policy_sha256, created_us, updated_us, row_version";
const INSERT_APP: &str = "INSERT INTO applications (id, owner_index, created_by, product, jurisdiction, state, \
     identity_sealed, identity_index, dek_kek_id, dek_wrapped, policy_version, policy_sha256, created_us, updated_us, \
     row_version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)";
const FIND_OPEN: &str = "SELECT id FROM applications WHERE owner_index = $1 AND identity_index = $2 AND product = $3 \
     AND state NOT IN ('approved', 'rejected', 'withdrawn', 'expired') LIMIT 1";
const TRANSITION: &str = "UPDATE applications SET state = $1, updated_us = $2, row_version = row_version + 1 \
     WHERE id = $3 AND row_version = $4 AND state = $5";
const NEXT_ROUND: &str =
    "SELECT CAST(COALESCE(MAX(round), 0) + 1 AS BIGINT) FROM checks WHERE application_id = $1";
const INSERT_CHECK: &str = "INSERT INTO checks (id, application_id, round, kind, provider, state, policy_version, \
     created_us) VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7)";
const CLOSE_CASE_EVENT: &str = "INSERT INTO case_events (id, case_id, round, kind, actor, role, reason_code, \
     note_sealed, created_us) SELECT $1, id, round, 'closed_by_withdrawal', 'applicant', NULL, 'application_withdrawn', \
     NULL, $2 FROM cases WHERE application_id = $3 AND state = 'open'";
const CLOSE_CASE: &str = "UPDATE cases SET state = 'closed', assignee = NULL, lease_until_us = NULL, proposal_by = NULL, \
     proposal_reason = NULL, proposal_inputs = NULL, proposal_us = NULL, updated_us = $1, row_version = row_version + 1 \
     WHERE application_id = $2 AND state = 'open'";
const INSERT_CONSENT: &str = "INSERT INTO consent_records (id, application_id, purpose, granted, text_version, \
     text_sha256, locale, channel, recorded_us, client_sealed, policy_version, policy_sha256) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";
const CONSENTS: &str = "SELECT id, application_id, purpose, granted, text_version, text_sha256, locale, channel, \
     recorded_us, client_sealed, policy_version, policy_sha256 FROM consent_records WHERE application_id = $1 \
     ORDER BY recorded_us, id";
const IDEM_GET: &str = "SELECT request_sha256, status, response FROM idempotency_keys WHERE scope = $1 AND idem_key = $2";
const IDEM_PUT: &str = "INSERT INTO idempotency_keys (scope, idem_key, request_sha256, status, response, created_us) \
     VALUES ($1, $2, $3, $4, $5, $6)";
const IDEM_PURGE: &str = "DELETE FROM idempotency_keys WHERE created_us < $1";

fn app_from(row: &impl RowLike) -> Result<ApplicationRecord, StoreError> {
    let state: String = row.text(5)?;
    Ok(ApplicationRecord {
        id: row.text(0)?,
        owner_index: row.text(1)?,
        created_by: row.text(2)?,
        product: row.text(3)?,
        jurisdiction: row.text(4)?,
        state: state.parse().map_err(StoreError::Other)?,
        identity_sealed: row.bytes(6)?,
        identity_index: row.text(7)?,
        dek: WrappedKey {
            kek_id: row.text(8)?,
            wrapped: row.bytes(9)?,
        },
        policy_version: row.text(10)?,
        policy_sha256: row.text(11)?,
        created_us: row.int(12)?,
        updated_us: row.int(13)?,
        row_version: row.int(14)?,
    })
}

fn consent_from(row: &impl RowLike) -> Result<ConsentRecord, StoreError> {
    Ok(ConsentRecord {
        id: row.text(0)?,
        application_id: row.text(1)?,
        purpose: row.text(2)?,
        granted: row.boolean(3)?,
        text_version: row.text(4)?,
        text_sha256: row.text(5)?,
        locale: row.text(6)?,
        channel: row.text(7)?,
        recorded_us: row.int(8)?,
        client_sealed: row.bytes(9)?,
        policy_version: row.text(10)?,
        policy_sha256: row.text(11)?,
    })
}

/// Column access shared by the two row types, so the mapping above is
/// written once.
trait RowLike {
    fn text(&self, i: usize) -> Result<String, StoreError>;
    fn bytes(&self, i: usize) -> Result<Vec<u8>, StoreError>;
    fn int(&self, i: usize) -> Result<i64, StoreError>;
    fn boolean(&self, i: usize) -> Result<bool, StoreError>;
}

macro_rules! row_like {
    ($row:ty) => {
        impl RowLike for $row {
            fn text(&self, i: usize) -> Result<String, StoreError> {
                self.try_get(i).map_err(db)
            }
            fn bytes(&self, i: usize) -> Result<Vec<u8>, StoreError> {
                self.try_get(i).map_err(db)
            }
            fn int(&self, i: usize) -> Result<i64, StoreError> {
                self.try_get(i).map_err(db)
            }
            fn boolean(&self, i: usize) -> Result<bool, StoreError> {
                self.try_get(i).map_err(db)
            }
        }
    };
}
row_like!(sqlx::postgres::PgRow);
row_like!(sqlx::sqlite::SqliteRow);

/// Writes the audit rows and the idempotency record inside `$tx`.
macro_rules! side_effects {
    ($tx:expr, $audit:expr, $idem:expr, $now:expr) => {{
        $tx.queue_audit($audit, $now).await?;
        if let Some(i) = $idem {
            sqlx::query(IDEM_PUT)
                .bind(&i.scope)
                .bind(&i.key)
                .bind(&i.request_sha256)
                .bind(i32::from(i.status))
                .bind(&i.response)
                .bind($now)
                .execute(&mut *$tx)
                .await
                .map_err(db)?;
        }
    }};
}

macro_rules! application_store {
    ($store:ty, $db:ty) => {
        #[async_trait]
        impl ApplicationStore for $store {
            async fn idempotency_get(&self, scope: &str, key: &str) -> Result<Option<StoredResponse>, StoreError> {
                let row: Option<(String, i32, Vec<u8>)> =
                    sqlx::query_as(IDEM_GET).bind(scope).bind(key).fetch_optional(self.pool()).await.map_err(db)?;
                Ok(row.map(|(request_sha256, status, response)| StoredResponse {
                    request_sha256,
                    status: u16::try_from(status).unwrap_or(500),
                    response,
                }))
            }

            async fn application_insert(
                &self,
                app: &ApplicationRecord,
                audit: &AuditRows,
                idem: Option<&IdempotencyWrite>,
            ) -> Result<(), StoreError> {
                let mut tx = self.pool().begin().await.map_err(db)?;
                sqlx::query(INSERT_APP)
                    .bind(&app.id)
                    .bind(&app.owner_index)
                    .bind(&app.created_by)
                    .bind(&app.product)
                    .bind(&app.jurisdiction)
                    .bind(app.state.as_str())
                    .bind(&app.identity_sealed)
                    .bind(&app.identity_index)
                    .bind(&app.dek.kek_id)
                    .bind(&app.dek.wrapped)
                    .bind(&app.policy_version)
                    .bind(&app.policy_sha256)
                    .bind(app.created_us)
                    .bind(app.updated_us)
                    .bind(app.row_version)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                side_effects!(tx, audit, idem, app.created_us);
                tx.commit().await.map_err(db)
            }

            async fn application_get(&self, id: &str) -> Result<Option<ApplicationRecord>, StoreError> {
                let sql = format!("SELECT {APP_COLUMNS} FROM applications WHERE id = $1");
                let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(self.pool()).await.map_err(db)?;
                row.as_ref().map(app_from).transpose()
            }

            async fn application_find_open(
                &self,
                owner_index: &str,
                identity_index: &str,
                product: &str,
            ) -> Result<Option<String>, StoreError> {
                sqlx::query_scalar(FIND_OPEN)
                    .bind(owner_index)
                    .bind(identity_index)
                    .bind(product)
                    .fetch_optional(self.pool())
                    .await
                    .map_err(db)
            }

            async fn application_list(&self, f: &ApplicationFilter) -> Result<Vec<ApplicationRecord>, StoreError> {
                let mut b = QueryBuilder::<$db>::new(format!("SELECT {APP_COLUMNS} FROM applications WHERE 1 = 1"));
                if let Some(state) = f.state {
                    b.push(" AND state = ").push_bind(state.as_str().to_owned());
                }
                if let Some(product) = &f.product {
                    b.push(" AND product = ").push_bind(product.clone());
                }
                if let Some(after) = &f.after_id {
                    b.push(" AND id > ").push_bind(after.clone());
                }
                b.push(" ORDER BY id LIMIT ").push_bind(i64::from(f.limit));
                let rows = b.build().fetch_all(self.pool()).await.map_err(db)?;
                rows.iter().map(app_from).collect()
            }

            async fn application_transition(
                &self,
                change: &StateChange,
                audit: &AuditRows,
                idem: Option<&IdempotencyWrite>,
                outbox: Option<&crate::review::store::OutboxEvent>,
            ) -> Result<(), StoreError> {
                let now_us = change.now_us;
                let mut tx = self.pool().begin().await.map_err(db)?;
                let done = sqlx::query(TRANSITION)
                    .bind(change.to.as_str())
                    .bind(now_us)
                    .bind(&change.id)
                    .bind(change.row_version)
                    .bind(change.from.as_str())
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                if done.rows_affected() != 1 {
                    return Err(StoreError::Conflict("row_version".to_owned()));
                }
                if change.to == crate::domain::application_state::ApplicationState::Withdrawn {
                    // A case in the queue ends with the application: its
                    // history records why, and claim and proposal go.
                    sqlx::query(CLOSE_CASE_EVENT)
                        .bind(uuid::Uuid::now_v7().to_string())
                        .bind(now_us)
                        .bind(&change.id)
                        .execute(&mut *tx)
                        .await
                        .map_err(db)?;
                    sqlx::query(CLOSE_CASE)
                        .bind(now_us)
                        .bind(&change.id)
                        .execute(&mut *tx)
                        .await
                        .map_err(db)?;
                }
                if let Some(o) = outbox {
                    sqlx::query(super::review::INSERT_OUTBOX)
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
                side_effects!(tx, audit, idem, now_us);
                tx.commit().await.map_err(db)
            }

            async fn application_submit(
                &self,
                change: &StateChange,
                checks: &[crate::checks::pipeline::NewCheck],
                jobs: &[crate::jobs::NewJob],
                audit: &AuditRows,
                idem: Option<&IdempotencyWrite>,
            ) -> Result<i64, StoreError> {
                let now_us = change.now_us;
                let mut tx = self.pool().begin().await.map_err(db)?;
                let done = sqlx::query(TRANSITION)
                    .bind(change.to.as_str())
                    .bind(now_us)
                    .bind(&change.id)
                    .bind(change.row_version)
                    .bind(change.from.as_str())
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                if done.rows_affected() != 1 {
                    return Err(StoreError::Conflict("row_version".to_owned()));
                }
                let round: i64 = sqlx::query_scalar(NEXT_ROUND)
                    .bind(&change.id)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db)?;
                for c in checks {
                    sqlx::query(INSERT_CHECK)
                        .bind(&c.id)
                        .bind(&change.id)
                        .bind(round)
                        .bind(c.kind.as_str())
                        .bind(&c.provider)
                        .bind(&c.policy_version)
                        .bind(now_us)
                        .execute(&mut *tx)
                        .await
                        .map_err(db)?;
                }
                for job in jobs {
                    sqlx::query(super::jobs::ENQUEUE)
                        .bind(uuid::Uuid::now_v7().to_string())
                        .bind(&job.kind)
                        .bind(&job.dedupe_key)
                        .bind(&job.payload)
                        .bind(i32::try_from(job.max_attempts).unwrap_or(i32::MAX))
                        .bind(now_us)
                        .execute(&mut *tx)
                        .await
                        .map_err(db)?;
                }
                side_effects!(tx, audit, idem, now_us);
                tx.commit().await.map_err(db)?;
                Ok(round)
            }

            async fn application_stale_drafts(&self, cutoff_us: i64, limit: u32) -> Result<Vec<ApplicationRecord>, StoreError> {
                let sql = format!(
                    "SELECT {APP_COLUMNS} FROM applications WHERE state = 'draft' AND updated_us < $1 ORDER BY id LIMIT $2"
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(cutoff_us)
                    .bind(i64::from(limit))
                    .fetch_all(self.pool())
                    .await
                    .map_err(db)?;
                rows.iter().map(app_from).collect()
            }

            async fn consent_insert(
                &self,
                records: &[ConsentRecord],
                audit: &AuditRows,
                idem: Option<&IdempotencyWrite>,
            ) -> Result<(), StoreError> {
                self.insert_consents(records, audit, idem).await
            }

            async fn consent_list(&self, application_id: &str) -> Result<Vec<ConsentRecord>, StoreError> {
                let rows = sqlx::query(CONSENTS).bind(application_id).fetch_all(self.pool()).await.map_err(db)?;
                rows.iter().map(consent_from).collect()
            }

            async fn idempotency_purge(&self, cutoff_us: i64) -> Result<u64, StoreError> {
                let done = sqlx::query(IDEM_PURGE).bind(cutoff_us).execute(self.pool()).await.map_err(db)?;
                Ok(done.rows_affected())
            }
        }
    };
}

// The SQL above is portable between the two (`$n` placeholders work in
// SQLite too); only the pool and row types differ.
application_store!(PostgresStore, sqlx::Postgres);
application_store!(SqliteStore, sqlx::Sqlite);

/// PostgreSQL: the consent records, their audit entries and the idempotency
/// record in one statement (data-modifying `WITH` clauses over `UNNEST`ed
/// arrays). A single statement is atomic on its own and costs one round trip
/// to the server instead of one per row plus `BEGIN` and `COMMIT`; consent
/// capture is on every applicant's path.
const INSERT_CONSENTS_PG: &str = "WITH consents AS (INSERT INTO consent_records (id, application_id, purpose, \
     granted, text_version, text_sha256, locale, channel, recorded_us, client_sealed, policy_version, policy_sha256) \
     SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::boolean[], $5::text[], $6::text[], $7::text[], \
     $8::text[], $9::bigint[], $10::bytea[], $11::text[], $12::text[])), \
     queued AS (INSERT INTO audit_queue (event_id, entry, enqueued_us) \
     SELECT id, entry, $13 FROM UNNEST($14::text[], $15::bytea[]) AS t (id, entry)) \
     INSERT INTO idempotency_keys (scope, idem_key, request_sha256, status, response, created_us) \
     SELECT $16, $17, $18, $19, $20, $13 WHERE $16::text IS NOT NULL";

impl PostgresStore {
    async fn insert_consents(
        &self,
        records: &[ConsentRecord],
        audit: &AuditRows,
        idem: Option<&IdempotencyWrite>,
    ) -> Result<(), StoreError> {
        let now = records.last().map_or(0, |r| r.recorded_us);
        let col = |f: fn(&ConsentRecord) -> &str| records.iter().map(f).collect::<Vec<&str>>();
        sqlx::query(INSERT_CONSENTS_PG)
            .bind(col(|r| &r.id))
            .bind(col(|r| &r.application_id))
            .bind(col(|r| &r.purpose))
            .bind(records.iter().map(|r| r.granted).collect::<Vec<bool>>())
            .bind(col(|r| &r.text_version))
            .bind(col(|r| &r.text_sha256))
            .bind(col(|r| &r.locale))
            .bind(col(|r| &r.channel))
            .bind(records.iter().map(|r| r.recorded_us).collect::<Vec<i64>>())
            .bind(
                records
                    .iter()
                    .map(|r| r.client_sealed.as_slice())
                    .collect::<Vec<&[u8]>>(),
            )
            .bind(col(|r| &r.policy_version))
            .bind(col(|r| &r.policy_sha256))
            .bind(now)
            .bind(
                audit
                    .iter()
                    .map(|(id, _)| id.as_str())
                    .collect::<Vec<&str>>(),
            )
            .bind(
                audit
                    .iter()
                    .map(|(_, b)| b.as_slice())
                    .collect::<Vec<&[u8]>>(),
            )
            .bind(idem.map(|i| i.scope.as_str()))
            .bind(idem.map(|i| i.key.as_str()))
            .bind(idem.map(|i| i.request_sha256.as_str()))
            .bind(idem.map(|i| i32::from(i.status)))
            .bind(idem.map(|i| i.response.as_slice()))
            .execute(self.pool())
            .await
            .map_err(db)?;
        Ok(())
    }
}

impl SqliteStore {
    async fn insert_consents(
        &self,
        records: &[ConsentRecord],
        audit: &AuditRows,
        idem: Option<&IdempotencyWrite>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await.map_err(db)?;
        let mut now = 0;
        for r in records {
            now = r.recorded_us;
            sqlx::query(INSERT_CONSENT)
                .bind(&r.id)
                .bind(&r.application_id)
                .bind(&r.purpose)
                .bind(r.granted)
                .bind(&r.text_version)
                .bind(&r.text_sha256)
                .bind(&r.locale)
                .bind(&r.channel)
                .bind(r.recorded_us)
                .bind(&r.client_sealed)
                .bind(&r.policy_version)
                .bind(&r.policy_sha256)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        side_effects!(tx, audit, idem, now);
        tx.commit().await.map_err(db)
    }
}
