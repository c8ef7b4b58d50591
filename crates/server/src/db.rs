//! The connection pool and the two statements the sidecar runs: one `graphql.resolve` per
//! GraphQL request and one `graphql.metadata` per metadata request, both prepared once per
//! connection. The JSON text they return is sent to the client as is, never re-parsed.

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::NoTls;

const RESOLVE_SQL: &str = "SELECT graphql.resolve($1, $2::text::json, $3::text::json, $4)::text";
const METADATA_SQL: &str = "SELECT graphql.metadata($1::text::json)::text";

pub fn pool(url: &str, size: usize, statement_timeout_ms: u64) -> Result<Pool, String> {
    let mut cfg: tokio_postgres::Config = url.parse().map_err(|e| format!("invalid database URL: {e}"))?;
    if statement_timeout_ms > 0 {
        cfg.options(format!("-c statement_timeout={statement_timeout_ms}"));
    }
    cfg.application_name("graft");
    // Fast recycling: a broken connection is replaced on its next use, so the sidecar
    // recovers by itself when the database comes back.
    let mgr = Manager::from_config(cfg, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
    Pool::builder(mgr).max_size(size).build().map_err(|e| e.to_string())
}

#[derive(Debug)]
pub struct DbError(pub String);

impl From<tokio_postgres::Error> for DbError {
    fn from(e: tokio_postgres::Error) -> Self {
        DbError(match e.as_db_error() {
            Some(db) => db.message().to_string(),
            None => e.to_string(),
        })
    }
}

impl From<deadpool_postgres::PoolError> for DbError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        DbError(format!("cannot connect to the database: {e}"))
    }
}

pub async fn resolve(
    pool: &Pool,
    query: &str,
    variables: Option<String>,
    session: String,
    operation_name: Option<String>,
) -> Result<String, DbError> {
    let client = pool.get().await?;
    let stmt = client.prepare_cached(RESOLVE_SQL).await?;
    let row = client.query_one(&stmt, &[&query, &variables, &Some(session), &operation_name]).await?;
    Ok(row.get::<_, Option<String>>(0).unwrap_or_else(|| "null".into()))
}

pub async fn metadata(pool: &Pool, body: &str) -> Result<String, DbError> {
    let client = pool.get().await?;
    let stmt = client.prepare_cached(METADATA_SQL).await?;
    let row = client.query_one(&stmt, &[&body]).await?;
    Ok(row.get::<_, Option<String>>(0).unwrap_or_else(|| "null".into()))
}

pub async fn healthy(pool: &Pool) -> bool {
    match pool.get().await {
        Ok(c) => c.simple_query("SELECT 1").await.is_ok(),
        Err(_) => false,
    }
}
