//! A role's permissions on one table, read from the metadata's permission bodies (Hasura's
//! `select_permissions`, `insert_permissions`, … shapes). `None` on a table means the admin
//! role: everything allowed.

use std::collections::HashMap;

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
    /// Inherited roles: per column, the filter under which the cell is shown (`None`: always,
    /// when the row is visible). Cells outside it read as null, as Hasura defines it.
    pub column_filters: Vec<Option<Value>>,
    pub computed_fields: Vec<String>,
    /// Inherited roles: scalar computed fields (by name) shown only under a filter, like
    /// `column_filters`.
    pub computed_filters: Vec<(String, Value)>,
    /// Row filter in Hasura's permission boolean-expression syntax (SQL column names).
    pub filter: Value,
    pub limit: Option<u64>,
    pub allow_aggregations: bool,
    /// `None`: all of `select`, `select_by_pk`, `select_aggregate`.
    pub query_root_fields: Option<Vec<String>>,
    /// `None`: all of `select`, `select_by_pk`, `select_aggregate`, `select_stream`.
    pub subscription_root_fields: Option<Vec<String>>,
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

/// The columns a permission's `columns` grants. Only an insert permission may leave it out
/// (Hasura's `fromMaybe PCStar`: every column); the metadata checks refuse a select or update
/// permission without it, and here a missing list grants nothing (fail closed).
fn columns(t: &DbTable, v: Option<&Value>, absent_means_all: bool) -> Vec<bool> {
    match v {
        None | Some(Value::Null) if absent_means_all => vec![true; t.columns.len()],
        Some(Value::String(s)) if s == "*" => vec![true; t.columns.len()],
        Some(Value::Array(cols)) => {
            t.columns.iter().map(|c| cols.iter().any(|x| x.as_str() == Some(c.name.as_str()))).collect()
        }
        _ => vec![false; t.columns.len()],
    }
}

/// A permission's `query_root_fields` / `subscription_root_fields`: `None` when absent (every
/// root field allowed), else the listed names.
fn root_field_list(p: &Value, key: &str) -> Option<Vec<String>> {
    p.get(key).and_then(|c| c.as_array()).map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
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

/// A boolean expression that no row satisfies.
fn deny() -> Value {
    serde_json::json!({"_or": []})
}

/// A permission's row filter or check: absent (or null) allows every row, an object is the
/// expression, anything else denies every row. The metadata checks refuse such bodies and the
/// schema leaves inconsistent permissions out; this is the last line, so it fails closed.
fn object_or_empty(v: Option<&Value>) -> Value {
    match v {
        Some(o @ Value::Object(_)) => o.clone(),
        None | Some(Value::Null) => Value::Object(Default::default()),
        Some(_) => deny(),
    }
}

/// The permissions `role` has on table `t`. `backend_only` permissions count only when the
/// request asked for them (`x-hasura-use-backend-only-permissions: true`).
pub fn table_perms(entry: &TableEntry, t: &DbTable, role: &str, use_backend_only: bool) -> TablePerms {
    let select = for_role(&entry.select_permissions, role).map(|p| SelectPerm {
        columns: columns(t, p.get("columns"), false),
        column_filters: vec![None; t.columns.len()],
        computed_fields: p
            .get("computed_fields")
            .and_then(|c| c.as_array())
            .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
            .unwrap_or_default(),
        computed_filters: vec![],
        filter: object_or_empty(p.get("filter")),
        // A limit that is not a non-negative integer allows no row (fail closed).
        limit: p.get("limit").filter(|l| !l.is_null()).map(|l| l.as_u64().unwrap_or(0)),
        allow_aggregations: flag(p, "allow_aggregations"),
        query_root_fields: root_field_list(p, "query_root_fields"),
        subscription_root_fields: root_field_list(p, "subscription_root_fields"),
    });
    let visible = |p: &Value| use_backend_only || !flag(p, "backend_only");
    let insert = for_role(&entry.insert_permissions, role).filter(|p| visible(p)).map(|p| InsertPerm {
        columns: columns(t, p.get("columns"), true),
        check: object_or_empty(p.get("check")),
        set: presets(p.get("set")),
        backend_only: flag(p, "backend_only"),
    });
    let update = for_role(&entry.update_permissions, role).filter(|p| visible(p)).map(|p| UpdatePerm {
        columns: columns(t, p.get("columns"), false),
        filter: object_or_empty(p.get("filter")),
        check: p.get("check").filter(|c| !c.is_null()).map(|c| object_or_empty(Some(c))),
        set: presets(p.get("set")),
        backend_only: flag(p, "backend_only"),
    });
    let delete = for_role(&entry.delete_permissions, role).filter(|p| visible(p)).map(|p| DeletePerm {
        filter: object_or_empty(p.get("filter")),
        backend_only: flag(p, "backend_only"),
    });
    TablePerms { select, insert, update, delete }
}

/// Permissions of `role`, which may be an inherited role: a permission defined on the role
/// itself wins; otherwise select permissions are the union of the parents' (row filter OR-ed,
/// columns shown per cell), and mutation permissions are inherited only when every parent has
/// the same one.
pub fn resolve_perms(
    entry: &TableEntry,
    t: &DbTable,
    role: &str,
    backend_only: bool,
    parents_of: &dyn Fn(&str) -> Vec<String>,
    depth: usize,
) -> TablePerms {
    resolve_memo(entry, t, role, backend_only, parents_of, depth, &mut HashMap::new())
}

/// [`resolve_perms`], each (role, depth) computed once: roles inheriting from roles that share
/// parents (a diamond) would otherwise be resolved once per path, exponentially many.
fn resolve_memo(
    entry: &TableEntry,
    t: &DbTable,
    role: &str,
    backend_only: bool,
    parents_of: &dyn Fn(&str) -> Vec<String>,
    depth: usize,
    memo: &mut HashMap<(String, usize), TablePerms>,
) -> TablePerms {
    if let Some(p) = memo.get(&(role.to_string(), depth)) {
        return p.clone();
    }
    let own = table_perms(entry, t, role, backend_only);
    let parents = parents_of(role);
    if parents.is_empty() || depth > 16 {
        return own;
    }
    let inherited: Vec<TablePerms> =
        parents.iter().map(|p| resolve_memo(entry, t, p, backend_only, parents_of, depth + 1, memo)).collect();
    let resolved = resolve_from(own, &inherited, t);
    memo.insert((role.to_string(), depth), resolved.clone());
    resolved
}

fn resolve_from(own: TablePerms, inherited: &[TablePerms], t: &DbTable) -> TablePerms {
    TablePerms {
        select: own.select.or_else(|| union_select(inherited, t.columns.len())),
        insert: own.insert.or_else(|| same(inherited.iter().map(|p| p.insert.clone()))),
        update: own.update.or_else(|| same(inherited.iter().map(|p| p.update.clone()))),
        delete: own.delete.or_else(|| same(inherited.iter().map(|p| p.delete.clone()))),
    }
}

/// The one permission every parent has, if they all have it and it is the same.
fn same<P: Clone + std::fmt::Debug>(mut perms: impl Iterator<Item = Option<P>>) -> Option<P> {
    let first = perms.next()??;
    let key = format!("{first:?}");
    for p in perms {
        if format!("{:?}", p?) != key {
            return None;
        }
    }
    Some(first)
}

fn union_select(parents: &[TablePerms], ncols: usize) -> Option<SelectPerm> {
    let sels: Vec<&SelectPerm> = parents.iter().filter_map(|p| p.select.as_ref()).collect();
    if sels.is_empty() {
        return None;
    }
    // Identical filters are OR-ed once: with roles inheriting through shared parents, the
    // filter would otherwise double (or worse) at every level.
    let or = |fs: Vec<&Value>| {
        let mut distinct: Vec<&Value> = vec![];
        for f in fs {
            if !distinct.contains(&f) {
                distinct.push(f);
            }
        }
        if distinct.len() == 1 {
            distinct[0].clone()
        } else {
            serde_json::json!({"_or": distinct.into_iter().cloned().collect::<Vec<_>>()})
        }
    };
    let filter = or(sels.iter().map(|s| &s.filter).collect());
    let mut columns = vec![false; ncols];
    let mut column_filters = vec![None; ncols];
    for ci in 0..ncols {
        let granting: Vec<&&SelectPerm> = sels.iter().filter(|s| s.columns[ci]).collect();
        columns[ci] = !granting.is_empty();
        // A parent that is itself inherited may show the cell on only some of its rows: its
        // cell filter, not its row filter, is what it grants.
        let narrowed = granting.iter().any(|s| s.column_filters[ci].is_some());
        if !granting.is_empty() && (granting.len() < sels.len() || narrowed) {
            let fs: Vec<Value> = granting.iter().map(|s| s.column_filters[ci].clone().unwrap_or_else(|| s.filter.clone())).collect();
            column_filters[ci] = Some(or(fs.iter().collect()));
        }
    }
    let limit = if sels.iter().any(|s| s.limit.is_none()) { None } else { sels.iter().filter_map(|s| s.limit).max() };
    // A parent that lists no root fields allows them all; otherwise the union of the lists.
    let union_roots = |get: fn(&SelectPerm) -> &Option<Vec<String>>| {
        if sels.iter().any(|s| get(s).is_none()) {
            return None;
        }
        let mut all: Vec<String> = sels.iter().flat_map(|s| get(s).clone().unwrap_or_default()).collect();
        all.sort();
        all.dedup();
        Some(all)
    };
    let query_root_fields = union_roots(|s| &s.query_root_fields);
    let subscription_root_fields = union_roots(|s| &s.subscription_root_fields);
    let mut computed_fields: Vec<String> = sels.iter().flat_map(|s| s.computed_fields.clone()).collect();
    computed_fields.sort();
    computed_fields.dedup();
    let mut computed_filters = vec![];
    for name in &computed_fields {
        let granting: Vec<&&SelectPerm> = sels.iter().filter(|s| s.computed_fields.contains(name)).collect();
        let own = |s: &SelectPerm| s.computed_filters.iter().find(|(n, _)| n == name).map(|(_, f)| f.clone());
        let narrowed = granting.iter().any(|s| own(s).is_some());
        if granting.len() < sels.len() || narrowed {
            let fs: Vec<Value> = granting.iter().map(|s| own(s).unwrap_or_else(|| s.filter.clone())).collect();
            computed_filters.push((name.clone(), if fs.len() == 1 { fs[0].clone() } else { serde_json::json!({"_or": fs}) }));
        }
    }
    Some(SelectPerm {
        columns,
        column_filters,
        computed_fields,
        computed_filters,
        filter,
        limit,
        allow_aggregations: sels.iter().any(|s| s.allow_aggregations),
        query_root_fields,
        subscription_root_fields,
    })
}

impl TablePerms {
    pub fn is_empty(&self) -> bool {
        self.select.is_none() && self.insert.is_none() && self.update.is_none() && self.delete.is_none()
    }
}
