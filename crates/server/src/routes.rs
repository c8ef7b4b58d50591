//! Hasura's HTTP endpoints: `/v1/graphql` (single and batched), `/v1/metadata` (admin only),
//! `/v1/version`, `/healthz`.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

use crate::auth::{Auth, AuthError};
use crate::db;

pub struct AppState {
    pub pool: deadpool_postgres::Pool,
    pub auth: Auth,
}

fn json_response(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json; charset=utf-8")], body).into_response()
}

/// Hasura's shape for errors outside GraphQL execution.
fn error(status: u16, code: &str, message: &str) -> Response {
    json_response(
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        json!({"error": message, "path": "$", "code": code}).to_string(),
    )
}

fn auth_error(e: AuthError) -> Response {
    error(e.status, e.code, &e.message)
}

fn graphql_error(code: &str, message: &str) -> String {
    json!({"errors": [{"message": message, "extensions": {"path": "$", "code": code}}]}).to_string()
}

/// One GraphQL request object → the response text.
async fn run_one(state: &AppState, req: &Value, session: &Map<String, Value>) -> String {
    let Some(query) = req.get("query").and_then(|q| q.as_str()) else {
        return graphql_error("bad-request", "the key 'query' was not present");
    };
    let variables = req.get("variables").filter(|v| !v.is_null()).map(|v| v.to_string());
    let op = req.get("operationName").and_then(|o| o.as_str()).map(str::to_string);
    match db::resolve(&state.pool, query, variables, Value::Object(session.clone()).to_string(), op).await {
        Ok(text) => text,
        Err(e) => graphql_error("postgres-error", &e.0),
    }
}

pub async fn graphql(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    let started = Instant::now();
    let session = match state.auth.session(&headers) {
        Ok(s) => s,
        Err(e) => return auth_error(e),
    };
    let parsed: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return error(400, "invalid-json", &format!("Error in $: {e}")),
    };
    let body = match &parsed {
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                out.push(run_one(&state, item, &session).await);
            }
            format!("[{}]", out.join(","))
        }
        Value::Object(_) => run_one(&state, &parsed, &session).await,
        _ => return error(400, "parse-failed", "expected an object or an array of GraphQL requests"),
    };
    tracing::info!(r#type = "http-log", path = "/v1/graphql", status = 200, latency_ms = started.elapsed().as_secs_f64() * 1e3, role = %session.get("x-hasura-role").and_then(|r| r.as_str()).unwrap_or(""));
    json_response(StatusCode::OK, body)
}

/// Status Hasura answers a metadata error code with.
fn metadata_status(code: &str) -> u16 {
    match code {
        "conflict" => 409,
        "access-denied" => 401,
        "not-exists" => 404,
        "unexpected" => 500,
        _ => 400,
    }
}

pub async fn metadata(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    match state.auth.session(&headers) {
        Ok(s) if s.get("x-hasura-role").and_then(|r| r.as_str()) == Some("admin") => {}
        Ok(_) => return error(400, "access-denied", "restricted access : admin only"),
        Err(e) => return auth_error(e),
    }
    let Ok(text) = std::str::from_utf8(&body) else {
        return error(400, "invalid-json", "request body is not UTF-8");
    };
    if serde_json::from_str::<Value>(text).is_err() {
        return error(400, "invalid-json", "request body is not valid JSON");
    }
    match db::metadata(&state.pool, text).await {
        Ok(resp) => {
            // Errors come back as {"error","path","code"}: give them Hasura's HTTP status.
            let status = serde_json::from_str::<Value>(&resp)
                .ok()
                .and_then(|v| v.get("code").and_then(|c| c.as_str()).map(metadata_status))
                .filter(|_| resp.starts_with("{\"error\""))
                .unwrap_or(200);
            json_response(StatusCode::from_u16(status).unwrap_or(StatusCode::OK), resp)
        }
        Err(e) => error(500, "postgres-error", &e.0),
    }
}

pub async fn version() -> Response {
    json_response(StatusCode::OK, json!({"version": concat!("v2-graft-", env!("CARGO_PKG_VERSION"))}).to_string())
}

pub async fn healthz(State(state): State<Arc<AppState>>) -> Response {
    if db::healthy(&state.pool).await {
        (StatusCode::OK, "OK").into_response()
    } else {
        (StatusCode::INTERNAL_SERVER_ERROR, "ERROR: cannot reach the database").into_response()
    }
}

pub async fn not_found() -> Response {
    error(404, "not-found", "resource does not exist")
}
