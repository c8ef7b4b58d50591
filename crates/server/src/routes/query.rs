//! Admin-only JSON APIs: `/v1/metadata` (handed to `graphql.metadata`), the legacy `/v1/query`
//! and `/v2/query`; `run_sql`, and a `bulk` that contains one, go to [`super::run_sql`].

// Handlers return a ready `Response` as their error: large, but built once per request.
#![allow(clippy::result_large_err)]

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::Value;

use super::body;
use super::run_sql::{is_run_sql, run_requests};
use super::{auth_error, body_error, db_error, error, error_at, is_admin, json_response, AppState, LogInfo};
use crate::auth::Session;
use crate::db;

/// The HTTP status Hasura gives a metadata error. Hasura sets it where it throws, not per code
/// (`Base/Error.hs`): nearly everything is `throw400`, `not-exists` included ("… does not
/// exist" is 400, 404 is only for an unknown endpoint); a resource-version mismatch is
/// `throw409`; `unexpected` is `throw500` except "cannot continue due to … inconsistent
/// metadata", which is `throw400WithDetail Unexpected`.
pub(super) fn metadata_status(code: &str, message: &str) -> u16 {
    match code {
        "conflict" => 409,
        "unexpected" if message.starts_with("cannot continue due to") => 400,
        "unexpected" => 500,
        _ => 400,
    }
}

/// The metadata function's error object (`{"error", "path", "code"}`) and its status, if the
/// answer is one.
pub(super) fn metadata_error(resp: &str) -> Option<(u16, Value)> {
    if !resp.starts_with("{\"error\"") {
        return None;
    }
    let v: Value = serde_json::from_str(resp).ok()?;
    let code = v.get("code")?.as_str()?;
    let message = v.get("error").and_then(|e| e.as_str()).unwrap_or("");
    Some((metadata_status(code, message), v.clone()))
}

/// Authenticate as admin and parse the body as JSON (whatever its content type, as Hasura does).
async fn admin_request(state: &AppState, headers: &HeaderMap, body: &Result<Bytes, BytesRejection>) -> Result<String, Response> {
    let (text, session) = authenticated_request(state, headers, body).await?;
    if !is_admin(&session) {
        return Err(admin_only());
    }
    Ok(text)
}

fn admin_only() -> Response {
    error(400, "access-denied", "restricted access : admin only")
}

/// Authenticate (any role) and parse the body as JSON.
async fn authenticated_request(
    state: &AppState,
    headers: &HeaderMap,
    body: &Result<Bytes, BytesRejection>,
) -> Result<(String, Session), Response> {
    let body = match body {
        Ok(b) => b,
        Err(rejection) => {
            let (status, message) = body_error(rejection, state.max_body_bytes);
            return Err(error(status, "bad-request", &message));
        }
    };
    let session = match state.auth.session(headers, None).await {
        Ok(s) => s,
        Err(e) => return Err(auth_error(e)),
    };
    let Ok(text) = std::str::from_utf8(body) else {
        return Err(error(400, "invalid-json", "request body is not UTF-8"));
    };
    // Checked at any depth without building anything; the few fields `/v1/query` and
    // `/v2/query` dispatch on are read from a shallow copy (see `body`), and the text is what
    // goes to graphql.metadata.
    if !body::is_json(text) {
        return Err(error(400, "invalid-json", "request body is not valid JSON"));
    }
    Ok((text.to_string(), session))
}

/// The legacy data API's request types (`Server/API/Query.hs`), which are not admin-only:
/// they run with the role's permissions.
const DATA_TYPES: &[&str] = &["select", "insert", "update", "delete", "count"];

pub(super) fn is_data_request(req: &Value) -> bool {
    req.get("type").and_then(|t| t.as_str()).is_some_and(|t| DATA_TYPES.contains(&t))
}

/// A data API request, or a `bulk` made only of them: what a role other than admin may send.
fn is_data_only(req: &Value) -> bool {
    match (req.get("type").and_then(|t| t.as_str()), req.get("args")) {
        (Some("bulk" | "concurrent_bulk"), Some(Value::Array(items))) => !items.is_empty() && items.iter().all(is_data_only),
        _ => is_data_request(req),
    }
}

fn session_role(session: &Session) -> Option<String> {
    session.get("x-hasura-role").and_then(|r| r.as_str()).map(str::to_string)
}

/// One data API request through `graphql.dml`, as the session's role.
async fn data_request(state: &AppState, text: &str, session: &Session) -> Response {
    let role = session_role(session);
    match db::dml(&state.pool, text, &Value::Object(session.clone()).to_string()).await {
        Ok(resp) => {
            let error = metadata_error(&resp);
            let status = error.as_ref().map_or(200, |(s, _)| *s);
            let mut r = json_response(StatusCode::from_u16(status).unwrap_or(StatusCode::OK), resp);
            r.extensions_mut().insert(LogInfo { role, error: error.map(|(_, e)| e) });
            r
        }
        Err(e) => db_error(e),
    }
}

pub(super) fn admin_response(status: u16, body: String, error: Option<Value>) -> Response {
    let mut r = json_response(StatusCode::from_u16(status).unwrap_or(StatusCode::OK), body);
    r.extensions_mut().insert(LogInfo { role: Some("admin".into()), error });
    r
}

/// Forward one request to `graphql.metadata`, giving its errors Hasura's HTTP status.
async fn forward(state: &AppState, text: &str) -> Response {
    match db::metadata(&state.pool, text).await {
        Ok(resp) => match metadata_error(&resp) {
            Some((status, error)) => admin_response(status, resp, Some(error)),
            None => admin_response(200, resp, None),
        },
        Err(e) => db_error(e),
    }
}

pub async fn metadata(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Response {
    let text = match admin_request(&state, &headers, &body).await {
        Ok(text) => text,
        Err(r) => return r,
    };
    let req = body::dispatch_value(&text);
    match super::bulk::with_event_requests(&req) {
        Some((_, keep_going)) => match full_bulk_items(&text) {
            Ok(items) => super::bulk::run(&state, &items, keep_going).await,
            Err(r) => r,
        },
        None => forward(&state, &text).await,
    }
}

/// The items of a `bulk` the sidecar runs one by one, read in full from the body. The
/// dispatch copy (`body::dispatch_value`) of a body deeper than serde_json's 128 levels turns
/// what lies deeper into `null`, and a `null` inside a `where` or a permission filter means
/// "no condition": such items must never run, so such a bulk is refused.
fn full_bulk_items(text: &str) -> Result<Vec<Value>, Response> {
    match serde_json::from_str::<Value>(text) {
        Ok(v) => Ok(v.get("args").and_then(Value::as_array).cloned().unwrap_or_default()),
        Err(_) => Err(error_at(
            400,
            "parse-failed",
            "$.args",
            "a bulk nested deeper than 128 levels is not supported: send its requests one by one",
            None,
        )),
    }
}

/// What `/v2/query` accepts: Hasura's `V2Query.RQLQuery` tags, in its order (reference §4.3).
const V2_TYPES: &[&str] = &[
    "insert",
    "select",
    "update",
    "delete",
    "count",
    "run_sql",
    "pg_run_sql",
    "mssql_run_sql",
    "citus_run_sql",
    "cockroach_run_sql",
    "bigquery_run_sql",
    "bigquery_database_inspection",
    "bulk",
    "concurrent_bulk",
];

/// Whether `req` (at JSON path `path`) is a `/v2/query` request Graft runs: `run_sql`, or a
/// `bulk` of them. Anything outside Hasura's list is Hasura's parse error (aeson's message for
/// an unknown tag); Hasura's legacy data API and the other backends' `run_sql` are refused
/// with `not-supported`.
fn check_v2(req: &Value, path: &str) -> Result<(), Response> {
    let ty = req.get("type").and_then(|t| t.as_str());
    match ty {
        Some("run_sql" | "pg_run_sql") => Ok(()),
        Some("bulk" | "concurrent_bulk") => match req.get("args") {
            Some(Value::Array(items)) => items.iter().enumerate().try_for_each(|(i, item)| check_v2(item, &format!("{path}.args[{i}]"))),
            _ => Err(error_at(400, "parse-failed", &format!("{path}.args"), "expected Array", None)),
        },
        Some("insert" | "select" | "update" | "delete" | "count") => Ok(()),
        Some(t) if V2_TYPES.contains(&t) => {
            let why = "only the default Postgres source exists: use run_sql";
            Err(error_at(400, "not-supported", path, &format!("{t}: {why}"), None))
        }
        Some(t) => {
            let message = format!(
                "When parsing Hasura.Server.API.V2Query.RQLQuery expected an Object with a tag field where the value is one of [{}], but got {t}.",
                V2_TYPES.join(", ")
            );
            Err(error_at(400, "parse-failed", path, &message, None))
        }
        None => Err(error_at(400, "parse-failed", path, "key \"type\" not found", None)),
    }
}

/// `/v2/query`: `run_sql`, the data API, and `bulk`s of them, never metadata requests
/// (Hasura's `V2Query.hs`; those belong to `/v1/metadata`).
pub async fn query_v2(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Response {
    let (text, session) = match authenticated_request(&state, &headers, &body).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let req = body::dispatch_value(&text);
    if let Err(r) = check_v2(&req, "$") {
        return r;
    }
    if !is_admin(&session) && !is_data_only(&req) {
        return admin_only();
    }
    if is_data_request(&req) {
        return data_request(&state, &text, &session).await;
    }
    if is_run_sql(&req) {
        return match run_requests(&state, std::slice::from_ref(&req), &session).await {
            Ok(mut results) => admin_response(200, results.remove(0).to_string(), None),
            Err(r) => r,
        };
    }
    match full_bulk_items(&text) {
        Ok(items) => bulk_response(run_requests(&state, &items, &session).await, &session),
        Err(r) => r,
    }
}

/// A bulk's answer: the list of results, logged with the session's role.
fn bulk_response(results: Result<Vec<Value>, Response>, session: &Session) -> Response {
    match results {
        Ok(results) => {
            let mut r = admin_response(200, Value::Array(results).to_string(), None);
            r.extensions_mut().insert(LogInfo { role: session_role(session), error: None });
            r
        }
        Err(r) => r,
    }
}

/// `/v1/query` (legacy): `run_sql`, or a `bulk` containing one, runs here; any other request
/// goes to `graphql.metadata` as is, which also takes Hasura v1's un-prefixed names
/// (`track_table`, `add_existing_table_or_view`, `create_object_relationship` …).
/// The data API (`select`, `insert` …) goes to `graphql.dml` with the caller's session; a
/// `bulk` with `run_sql` or data API items runs in one transaction here.
pub async fn query(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Response {
    let (text, session) = match authenticated_request(&state, &headers, &body).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let req = body::dispatch_value(&text);
    if !is_admin(&session) && !is_data_only(&req) {
        return admin_only();
    }
    if is_data_request(&req) {
        return data_request(&state, &text, &session).await;
    }
    let ty = req.get("type").and_then(|t| t.as_str()).unwrap_or("");
    let bulk_items = match (ty, req.get("args")) {
        ("bulk" | "concurrent_bulk", Some(Value::Array(items))) if items.iter().any(|i| is_run_sql(i) || is_data_request(i)) => {
            Some(())
        }
        _ => None,
    };
    if is_run_sql(&req) {
        match run_requests(&state, std::slice::from_ref(&req), &session).await {
            Ok(mut results) => admin_response(200, results.remove(0).to_string(), None),
            Err(r) => r,
        }
    } else if bulk_items.is_some() {
        match full_bulk_items(&text) {
            Ok(items) => bulk_response(run_requests(&state, &items, &session).await, &session),
            Err(r) => r,
        }
    } else if let Some((_, keep_going)) = super::bulk::with_event_requests(&req) {
        match full_bulk_items(&text) {
            Ok(items) => super::bulk::run(&state, &items, keep_going).await,
            Err(r) => r,
        }
    } else {
        forward(&state, &text).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hasura_statuses() {
        let status = |body: &str| metadata_error(body).map(|(s, _)| s);
        assert_eq!(status(r#"{"error": "table \"x\" does not exist", "path": "$.args", "code": "not-exists"}"#), Some(400));
        assert_eq!(status(r#"{"error": "x", "path": "$", "code": "already-exists"}"#), Some(400));
        assert_eq!(status(r#"{"error": "metadata resource version referenced (9) did not match current version", "path": "$", "code": "conflict"}"#), Some(409));
        assert_eq!(status(r#"{"error": "cannot continue due to inconsistent metadata", "path": "$.args", "code": "unexpected"}"#), Some(400));
        assert_eq!(status(r#"{"error": "internal error: boom", "path": "$", "code": "unexpected"}"#), Some(500));
        assert_eq!(status(r#"{"error": "x", "path": "$", "code": "permission-denied"}"#), Some(400));
        assert_eq!(status(r#"{"message": "success"}"#), None);
    }

    fn v2_refusal(req: Value) -> (u16, Value) {
        let r = check_v2(&req, "$").expect_err("refused");
        let status = r.status().as_u16();
        let info = r.extensions().get::<LogInfo>().cloned().unwrap_or_default();
        (status, info.error.map_or(Value::Null, |e| e["code"].clone()))
    }

    #[test]
    fn deep_bulks_are_refused_not_truncated() {
        let deep = format!("{}{{\"id\": {{\"$eq\": 1}}}}{}", "{\"$not\": ".repeat(200), "}".repeat(200));
        let text = format!(r#"{{"type": "bulk", "args": [{{"type": "delete", "args": {{"table": "t", "where": {deep}}}}}]}}"#);
        // The dispatch copy has nulls where the where was deep: running it would widen the delete.
        let shallow = body::dispatch_value(&text);
        assert!(shallow.to_string().contains("null"));
        let r = full_bulk_items(&text).expect_err("refused");
        assert_eq!(r.status().as_u16(), 400);
        let ok = r#"{"type": "bulk", "args": [{"type": "count", "args": {"table": "t", "where": {"id": {"$eq": 1}}}}]}"#;
        assert_eq!(full_bulk_items(ok).unwrap()[0]["args"]["where"]["id"]["$eq"], 1);
    }

    #[test]
    fn only_data_requests_are_open_to_roles() {
        use serde_json::json;
        assert!(is_data_only(&json!({"type": "select", "args": {}})));
        assert!(is_data_only(&json!({"type": "bulk", "args": [{"type": "insert", "args": {}}, {"type": "bulk", "args": [{"type": "count", "args": {}}]}]})));
        assert!(!is_data_only(&json!({"type": "bulk", "args": [{"type": "insert", "args": {}}, {"type": "run_sql", "args": {}}]})));
        assert!(!is_data_only(&json!({"type": "bulk", "args": []})));
        assert!(!is_data_only(&json!({"type": "export_metadata", "args": {}})));
        assert!(!is_data_only(&json!({"type": "bulk", "args": {"type": "select"}})));
    }

    #[test]
    fn v2_accepts_run_sql_and_the_data_api() {
        use serde_json::json;
        assert!(check_v2(&json!({"type": "run_sql", "args": {"sql": "SELECT 1"}}), "$").is_ok());
        assert!(check_v2(&json!({"type": "bulk", "args": [{"type": "pg_run_sql", "args": {}}, {"type": "bulk", "args": []}]}), "$").is_ok());
        assert_eq!(v2_refusal(json!({"type": "pg_track_table", "args": {}})), (400, json!("parse-failed")));
        assert!(check_v2(&json!({"type": "select", "args": {}}), "$").is_ok());
        assert_eq!(v2_refusal(json!({"type": "mssql_run_sql", "args": {}})), (400, json!("not-supported")));
        assert_eq!(v2_refusal(json!({"args": {}})), (400, json!("parse-failed")));
        assert_eq!(v2_refusal(json!({"type": "bulk", "args": [{"type": "run_sql"}, {"type": "export_metadata"}]})), (400, json!("parse-failed")));
    }
}
