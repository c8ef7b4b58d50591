//! `run_sql` (Hasura's `/v2/query`): requests run in one transaction — each `run_sql` as a
//! simple query, each other request of the same `bulk` through `graphql.metadata` on the same
//! connection — so DDL and the metadata that tracks it commit or roll back together. After SQL
//! that changes the schema, the metadata follows: renamed tables keep theirs, dropped tables are
//! untracked, and what is left inconsistent is a `dependency-error` unless `cascade`.

// Handlers return a ready `Response` as their error: large, but built once per request.
#![allow(clippy::result_large_err)]

use axum::response::Response;
use serde_json::{json, Value};

use super::follow::{follow_schema_changes, snapshot, Snapshot};
use super::query::{admin_response, is_data_request, metadata_error};
use super::{db_error, error, error_with, AppState};
use crate::auth::Session;
use crate::db;

pub fn is_run_sql(req: &Value) -> bool {
    matches!(req.get("type").and_then(|t| t.as_str()), Some("run_sql" | "pg_run_sql"))
}

/// `run_sql` arguments, with Hasura's defaults.
struct RunSql {
    sql: String,
    cascade: bool,
    /// Reload the schema afterwards: Hasura's `check_metadata_consistency`, which defaults to
    /// whether the SQL contains a DDL keyword (and is always off for read-only SQL).
    reload: bool,
    read_only: bool,
    /// Hasura's `no_transaction`: the SQL runs without BEGIN/COMMIT (`CREATE INDEX
    /// CONCURRENTLY`, `DISCARD ALL` …), and so cannot be rolled back.
    no_transaction: bool,
    /// The source named, unless `default` (which always means the database Graft is in).
    source: Option<String>,
}

fn parse_run_sql(req: &Value) -> Result<RunSql, Response> {
    let args = req.get("args").and_then(|a| a.as_object()).ok_or_else(|| error(400, "parse-failed", "run_sql: args must be an object"))?;
    let sql = args.get("sql").and_then(|s| s.as_str()).ok_or_else(|| error(400, "parse-failed", "the key 'sql' was not present"))?;
    let source = args.get("source").and_then(|s| s.as_str()).filter(|s| *s != "default").map(str::to_string);
    let read_only = args.get("read_only").and_then(|v| v.as_bool()).unwrap_or(false);
    let cascade = args.get("cascade").and_then(|v| v.as_bool()).unwrap_or(false);
    let check = args.get("check_metadata_consistency").and_then(|v| v.as_bool());
    let no_transaction = args.get("no_transaction").and_then(|v| v.as_bool()).unwrap_or(false);
    let reload = !read_only && check.unwrap_or_else(|| contains_ddl_keyword(sql));
    Ok(RunSql { sql: sql.to_string(), cascade, reload, read_only, no_transaction, source })
}

/// Hasura's heuristic: `alter`, `drop`, `replace`, `create function` or `comment on` as words.
pub fn contains_ddl_keyword(sql: &str) -> bool {
    let lower = sql.to_ascii_lowercase();
    let words: Vec<&str> = lower.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).filter(|w| !w.is_empty()).collect();
    words.iter().enumerate().any(|(i, w)| match *w {
        "alter" | "drop" | "replace" => true,
        "create" => words.get(i + 1) == Some(&"function"),
        "comment" => words.get(i + 1) == Some(&"on"),
        _ => false,
    })
}

/// The connection of a `run_sql`. Whatever its SQL did to the session — `SET ROLE`, `SET`,
/// temporary tables, prepared statements, `DISCARD ALL` / `DEALLOCATE ALL` (which drop the
/// statements the pool caches), advisory locks, an error half-way — must not reach a later
/// request, so it never goes back to the pool: it is closed when dropped, on every path,
/// errors included. (Resetting it instead would have to know every kind of session state.)
struct Discarded(Option<deadpool_postgres::Object>);

impl Drop for Discarded {
    fn drop(&mut self) {
        if let Some(object) = self.0.take() {
            // Leaves the pool (which opens a fresh connection when needed), then closes.
            drop(deadpool_postgres::Object::take(object));
        }
    }
}

impl std::ops::Deref for Discarded {
    type Target = deadpool_postgres::Object;
    fn deref(&self) -> &Self::Target {
        self.0.as_ref().expect("connection present until dropped")
    }
}

impl std::ops::DerefMut for Discarded {
    fn deref_mut(&mut self) -> &mut Self::Target {
        self.0.as_mut().expect("connection present until dropped")
    }
}

/// Run requests in one transaction; the first failure rolls everything back. Data API items
/// run as `session`'s role; the others are admin-only (the caller checked).
pub async fn run_requests(state: &AppState, reqs: &[Value], session: &Session) -> Result<Vec<Value>, Response> {
    // Held in the pool's count while it runs (HASURA_GRAPHQL_PG_CONNECTIONS still bounds the
    // connections), discarded at the end.
    let mut client = Discarded(Some(state.pool.get().await.map_err(|e| db_error(e.into()))?));
    // A single run_sql may ask for no transaction; inside a bulk it always has one.
    if let [req] = reqs {
        if is_run_sql(req) {
            let r = parse_run_sql(req)?;
            if r.no_transaction {
                return Ok(vec![run_without_transaction(&mut client, &r).await?]);
            }
        }
    }
    let tx = client.transaction().await.map_err(|e| db_error(e.into()))?;
    for req in reqs.iter().filter(|r| is_run_sql(r)) {
        check_source(&tx, &parse_run_sql(req)?).await?;
    }
    let mut results = Vec::with_capacity(reqs.len());
    let mut reload = false;
    let all_read_only = reqs.iter().all(|r| is_run_sql(r) && r["args"]["read_only"].as_bool() == Some(true));
    if all_read_only {
        tx.batch_execute("SET TRANSACTION READ ONLY").await.map_err(|e| db_error(e.into()))?;
    }
    // Before the first schema-changing SQL, the tracked tables and the inconsistent objects,
    // for `follow_schema_changes`.
    let mut before: Option<Snapshot> = None;
    let mut cascade = false;
    for req in reqs {
        if is_run_sql(req) {
            let r = parse_run_sql(req)?;
            if r.reload && before.is_none() {
                before = Some(snapshot(&tx).await?);
            }
            let messages = tx.simple_query(&r.sql).await.map_err(|e| sql_error(&r.sql, e))?;
            results.push(db::sql_result(&messages));
            reload |= r.reload;
            cascade |= r.cascade;
        } else if is_data_request(req) {
            results.push(dml_in_tx(&tx, &req.to_string(), session).await?);
        } else {
            results.push(metadata_in_tx(&tx, &req.to_string()).await?);
        }
    }
    if let Some(before) = before {
        follow_schema_changes(&tx, &before, cascade).await?;
    }
    if reload {
        metadata_in_tx(&tx, r#"{"type": "reload_metadata", "args": {}}"#).await?;
    }
    tx.commit().await.map_err(|e| sql_error("COMMIT", e))?;
    Ok(results)
}

/// `run_sql` with `no_transaction`: each statement commits as it runs; the metadata then
/// follows the schema in a transaction of its own. (The connection is discarded afterwards, so
/// `read_only` can be a session setting.)
async fn run_without_transaction(client: &mut Discarded, r: &RunSql) -> Result<Value, Response> {
    if r.source.is_some() {
        let tx = client.transaction().await.map_err(|e| db_error(e.into()))?;
        check_source(&tx, r).await?;
        tx.commit().await.map_err(|e| sql_error("COMMIT", e))?;
    }
    let before = if r.reload {
        let tx = client.transaction().await.map_err(|e| db_error(e.into()))?;
        let taken = snapshot(&tx).await?;
        tx.commit().await.map_err(|e| sql_error("COMMIT", e))?;
        Some(taken)
    } else {
        None
    };
    if r.read_only {
        client.batch_execute("SET default_transaction_read_only = on").await.map_err(|e| db_error(e.into()))?;
    }
    let messages = client.simple_query(&r.sql).await.map_err(|e| sql_error(&r.sql, e))?;
    if let Some(before) = before {
        let tx = client.transaction().await.map_err(|e| db_error(e.into()))?;
        follow_schema_changes(&tx, &before, r.cascade).await?;
        metadata_in_tx(&tx, r#"{"type": "reload_metadata", "args": {}}"#).await?;
        tx.commit().await.map_err(|e| sql_error("COMMIT", e))?;
    }
    Ok(db::sql_result(&messages))
}

/// A `run_sql` naming a source other than `default` must name Graft's source (which may be
/// called anything: `pg_add_source`, `rename_source`); any other is Hasura's `not-exists`.
async fn check_source(tx: &tokio_postgres::Transaction<'_>, r: &RunSql) -> Result<(), Response> {
    let Some(source) = &r.source else { return Ok(()) };
    let md = metadata_in_tx(tx, r#"{"type": "export_metadata", "args": {}}"#).await?;
    let known = md["sources"].as_array().into_iter().flatten().any(|s| s["name"].as_str() == Some(source));
    if known {
        Ok(())
    } else {
        Err(error(400, "not-exists", &format!("source with name \"{source}\" does not exist")))
    }
}

/// One metadata request on the transaction's connection; its error aborts the transaction.
pub(super) async fn metadata_in_tx(tx: &tokio_postgres::Transaction<'_>, request: &str) -> Result<Value, Response> {
    const SQL: &str = "SELECT graphql.metadata($1::text::json)::text";
    let row = tx.query_one(SQL, &[&request]).await.map_err(|e| sql_error(SQL, e))?;
    let resp: String = row.get::<_, Option<String>>(0).unwrap_or_else(|| "null".into());
    if let Some((status, error)) = metadata_error(&resp) {
        return Err(admin_response(status, resp, Some(error)));
    }
    Ok(serde_json::from_str(&resp).unwrap_or(Value::Null))
}

/// One data API request inside the bulk's transaction.
async fn dml_in_tx(tx: &tokio_postgres::Transaction<'_>, request: &str, session: &Session) -> Result<Value, Response> {
    let session = Value::Object(session.clone()).to_string();
    let row = tx.query_one(db::DML_SQL, &[&request, &session]).await.map_err(|e| sql_error(db::DML_SQL, e))?;
    let resp: String = row.get::<_, Option<String>>(0).unwrap_or_else(|| "null".into());
    if let Some((status, error)) = metadata_error(&resp) {
        return Err(admin_response(status, resp, Some(error)));
    }
    Ok(serde_json::from_str(&resp).unwrap_or(Value::Null))
}

/// Hasura's run_sql failure: 400 `postgres-error` "query execution failed", the database's
/// error in `internal`.
pub(super) fn sql_error(statement: &str, e: tokio_postgres::Error) -> Response {
    match e.as_db_error() {
        Some(db) => error_with(
            400,
            "postgres-error",
            "query execution failed",
            Some(json!({
                "arguments": [],
                "error": {
                    "description": db.detail(),
                    "exec_status": "FatalError",
                    "hint": db.hint(),
                    "message": db.message(),
                    "status_code": db.code().code(),
                },
                "prepared": false,
                "statement": statement,
            })),
        ),
        None => error(500, "postgres-error", &e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ddl_keywords() {
        assert!(contains_ddl_keyword("ALTER TABLE a ADD COLUMN b int"));
        assert!(contains_ddl_keyword("create or replace view v as select 1"));
        assert!(contains_ddl_keyword("CREATE FUNCTION f() ..."));
        assert!(contains_ddl_keyword("comment on table a is 'x'"));
        assert!(contains_ddl_keyword("drop table a"));
        assert!(!contains_ddl_keyword("create table a (id int)"));
        assert!(!contains_ddl_keyword("select dropped from altered"));
    }
}
