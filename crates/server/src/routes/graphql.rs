//! `POST /v1/graphql`: one request object or a batch (array). Every outcome — including
//! authentication failures and malformed JSON — is HTTP 200 with `{"errors": [...]}`, as
//! Hasura's `/v1/graphql` answers (its `allMod200`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{json, Map, Value};

use super::body::{self, GraphqlBody, GraphqlRequest};
use super::{body_error, is_admin, json_response, AppState, LogInfo};
use crate::db;

fn graphql_error(code: &str, message: &str) -> String {
    json!({"errors": [{"message": message, "extensions": {"path": "$", "code": code}}]}).to_string()
}

fn error_200(code: &str, message: &str, role: Option<String>) -> Response {
    let mut r = json_response(StatusCode::OK, graphql_error(code, message));
    r.extensions_mut().insert(LogInfo::error(role, code, "$", message));
    r
}

/// The error to log for a GraphQL response, if it is an error answer: its first error, as
/// Hasura logs it. Success answers are never parsed: an error answer starts with `{"errors"`
/// (serde_json's compact form; `json_build_object` would write `{"errors" : [`).
fn logged_error(text: &str) -> Option<Value> {
    let rest = text.trim_start().strip_prefix('{')?.trim_start();
    if !rest.starts_with("\"errors\"") {
        return None;
    }
    let v: Value = serde_json::from_str(text).ok()?;
    let e = v.get("errors")?.get(0)?;
    Some(json!({"path": e["extensions"]["path"], "error": e["message"], "code": e["extensions"]["code"]}))
}

/// One GraphQL request object → the response text.
async fn run_one(state: &AppState, req: &GraphqlRequest, session: &Map<String, Value>) -> String {
    let Some(query) = req.query.as_deref() else {
        return graphql_error("bad-request", "the key 'query' was not present");
    };
    // The variables' JSON text as the client wrote it: never re-parsed here, so any depth
    // and any number reach graphql.resolve (see `body`).
    match db::resolve(&state.pool, query, req.variables.clone(), Value::Object(session.clone()).to_string(), req.operation_name.clone()).await {
        Ok(text) => text,
        Err(e) => e.graphql_body(is_admin(session)),
    }
}

/// The HTTP status `/v1alpha1/graphql` gives an error answer: Hasura's status for the error
/// (`throw400` nearly everywhere; `err500` for unexpected and connection errors), since that
/// endpoint lacks `/v1/graphql`'s `allMod200`.
fn legacy_status(code: &str) -> StatusCode {
    match code {
        "unexpected" | "postgres-error" | "postgres-max-connections-error" => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// How an endpoint reports a failed request: `/v1/graphql` always answers 200; the old
/// `/v1alpha1/graphql` answers with the error's status (same body).
#[derive(Clone, Copy, PartialEq)]
enum Endpoint {
    V1,
    V1Alpha1,
}

pub async fn graphql(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Response {
    serve(&state, Endpoint::V1, &headers, body).await
}

/// `POST /v1alpha1/graphql`: `/v1/graphql`'s behaviour (JWT, webhook, batches) with Hasura's
/// statuses for errors: an authentication failure keeps its 400/401, a request that fails
/// (parse, validation, execution) is 400 (500 for unexpected and connection errors). A batch
/// is 200, its items carrying their own errors, as Hasura's `runGQBatched` catches them.
pub async fn graphql_v1alpha1(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Response {
    serve(&state, Endpoint::V1Alpha1, &headers, body).await
}

async fn serve(state: &AppState, endpoint: Endpoint, headers: &HeaderMap, body: Result<Bytes, BytesRejection>) -> Response {
    let status_of = |code: &str, fallback: u16| match endpoint {
        Endpoint::V1 => StatusCode::OK,
        Endpoint::V1Alpha1 => StatusCode::from_u16(fallback).ok().filter(|s| s.is_client_error() || s.is_server_error()).unwrap_or_else(|| legacy_status(code)),
    };
    let failed = |code: &str, message: &str, role: Option<String>, fallback: u16| {
        let mut r = error_200(code, message, role);
        *r.status_mut() = status_of(code, fallback);
        r
    };
    let body = match body {
        Ok(b) => b,
        // The one /v1/graphql answer that is not 200: the body was never read.
        Err(rejection) => {
            let (status, message) = body_error(&rejection, state.max_body_bytes);
            let mut r = json_response(StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST), graphql_error("bad-request", &message));
            r.extensions_mut().insert(LogInfo::error(None, "bad-request", "$", &message));
            return r;
        }
    };
    // Any content type: Hasura decodes the body as JSON whatever the request says it is.
    // At any depth, without recursion (see `body`).
    let parsed = body::graphql_body(&body);
    let (session, set_cookies) = match state.auth.authenticate(headers, parsed.as_ref().ok().map(|(_, v)| v)).await {
        Ok(g) => (g.session, g.set_cookies),
        Err(e) => return failed(e.code, &e.message, None, e.status),
    };
    let role = session.get("x-hasura-role").and_then(|r| r.as_str()).map(str::to_string);
    let parsed = match parsed {
        Ok((requests, _)) => requests,
        Err(e) => return failed("invalid-json", &format!("Error in $: {e}"), role, 400),
    };
    let (body, error) = match &parsed {
        GraphqlBody::Batch(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                out.push(run_one(state, item, &session).await);
            }
            let error = out.iter().find_map(|o| logged_error(o));
            (format!("[{}]", out.join(",")), error)
        }
        GraphqlBody::One(one) => {
            let one = run_one(state, one, &session).await;
            let error = logged_error(&one);
            (one, error)
        }
        GraphqlBody::Other => return failed("parse-failed", "expected an object or an array of GraphQL requests", role, 400),
    };
    let status = match (&parsed, &error) {
        (GraphqlBody::One(_), Some(e)) => status_of(e["code"].as_str().unwrap_or("unexpected"), 0),
        _ => StatusCode::OK,
    };
    let mut r = json_response(status, body);
    for c in set_cookies {
        if let Ok(v) = axum::http::HeaderValue::from_str(&c) {
            r.headers_mut().append(axum::http::header::SET_COOKIE, v);
        }
    }
    r.extensions_mut().insert(LogInfo { role, error });
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_to_log() {
        let e = logged_error(r#"{"errors":[{"message":"field 'x' not found","extensions":{"path":"$.selectionSet.x","code":"validation-failed"}}]}"#);
        assert_eq!(e, Some(json!({"path": "$.selectionSet.x", "error": "field 'x' not found", "code": "validation-failed"})));
        let e = logged_error(r#"{"errors" : [{"message" : "m", "extensions" : {"path" : "$", "code" : "constraint-violation"}}]}"#);
        assert_eq!(e.unwrap()["code"], "constraint-violation");
        assert_eq!(logged_error(r#"{"data":{"errors":[]}}"#), None);
        assert_eq!(logged_error("null"), None);
    }

    #[test]
    fn v1alpha1_statuses() {
        assert_eq!(legacy_status("validation-failed"), StatusCode::BAD_REQUEST);
        assert_eq!(legacy_status("constraint-violation"), StatusCode::BAD_REQUEST);
        assert_eq!(legacy_status("permission-error"), StatusCode::BAD_REQUEST);
        assert_eq!(legacy_status("unexpected"), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(legacy_status("postgres-error"), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
