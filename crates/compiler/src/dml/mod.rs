//! Hasura's legacy data API (`/v1/query` and `/v2/query` `select`, `insert`, `update`,
//! `delete`, `count`): its JSON DSL is translated into one GraphQL operation against the
//! role's schema, which then goes through the same validation, permissions and SQL generator
//! as `/v1/graphql`. Nothing here writes SQL.
//!
//! The DSL names tables and columns by their SQL names and writes operators `$eq` or `_eq`;
//! the translation maps them to the role's GraphQL names, checks the role's permissions
//! first (so errors read as Hasura's DML errors), and says how to turn the GraphQL answer
//! into the DML answer ([`Reply`]). Two update operators have no GraphQL argument (`$mul`,
//! `$default`): they are attached to the validated field as extra arguments ([`Plan::extra`]),
//! after the same column checks.

// The error is the request's one answer, built once: its size costs nothing on a hot path.
#![allow(clippy::result_large_err)]

mod bool_exp;
mod count;
mod mutation;
mod select;
mod table;
#[cfg(test)]
mod tests;

use serde_json::{Map, Value};

use crate::error::MetadataError;
use crate::request::input::Arg;
use crate::request::Session;
use crate::schema::model::Schema;

/// The request types of the data API.
pub const DML_TYPES: &[&str] = &["select", "insert", "update", "delete", "count"];

/// Whether `request` (a `/v1/query` body or `bulk` item) is a data API request.
pub fn is_dml(request: &Value) -> bool {
    request.get("type").and_then(Value::as_str).is_some_and(|t| DML_TYPES.contains(&t))
}

/// One data API request as a GraphQL operation.
#[derive(Clone, Debug)]
pub struct Plan {
    /// GraphQL text; its one root field is aliased `r`.
    pub query: String,
    pub variables: Value,
    /// Arguments the GraphQL schema has no place for, added to the root field after
    /// validation (already checked against the role's permissions).
    pub extra: Vec<(String, Arg)>,
    pub reply: Reply,
}

/// How the GraphQL `data.r` becomes the data API's answer.
#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    /// `select`: the rows as they are.
    Rows,
    /// `count` from `T_aggregate { aggregate { count } }`.
    AggregateCount,
    /// `count` of the rows returned (distinct ones, or a role without aggregations).
    CountRows,
    /// `insert`/`update`/`delete`: `{"affected_rows"}`, with `returning` when asked.
    Mutation,
}

/// Translate one data API request for the session's role.
pub fn plan(schema: &Schema, session: &Session, request: &Value) -> Result<Plan, MetadataError> {
    // The translation recurses on the request's nesting: bounded like the compiler's.
    let _stack = crate::stack::Entry::new();
    let ty = request.get("type").and_then(Value::as_str).unwrap_or_default();
    let args = match request.get("args") {
        Some(Value::Object(a)) => a,
        Some(_) => return Err(MetadataError::new("parse-failed", "$.args", format!("expected Object for {ty} query"))),
        None => return Err(MetadataError::new("parse-failed", "$", "key \"args\" not found")),
    };
    let cx = table::Cx::new(schema, session, args)?;
    match ty {
        "select" => select::plan(&cx, args),
        "count" => count::plan(&cx, args),
        "insert" => mutation::insert(&cx, args),
        "update" => mutation::update(&cx, args),
        "delete" => mutation::delete(&cx, args),
        other => Err(MetadataError::new("parse-failed", "$.type", format!("unknown data API request \"{other}\""))),
    }
}

/// The data API's answer from the GraphQL answer `{"data": {"r": …}}`.
pub fn reply(reply: &Reply, data: &Value) -> Value {
    let r = data.get("r").cloned().unwrap_or(Value::Null);
    match reply {
        Reply::Rows | Reply::Mutation => r,
        Reply::AggregateCount => {
            let n = r.pointer("/aggregate/count").cloned().unwrap_or(Value::from(0));
            Value::Object(Map::from_iter([("count".to_string(), n)]))
        }
        Reply::CountRows => {
            let n = r.as_array().map_or(0, Vec::len);
            Value::Object(Map::from_iter([("count".to_string(), Value::from(n))]))
        }
    }
}

/// A GraphQL error of the translated operation as a data API error: the variables the
/// translation made are the request's arguments (`$.variableValues.where.x` is
/// `$.args.where.x`); other paths become `$.args`.
pub fn error_from_graphql(code: &'static str, path: &str, message: &str) -> MetadataError {
    let path = match path.strip_prefix("$.variableValues.") {
        Some(rest) => {
            let (head, tail) = rest.split_at(rest.find(['.', '[']).unwrap_or(rest.len()));
            let head = match head {
                "_set" => "$set",
                "_inc" => "$inc",
                other => other,
            };
            format!("$.args.{head}{tail}")
        }
        None if path == "$" => "$".to_string(),
        None => "$.args".to_string(),
    };
    MetadataError::new(code, path, message)
}
