//! Whole-metadata requests: `export_metadata`, `replace_metadata`, `clear_metadata`,
//! `reload_metadata`, `get_inconsistent_metadata`, `drop_inconsistent_metadata`; and reading a
//! metadata document (v3, or the single-source v1/v2 formats) with Hasura's parse checks.

use std::collections::HashSet;

use indexmap::IndexMap;
use serde_json::{json, Map, Value};

use crate::error::MetadataError;
use crate::metadata::args::{expected, from_value, parse_failed, Args};
use crate::metadata::consistency::ObjectId;
use crate::metadata::export;
use crate::metadata::model::{Metadata, PermKind, RelKind, Source, DEFAULT_SOURCE};
use crate::metadata::ops::{success, Env};
use crate::metadata::{functions, rel_using, tables};

/// v1: the metadata itself; v2: `{resource_version, metadata}`.
pub fn export(md: &Metadata, env: &Env, version: u64) -> Result<Value, MetadataError> {
    let doc = export::to_json(md);
    Ok(if version >= 2 { json!({"resource_version": env.resource_version, "metadata": doc}) } else { doc })
}

/// v1 args: the document → `{"message":"success"}`. v2 args `{allow_inconsistent_metadata,
/// metadata}` → `{is_consistent, inconsistent_objects}`. An inconsistent document is refused
/// unless allowed.
pub fn replace(md: &mut Metadata, env: &Env, args: &Args) -> Result<Value, MetadataError> {
    let v2 = args.has("metadata");
    let (doc, doc_path) = if v2 {
        (args.req("metadata")?.clone(), args.path_of("metadata"))
    } else {
        (Value::Object(args.obj.clone()), args.path.clone())
    };
    let allow_inconsistent = v2 && args.bool_or("allow_inconsistent_metadata", false)?;
    let new_md = read_document(&doc, &doc_path, md)?;
    let found = env.check(&new_md);
    let ids = found.iter().map(|f| f.id.clone()).collect();
    if let Some(e) = crate::metadata::consistency::schema_error(&new_md, &env.index, &ids) {
        return Err(e);
    }
    let inconsistent: Vec<_> = found.into_iter().map(|f| f.inconsistency).collect();
    if !inconsistent.is_empty() && !allow_inconsistent {
        // Hasura's `buildSchemaCacheStrict`: the objects are the error's `internal`.
        let mut e = MetadataError::new("unexpected", "$.args", "cannot continue due to inconsistent metadata");
        e.status = 400;
        e.internal = Some(json!(inconsistent));
        return Err(e);
    }
    let mut new_md = new_md;
    keep_unexported_cron_triggers(md, &mut new_md);
    *md = new_md;
    Ok(if v2 { inconsistency_report(inconsistent) } else { success() })
}

/// Cron triggers created with `include_in_metadata: false` are not part of an export, so a
/// replace keeps them (unless the new document defines one of the same name).
fn keep_unexported_cron_triggers(old: &Metadata, new: &mut Metadata) {
    let kept: Vec<Value> = old
        .other
        .get("cron_triggers")
        .and_then(Value::as_array)
        .map(|l| l.iter().filter(|t| t.get("include_in_metadata") == Some(&Value::Bool(false))).cloned().collect())
        .unwrap_or_default();
    if kept.is_empty() {
        return;
    }
    let list = new.other.entry("cron_triggers".to_string()).or_insert_with(|| Value::Array(vec![]));
    if let Value::Array(list) = list {
        for t in kept {
            if !list.iter().any(|n| n.get("name") == t.get("name")) {
                list.push(t);
            }
        }
    }
}

/// Everything goes except the default source's connection configuration.
pub fn clear(md: &mut Metadata) -> Result<Value, MetadataError> {
    let default = md
        .source(DEFAULT_SOURCE)
        .map(|s| Source { tables: vec![], functions: vec![], ..s.clone() })
        .unwrap_or_else(Source::default_source);
    *md = Metadata { version: 3, sources: vec![default], other: IndexMap::new() };
    Ok(success())
}

/// Nothing to reload in a pure model: reports consistency like Hasura.
pub fn reload(md: &Metadata, env: &Env) -> Result<Value, MetadataError> {
    let inconsistent: Vec<_> = env.check(md).into_iter().map(|f| f.inconsistency).collect();
    let mut out = Map::new();
    out.insert("message".into(), json!("success"));
    out.insert("is_consistent".into(), json!(inconsistent.is_empty()));
    if !inconsistent.is_empty() {
        out.insert("inconsistent_objects".into(), json!(inconsistent));
    }
    Ok(Value::Object(out))
}

pub fn get_inconsistent(md: &Metadata, env: &Env) -> Result<Value, MetadataError> {
    Ok(inconsistency_report(env.check(md).into_iter().map(|f| f.inconsistency).collect()))
}

fn inconsistency_report(list: Vec<crate::schema::build::Inconsistency>) -> Value {
    json!({"is_consistent": list.is_empty(), "inconsistent_objects": list})
}

/// Remove every inconsistent object (repeating, since removing one can expose another).
pub fn drop_inconsistent(md: &mut Metadata, env: &Env) -> Result<Value, MetadataError> {
    for _ in 0..16 {
        let found = env.check(md);
        if found.is_empty() {
            break;
        }
        for f in found {
            remove_object(md, &f.id);
        }
    }
    Ok(success())
}

pub fn remove_object(md: &mut Metadata, id: &ObjectId) {
    let source_name = match id {
        ObjectId::Table { source, .. }
        | ObjectId::Relationship { source, .. }
        | ObjectId::ComputedField { source, .. }
        | ObjectId::Permission { source, .. }
        | ObjectId::RemoteRelationship { source, .. }
        | ObjectId::EventTrigger { source, .. }
        | ObjectId::Function { source, .. } => source,
        ObjectId::Unsupported { section, item } => {
            return crate::metadata::unsupported::remove(md, section, item.as_deref());
        }
    };
    let Some(src) = md.source_mut(source_name) else { return };
    match id {
        ObjectId::Table { table, .. } => src.tables.retain(|t| &t.table != table),
        ObjectId::Function { function, .. } => src.functions.retain(|f| &f.function != function),
        ObjectId::Relationship { table, name, kind, .. } => {
            if let Some(t) = src.table_mut(table) {
                t.relationships_mut(*kind).retain(|r| &r.name != name);
            }
        }
        ObjectId::ComputedField { table, name, .. } => {
            if let Some(t) = src.table_mut(table) {
                t.computed_fields.retain(|c| &c.name != name);
            }
        }
        ObjectId::Permission { table, role, kind, .. } => {
            if let Some(t) = src.table_mut(table) {
                t.permissions_mut(*kind).retain(|p| &p.role != role);
            }
        }
        ObjectId::RemoteRelationship { table, name, .. } => {
            if let Some(t) = src.table_mut(table) {
                t.remote_relationships.retain(|r| r.get("name").and_then(Value::as_str) != Some(name.as_str()));
            }
        }
        ObjectId::EventTrigger { table, name, .. } => {
            if let Some(t) = src.table_mut(table) {
                t.event_triggers.retain(|e| e.get("name").and_then(Value::as_str) != Some(name.as_str()));
            }
        }
        ObjectId::Unsupported { .. } => {}
    }
}

/// Read a metadata document: v3 (`sources`), or v1/v2 (top-level `tables`/`functions`, put in
/// the default source, whose connection configuration is kept from `current`). Rejects what
/// Hasura's parser rejects: duplicate names, invalid GraphQL names, duplicate root fields.
pub fn read_document(doc: &Value, path: &str, current: &Metadata) -> Result<Metadata, MetadataError> {
    let obj = doc.as_object().ok_or_else(|| expected(path, "Metadata", "Object", doc))?;
    let version = obj.get("version").and_then(|v| v.as_u64()).unwrap_or(1);
    let mut normalized =
        if version >= 3 || obj.contains_key("sources") { doc.clone() } else { upgrade_single_source(obj, current) };
    normalize_tables(&mut normalized, path)?;
    let mut md: Metadata = from_value(&normalized, path)?;
    md.version = 3;
    md.other.shift_remove("version");
    validate(&mut md, path)?;
    crate::metadata::sources::one_source(&md, path)?;
    Ok(md)
}

/// Every table entry's relationships through the parser the relationship commands use
/// ([`rel_using`]), with the JSON path Hasura reports.
fn normalize_tables(doc: &mut Value, path: &str) -> Result<(), MetadataError> {
    let Some(Value::Array(sources)) = doc.get_mut("sources") else { return Ok(()) };
    for (si, src) in sources.iter_mut().enumerate() {
        let Some(Value::Array(tables)) = src.get_mut("tables") else { continue };
        for (ti, t) in tables.iter_mut().enumerate() {
            rel_using::normalize_table(t, &format!("{path}.sources[{si}].tables[{ti}]"))?;
        }
    }
    Ok(())
}

/// A v1/v2 document as a v3 one with a single `default` source.
fn upgrade_single_source(obj: &Map<String, Value>, current: &Metadata) -> Value {
    let mut default = current.source(DEFAULT_SOURCE).cloned().unwrap_or_else(Source::default_source);
    default.tables.clear();
    default.functions.clear();
    let mut source = serde_json::to_value(&default).unwrap_or_else(|_| json!({}));
    let functions: Vec<Value> = obj
        .get("functions")
        .and_then(|f| f.as_array())
        .map(|fs| {
            fs.iter()
                .map(|f| match f {
                    Value::String(_) => json!({"function": f}),
                    Value::Object(o) if !o.contains_key("function") => json!({"function": f}),
                    other => other.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    source["tables"] = obj.get("tables").cloned().unwrap_or_else(|| json!([]));
    source["functions"] = Value::Array(functions);
    let mut out = Map::new();
    out.insert("version".into(), json!(3));
    out.insert("sources".into(), json!([source]));
    for (k, v) in obj {
        if !matches!(k.as_str(), "version" | "tables" | "functions") {
            out.insert(k.clone(), v.clone());
        }
    }
    Value::Object(out)
}

/// Hasura's `parseListAsMap` duplicate checks and the per-object parse validations.
fn validate(md: &mut Metadata, path: &str) -> Result<(), MetadataError> {
    no_duplicates("sources", md.sources.iter().map(|s| s.name.clone()), path)?;
    for (si, src) in md.sources.iter_mut().enumerate() {
        let spath = format!("{path}.sources[{si}]");
        no_duplicates("tables", src.tables.iter().map(|t| crate::metadata::names::display(&t.table)), &spath)?;
        no_duplicates("functions", src.functions.iter().map(|f| crate::metadata::names::display(&f.function)), &spath)?;
        for (ti, t) in src.tables.iter_mut().enumerate() {
            let tpath = format!("{spath}.tables[{ti}]");
            tables::validate_config(&mut t.configuration, &format!("{tpath}.configuration"))?;
            for kind in [RelKind::Object, RelKind::Array] {
                let what = match kind {
                    RelKind::Object => "object relationships",
                    RelKind::Array => "array relationships",
                };
                no_duplicates(what, t.relationships(kind).iter().map(|r| r.name.clone()), &tpath)?;
            }
            no_duplicates("computed fields", t.computed_fields.iter().map(|c| c.name.clone()), &tpath)?;
            for kind in PermKind::ALL {
                let what = format!("{} permissions", kind.code());
                no_duplicates(&what, t.permissions(kind).iter().map(|p| p.role.clone()), &tpath)?;
                for (pi, p) in t.permissions(kind).iter().enumerate() {
                    if let Some((at, msg)) = crate::metadata::consistency::permission_shape_problem(kind, &p.permission) {
                        let ppath = format!("{tpath}.{}_permissions[{pi}].permission{at}", kind.code());
                        return Err(parse_failed(ppath, msg));
                    }
                }
            }
            let trigger_names = t.event_triggers.iter().filter_map(|e| e.get("name")?.as_str().map(str::to_string));
            no_duplicates("event triggers", trigger_names, &tpath)?;
        }
        for (fi, f) in src.functions.iter().enumerate() {
            functions::validate_config(&f.configuration, &format!("{spath}.functions[{fi}].configuration"))?;
        }
    }
    Ok(())
}

/// `multiple declarations exist for the following tables: a, b`.
fn no_duplicates(what: &str, names: impl Iterator<Item = String>, path: &str) -> Result<(), MetadataError> {
    let mut seen = HashSet::new();
    let mut dups: Vec<String> = Vec::new();
    for n in names {
        if !seen.insert(n.clone()) && !dups.contains(&n) {
            dups.push(n);
        }
    }
    if dups.is_empty() {
        Ok(())
    } else {
        Err(parse_failed(path, format!("multiple declarations exist for the following {what}: {}", dups.join(", "))))
    }
}
