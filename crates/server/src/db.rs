//! The connection pool and the two statements the sidecar runs: one `graphql.resolve` per
//! GraphQL request and one `graphql.metadata` per metadata request, both prepared once per
//! connection. The JSON text they return is sent to the client as is, never re-parsed.

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::NoTls;

const RESOLVE_SQL: &str = "SELECT graphql.resolve($1, $2::text::json, $3::text::json, $4)::text";
const METADATA_SQL: &str = "SELECT graphql.metadata($1::text::json)::text";

/// The pool. Per-connection settings travel in the startup packet's `options`:
/// `statement_timeout`, and `graft.stringify_numeric_types` (a placeholder setting until the
/// extension's library loads, which then adopts it).
pub fn pool(url: &str, size: usize, statement_timeout_ms: u64, stringify_numeric: bool) -> Result<Pool, String> {
    let mut cfg: tokio_postgres::Config = url.parse().map_err(|e| format!("invalid database URL: {e}"))?;
    let mut options: Vec<String> = cfg.get_options().map(|o| vec![o.to_string()]).unwrap_or_default();
    if statement_timeout_ms > 0 {
        options.push(format!("-c statement_timeout={statement_timeout_ms}"));
    }
    if stringify_numeric {
        options.push("-c graft.stringify_numeric_types=on".into());
    }
    if !options.is_empty() {
        cfg.options(options.join(" "));
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

/// The outcome of one `run_sql`: Hasura's `CommandOk` / `TuplesOk` (the last statement's).
pub fn sql_result(messages: &[tokio_postgres::SimpleQueryMessage]) -> serde_json::Value {
    use serde_json::{json, Value};
    use tokio_postgres::SimpleQueryMessage as M;
    // Only the last statement counts (as with libpq's PQexec): find where it starts.
    let start = messages[..messages.len().saturating_sub(1)]
        .iter()
        .rposition(|m| matches!(m, M::CommandComplete(_)))
        .map_or(0, |i| i + 1);
    let mut rows: Vec<Value> = Vec::new();
    let mut tuples = false;
    for m in &messages[start..] {
        match m {
            M::RowDescription(cols) => {
                tuples = true;
                rows.push(Value::Array(cols.iter().map(|c| Value::String(c.name().to_string())).collect()));
            }
            M::Row(r) => {
                if !tuples {
                    tuples = true;
                    rows.push(Value::Array(r.columns().iter().map(|c| Value::String(c.name().to_string())).collect()));
                }
                rows.push(Value::Array((0..r.len()).map(|i| r.get(i).map_or(Value::Null, |v| Value::String(v.to_string()))).collect()));
            }
            _ => {}
        }
    }
    if tuples {
        json!({"result_type": "TuplesOk", "result": rows})
    } else {
        json!({"result_type": "CommandOk", "result": null})
    }
}
