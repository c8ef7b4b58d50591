//! Hasura's HTTP endpoints: `/v1/graphql` (single and batched, `graphql`), `/v1/metadata`,
//! `/v1/query`, `/v2/query` (`query`, with `run_sql`), `/v1/version`, `/healthz`,
//! `/v1alpha1/config`, `/v1/metrics` (`ops`).

pub mod body;
pub mod bulk;
mod follow;
pub mod graphql;
pub mod ops;
pub mod query;
pub mod run_sql;

use std::sync::Arc;

use axum::extract::rejection::BytesRejection;
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::auth::{Auth, AuthError};
use crate::config::EnabledApis;
use crate::metrics::Metrics;

pub struct AppState {
    pub pool: deadpool_postgres::Pool,
    pub auth: Auth,
    pub metrics: Metrics,
    pub apis: EnabledApis,
    /// sha256 of HASURA_GRAPHQL_METRICS_SECRET.
    pub metrics_secret: Option<[u8; 32]>,
    pub console: bool,
    pub stringify_numeric: bool,
    /// GRAFT_MAX_BODY_BYTES, for the error that names it.
    pub max_body_bytes: usize,
    /// HASURA_GRAPHQL_CORS_DOMAIN, or `None` with HASURA_GRAPHQL_DISABLE_CORS.
    pub cors: Option<Arc<crate::cors::Policy>>,
    /// WebSocket settings (HASURA_GRAPHQL_WEBSOCKET_*).
    pub ws: crate::ws::Settings,
    /// The live queries and streams of every socket.
    pub live: Arc<crate::ws::Live>,
    /// The open sockets (closed together when the metadata changes).
    pub ws_sockets: Arc<crate::ws::metadata_watch::Sockets>,
    /// The metadata watcher, with HASURA_GRAPHQL_CLOSE_WEBSOCKETS_ON_METADATA_CHANGE.
    pub metadata_watch: Option<Arc<crate::ws::metadata_watch::Watch>>,
}

/// What a handler tells the `http-log` line: the role, and the error if the answer is one, as
/// Hasura logs it (`{"path", "error", "code"}`).
#[derive(Clone, Debug, Default)]
pub struct LogInfo {
    pub role: Option<String>,
    pub error: Option<Value>,
}

impl LogInfo {
    pub fn error(role: Option<String>, code: &str, path: &str, message: &str) -> LogInfo {
        LogInfo { role, error: Some(json!({"path": path, "error": message, "code": code})) }
    }
}

pub fn json_response(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json; charset=utf-8")], body).into_response()
}

/// Hasura's shape for errors outside GraphQL execution.
pub fn error(status: u16, code: &str, message: &str) -> Response {
    error_with(status, code, message, None)
}

pub fn error_with(status: u16, code: &str, message: &str, internal: Option<Value>) -> Response {
    error_at(status, code, "$", message, internal)
}

/// Hasura's error shape with the JSON path of what is wrong (`$.args[1]`).
pub fn error_at(status: u16, code: &str, path: &str, message: &str, internal: Option<Value>) -> Response {
    let mut body = json!({"error": message, "path": path, "code": code});
    if let Some(i) = internal {
        body["internal"] = i;
    }
    let mut r = json_response(StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST), body.to_string());
    r.extensions_mut().insert(LogInfo::error(None, code, path, message));
    r
}

/// A database failure on an admin API: Hasura's 500 with the reason in `internal`.
pub fn db_error(e: crate::db::DbError) -> Response {
    error_with(500, e.code, &e.message, e.internal.map(Value::String))
}

pub fn auth_error(e: AuthError) -> Response {
    error(e.status, e.code, &e.message)
}

/// Hasura's answer for a path it does not serve, disabled APIs' paths included. The request
/// body is read (and thrown away) first: answering while the client is still sending would
/// close the connection on unread data, which resets it, and the client may never see the
/// answer.
pub async fn not_found(_body: Result<axum::body::Bytes, BytesRejection>) -> Response {
    error(404, "not-found", "resource does not exist")
}

/// A known path asked with another method. Hasura answers GET and POST on any path it does not
/// serve with 404 `not-found` "resource does not exist" (`Server/App.hs`, its `hookAny` for GET
/// and POST), so GET /v1/metadata is that; other methods, which Hasura never routes, are 405
/// `method-not-allowed` (axum adds the `Allow` header).
pub async fn method_not_allowed(method: Method, body: Result<axum::body::Bytes, BytesRejection>) -> Response {
    if method == Method::GET || method == Method::POST {
        return not_found(body).await;
    }
    error(405, "method-not-allowed", &format!("method {method} is not allowed on this endpoint"))
}

/// Why a request body could not be read: status and message. Over GRAFT_MAX_BODY_BYTES it is
/// 413 (Hasura has no limit of its own, so no message to copy); otherwise axum's reason.
pub fn body_error(rejection: &BytesRejection, limit: usize) -> (u16, String) {
    let status = rejection.status().as_u16();
    if status == 413 {
        (413, format!("request body too large: the limit is {limit} bytes (GRAFT_MAX_BODY_BYTES)"))
    } else {
        (status, format!("could not read the request body: {}", rejection.body_text()))
    }
}

/// Whether the session is the admin role.
pub fn is_admin(session: &serde_json::Map<String, Value>) -> bool {
    session.get("x-hasura-role").and_then(|r| r.as_str()) == Some("admin")
}
