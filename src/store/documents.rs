//! Document rows for both backends, side by side. An insert is one
//! transaction with the application's state guard, the replacement of the
//! previous document of the same kind and side, the audit entries and the
//! idempotency record.

use std::collections::HashSet;

use async_trait::async_trait;
use sqlx::{QueryBuilder, Row};

use super::audit::QueueAudit;
use super::{PostgresStore, SqliteStore, StoreError};
use crate::crypto::envelope::WrappedKey;
use crate::documents::content::ContentType;
use crate::documents::{DocumentInsert, DocumentRecord, DocumentStore};
use crate::domain::document::{DocumentKind, DocumentSide};

fn db(e: sqlx::Error) -> StoreError {
    StoreError::from_sqlx(e)
}

const COLUMNS: &str = "id, application_id, kind, side, content_type, size_bytes, sha256, width, height, pages, \
     original_name_sealed, blob_path, blob_bytes, dek_kek_id, dek_wrapped, uploaded_by, created_us, superseded_by, \
     superseded_us, mrz_sealed";
const INSERT: &str = "INSERT INTO documents (id, application_id, kind, side, content_type, size_bytes, sha256, width, \
     height, pages, original_name_sealed, blob_path, blob_bytes, dek_kek_id, dek_wrapped, uploaded_by, created_us, \
     mrz_sealed) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)";
/// The application must still take documents; its row version moves so a
/// submission that read the old version fails instead of missing the upload.
const TOUCH_APPLICATION: &str = "UPDATE applications SET updated_us = $1, row_version = row_version + 1 \
     WHERE id = $2 AND state IN ('draft', 'info_requested')";
const SUPERSEDE: &str = "UPDATE documents SET superseded_by = $1, superseded_us = $2 \
     WHERE id = $3 AND superseded_by IS NULL";
const USAGE: &str = "SELECT COUNT(*), CAST(COALESCE(SUM(size_bytes), 0) AS BIGINT) FROM documents WHERE application_id = $1";
const IDEM_PUT: &str = "INSERT INTO idempotency_keys (scope, idem_key, request_sha256, status, response, created_us) \
     VALUES ($1, $2, $3, $4, $5, $6)";

fn content_type(mime: &str) -> Result<ContentType, StoreError> {
    [
        ContentType::Jpeg,
        ContentType::Png,
        ContentType::Pdf,
        ContentType::Heif,
    ]
    .into_iter()
    .find(|c| c.mime() == mime)
    .ok_or_else(|| StoreError::Other(format!("unknown stored content type {mime}")))
}

macro_rules! document_from {
    ($row:expr) => {{
        let row = $row;
        let kind: String = row.try_get(2).map_err(db)?;
        let side: Option<String> = row.try_get(3).map_err(db)?;
        let mime: String = row.try_get(4).map_err(db)?;
        let small = |i: usize| -> Result<Option<i64>, StoreError> { row.try_get(i).map_err(db) };
        DocumentRecord {
            id: row.try_get(0).map_err(db)?,
            application_id: row.try_get(1).map_err(db)?,
            kind: DocumentKind::parse(&kind).map_err(|e| StoreError::Other(e.to_string()))?,
            side: side
                .as_deref()
                .map(DocumentSide::parse)
                .transpose()
                .map_err(|e| StoreError::Other(e.to_string()))?,
            content_type: content_type(&mime)?,
            size_bytes: row.try_get(5).map_err(db)?,
            sha256: row.try_get(6).map_err(db)?,
            width: small(7)?,
            height: small(8)?,
            pages: small(9)?,
            original_name_sealed: row.try_get(10).map_err(db)?,
            blob_path: row.try_get(11).map_err(db)?,
            blob_bytes: row.try_get(12).map_err(db)?,
            dek: WrappedKey {
                kek_id: row.try_get(13).map_err(db)?,
                wrapped: row.try_get(14).map_err(db)?,
            },
            uploaded_by: row.try_get(15).map_err(db)?,
            created_us: row.try_get(16).map_err(db)?,
            superseded_by: row.try_get(17).map_err(db)?,
            superseded_us: row.try_get(18).map_err(db)?,
            mrz_sealed: row.try_get(19).map_err(db)?,
        }
    }};
}

macro_rules! document_store {
    ($store:ty, $db:ty) => {
        #[async_trait]
        impl DocumentStore for $store {
            async fn document_insert(&self, insert: &DocumentInsert<'_>) -> Result<(), StoreError> {
                let d = insert.document;
                let now = d.created_us;
                let mut tx = self.pool().begin().await.map_err(db)?;
                let touched = sqlx::query(TOUCH_APPLICATION)
                    .bind(now)
                    .bind(&d.application_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                if touched.rows_affected() != 1 {
                    return Err(StoreError::Conflict("application_state".to_owned()));
                }
                if let Some(old) = insert.supersedes {
                    let done = sqlx::query(SUPERSEDE)
                        .bind(&d.id)
                        .bind(now)
                        .bind(old)
                        .execute(&mut *tx)
                        .await
                        .map_err(db)?;
                    if done.rows_affected() != 1 {
                        return Err(StoreError::Conflict("documents_superseded".to_owned()));
                    }
                }
                sqlx::query(INSERT)
                    .bind(&d.id)
                    .bind(&d.application_id)
                    .bind(d.kind.as_str())
                    .bind(d.side.map(DocumentSide::as_str))
                    .bind(d.content_type.mime())
                    .bind(d.size_bytes)
                    .bind(&d.sha256)
                    .bind(d.width)
                    .bind(d.height)
                    .bind(d.pages)
                    .bind(&d.original_name_sealed)
                    .bind(&d.blob_path)
                    .bind(d.blob_bytes)
                    .bind(&d.dek.kek_id)
                    .bind(&d.dek.wrapped)
                    .bind(&d.uploaded_by)
                    .bind(now)
                    .bind(&d.mrz_sealed)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                // The application row is locked by the update above, so
                // uploads to one application count one after another here.
                let (count, used): (i64, i64) = sqlx::query_as(USAGE)
                    .bind(&d.application_id)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db)?;
                let (max_count, max_bytes) = insert.limits;
                if count > i64::from(max_count)
                    || used > i64::try_from(max_bytes).unwrap_or(i64::MAX)
                {
                    return Err(StoreError::Conflict("document_limit".to_owned()));
                }
                tx.queue_audit(&insert.audit, now).await?;
                if let Some(i) = insert.idem {
                    sqlx::query(IDEM_PUT)
                        .bind(&i.scope)
                        .bind(&i.key)
                        .bind(&i.request_sha256)
                        .bind(i32::from(i.status))
                        .bind(&i.response)
                        .bind(now)
                        .execute(&mut *tx)
                        .await
                        .map_err(db)?;
                }
                tx.commit().await.map_err(db)
            }

            async fn document_list(
                &self,
                application_id: &str,
            ) -> Result<Vec<DocumentRecord>, StoreError> {
                let sql = format!(
                    "SELECT {COLUMNS} FROM documents WHERE application_id = $1 ORDER BY id"
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(application_id)
                    .fetch_all(self.pool())
                    .await
                    .map_err(db)?;
                rows.iter().map(|row| Ok(document_from!(row))).collect()
            }

            async fn document_usage(&self, application_id: &str) -> Result<(u32, u64), StoreError> {
                let (count, bytes): (i64, i64) = sqlx::query_as(USAGE)
                    .bind(application_id)
                    .fetch_one(self.pool())
                    .await
                    .map_err(db)?;
                Ok((
                    u32::try_from(count).unwrap_or(u32::MAX),
                    u64::try_from(bytes).unwrap_or(0),
                ))
            }

            async fn document_known(&self, ids: &[String]) -> Result<HashSet<String>, StoreError> {
                if ids.is_empty() {
                    return Ok(HashSet::new());
                }
                let mut b = QueryBuilder::<$db>::new("SELECT id FROM documents WHERE id IN (");
                let mut list = b.separated(", ");
                for id in ids {
                    list.push_bind(id.clone());
                }
                b.push(")");
                let rows = b.build().fetch_all(self.pool()).await.map_err(db)?;
                rows.iter()
                    .map(|r| r.try_get::<String, _>(0).map_err(db))
                    .collect()
            }
        }
    };
}

// The SQL above is portable between the two (`$n` placeholders work in
// SQLite too); only the pool and row types differ.
document_store!(PostgresStore, sqlx::Postgres);
document_store!(SqliteStore, sqlx::Sqlite);
