//! PostgreSQL implementation of the `Store`: the production store.

use std::str::FromStr;

use async_trait::async_trait;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use super::{ConnectOptions, Store, StoreError};
use crate::config::DatabaseKind;

/// The schema, embedded at compile time.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// A pooled connection idle for this long is checked before it is handed out.
const IDLE_BEFORE_CHECK: std::time::Duration = std::time::Duration::from_secs(1);

/// A pool of PostgreSQL connections.
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Opens a lazily connecting pool, so the gateway starts (unready) while
    /// the database is still coming up.
    pub async fn connect(url: &str, options: &ConnectOptions) -> Result<Self, StoreError> {
        let connect = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Config(format!("database_url: {e}")))?
            .application_name("kyc-gateway");
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(options.acquire_timeout)
            // A connection that went away (database restart) is replaced rather
            // than handed out broken. Only one that sat idle is checked: a
            // check is a round trip to the server, and paying it on every
            // acquire doubled the round trips of a busy gateway. A connection
            // in steady use fails at its next statement if the server went
            // away; sqlx then closes it instead of returning it to the pool.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= IDLE_BEFORE_CHECK {
                        sqlx::Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            })
            .connect_lazy_with(connect);
        Ok(Self { pool })
    }

    /// The underlying pool, for use cases implemented in this module's siblings.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

#[async_trait]
impl Store for PostgresStore {
    fn kind(&self) -> DatabaseKind {
        DatabaseKind::Postgres
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::Other(format!("migration failed: {e}")))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(StoreError::from_sqlx)
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}
