//! After a `run_sql` changed the schema, the metadata follows it as Hasura's does:
//! * a renamed or moved table keeps its metadata under its new name;
//! * a renamed column keeps its custom name, permissions, relationships and event trigger
//!   columns; a dropped column loses its custom name;
//! * a dropped table is untracked;
//! * whatever is left inconsistent (compared with before the SQL) is a `dependency-error`,
//!   or, with `cascade`, dropped from the metadata.

use axum::response::Response;
use serde_json::{json, Map, Value};

use super::error;
use super::run_sql::{metadata_in_tx, sql_error};

pub type TableName = (String, String);

/// What [`follow_schema_changes`] compares with, taken before the first schema-changing SQL.
pub struct Snapshot {
    /// Tracked tables and views, with their oids.
    tables: Vec<(TableName, Option<u32>)>,
    /// Names of the objects already inconsistent.
    inconsistent: Vec<String>,
    /// The tracked tables' columns: (table oid, attnum, name).
    columns: Vec<(u32, i16, String)>,
}

pub async fn snapshot(tx: &tokio_postgres::Transaction<'_>) -> Result<Snapshot, Response> {
    let tables = tracked_tables(tx).await?;
    let oids: Vec<u32> = tables.iter().filter_map(|(_, o)| *o).collect();
    let columns = columns_of(tx, &oids).await?;
    let inconsistent = inconsistent(tx).await?.into_iter().map(|(name, _)| name).collect();
    Ok(Snapshot { tables, inconsistent, columns })
}

const COLUMNS_SQL: &str = "SELECT attrelid::oid, attnum, attname::text FROM pg_catalog.pg_attribute \
                           WHERE attrelid = ANY($1::oid[]) AND attnum > 0 AND NOT attisdropped";

async fn columns_of(tx: &tokio_postgres::Transaction<'_>, oids: &[u32]) -> Result<Vec<(u32, i16, String)>, Response> {
    let rows = tx.query(COLUMNS_SQL, &[&oids]).await.map_err(|e| sql_error(COLUMNS_SQL, e))?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect())
}

/// A column of a tracked table that changed: its new name, or `None` when dropped.
struct ColumnChange {
    table: TableName,
    old: String,
    new: Option<String>,
}

pub async fn follow_schema_changes(tx: &tokio_postgres::Transaction<'_>, before: &Snapshot, cascade: bool) -> Result<(), Response> {
    let mut renamed = Vec::new();
    for (old, now) in vanished_tables(tx, &before.tables).await? {
        match now {
            Some(new) => renamed.push((old, new)),
            None => {
                let untrack = json!({"type": "pg_untrack_table", "args": {"source": "default", "table": {"schema": old.0, "name": old.1}, "cascade": cascade}});
                metadata_in_tx(tx, &untrack.to_string()).await?;
            }
        }
    }
    let columns = column_changes(tx, before).await?;
    if !renamed.is_empty() || !columns.is_empty() {
        // ALTER TABLE … RENAME / SET SCHEMA / RENAME COLUMN / DROP COLUMN: the metadata follows.
        let mut md = metadata_in_tx(tx, r#"{"type": "export_metadata", "args": {}}"#).await?;
        for (old, new) in &renamed {
            rename_table_refs(&mut md, old, new);
        }
        for c in &columns {
            follow_column(&mut md, c);
        }
        // Allowing what is already inconsistent (unsupported sections, say): what the SQL broke
        // is found just below, against the snapshot.
        let replace = json!({"type": "replace_metadata", "version": 2, "args": {"allow_inconsistent_metadata": true, "metadata": md}});
        metadata_in_tx(tx, &replace.to_string()).await?;
    }
    let broken: Vec<(String, Value)> =
        inconsistent(tx).await?.into_iter().filter(|(name, _)| !before.inconsistent.contains(name)).collect();
    if !cascade {
        if broken.is_empty() {
            return Ok(());
        }
        let names: Vec<String> = broken.into_iter().map(|(name, _)| name).collect();
        return Err(error(400, "dependency-error", &format!("cannot drop due to the following dependent objects: {}", names.join(", "))));
    }
    for (name, object) in broken {
        match drop_request(&object) {
            Some(drop) => {
                // An object dropped with an earlier one (a permission with its table) is gone.
                let still = inconsistent(tx).await?.iter().any(|(n, _)| n == &name);
                if still {
                    metadata_in_tx(tx, &drop.to_string()).await?;
                }
            }
            None => {
                return Err(error(400, "dependency-error", &format!("cannot drop due to the following dependent objects: {name}")));
            }
        }
    }
    Ok(())
}

/// The metadata request that removes inconsistent object `object` (as
/// `get_inconsistent_metadata` reports it), for `cascade`.
fn drop_request(object: &Value) -> Option<Value> {
    let d = &object["definition"];
    let ty = object["type"].as_str()?;
    let args = match ty {
        "object_relation" | "array_relation" => json!({"source": "default", "table": d["table"], "relationship": d["name"], "cascade": true}),
        "computed_field" => json!({"source": "default", "table": d["table"], "name": d["name"], "cascade": true}),
        "function" => json!({"source": "default", "function": d["function"]}),
        "table" => json!({"source": "default", "table": d, "cascade": true}),
        "event_trigger" => json!({"source": "default", "name": d["configuration"]["name"]}),
        t if t.ends_with("_permission") => json!({"source": "default", "table": d["table"], "role": d["role"]}),
        _ => return None,
    };
    let request = match ty {
        "object_relation" | "array_relation" => "pg_drop_relationship".to_string(),
        "computed_field" => "pg_drop_computed_field".to_string(),
        "function" => "pg_untrack_function".to_string(),
        "table" => "pg_untrack_table".to_string(),
        "event_trigger" => "pg_delete_event_trigger".to_string(),
        t => format!("pg_drop_{}", t),
    };
    Some(json!({"type": request, "args": args}))
}

/// Columns of the tables still there (by oid, so after a table rename too) that were renamed
/// or dropped.
async fn column_changes(tx: &tokio_postgres::Transaction<'_>, before: &Snapshot) -> Result<Vec<ColumnChange>, Response> {
    const NAMES_SQL: &str = "SELECT c.oid, n.nspname::text, c.relname::text FROM pg_catalog.pg_class c \
                             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = ANY($1::oid[])";
    let oids: Vec<u32> = before.tables.iter().filter_map(|(_, o)| *o).collect();
    let rows = tx.query(NAMES_SQL, &[&oids]).await.map_err(|e| sql_error(NAMES_SQL, e))?;
    let names: std::collections::HashMap<u32, TableName> = rows.iter().map(|r| (r.get(0), (r.get(1), r.get(2)))).collect();
    let now = columns_of(tx, &oids).await?;
    let mut out = vec![];
    for (oid, attnum, old) in &before.columns {
        let Some(table) = names.get(oid) else { continue };
        let current = now.iter().find(|(o, a, _)| o == oid && a == attnum).map(|(_, _, n)| n.clone());
        if current.as_deref() != Some(old.as_str()) {
            out.push(ColumnChange { table: table.clone(), old: old.clone(), new: current });
        }
    }
    Ok(out)
}

/// Whether a metadata table reference (`"name"` in public, or `{"schema", "name"}`) is `t`.
fn is_table(v: &Value, t: &TableName) -> bool {
    match v {
        Value::String(n) => t.0 == "public" && n == &t.1,
        Value::Object(m) => {
            m.get("schema").and_then(Value::as_str).unwrap_or("public") == t.0 && m.get("name").and_then(Value::as_str) == Some(&t.1)
        }
        _ => false,
    }
}

fn rename_key(m: &mut Map<String, Value>, old: &str, new: Option<&str>) {
    // Rebuilt to keep the key's place.
    if !m.contains_key(old) {
        return;
    }
    let entries: Vec<(String, Value)> = std::mem::take(m).into_iter().collect();
    for (k, v) in entries {
        match (k == old, new) {
            (true, Some(n)) => {
                m.insert(n.to_string(), v);
            }
            (true, None) => {}
            (false, _) => {
                m.insert(k, v);
            }
        }
    }
}

fn rename_in_list(v: &mut Value, old: &str, new: &str) {
    if let Value::Array(items) = v {
        for x in items.iter_mut() {
            if x.as_str() == Some(old) {
                *x = Value::String(new.to_string());
            }
        }
    }
}

/// A permission boolean expression of the changed table: its column keys (through `_and`,
/// `_or`, `_not`; relationship keys lead to other tables and are left alone).
fn rename_in_bool_exp(v: &mut Value, old: &str, new: &str) {
    let Value::Object(m) = v else { return };
    rename_key(m, old, Some(new));
    for (k, child) in m.iter_mut() {
        match k.as_str() {
            "_and" | "_or" | "$and" | "$or" => {
                if let Value::Array(items) = child {
                    items.iter_mut().for_each(|e| rename_in_bool_exp(e, old, new));
                }
            }
            "_not" | "$not" => rename_in_bool_exp(child, old, new),
            _ => {}
        }
    }
}

/// Follow one column change in the exported metadata.
fn follow_column(md: &mut Value, c: &ColumnChange) {
    let Some(sources) = md.get_mut("sources").and_then(Value::as_array_mut) else { return };
    for src in sources {
        let Some(tables) = src.get_mut("tables").and_then(Value::as_array_mut) else { continue };
        for t in tables {
            let own = is_table(&t["table"], &c.table);
            if own {
                if let Some(conf) = t.get_mut("configuration").and_then(Value::as_object_mut) {
                    for key in ["column_config", "custom_column_names"] {
                        if let Some(m) = conf.get_mut(key).and_then(Value::as_object_mut) {
                            rename_key(m, &c.old, c.new.as_deref());
                        }
                    }
                }
            }
            // A dropped column's other uses stay: they are what the dependency check reports.
            let Some(new) = c.new.as_deref() else { continue };
            if own {
                follow_own_uses(t, &c.old, new);
            }
            // Other tables' relationships into this table name its columns too.
            for kind in ["object_relationships", "array_relationships"] {
                for rel in t.get_mut(kind).and_then(Value::as_array_mut).into_iter().flatten() {
                    let using = &mut rel["using"];
                    if let Some(fk) = using.get_mut("foreign_key_constraint_on").filter(|f| f.is_object()) {
                        if is_table(&fk["table"], &c.table) {
                            if fk["column"].as_str() == Some(&c.old) {
                                fk["column"] = Value::String(new.to_string());
                            }
                            rename_in_list(&mut fk["columns"], &c.old, new);
                        }
                    }
                    if let Some(manual) = using.get_mut("manual_configuration") {
                        if is_table(&manual["remote_table"], &c.table) {
                            if let Some(m) = manual.get_mut("column_mapping").and_then(Value::as_object_mut) {
                                for v in m.values_mut() {
                                    if v.as_str() == Some(&c.old) {
                                        *v = Value::String(new.to_string());
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A renamed column's uses in its own table's metadata.
fn follow_own_uses(t: &mut Value, old: &str, new: &str) {
    for kind in ["select_permissions", "insert_permissions", "update_permissions", "delete_permissions"] {
        for p in t.get_mut(kind).and_then(Value::as_array_mut).into_iter().flatten() {
            let body = &mut p["permission"];
            rename_in_list(&mut body["columns"], old, new);
            if let Some(set) = body.get_mut("set").and_then(Value::as_object_mut) {
                rename_key(set, old, Some(new));
            }
            for key in ["filter", "check"] {
                if let Some(e) = body.get_mut(key) {
                    rename_in_bool_exp(e, old, new);
                }
            }
        }
    }
    for kind in ["object_relationships", "array_relationships"] {
        for rel in t.get_mut(kind).and_then(Value::as_array_mut).into_iter().flatten() {
            let using = &mut rel["using"];
            match using.get_mut("foreign_key_constraint_on") {
                Some(Value::String(col)) if col == old => *col = new.to_string(),
                Some(Value::Array(cols)) => cols.iter_mut().filter(|x| x.as_str() == Some(old)).for_each(|x| *x = Value::String(new.to_string())),
                _ => {}
            }
            if let Some(m) = using.pointer_mut("/manual_configuration/column_mapping").and_then(Value::as_object_mut) {
                rename_key(m, old, Some(new));
            }
        }
    }
    for et in t.get_mut("event_triggers").and_then(Value::as_array_mut).into_iter().flatten() {
        for op in ["insert", "update", "delete"] {
            if let Some(spec) = et.pointer_mut(&format!("/definition/{op}")) {
                rename_in_list(&mut spec["columns"], old, new);
                rename_in_list(&mut spec["payload"], old, new);
            }
        }
    }
}

/// Every tracked table and view: (schema, name) and its oid, if it exists.
async fn tracked_tables(tx: &tokio_postgres::Transaction<'_>) -> Result<Vec<(TableName, Option<u32>)>, Response> {
    const SQL: &str = "SELECT to_regclass(format('%I.%I', s, n))::oid FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS t(s, n, i) ORDER BY i";
    let md = metadata_in_tx(tx, r#"{"type": "export_metadata", "args": {}}"#).await?;
    let tables = md["sources"].as_array().into_iter().flatten().flat_map(|s| s["tables"].as_array().into_iter().flatten());
    let names: Vec<TableName> = tables
        .filter_map(|t| {
            let t = &t["table"];
            match t {
                Value::String(n) => Some(("public".to_string(), n.clone())),
                _ => Some((t["schema"].as_str().unwrap_or("public").to_string(), t["name"].as_str()?.to_string())),
            }
        })
        .collect();
    let schemas: Vec<&str> = names.iter().map(|(s, _)| s.as_str()).collect();
    let rels: Vec<&str> = names.iter().map(|(_, n)| n.as_str()).collect();
    let rows = tx.query(SQL, &[&schemas, &rels]).await.map_err(|e| sql_error(SQL, e))?;
    Ok(names.into_iter().zip(rows.iter().map(|r| r.get::<_, Option<u32>>(0))).collect())
}

/// Replace references to table `old` by `new` everywhere in the metadata: `{"schema", "name"}`
/// objects, and plain names (public schema) under `table` / `remote_table`.
fn rename_table_refs(v: &mut Value, old: &TableName, new: &TableName) {
    match v {
        Value::Object(m) => {
            if m.len() == 2 && m.get("schema").and_then(|s| s.as_str()) == Some(&old.0) && m.get("name").and_then(|n| n.as_str()) == Some(&old.1) {
                m.insert("schema".into(), Value::String(new.0.clone()));
                m.insert("name".into(), Value::String(new.1.clone()));
                return;
            }
            for (k, child) in m.iter_mut() {
                if (k == "table" || k == "remote_table") && old.0 == "public" && child.as_str() == Some(&old.1) {
                    *child = if new.0 == "public" { Value::String(new.1.clone()) } else { json!({"schema": new.0, "name": new.1}) };
                } else {
                    rename_table_refs(child, old, new);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| rename_table_refs(x, old, new)),
        _ => {}
    }
}

/// The metadata's inconsistent objects: (name, object).
async fn inconsistent(tx: &tokio_postgres::Transaction<'_>) -> Result<Vec<(String, Value)>, Response> {
    let r = metadata_in_tx(tx, r#"{"type": "get_inconsistent_metadata", "args": {}}"#).await?;
    Ok(r["inconsistent_objects"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|o| (o["name"].as_str().map_or_else(|| o.to_string(), str::to_string), o.clone()))
        .collect())
}

/// The tables of `before` that no longer exist under their name: with their new name when the
/// relation itself still exists (renamed or moved), `None` when it was dropped.
async fn vanished_tables(
    tx: &tokio_postgres::Transaction<'_>,
    before: &[(TableName, Option<u32>)],
) -> Result<Vec<(TableName, Option<TableName>)>, Response> {
    const SQL: &str = "SELECT t.s, t.n, ns.nspname::text, c.relname::text \
                       FROM unnest($1::text[], $2::text[], $3::oid[]) AS t(s, n, o) \
                       LEFT JOIN pg_class c ON c.oid = t.o LEFT JOIN pg_namespace ns ON ns.oid = c.relnamespace \
                       WHERE to_regclass(format('%I.%I', t.s, t.n)) IS NULL";
    let schemas: Vec<&str> = before.iter().map(|((s, _), _)| s.as_str()).collect();
    let names: Vec<&str> = before.iter().map(|((_, n), _)| n.as_str()).collect();
    let oids: Vec<Option<u32>> = before.iter().map(|(_, o)| *o).collect();
    let rows = tx.query(SQL, &[&schemas, &names, &oids]).await.map_err(|e| sql_error(SQL, e))?;
    Ok(rows
        .iter()
        .map(|r| {
            let now = match (r.get::<_, Option<String>>(2), r.get::<_, Option<String>>(3)) {
                (Some(s), Some(n)) => Some((s, n)),
                _ => None,
            };
            ((r.get(0), r.get(1)), now)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renames_follow_the_table() {
        let mut md = json!({"sources": [{"tables": [
            {"table": {"schema": "public", "name": "a"}, "object_relationships": [{"name": "b", "using": {"manual_configuration": {"remote_table": "b"}}}]},
            {"table": {"schema": "public", "name": "b"}, "array_relationships": [{"name": "as", "using": {"foreign_key_constraint_on": {"table": {"schema": "public", "name": "a"}, "column": "b_id"}}}]}]}]});
        rename_table_refs(&mut md, &("public".into(), "a".into()), &("public".into(), "alpha".into()));
        rename_table_refs(&mut md, &("public".into(), "b".into()), &("other".into(), "beta".into()));
        let t = &md["sources"][0]["tables"];
        assert_eq!(t[0]["table"], json!({"schema": "public", "name": "alpha"}));
        assert_eq!(t[0]["object_relationships"][0]["using"]["manual_configuration"]["remote_table"], json!({"schema": "other", "name": "beta"}));
        assert_eq!(t[1]["table"], json!({"schema": "other", "name": "beta"}));
        assert_eq!(t[1]["array_relationships"][0]["using"]["foreign_key_constraint_on"]["table"], json!({"schema": "public", "name": "alpha"}));
    }

    #[test]
    fn renamed_columns_keep_their_metadata() {
        let mut md = json!({"sources": [{"tables": [
            {"table": {"schema": "public", "name": "a"},
             "configuration": {"column_config": {"x": {"custom_name": "ex"}, "y": {"custom_name": "why"}}, "custom_column_names": {"x": "ex"}},
             "object_relationships": [{"name": "b", "using": {"foreign_key_constraint_on": "x"}}],
             "select_permissions": [{"role": "r", "permission": {"columns": ["x", "y"], "filter": {"_and": [{"x": {"_eq": 1}}, {"b": {"x": {"_eq": 2}}}]}}}],
             "insert_permissions": [{"role": "r", "permission": {"columns": ["y"], "check": {}, "set": {"x": "X-Hasura-User-Id"}}}],
             "event_triggers": [{"name": "t", "definition": {"update": {"columns": ["x"], "payload": ["x", "y"]}}}]},
            {"table": "b", "array_relationships": [
                {"name": "as", "using": {"foreign_key_constraint_on": {"table": "a", "column": "x"}}},
                {"name": "m", "using": {"manual_configuration": {"remote_table": {"schema": "public", "name": "a"}, "column_mapping": {"id": "x"}}}}]}]}]});
        follow_column(&mut md, &ColumnChange { table: ("public".into(), "a".into()), old: "x".into(), new: Some("z".into()) });
        let a = &md["sources"][0]["tables"][0];
        assert_eq!(a["configuration"]["column_config"], json!({"z": {"custom_name": "ex"}, "y": {"custom_name": "why"}}));
        assert_eq!(a["configuration"]["custom_column_names"], json!({"z": "ex"}));
        assert_eq!(a["object_relationships"][0]["using"]["foreign_key_constraint_on"], "z");
        let p = &a["select_permissions"][0]["permission"];
        assert_eq!(p["columns"], json!(["z", "y"]));
        // The relationship's own column keys are the other table's: left alone.
        assert_eq!(p["filter"], json!({"_and": [{"z": {"_eq": 1}}, {"b": {"x": {"_eq": 2}}}]}));
        assert_eq!(a["insert_permissions"][0]["permission"]["set"], json!({"z": "X-Hasura-User-Id"}));
        assert_eq!(a["event_triggers"][0]["definition"]["update"], json!({"columns": ["z"], "payload": ["z", "y"]}));
        let b = &md["sources"][0]["tables"][1];
        assert_eq!(b["array_relationships"][0]["using"]["foreign_key_constraint_on"]["column"], "z");
        assert_eq!(b["array_relationships"][1]["using"]["manual_configuration"]["column_mapping"], json!({"id": "z"}));
        // A dropped column loses its custom name only.
        follow_column(&mut md, &ColumnChange { table: ("public".into(), "a".into()), old: "y".into(), new: None });
        let a = &md["sources"][0]["tables"][0];
        assert_eq!(a["configuration"]["column_config"], json!({"z": {"custom_name": "ex"}}));
        assert_eq!(a["select_permissions"][0]["permission"]["columns"], json!(["z", "y"]));
    }

    #[test]
    fn cascade_drops_each_kind_of_object() {
        let table = json!({"schema": "public", "name": "t"});
        let cases = [
            (json!({"type": "function", "definition": {"function": {"schema": "public", "name": "f"}}}), "pg_untrack_function"),
            (json!({"type": "array_relation", "definition": {"table": table, "name": "r"}}), "pg_drop_relationship"),
            (json!({"type": "computed_field", "definition": {"table": table, "name": "c"}}), "pg_drop_computed_field"),
            (json!({"type": "update_permission", "definition": {"table": table, "role": "u"}}), "pg_drop_update_permission"),
            (json!({"type": "event_trigger", "definition": {"table": table, "configuration": {"name": "e"}}}), "pg_delete_event_trigger"),
            (json!({"type": "table", "definition": table}), "pg_untrack_table"),
        ];
        for (object, request) in cases {
            assert_eq!(drop_request(&object).unwrap()["type"], request, "{object}");
        }
        assert!(drop_request(&json!({"type": "remote_schema"})).is_none());
    }
}
