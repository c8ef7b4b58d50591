//! The extension's subscription functions, as the sidecar calls them: one statement per chunk
//! of cohorts (`graphql.subscription_poll`), a group's read set (`graphql.subscription_reads`)
//! and the change counters of tables (`graphql.table_versions`). An older extension may lack
//! any of them: [`SqlError::Missing`] then tells the caller to fall back.

use deadpool_postgres::Pool;
use serde_json::Value;
use tokio_postgres::error::SqlState;

use super::group::{CohortKey, Reads};
use crate::db::{self, DbError};

const POLL_SQL: &str = "SELECT cohort_id, result::text, cursor::text FROM graphql.subscription_poll($1, $2::text::json, $3, $4)";
const READS_SQL: &str = "SELECT graphql.subscription_reads($1, $2::text::json, $3::text::json, $4)::text";
const VERSIONS_SQL: &str = "SELECT graphql.table_versions($1::oid[])";
const METADATA_OID_SQL: &str = "SELECT to_regclass('graphql.metadata_store')::oid";

#[derive(Debug)]
pub enum SqlError {
    /// The installed extension has no such function.
    Missing,
    Db(DbError),
}

impl From<tokio_postgres::Error> for SqlError {
    fn from(e: tokio_postgres::Error) -> Self {
        if e.code() == Some(&SqlState::UNDEFINED_FUNCTION) {
            SqlError::Missing
        } else {
            SqlError::Db(DbError::from(e))
        }
    }
}

impl From<deadpool_postgres::PoolError> for SqlError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        SqlError::Db(DbError::from(e))
    }
}

/// The `cohorts` argument: `[{"id", "variables", "session", "cursor"}]`, built from JSON
/// texts that are already valid JSON (serde wrote them), never re-parsed.
pub fn cohorts_json(cohorts: &[(u64, &CohortKey)]) -> String {
    let mut out = String::from("[");
    for (i, (id, k)) in cohorts.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let vars = k.variables.as_deref().unwrap_or("null");
        let cursor = k.cursor.as_deref().unwrap_or("null");
        out.push_str(&format!(r#"{{"id":{id},"variables":{vars},"session":{},"cursor":{cursor}}}"#, k.session));
    }
    out.push(']');
    out
}

/// One row per cohort: `(cohort id, result, next cursor)`.
pub async fn poll(pool: &Pool, query: &str, operation_name: Option<&str>, cohorts: &[(u64, &CohortKey)]) -> Result<Vec<(u64, String, Option<String>)>, SqlError> {
    let client = pool.get().await?;
    let stmt = client.prepare_cached(POLL_SQL).await?;
    let size = cohorts.len() as i32;
    let rows = client.query(&stmt, &[&query, &cohorts_json(cohorts), &operation_name, &size]).await?;
    Ok(rows
        .iter()
        .map(|r| {
            let id: i64 = r.get(0);
            let result: Option<String> = r.get(1);
            (id as u64, result.unwrap_or_else(|| "null".into()), r.get::<_, Option<String>>(2))
        })
        .collect())
}

/// The fallback for an extension without `subscription_poll`: the cohort's own
/// `graphql.resolve` (live queries only; a stream needs its cursor).
pub async fn resolve(pool: &Pool, query: &str, operation_name: Option<&str>, key: &CohortKey) -> Result<String, DbError> {
    db::resolve(pool, query, key.variables.as_deref().map(str::to_string), key.session.to_string(), operation_name.map(str::to_string)).await
}

/// The tables a group reads. Request errors, and anything the answer does not say plainly,
/// make its reads unknown (it then runs on its interval).
pub async fn reads(pool: &Pool, query: &str, operation_name: Option<&str>, key: &CohortKey) -> Result<Reads, SqlError> {
    let client = pool.get().await?;
    let stmt = client.prepare_cached(READS_SQL).await?;
    let vars = key.variables.as_deref();
    let row = client.query_one(&stmt, &[&query, &vars, &key.session.as_ref(), &operation_name]).await?;
    let text: Option<String> = row.get(0);
    Ok(parse_reads(text.as_deref().unwrap_or("null")))
}

pub fn parse_reads(text: &str) -> Reads {
    let Ok(v) = serde_json::from_str::<Value>(text) else { return Reads::Unknown };
    if v.get("unknown").and_then(Value::as_bool) != Some(false) {
        return Reads::Unknown;
    }
    let Some(tables) = v.get("tables").and_then(Value::as_array) else { return Reads::Unknown };
    let oids: Option<Vec<u32>> = tables.iter().map(|t| t.as_u64().and_then(|o| u32::try_from(o).ok())).collect();
    match oids {
        Some(mut o) => {
            o.sort_unstable();
            o.dedup();
            Reads::Known(o)
        }
        None => Reads::Unknown,
    }
}

/// The change counters of `tables`, one per oid; `None` when change tracking is unavailable.
pub async fn versions(pool: &Pool, tables: &[u32]) -> Result<Option<Vec<Option<i64>>>, SqlError> {
    let client = pool.get().await?;
    let stmt = client.prepare_cached(VERSIONS_SQL).await?;
    let row = client.query_one(&stmt, &[&tables]).await?;
    Ok(row.get::<_, Option<Vec<Option<i64>>>>(0).filter(|v| v.len() == tables.len()))
}

/// The metadata table's oid: its counter tells a metadata change (reads are asked again).
pub async fn metadata_oid(pool: &Pool) -> Result<Option<u32>, SqlError> {
    let client = pool.get().await?;
    let row = client.query_one(METADATA_OID_SQL, &[]).await?;
    Ok(row.get::<_, Option<u32>>(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cohorts_argument() {
        let a = CohortKey { variables: Some(r#"{"x":1}"#.into()), session: r#"{"x-hasura-role":"user"}"#.into(), cursor: None };
        let b = CohortKey { variables: None, session: "{}".into(), cursor: Some(r#"{"id":3}"#.into()) };
        let text = cohorts_json(&[(1, &a), (2, &b)]);
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v, serde_json::json!([
            {"id": 1, "variables": {"x": 1}, "session": {"x-hasura-role": "user"}, "cursor": null},
            {"id": 2, "variables": null, "session": {}, "cursor": {"id": 3}}
        ]));
    }

    #[test]
    fn read_sets() {
        assert_eq!(parse_reads(r#"{"tables":[20,10,20],"unknown":false,"opaque":[]}"#), Reads::Known(vec![10, 20]));
        assert_eq!(parse_reads(r#"{"tables":[10],"unknown":true,"opaque":["f"]}"#), Reads::Unknown);
        assert_eq!(parse_reads(r#"{"errors":[{"message":"m"}]}"#), Reads::Unknown);
        assert_eq!(parse_reads(r#"{"tables":[-1],"unknown":false}"#), Reads::Unknown);
    }
}
