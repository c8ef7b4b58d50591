//! A relationship's `using`, read as Hasura's parser reads it (`Hasura.RQL.Types.Relationships.Local`:
//! `RelUsing`, `ObjRelUsingChoice`, `ArrRelUsingFKeyOn`, `RelManualConfig`). The one reader for
//! both the relationship commands and the relationships of a metadata document, so the two
//! accept exactly the same forms:
//!
//! * `foreign_key_constraint_on` of an object relationship: a column, a list of columns, or
//!   `{table, column}` / `{table, columns}`, where either key takes a name or a list;
//! * of an array relationship: only the `{table, column | columns}` object;
//! * `manual_configuration`: `{remote_table, column_mapping, insertion_order?}`.
//!
//! Column lists must not be empty (Hasura's `NonEmpty`).

// `MetadataError` is the metadata API's one error type, large for its `internal` details.
#![allow(clippy::result_large_err)]

use indexmap::IndexMap;
use serde_json::Value;

use crate::error::MetadataError;
use crate::metadata::args::{expected, parse_failed, qualified};
use crate::metadata::model::{FkOn, ManualConfig, RelKind, RelUsing, RemoteFk};

/// `using`: exactly one of `foreign_key_constraint_on` and `manual_configuration`.
pub fn parse_using(v: &Value, path: &str, kind: RelKind) -> Result<RelUsing, MetadataError> {
    let obj = v.as_object().ok_or_else(|| parse_failed(path, "using should be an object"))?;
    let fk = obj.get("foreign_key_constraint_on");
    let manual = obj.get("manual_configuration");
    let frag = "one of foreign_key_constraint_on/manual_configuration should be present";
    match (fk, manual) {
        (None, None) => Err(parse_failed(path, format!("atleast {frag}"))),
        (Some(_), Some(_)) => Err(parse_failed(path, format!("only {frag}"))),
        // Hasura looks both keys up without a parse context: what is wrong inside either is
        // reported at the path of `using` itself.
        (Some(fk), None) => parse_fk(fk, path, kind).map(RelUsing::ForeignKey),
        (None, Some(m)) => parse_manual(m, path).map(RelUsing::Manual),
    }
}

/// `foreign_key_constraint_on`, whose errors are reported at `path` (that of `using`). Hasura
/// parses the value of `column(s)` without a key context either.
fn parse_fk(v: &Value, path: &str, kind: RelKind) -> Result<FkOn, MetadataError> {
    match v {
        Value::Object(o) => {
            let table = qualified(
                o.get("table").ok_or_else(|| parse_failed(path, "key \"table\" not found"))?,
                &format!("{path}.table"),
            )?;
            let present = |key: &str| o.get(key).filter(|v| !v.is_null());
            let (column, columns) = match (present("column"), present("columns")) {
                (Some(c), None) | (None, Some(c)) => match parse_columns(c, path)? {
                    Columns::One(c) => (Some(c), None),
                    Columns::Many(cs) => (None, Some(cs)),
                },
                _ => return Err(parse_failed(path, "expected exactly one of 'column' or 'columns'")),
            };
            Ok(FkOn::Remote(RemoteFk { column, columns, table }))
        }
        _ if kind == RelKind::Array => Err(parse_failed(path, "Expecting object { table, columns }.")),
        other => Ok(match parse_columns(other, path)? {
            Columns::One(c) => FkOn::Column(c),
            Columns::Many(cs) => FkOn::Columns(cs),
        }),
    }
}

enum Columns {
    One(String),
    Many(Vec<String>),
}

/// A column name or a non-empty list of them.
fn parse_columns(v: &Value, path: &str) -> Result<Columns, MetadataError> {
    match v {
        Value::String(c) => Ok(Columns::One(c.clone())),
        Value::Array(items) if items.is_empty() => {
            Err(parse_failed(path, "Expected a NonEmpty but got an empty list"))
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, c)| match c {
                Value::String(s) => Ok(s.clone()),
                other => Err(expected(&format!("{path}[{i}]"), "Text", "String", other)),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Columns::Many),
        _ => Err(parse_failed(path, "Expected string or array")),
    }
}

/// `{remote_table, column_mapping, insertion_order?}`; `path` is that of `using`.
fn parse_manual(v: &Value, path: &str) -> Result<ManualConfig, MetadataError> {
    let obj = v.as_object().ok_or_else(|| parse_failed(path, "manual_configuration should be an object"))?;
    let remote_table = qualified(
        obj.get("remote_table").ok_or_else(|| parse_failed(path, "key \"remote_table\" not found"))?,
        &format!("{path}.remote_table"),
    )?;
    let mapping_path = format!("{path}.column_mapping");
    let column_mapping = match obj.get("column_mapping") {
        None => return Err(parse_failed(path, "key \"column_mapping\" not found")),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(local, remote)| match remote {
                Value::String(r) => Ok((local.clone(), r.clone())),
                other => Err(expected(&format!("{mapping_path}.{local}"), "Text", "String", other)),
            })
            .collect::<Result<IndexMap<_, _>, _>>()?,
        Some(other) => return Err(expected(&mapping_path, "HashMap ~Text", "Object", other)),
    };
    let insertion_order = match obj.get("insertion_order") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s == "before_parent" || s == "after_parent" => Some(s.clone()),
        Some(_) => {
            return Err(parse_failed(
                format!("{path}.insertion_order"),
                "insertion_order should be 'before_parent' or 'after_parent'",
            ))
        }
    };
    Ok(ManualConfig { column_mapping, insertion_order, remote_table })
}

/// The relationships of a metadata document's table (`object_relationships`,
/// `array_relationships`), each `using` replaced by its parsed form, so that the document's
/// serde reading sees only the forms Graft stores. Anything else of the entry is left to it.
pub fn normalize_table(table: &mut Value, path: &str) -> Result<(), MetadataError> {
    for (key, kind) in [("object_relationships", RelKind::Object), ("array_relationships", RelKind::Array)] {
        let Some(Value::Array(rels)) = table.get_mut(key) else { continue };
        for (i, rel) in rels.iter_mut().enumerate() {
            let rpath = format!("{path}.{key}[{i}]");
            let Some(obj) = rel.as_object_mut() else { continue };
            let Some(using) = obj.get("using") else {
                return Err(parse_failed(rpath, "key \"using\" not found"));
            };
            let parsed = parse_using(using, &format!("{rpath}.using"), kind)?;
            let stored = serde_json::to_value(&parsed).map_err(|e| parse_failed(&rpath, e.to_string()))?;
            obj.insert("using".into(), stored);
        }
    }
    Ok(())
}
