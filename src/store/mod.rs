//! Persistence: the `Store` trait the use cases own, with a PostgreSQL and a
//! SQLite implementation chosen from the URL scheme. It maps database errors
//! to `StoreError` in one place and must not know about HTTP.

mod applications;
mod audit;
mod checks;
mod documents;
mod jobs;
mod postgres;
mod review;
mod sqlite;
mod vendor;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};

pub use self::postgres::PostgresStore;
pub use self::sqlite::SqliteStore;
use crate::config::DatabaseKind;

/// What can go wrong in storage, as the use cases need to tell it apart.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The row does not exist.
    #[error("not found")]
    NotFound,
    /// A uniqueness or state constraint refused the change.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database cannot be reached or timed out; retrying may help.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The URL or options are wrong; the message names the problem.
    #[error("database configuration: {0}")]
    Config(String),
    /// Anything else; details go to the log, never to clients.
    #[error("database error: {0}")]
    Other(String),
}

impl StoreError {
    /// Classifies a sqlx error. Constraint names map to conflicts here, once.
    pub(crate) fn from_sqlx(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::RowNotFound => Self::NotFound,
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => Self::Unavailable(error.to_string()),
            // PostgreSQL names the constraint; SQLite only says it in the message
            // ("UNIQUE constraint failed: table.column").
            sqlx::Error::Database(db) if db.is_unique_violation() => Self::Conflict(
                db.constraint()
                    .map(str::to_owned)
                    .unwrap_or_else(|| db.message().to_owned()),
            ),
            _ => Self::Other(error.to_string()),
        }
    }
}

/// Connection options shared by both backends.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Pool upper bound.
    pub max_connections: u32,
    /// How long to wait for a pooled connection.
    pub acquire_timeout: Duration,
}

/// The storage the use cases depend on. Each method that changes state is one
/// transaction on the backend.
#[async_trait]
pub trait Store:
    crate::audit::AuditStore
    + crate::onboarding::ApplicationStore
    + crate::jobs::JobStore
    + crate::documents::DocumentStore
    + crate::checks::pipeline::CheckStore
    + crate::checks::vendor::VendorStore
    + crate::review::store::ReviewStore
    + crate::review::handoff::OutboxStore
    + Send
    + Sync
    + 'static
{
    /// Which backend this is.
    fn kind(&self) -> DatabaseKind;
    /// Applies pending migrations for this backend.
    async fn migrate(&self) -> Result<(), StoreError>;
    /// Succeeds when the database answers a trivial query and the schema is
    /// migrated; used by `/readyz`.
    async fn ping(&self) -> Result<(), StoreError>;
    /// Closes the pool, waiting for connections in use.
    async fn close(&self);
}

/// Opens the store named by the URL. Unknown schemes are rejected.
pub async fn connect(
    url: &SecretString,
    options: &ConnectOptions,
) -> Result<Arc<dyn Store>, StoreError> {
    let raw = url.expose_secret();
    let kind = DatabaseKind::from_url(raw).map_err(|e| StoreError::Config(e.to_string()))?;
    Ok(match kind {
        DatabaseKind::Postgres => Arc::new(PostgresStore::connect(raw, options).await?),
        DatabaseKind::Sqlite => Arc::new(SqliteStore::connect(raw, options).await?),
    })
}
