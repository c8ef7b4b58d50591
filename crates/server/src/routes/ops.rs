//! Operational endpoints: `/v1/version`, `/healthz`, `/v1alpha1/config`, `/v1/metrics`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{auth_error, error, is_admin, json_response, AppState, LogInfo};

pub const VERSION: &str = concat!("v2-graft-", env!("CARGO_PKG_VERSION"));

pub async fn version() -> Response {
    json_response(StatusCode::OK, json!({"version": VERSION}).to_string())
}

/// How long `/healthz` may take (load balancers probe with short timeouts of their own).
const HEALTH_LIMIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Hasura's `/healthz` (`Server/App.hs`, reference §4.1): 200 `OK`; 200
/// `WARN: inconsistent objects in schema` when the metadata has inconsistent objects (500 with
/// `?strict=true`); 500 `ERROR` when the database does not answer.
pub async fn healthz(State(state): State<Arc<AppState>>, Query(params): Query<HashMap<String, String>>) -> Response {
    let strict = params.get("strict").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    match crate::db::health(&state.pool, HEALTH_LIMIT).await {
        Ok(true) => (StatusCode::OK, "OK").into_response(),
        Ok(false) => {
            let status = if strict { StatusCode::INTERNAL_SERVER_ERROR } else { StatusCode::OK };
            (status, "WARN: inconsistent objects in schema").into_response()
        }
        Err(e) => {
            let mut r = (StatusCode::INTERNAL_SERVER_ERROR, "ERROR").into_response();
            let mut info = LogInfo::error(None, e.code, "$", &e.message);
            if let (Some(err), Some(internal)) = (info.error.as_mut(), e.internal) {
                err["internal"] = json!(internal);
            }
            r.extensions_mut().insert(info);
            r
        }
    }
}

/// `GET /v1alpha1/config` (admin only): the server's authentication setup, as Hasura reports it.
pub async fn config(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    match state.auth.session(&headers, None).await {
        Ok(s) if is_admin(&s) => {}
        Ok(_) => return error(400, "access-denied", "restricted access : admin only"),
        Err(e) => return auth_error(e),
    }
    let body = json!({
        "version": VERSION,
        "is_function_permissions_inferred": true,
        "is_remote_schema_permissions_enabled": false,
        "is_admin_secret_set": state.auth.admin_secret_set(),
        "is_auth_hook_set": state.auth.webhook_set(),
        "is_jwt_set": state.auth.jwt().is_some(),
        "jwt": state.auth.jwt().map(|j| j.config_info()).unwrap_or_default(),
        "is_allow_list_enabled": false,
        "console_assets_dir": null,
        "experimental_features": [],
        "is_prometheus_metrics_enabled": state.apis.metrics,
        "stringify_numeric_types": state.stringify_numeric,
        "default_naming_convention": "hasura-default",
    });
    json_response(StatusCode::OK, body.to_string())
}

/// `GET /v1/metrics`: Prometheus text. With HASURA_GRAPHQL_METRICS_SECRET set it needs
/// `Authorization: Bearer <secret>`; otherwise, with an admin secret set, it needs that.
pub async fn metrics(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    match &state.metrics_secret {
        Some(digest) => {
            let given = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|a| a.strip_prefix("Bearer "));
            let ok = given.is_some_and(|g| {
                let d: [u8; 32] = Sha256::digest(g.trim().as_bytes()).into();
                bool::from(d.ct_eq(digest))
            });
            if !ok {
                return error(401, "access-denied", "invalid metrics secret");
            }
        }
        None => match state.auth.session(&headers, None).await {
            Ok(s) if is_admin(&s) => {}
            Ok(_) => return error(400, "access-denied", "restricted access : admin only"),
            Err(e) => return auth_error(e),
        },
    }
    let status = state.pool.status();
    let mut text = state.metrics.render(&status);
    text.push_str(&live_metrics(&state.live));
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response()
}

/// Live queries and streams: groups and cohorts now, and the statements their runs made.
fn live_metrics(live: &crate::ws::Live) -> String {
    let (cohorts, subscribers) = live.sizes();
    let mut out = String::new();
    let mut put = |name: &str, kind: &str, help: &str, value: u64| {
        out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"));
    };
    put("graft_live_query_groups", "gauge", "Subscription groups (same query, operation name and role).", live.group_count() as u64);
    put("graft_live_query_cohorts", "gauge", "Subscription cohorts (same variables and session; a stream's also the same cursor).", cohorts as u64);
    put("graft_live_query_subscribers", "gauge", "Live-query and streaming subscribers.", subscribers as u64);
    put("graft_live_query_polls_total", "counter", "Statements run by subscription polls (one per chunk of cohorts).", live.polls());
    put("graft_live_query_change_checks_total", "counter", "graphql.table_versions calls made by the change checks.", live.change_checks());
    put("graft_live_query_skipped_refetches_total", "counter", "Refetches skipped because no table the group reads changed.", live.skipped());
    out
}
