//! A role's permissions on one table, read from the metadata's permission bodies (Hasura's
//! `select_permissions`, `insert_permissions`, … shapes). `None` on a table means the admin
//! role: everything allowed.

use serde_json::Value;

use crate::dbcatalog::DbTable;
use crate::metadata::model::{Permission, TableEntry};

#[derive(Clone, Debug, Default)]
pub struct TablePerms {
    pub select: Option<SelectPerm>,
    pub insert: Option<InsertPerm>,
    pub update: Option<UpdatePerm>,
    pub delete: Option<DeletePerm>,
}

#[derive(Clone, Debug)]
pub struct SelectPerm {
    /// Per column (by index into the table's columns): selectable.
    pub columns: Vec<bool>,
    pub computed_fields: Vec<String>,
    /// Row filter in Hasura's permission boolean-expression syntax (SQL column names).
    pub filter: Value,
    pub limit: Option<u64>,
    pub allow_aggregations: bool,
    /// `None`: all of `select`, `select_by_pk`, `select_aggregate`.
    pub query_root_fields: Option<Vec<String>>,
}

#[derive(Clone, Debug)]
pub struct InsertPerm {
    pub columns: Vec<bool>,
    pub check: Value,
    /// Column (SQL name) → preset value: a JSON value, or a session variable name.
    pub set: Vec<(String, Value)>,
    pub backend_only: bool,
}

#[derive(Clone, Debug)]
pub struct UpdatePerm {
    pub columns: Vec<bool>,
    pub filter: Value,
    pub check: Option<Value>,
    pub set: Vec<(String, Value)>,
    pub backend_only: bool,
}

#[derive(Clone, Debug)]
pub struct DeletePerm {
    pub filter: Value,
    pub backend_only: bool,
}

fn columns(t: &DbTable, v: Option<&Value>) -> Vec<bool> {
    match v {
        Some(Value::String(s)) if s == "*" => vec![true; t.columns.len()],
        Some(Value::Array(cols)) => {
            t.columns.iter().map(|c| cols.iter().any(|x| x.as_str() == Some(c.name.as_str()))).collect()
        }
        _ => vec![false; t.columns.len()],
    }
}

fn presets(v: Option<&Value>) -> Vec<(String, Value)> {
    v.and_then(|s| s.as_object()).map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default()
}

fn for_role<'a>(perms: &'a [Permission], role: &str) -> Option<&'a Value> {
    perms.iter().find(|p| p.role == role).map(|p| &p.permission)
}

fn flag(v: &Value, key: &str) -> bool {
    v.get(key).and_then(|b| b.as_bool()).unwrap_or(false)
}

fn object_or_empty(v: Option<&Value>) -> Value {
    match v {
        Some(o @ Value::Object(_)) => o.clone(),
        _ => Value::Object(Default::default()),
    }
}

/// The permissions `role` has on table `t`. `backend_only` permissions count only when the
/// request asked for them (`x-hasura-use-backend-only-permissions: true`).
pub fn table_perms(entry: &TableEntry, t: &DbTable, role: &str, use_backend_only: bool) -> TablePerms {
    let select = for_role(&entry.select_permissions, role).map(|p| SelectPerm {
        columns: columns(t, p.get("columns")),
        computed_fields: p
            .get("computed_fields")
            .and_then(|c| c.as_array())
            .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
            .unwrap_or_default(),
        filter: object_or_empty(p.get("filter")),
        limit: p.get("limit").and_then(|l| l.as_u64()),
        allow_aggregations: flag(p, "allow_aggregations"),
        query_root_fields: p
            .get("query_root_fields")
            .and_then(|c| c.as_array())
            .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect()),
    });
    let visible = |p: &Value| use_backend_only || !flag(p, "backend_only");
    let insert = for_role(&entry.insert_permissions, role).filter(|p| visible(p)).map(|p| InsertPerm {
        columns: columns(t, p.get("columns")),
        check: object_or_empty(p.get("check")),
        set: presets(p.get("set")),
        backend_only: flag(p, "backend_only"),
    });
    let update = for_role(&entry.update_permissions, role).filter(|p| visible(p)).map(|p| UpdatePerm {
        columns: columns(t, p.get("columns")),
        filter: object_or_empty(p.get("filter")),
        check: p.get("check").filter(|c| c.is_object()).cloned(),
        set: presets(p.get("set")),
        backend_only: flag(p, "backend_only"),
    });
    let delete = for_role(&entry.delete_permissions, role).filter(|p| visible(p)).map(|p| DeletePerm {
        filter: object_or_empty(p.get("filter")),
        backend_only: flag(p, "backend_only"),
    });
    TablePerms { select, insert, update, delete }
}

impl TablePerms {
    pub fn is_empty(&self) -> bool {
        self.select.is_none() && self.insert.is_none() && self.update.is_none() && self.delete.is_none()
    }
}
