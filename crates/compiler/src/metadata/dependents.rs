//! Objects that depend on a table, relationship or computed field being removed: Hasura refuses
//! the removal ("cannot drop due to the following dependent objects: …") unless `cascade`, and
//! then removes them too.

use serde_json::{Map, Value};

use crate::dbcatalog::{DbCatalog, QualifiedName};
use crate::error::MetadataError;
use crate::metadata::consistency::{return_table, single_fk, single_function};
use crate::metadata::model::{FkOn, PermKind, RelUsing, Relationship, Source, TableEntry};
use crate::metadata::names::{display, dq};

#[derive(Clone, Debug, PartialEq)]
pub enum Dependent {
    Relationship { table: QualifiedName, name: String },
    ComputedField { table: QualifiedName, name: String },
    Permission { table: QualifiedName, role: String, kind: PermKind },
    Function { function: QualifiedName },
}

impl Dependent {
    /// Hasura's `reportSchemaObj`: `relationship article.author in source "default"`.
    pub fn report(&self, source: &str) -> String {
        let what = match self {
            Dependent::Relationship { table, name } => format!("relationship {}.{name}", display(table)),
            Dependent::ComputedField { table, name } => format!("computed field {}.{name}", display(table)),
            Dependent::Permission { table, role, kind } => {
                format!("permission {}.{role}.{}", display(table), kind.code())
            }
            Dependent::Function { function } => format!("function {}", display(function)),
        };
        format!("{what} in source {}", dq(source))
    }

    pub fn remove(&self, src: &mut Source) {
        match self {
            Dependent::Relationship { table, name } => {
                if let Some(t) = src.table_mut(table) {
                    t.object_relationships.retain(|r| &r.name != name);
                    t.array_relationships.retain(|r| &r.name != name);
                }
            }
            Dependent::ComputedField { table, name } => {
                if let Some(t) = src.table_mut(table) {
                    t.computed_fields.retain(|c| &c.name != name);
                }
            }
            Dependent::Permission { table, role, kind } => {
                if let Some(t) = src.table_mut(table) {
                    t.permissions_mut(*kind).retain(|p| &p.role != role);
                }
            }
            Dependent::Function { function } => src.functions.retain(|f| &f.function != function),
        }
    }
}

/// Fail with `dependency-error` when there are dependents and no `cascade`; else remove them.
pub fn remove_or_refuse(src: &mut Source, deps: &[Dependent], cascade: bool) -> Result<(), MetadataError> {
    if !deps.is_empty() && !cascade {
        let mut reports: Vec<String> = deps.iter().map(|d| d.report(&src.name)).collect();
        reports.sort();
        reports.dedup();
        return Err(MetadataError::new(
            "dependency-error",
            "$.args",
            format!("cannot drop due to the following dependent objects: {}", reports.join(", ")),
        ));
    }
    for d in deps {
        d.remove(src);
    }
    Ok(())
}

/// What points at tracked table `table` from elsewhere: relationships of other tables targeting
/// it (and permissions using those), computed fields returning its rows, functions returning it.
pub fn of_table(src: &Source, db: &DbCatalog, table: &QualifiedName) -> Vec<Dependent> {
    let mut out = Vec::new();
    for t in src.tables.iter().filter(|t| &t.table != table) {
        for rel in t.object_relationships.iter().chain(&t.array_relationships) {
            if relationship_target(&t.table, rel, db).as_ref() == Some(table) {
                out.push(Dependent::Relationship { table: t.table.clone(), name: rel.name.clone() });
                out.extend(of_field(t, &rel.name));
            }
        }
        for cf in &t.computed_fields {
            let returns_table = single_function(db, &cf.definition.function)
                .ok()
                .filter(|f| f.returns_set)
                .and_then(|f| return_table(db, f));
            if returns_table.as_ref() == Some(table) {
                out.push(Dependent::ComputedField { table: t.table.clone(), name: cf.name.clone() });
                out.extend(of_field(t, &cf.name));
            }
        }
    }
    for f in &src.functions {
        let returns = single_function(db, &f.function).ok().and_then(|df| return_table(db, df));
        if returns.as_ref() == Some(table) {
            out.push(Dependent::Function { function: f.function.clone() });
        }
    }
    out
}

/// Permissions of `t` that use field `name` (a relationship or computed field).
pub fn of_field(t: &TableEntry, name: &str) -> Vec<Dependent> {
    let mut out = Vec::new();
    for kind in PermKind::ALL {
        for p in t.permissions(kind) {
            if permission_mentions(&p.permission, name) {
                out.push(Dependent::Permission { table: t.table.clone(), role: p.role.clone(), kind });
            }
        }
    }
    out
}

/// The table a relationship of `owner` points at.
pub fn relationship_target(owner: &QualifiedName, rel: &Relationship, db: &DbCatalog) -> Option<QualifiedName> {
    match &rel.using {
        RelUsing::ForeignKey(FkOn::Remote(r)) => Some(r.table.clone()),
        RelUsing::ForeignKey(on) => {
            let dbt = db.table(&owner.schema, &owner.name)?;
            let fk = single_fk(dbt, &on.columns(), |_| true).ok()?;
            Some(QualifiedName::new(&fk.ref_schema, &fk.ref_table))
        }
        RelUsing::Manual(m) => Some(m.remote_table.clone()),
    }
}

/// Whether a permission body uses `field` in its `filter`/`check` (at this table's level), or
/// lists it in `columns`/`computed_fields`.
pub fn permission_mentions(body: &Value, field: &str) -> bool {
    let in_list = |key: &str| {
        body.get(key).and_then(|v| v.as_array()).is_some_and(|a| a.iter().any(|c| c.as_str() == Some(field)))
    };
    ["filter", "check"].iter().any(|k| body.get(*k).is_some_and(|b| bool_exp_mentions(b, field, 0)))
        || in_list("computed_fields")
        || in_list("columns")
}

fn bool_exp_mentions(exp: &Value, field: &str, depth: usize) -> bool {
    if depth > 64 {
        return false;
    }
    match exp {
        Value::Object(o) => o.iter().any(|(k, v)| match k.as_str() {
            "_and" | "_or" | "_not" => bool_exp_mentions(v, field, depth + 1),
            _ => k == field,
        }),
        Value::Array(items) => items.iter().any(|v| bool_exp_mentions(v, field, depth + 1)),
        _ => false,
    }
}

/// Rename field `old` to `new` in a permission body's `filter` and `check`, keeping key order.
pub fn rename_in_permission(body: &mut Value, old: &str, new: &str) {
    for key in ["filter", "check"] {
        if let Some(exp) = body.get_mut(key) {
            rename_in_bool_exp(exp, old, new, 0);
        }
    }
}

fn rename_in_bool_exp(exp: &mut Value, old: &str, new: &str, depth: usize) {
    if depth > 64 {
        return;
    }
    match exp {
        Value::Object(o) => {
            let renamed: Map<String, Value> = std::mem::take(o)
                .into_iter()
                .map(|(k, mut v)| match k.as_str() {
                    "_and" | "_or" | "_not" => {
                        rename_in_bool_exp(&mut v, old, new, depth + 1);
                        (k, v)
                    }
                    _ if k == old => (new.to_string(), v),
                    _ => (k, v),
                })
                .collect();
            *o = renamed;
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rename_in_bool_exp(v, old, new, depth + 1)),
        _ => {}
    }
}
