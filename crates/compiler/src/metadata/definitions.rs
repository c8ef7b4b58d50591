//! The `definition` JSON Hasura reports for each kind of inconsistent object (sorted keys, as
//! aeson 2 prints them).

use serde_json::{json, Value};

use crate::dbcatalog::QualifiedName;
use crate::metadata::model::{qualified_json, ComputedField, FunctionEntry, Permission, Relationship};

/// `{comment, name, source, table, using}` — the definition Hasura reports for a relationship.
pub fn relationship_definition(source: &str, table: &QualifiedName, rel: &Relationship) -> Value {
    json!({
        "comment": rel.comment,
        "name": rel.name,
        "source": source,
        "table": qualified_json(table),
        "using": crate::metadata::export::using_json(&rel.using),
    })
}

pub fn computed_field_definition(source: &str, table: &QualifiedName, cf: &ComputedField) -> Value {
    json!({
        "comment": cf.comment,
        "definition": {
            "function": qualified_json(&cf.definition.function),
            "session_argument": cf.definition.session_argument,
            "table_argument": cf.definition.table_argument,
        },
        "name": cf.name,
        "source": source,
        "table": qualified_json(table),
    })
}

pub fn permission_definition(source: &str, table: &QualifiedName, p: &Permission) -> Value {
    json!({
        "comment": p.comment,
        "permission": p.permission,
        "role": p.role,
        "source": source,
        "table": qualified_json(table),
    })
}

pub fn function_definition(source: &str, f: &FunctionEntry) -> Value {
    json!({
        "comment": f.comment,
        "configuration": serde_json::to_value(&f.configuration).unwrap_or(Value::Null),
        "function": qualified_json(&f.function),
        "source": source,
    })
}
