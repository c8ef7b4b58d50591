//! `graphql.dml(request, session) → json`: Hasura's legacy data API (`select`, `insert`,
//! `update`, `delete`, `count` of `/v1/query`) for one request, as the session's role. The
//! compiler translates it into a GraphQL operation (`graft_compiler::dml`), which runs exactly
//! like a `graphql.resolve` request: same validation, permissions, SQL and execution. Like
//! `graphql.metadata`, it answers the result or the error body `{"error","path","code"}`
//! and never raises for a request error. A `bulk` is the caller's transaction (the sidecar
//! runs one in a transaction of its own).

use std::panic::AssertUnwindSafe;

use graft_compiler::dml;
use graft_compiler::request::{compile_dml, Compiled};
use graft_compiler::MetadataError;
use pgrx::prelude::*;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::api::{request_limits, request_session};
use crate::errors::{panic_message, GraftError, Result};
use crate::json_args::{self, JsonArg};
use crate::json_text::JsonText;
use crate::{cache, execute};

#[pg_extern]
fn dml(request: Option<JsonArg>, session: default!(Option<JsonArg>, "NULL")) -> JsonText {
    match run(request, session) {
        Ok(text) => JsonText(text),
        Err(e) => e.to_metadata_json().into(),
    }
}

fn run(request: Option<JsonArg>, session: Option<JsonArg>) -> Result<String> {
    let request = match request {
        Some(r) => json_args::parse(&r.0, "request")?,
        None => return Err(MetadataError::new("parse-failed", "$", "the request is null").into()),
    };
    let session = session.map(|s| json_args::parse(&s.0, "session")).transpose()?;
    if !dml::is_dml(&request) {
        let ty = request.get("type").map(Value::to_string).unwrap_or_else(|| "none".into());
        return Err(MetadataError::new(
            "parse-failed",
            "$.type",
            format!("graphql.dml runs one of {}; got {ty}", dml::DML_TYPES.join(", ")),
        )
        .into());
    }
    let (session, backend_only) = request_session(Some(&session.unwrap_or(Value::Null)).filter(|s| !s.is_null()))?;
    let schema = cache::schema_for(&session.role, backend_only)?;
    // Pure compiler code, as in graphql.resolve: a panic is a bug, answered as an error.
    let compiled = std::panic::catch_unwind(AssertUnwindSafe(|| -> Result<(dml::Plan, Compiled)> {
        let plan = dml::plan(&schema, &session, &request)?;
        let compiled = compile_dml(&schema, &plan, &session, &request_limits())
            .map_err(|g| dml::error_from_graphql(g.code, &g.path, &g.message))?;
        Ok((plan, compiled))
    }))
    .map_err(|p| GraftError::Internal(format!("compiler panicked: {}", panic_message(&*p))));
    pgrx::check_for_interrupts!();
    let (plan, compiled) = compiled??;
    let response = match compiled {
        Compiled::Sql(sql) => execute::run(&sql, &session)?,
        Compiled::Mutation(m) => execute::run_mutation(&m, &session)?,
        Compiled::Json(v) => v.to_string(),
    };
    answer(&plan.reply, &response)
}

/// The data API answer from the GraphQL response text. Rows are passed on as the database's
/// own JSON text (a `numeric` keeps its digits); a GraphQL error becomes the data API's.
fn answer(reply: &dml::Reply, response: &str) -> Result<String> {
    #[derive(serde::Deserialize)]
    struct Response<'a> {
        #[serde(borrow)]
        data: Option<Data<'a>>,
        errors: Option<Vec<Value>>,
    }
    #[derive(serde::Deserialize)]
    struct Data<'a> {
        #[serde(borrow)]
        r: Option<&'a RawValue>,
    }
    let parsed: Response = serde_json::from_str(response)
        .map_err(|e| GraftError::Internal(format!("unreadable response ({e}): {response}")))?;
    if let Some(e) = parsed.errors.as_ref().and_then(|e| e.first()) {
        let code = e.pointer("/extensions/code").and_then(Value::as_str).unwrap_or("unexpected");
        let path = e.pointer("/extensions/path").and_then(Value::as_str).unwrap_or("$");
        let message = e.get("message").and_then(Value::as_str).unwrap_or_default();
        return Err(dml::error_from_graphql(static_code(code), path, message).into());
    }
    let raw = parsed.data.and_then(|d| d.r).map(RawValue::get).unwrap_or("null");
    Ok(match reply {
        dml::Reply::Rows | dml::Reply::Mutation => raw.to_string(),
        counted => {
            let r: Value = serde_json::from_str(raw).unwrap_or(Value::Null);
            dml::reply(counted, &serde_json::json!({ "r": r })).to_string()
        }
    })
}

/// An error code read back from a response, as the `'static` name the error types carry.
fn static_code(code: &str) -> &'static str {
    const CODES: &[&str] = &[
        "access-denied", "bad-request", "constraint-error", "constraint-violation", "data-exception",
        "dependency-error", "invalid-params", "not-exists", "not-found", "not-supported", "parse-failed",
        "permission-denied", "permission-error", "postgres-error", "unexpected", "validation-failed",
        "concurrent-update", "timeout", "unexpected-payload",
    ];
    CODES.iter().find(|c| **c == code).copied().unwrap_or("unexpected")
}
