//! Hasura's enum-table rules: a single-column `text` primary key and at most one other (`text`)
//! comment column, with its exact messages.

use crate::dbcatalog::{DbTable, QualifiedName};
use crate::metadata::names::{dq, dq_q, pg_type_display, reasons};

/// Why `dbt` can't be an enum table: a single-column text primary key and at most one other
/// (text) comment column.
pub fn enum_problem(table: &QualifiedName, dbt: &DbTable) -> Option<String> {
    let mut errs = Vec::new();
    let pk_cols: Vec<&str> = dbt.primary_key.iter().flat_map(|pk| pk.columns.iter().map(|c| c.as_str())).collect();
    // As in Hasura, an unusable primary key counts among the "other" columns below.
    let mut usable_pk = None;
    match pk_cols.as_slice() {
        [] => errs.push("the table must have a primary key".to_string()),
        [col] => match dbt.column(col) {
            Some(c) if !is_text(&c.type_name) => errs.push(format!(
                "the table’s primary key ({}) must have type \"text\", not type {}",
                dq(col),
                dq(&pg_type_display(&c.type_name))
            )),
            _ => usable_pk = Some(*col),
        },
        many => {
            let mut cols: Vec<&str> = many.to_vec();
            cols.sort();
            errs.push(format!("the table’s primary key must not span multiple columns ({})", cols.join(", ")));
        }
    }
    let others: Vec<_> = dbt.columns.iter().filter(|c| Some(c.name.as_str()) != usable_pk).collect();
    match others.as_slice() {
        [] => {}
        [comment] => {
            if !is_text(&comment.type_name) {
                errs.push(format!(
                    "the table’s comment column ({}) must have type \"text\", not type {}",
                    dq(&comment.name),
                    dq(&pg_type_display(&comment.type_name))
                ));
            }
        }
        _ => {
            let mut cols: Vec<&str> = others.iter().map(|c| c.name.as_str()).collect();
            cols.sort();
            errs.push(format!(
                "the table must have exactly one primary key and optionally one comment column, not {} columns ({})",
                cols.len(),
                cols.join(", ")
            ));
        }
    }
    if errs.is_empty() {
        None
    } else {
        Some(format!("the table {} cannot be used as an enum {}", dq_q(table), reasons(&errs)))
    }
}

pub(crate) fn is_text(type_name: &str) -> bool {
    type_name == "text"
}
