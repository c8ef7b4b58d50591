//! `count {table, where?, distinct?}`: Hasura counts `SELECT DISTINCT c1 … cn` rows (nulls
//! included) or all rows the role may see, and needs only the select permission (no
//! `allow_aggregations`).

use serde_json::{Map, Value};

use super::select::Vars;
use super::table::{Cx, Perm};
use super::{bool_exp, Plan, Reply};
use crate::error::MetadataError;

pub fn plan(cx: &Cx, args: &Map<String, Value>) -> Result<Plan, MetadataError> {
    let suffix = "; \"count\" is only allowed if the role has \"select\" permissions on the table";
    cx.require(cx.table, Perm::Select).map_err(|mut e| {
        e.error.push_str(suffix);
        e
    })?;
    let t = cx.info();
    let mut vars = Vars::default();
    let distinct = match args.get("distinct") {
        None | Some(Value::Null) => None,
        Some(cols) => Some(
            cx.column_list("distinct", cols, Perm::Select)?.into_iter().map(|ci| Value::String(t.columns[ci].gql_name.clone())).collect::<Vec<_>>(),
        ),
    };
    let mut field_args = vec![];
    let aggregate = distinct.is_none() && t.allow_aggregations() && cx.has_root(false, &t.root.select_aggregate);
    let root = if aggregate { &t.root.select_aggregate } else { &t.root.select };
    if !cx.has_root(false, root) {
        return Err(super::select::no_root(cx, "select"));
    }
    if let Some(w) = args.get("where").filter(|w| !w.is_null()) {
        let exp = bool_exp::translate(cx, cx.table, cx.table, w, "$.args.where")?;
        let ty = cx.root_arg_type(false, root, "where").unwrap_or_default();
        field_args.push(format!("where: {}", vars.named("where", &ty, exp)));
    }
    if let Some(cols) = distinct.filter(|c| !c.is_empty()) {
        let ty = cx.root_arg_type(false, root, "distinct_on").unwrap_or_default();
        field_args.push(format!("distinct_on: {}", vars.named("distinct", &ty, Value::Array(cols))));
    }
    let field_args = if field_args.is_empty() { String::new() } else { format!("({})", field_args.join(", ")) };
    let (body, reply) = if aggregate {
        (format!("{root}{field_args} {{ aggregate {{ count }} }}"), Reply::AggregateCount)
    } else {
        // One key per row, whatever the role may select.
        (format!("{root}{field_args} {{ __typename }}"), Reply::CountRows)
    };
    let (query, variables) = vars.operation("query", &body);
    Ok(Plan { query, variables, extra: vec![], reply })
}
