//! The statements the sidecar runs on pooled connections (the pool is in [`pool`]): one
//! `graphql.resolve` per GraphQL request and one `graphql.metadata` per metadata request, both
//! prepared once per connection. The JSON text they return is sent to the client as is, never
//! re-parsed. Failures become [`DbError`]s, Hasura-shaped.

pub mod pool;
pub mod tls;

use std::time::Duration;

use deadpool_postgres::{Pool, PoolError, TimeoutType, Timeouts};
use serde_json::{json, Value};

const RESOLVE_SQL: &str = "SELECT graphql.resolve($1, $2::text::json, $3::text::json, $4)::text";
const METADATA_SQL: &str = "SELECT graphql.metadata($1::text::json)::text";
pub const DML_SQL: &str = "SELECT graphql.dml($1::text::json, $2::text::json)::text";

/// A failed database call, in Hasura's terms: the error code and message a client sees, and
/// what happened underneath (Hasura's `internal`, shown to admins).
#[derive(Debug, Clone, PartialEq)]
pub struct DbError {
    pub code: &'static str,
    pub message: String,
    pub internal: Option<String>,
}

impl DbError {
    /// No usable connection. Hasura's `FromPGConnErr`: 500 `postgres-error` "connection error",
    /// the reason in `internal`.
    pub fn connection(reason: impl Into<String>) -> DbError {
        DbError { code: "postgres-error", message: "connection error".into(), internal: Some(reason.into()) }
    }

    /// `{"errors": [...]}` for `/v1/graphql`; `internal` only for admins.
    pub fn graphql_body(&self, admin: bool) -> String {
        let mut ext = json!({"path": "$", "code": self.code});
        if let (true, Some(i)) = (admin, &self.internal) {
            ext["internal"] = Value::String(i.clone());
        }
        json!({"errors": [{"message": self.message, "extensions": ext}]}).to_string()
    }
}

impl From<tokio_postgres::Error> for DbError {
    fn from(e: tokio_postgres::Error) -> Self {
        let Some(db) = e.as_db_error() else {
            // No server error: the connection could not be opened or broke. The causes say
            // why ("error performing TLS handshake: invalid peer certificate: UnknownIssuer").
            let mut reason = e.to_string();
            let mut cause = std::error::Error::source(&e);
            while let Some(c) = cause {
                reason = format!("{reason}: {c}");
                cause = c.source();
            }
            return DbError::connection(reason);
        };
        let code = db.code().code();
        if code == "53300" {
            // too_many_connections: Hasura's "too many clients" case.
            return DbError {
                code: "postgres-max-connections-error",
                message: "max connections reached on postgres".into(),
                internal: Some(db.message().to_string()),
            };
        }
        // Connection exceptions, and a server shutting down or starting up.
        if code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03") {
            return DbError::connection(db.message());
        }
        DbError { code: "postgres-error", message: db.message().to_string(), internal: None }
    }
}

impl From<PoolError> for DbError {
    fn from(e: PoolError) -> Self {
        match e {
            PoolError::Timeout(TimeoutType::Wait) => {
                DbError::connection("timed out waiting for a free connection in the pool (HASURA_GRAPHQL_PG_POOL_TIMEOUT)")
            }
            PoolError::Timeout(TimeoutType::Create) => {
                DbError::connection("timed out opening a connection to the database (GRAFT_PG_CONNECT_TIMEOUT)")
            }
            PoolError::Timeout(TimeoutType::Recycle) => {
                DbError::connection("timed out checking a pooled connection (GRAFT_PG_RECYCLE_TIMEOUT)")
            }
            PoolError::Backend(e) => DbError::from(e),
            other => DbError::connection(other.to_string()),
        }
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

/// One legacy data API request (`graphql.dml`) as `session`'s role.
pub async fn dml(pool: &Pool, body: &str, session: &str) -> Result<String, DbError> {
    let client = pool.get().await?;
    let stmt = client.prepare_cached(DML_SQL).await?;
    let row = client.query_one(&stmt, &[&body, &session]).await?;
    Ok(row.get::<_, Option<String>>(0).unwrap_or_else(|| "null".into()))
}

/// Several metadata requests in order in one transaction, on one connection. The first answer
/// `failed` calls an error ends the run and rolls back what the earlier ones did; the answers
/// so far (that one last) are returned either way.
pub async fn metadata_in_one_transaction(pool: &Pool, bodies: &[String], failed: impl Fn(&str) -> bool) -> Result<Vec<String>, DbError> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let stmt = tx.prepare_cached(METADATA_SQL).await?;
    let mut answers = Vec::with_capacity(bodies.len());
    for body in bodies {
        let row = tx.query_one(&stmt, &[body]).await?;
        let answer = row.get::<_, Option<String>>(0).unwrap_or_else(|| "null".into());
        let stop = failed(&answer);
        answers.push(answer);
        if stop {
            // Dropping the transaction rolls it back.
            return Ok(answers);
        }
    }
    tx.commit().await?;
    Ok(answers)
}

/// What `/healthz` reports: whether the database answers within `limit` (waiting for a pooled
/// connection included: a health check must not queue behind busy requests for as long as they
/// may take), and whether the metadata is consistent.
pub async fn health(pool: &Pool, limit: Duration) -> Result<bool, DbError> {
    const INCONSISTENT: &str = r#"{"type": "get_inconsistent_metadata", "args": {}}"#;
    let configured = pool.timeouts();
    let bounded = |t: Option<Duration>| Some(t.map_or(limit, |t| t.min(limit)));
    let timeouts = Timeouts { wait: bounded(configured.wait), create: bounded(configured.create), recycle: bounded(configured.recycle) };
    let check = async {
        let client = pool.timeout_get(&timeouts).await?;
        let stmt = client.prepare_cached(METADATA_SQL).await?;
        let row = match client.query_one(&stmt, &[&INCONSISTENT]).await {
            Ok(row) => row,
            // A sidecar role allowed graphql.resolve but not graphql.metadata (the metadata
            // API disabled): the database answered, consistency is unknown.
            Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE) => return Ok(true),
            Err(e) => return Err(e.into()),
        };
        let answer: Value = row.get::<_, Option<String>>(0).and_then(|t| serde_json::from_str(&t).ok()).unwrap_or(Value::Null);
        // An answer without the flag (an error object) says nothing about consistency.
        Ok(answer.get("is_consistent").and_then(Value::as_bool).unwrap_or(true))
    };
    tokio::time::timeout(limit, check).await.unwrap_or_else(|_| Err(DbError::connection("the database did not answer in time")))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_errors_are_connection_errors() {
        let e = DbError::from(PoolError::Timeout(TimeoutType::Wait));
        assert_eq!((e.code, e.message.as_str()), ("postgres-error", "connection error"));
        assert!(e.internal.as_deref().unwrap().contains("HASURA_GRAPHQL_PG_POOL_TIMEOUT"));
        let e = DbError::from(PoolError::Timeout(TimeoutType::Create));
        assert!(e.internal.as_deref().unwrap().contains("GRAFT_PG_CONNECT_TIMEOUT"));
    }

    #[test]
    fn graphql_shape() {
        let e = DbError::connection("refused");
        let admin: Value = serde_json::from_str(&e.graphql_body(true)).unwrap();
        assert_eq!(
            admin,
            json!({"errors": [{"message": "connection error", "extensions": {"path": "$", "code": "postgres-error", "internal": "refused"}}]})
        );
        let user: Value = serde_json::from_str(&e.graphql_body(false)).unwrap();
        assert!(user["errors"][0]["extensions"].get("internal").is_none());
    }
}
