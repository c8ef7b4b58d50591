//! The DSL's boolean expressions (`{"name": {"$eq": "x"}}`, `{"$or": […]}`, `{"id": 1}`) as
//! the role's `T_bool_exp` value: `$op` is `_op`, `$ne` is `_neq`, a bare value is `_eq`,
//! SQL column names become GraphQL names, and every column used must be selectable by the
//! role (Hasura's `checkSelPerm`), through relationships too.

use serde_json::{Map, Value};

use super::table::{Cx, Perm};
use crate::error::MetadataError;
use crate::schema::model::ComputedReturn;

/// Hasura's DSL operator name as the GraphQL comparison operator.
fn operator(op: &str) -> String {
    let op = op.strip_prefix('$').map(|r| format!("_{r}")).unwrap_or_else(|| op.to_string());
    match op.as_str() {
        "_ne" => "_neq".to_string(),
        "_cne" => "_cneq".to_string(),
        _ => op,
    }
}

/// The column comparison operators, whose value names a column.
fn is_column_operator(op: &str) -> bool {
    matches!(op, "_ceq" | "_cneq" | "_cgt" | "_clt" | "_cgte" | "_clte")
}

/// `exp` over rows of table `ti`, at JSON path `path`; `root` is the request's table, which
/// `["$", column]` names.
pub fn translate(cx: &Cx, ti: usize, root: usize, exp: &Value, path: &str) -> Result<Value, MetadataError> {
    // Both recurse on the request's nesting (up to graphql.dml's JSON depth bound).
    crate::stack::check(path).map_err(|e| MetadataError::new(e.code, path, e.message))?;
    crate::interrupt::tick().map_err(|e| MetadataError::new(e.code, path, e.message))?;
    let Value::Object(obj) = exp else {
        return Err(MetadataError::new("parse-failed", path, "expected a boolean expression (an Object)"));
    };
    let t = &cx.schema.tables[ti];
    let mut out = Map::new();
    for (key, v) in obj {
        let kpath = format!("{path}.{key}");
        let gkey = key.strip_prefix('$').map(|r| format!("_{r}")).unwrap_or_else(|| key.clone());
        match gkey.as_str() {
            "_and" | "_or" => {
                let Value::Array(items) = v else {
                    return Err(MetadataError::new("parse-failed", kpath, "expected Array"));
                };
                let items = items
                    .iter()
                    .enumerate()
                    .map(|(i, e)| translate(cx, ti, root, e, &format!("{kpath}[{i}]")))
                    .collect::<Result<Vec<_>, _>>()?;
                out.insert(gkey, Value::Array(items));
            }
            "_not" => {
                out.insert(gkey, translate(cx, ti, root, v, &kpath)?);
            }
            "_exists" => {
                let table = v.get("_table").cloned().unwrap_or(Value::Null);
                let target = crate::metadata::model::deserialize_qualified(table.clone())
                    .ok()
                    .and_then(|q| cx.schema.tables.iter().position(|t| t.name == q))
                    .ok_or_else(|| MetadataError::new("not-exists", format!("{kpath}._table"), format!("table {table} does not exist")))?;
                cx.require(target, Perm::Select)?;
                let w = match v.get("_where") {
                    Some(w) => translate(cx, target, root, w, &format!("{kpath}._where"))?,
                    None => Value::Object(Map::new()),
                };
                out.insert(gkey, Value::Object(Map::from_iter([("_table".to_string(), table), ("_where".to_string(), w)])));
            }
            _ => {
                if t.column_by_sql(key).is_some() {
                    let ci = cx.column(ti, key, Perm::Select, &kpath)?;
                    out.insert(t.columns[ci].gql_name.clone(), operators(cx, ti, root, v, &kpath)?);
                } else if let Some(ri) = t.rel_by_name(key) {
                    let rel = &t.relationships[ri];
                    if cx.require(rel.target, Perm::Select).is_err() {
                        return Err(MetadataError::new(
                            "permission-denied",
                            kpath,
                            format!(
                                "role \"{}\" does not have permission to read relationship \"{key}\"; no permission on table {}",
                                cx.session.role,
                                super::table::quoted_table(&cx.schema.tables[rel.target].name)
                            ),
                        ));
                    }
                    out.insert(key.clone(), translate(cx, rel.target, root, v, &kpath)?);
                } else if let Some(fi) = t.computed_by_name(key) {
                    let value = match t.computed_fields[fi].returns {
                        ComputedReturn::SetOf { table } => translate(cx, table, root, v, &kpath)?,
                        ComputedReturn::Scalar { .. } => operators(cx, ti, root, v, &kpath)?,
                    };
                    out.insert(key.clone(), value);
                } else {
                    // Unknown to the admin, or hidden from the role: Hasura answers both as a
                    // missing permission to a role.
                    cx.column(ti, key, Perm::Select, &kpath)?;
                }
            }
        }
    }
    Ok(Value::Object(out))
}

/// A column's operators; a value that is not an object means `_eq`.
fn operators(cx: &Cx, ti: usize, root: usize, v: &Value, path: &str) -> Result<Value, MetadataError> {
    let Value::Object(ops) = v else {
        return Ok(Value::Object(Map::from_iter([("_eq".to_string(), v.clone())])));
    };
    let mut out = Map::new();
    for (op, val) in ops {
        let gop = operator(op);
        let opath = format!("{path}.{op}");
        if is_column_operator(&gop) {
            // The operand's columns are checked first (a hidden one is a permission error).
            // GraphQL has no column comparison, and the where is validated as GraphQL.
            column_operand(cx, ti, root, val, &opath)?;
            return Err(MetadataError::new(
                "not-supported",
                opath,
                "column comparison operators ($ceq, $cgt …) in a data API where are not supported by Graft: use a permission filter",
            ));
        }
        let val = val.clone();
        out.insert(gop, val);
    }
    Ok(Value::Object(out))
}

/// The operand of `_ceq` and friends: a column of the same table, or `["$", column]` of the
/// request's table; selectable by the role, given by its GraphQL name.
fn column_operand(cx: &Cx, ti: usize, root: usize, v: &Value, path: &str) -> Result<Value, MetadataError> {
    match v {
        Value::String(c) => {
            let ci = cx.column(ti, c, Perm::Select, path)?;
            Ok(Value::String(cx.schema.tables[ti].columns[ci].gql_name.clone()))
        }
        Value::Array(items) if items.len() == 2 && items[0] == "$" => {
            let c = items[1].as_str().ok_or_else(|| MetadataError::new("parse-failed", path, "expected a column name"))?;
            let ci = cx.column(root, c, Perm::Select, path)?;
            Ok(Value::Array(vec![Value::from("$"), Value::String(cx.schema.tables[root].columns[ci].gql_name.clone())]))
        }
        _ => Err(MetadataError::new("parse-failed", path, "expected a column name, or [\"$\", column name]")),
    }
}
