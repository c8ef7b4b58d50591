//! `export_metadata` JSON exactly as Hasura prints it (`metadataToOrdJSON`): fixed key order for
//! the document, sources, tables, relationships …; tables and functions sorted by qualified
//! name, relationships/computed fields/triggers by name, permissions by role; inner objects
//! (configurations, `using`, definitions) with sorted keys, as aeson 2 prints them; empty
//! sections left out.

use serde_json::{json, Map, Value};

use crate::metadata::model::{
    qualified_json, ColumnConfig, ComputedField, CustomRootField, FkOn, FunctionConfig, FunctionEntry, Metadata,
    PermKind, Permission, RelKind, RelUsing, Relationship, Source, TableConfig, TableEntry,
};

/// Top-level sections after `version` and `sources`, in Hasura's order.
const SECTION_ORDER: [&str; 14] = [
    "remote_schemas",
    "query_collections",
    "allowlist",
    "actions",
    "custom_types",
    "cron_triggers",
    "rest_endpoints",
    "api_limits",
    "inherited_roles",
    "graphql_schema_introspection",
    "network",
    "backend_configs",
    "opentelemetry",
    "metrics_config",
];

pub fn to_json(md: &Metadata) -> Value {
    let mut out = Map::new();
    out.insert("version".into(), json!(3));
    out.insert("sources".into(), Value::Array(md.sources.iter().map(source_json).collect()));
    for key in SECTION_ORDER {
        let section = if key == "cron_triggers" { md.other.get(key).map(exported_cron_triggers) } else { md.other.get(key).cloned() };
        if let Some(v) = section.filter(|v| !is_empty_section(v)) {
            out.insert(key.into(), v);
        }
    }
    for (key, v) in &md.other {
        if !SECTION_ORDER.contains(&key.as_str()) && key != "version" && !is_empty_section(v) {
            out.insert(key.clone(), v.clone());
        }
    }
    Value::Object(out)
}

/// Cron triggers created with `include_in_metadata: false` are not exported (Hasura).
fn exported_cron_triggers(v: &Value) -> Value {
    match v {
        Value::Array(list) => Value::Array(
            list.iter().filter(|t| t.get("include_in_metadata") != Some(&Value::Bool(false))).cloned().collect(),
        ),
        other => other.clone(),
    }
}

fn is_empty_section(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.values().all(is_empty_section),
        _ => false,
    }
}

fn source_json(s: &Source) -> Value {
    let mut out = Map::new();
    out.insert("name".into(), json!(s.name));
    out.insert("kind".into(), json!(s.kind));
    let mut tables: Vec<&TableEntry> = s.tables.iter().collect();
    tables.sort_by(|a, b| a.table.cmp(&b.table));
    out.insert("tables".into(), Value::Array(tables.into_iter().map(table_json).collect()));
    if !s.functions.is_empty() {
        let mut functions: Vec<&FunctionEntry> = s.functions.iter().collect();
        functions.sort_by(|a, b| a.function.cmp(&b.function));
        out.insert("functions".into(), Value::Array(functions.into_iter().map(function_json).collect()));
    }
    out.insert("configuration".into(), s.configuration.clone());
    if let Some(c) = s.customization.as_ref().filter(|c| !is_empty_section(c)) {
        out.insert("customization".into(), c.clone());
    }
    Value::Object(out)
}

fn table_json(t: &TableEntry) -> Value {
    let mut out = Map::new();
    out.insert("table".into(), qualified_json(&t.table));
    if t.is_enum {
        out.insert("is_enum".into(), json!(true));
    }
    if !t.configuration.is_empty() {
        out.insert("configuration".into(), table_config_json(&t.configuration));
    }
    for kind in [RelKind::Object, RelKind::Array] {
        let key = match kind {
            RelKind::Object => "object_relationships",
            RelKind::Array => "array_relationships",
        };
        put_sorted(&mut out, key, t.relationships(kind), |r| r.name.clone(), relationship_json);
    }
    put_sorted(&mut out, "computed_fields", &t.computed_fields, |c| c.name.clone(), computed_field_json);
    put_sorted(&mut out, "remote_relationships", &t.remote_relationships, name_of, Value::clone);
    for kind in PermKind::ALL {
        let key = format!("{}_permissions", kind.code());
        put_sorted(&mut out, &key, t.permissions(kind), |p| p.role.clone(), |p| permission_json(kind, p));
    }
    put_sorted(&mut out, "event_triggers", &t.event_triggers, name_of, Value::clone);
    Value::Object(out)
}

fn put_sorted<T>(
    out: &mut Map<String, Value>,
    key: &str,
    items: &[T],
    sort_key: impl Fn(&T) -> String,
    to_json: impl Fn(&T) -> Value,
) {
    if items.is_empty() {
        return;
    }
    let mut sorted: Vec<&T> = items.iter().collect();
    sorted.sort_by_key(|i| sort_key(i));
    out.insert(key.into(), Value::Array(sorted.into_iter().map(to_json).collect()));
}

fn name_of(v: &Value) -> String {
    v.get("name").and_then(|n| n.as_str()).unwrap_or_default().to_string()
}

/// `{column_config, comment?, custom_column_names, custom_name?, custom_root_fields}`; the
/// deprecated `custom_column_names` is derived from `column_config`.
fn table_config_json(c: &TableConfig) -> Value {
    let mut columns: Vec<(&String, &ColumnConfig)> = c.column_config.iter().collect();
    columns.sort_by_key(|(col, _)| *col);
    let column_config: Map<String, Value> = columns
        .iter()
        .map(|(col, cc)| {
            let mut m = Map::new();
            if let Some(comment) = &cc.comment {
                m.insert("comment".into(), json!(comment));
            }
            if let Some(name) = &cc.custom_name {
                m.insert("custom_name".into(), json!(name));
            }
            ((*col).clone(), Value::Object(m))
        })
        .collect();
    let custom_column_names: Map<String, Value> =
        columns.iter().filter_map(|(col, cc)| cc.custom_name.as_ref().map(|n| ((*col).clone(), json!(n)))).collect();
    let mut roots: Vec<(&String, &CustomRootField)> = c.custom_root_fields.iter().collect();
    roots.sort_by_key(|(k, _)| *k);
    let custom_root_fields: Map<String, Value> =
        roots.into_iter().filter_map(|(k, f)| root_field_json(f).map(|v| (k.clone(), v))).collect();
    let mut out = Map::new();
    out.insert("column_config".into(), Value::Object(column_config));
    if let Some(comment) = &c.comment {
        out.insert("comment".into(), json!(comment));
    }
    out.insert("custom_column_names".into(), Value::Object(custom_column_names));
    if let Some(name) = &c.custom_name {
        out.insert("custom_name".into(), json!(name));
    }
    out.insert("custom_root_fields".into(), Value::Object(custom_root_fields));
    Value::Object(out)
}

/// A plain name, or `{comment, name}` when there is a comment.
fn root_field_json(f: &CustomRootField) -> Option<Value> {
    match (f.name(), f.comment()) {
        (None, None) => None,
        (Some(n), None) => Some(json!(n)),
        (name, Some(comment)) => {
            let mut m = Map::new();
            m.insert("comment".into(), json!(comment));
            if let Some(n) = name {
                m.insert("name".into(), json!(n));
            }
            Some(Value::Object(m))
        }
    }
}

fn relationship_json(r: &Relationship) -> Value {
    let mut out = Map::new();
    out.insert("name".into(), json!(r.name));
    out.insert("using".into(), using_json(&r.using));
    if let Some(c) = &r.comment {
        out.insert("comment".into(), json!(c));
    }
    Value::Object(out)
}

/// A single column prints as a string (`column` inside `{table, …}`), several as a list.
pub fn using_json(u: &RelUsing) -> Value {
    match u {
        RelUsing::ForeignKey(FkOn::Remote(r)) => {
            let cols = r.column_list();
            let mut m = Map::new();
            if let [one] = cols.as_slice() {
                m.insert("column".into(), json!(one));
            } else {
                m.insert("columns".into(), json!(cols));
            }
            m.insert("table".into(), qualified_json(&r.table));
            json!({"foreign_key_constraint_on": Value::Object(m)})
        }
        RelUsing::ForeignKey(on) => match on.columns().as_slice() {
            [one] => json!({"foreign_key_constraint_on": one}),
            cols => json!({"foreign_key_constraint_on": cols}),
        },
        RelUsing::Manual(m) => {
            let mut mapping: Vec<(&String, &String)> = m.column_mapping.iter().collect();
            mapping.sort();
            let mapping: Map<String, Value> = mapping.into_iter().map(|(k, v)| (k.clone(), json!(v))).collect();
            json!({"manual_configuration": {
                "column_mapping": mapping,
                "insertion_order": m.insertion_order,
                "remote_table": qualified_json(&m.remote_table),
            }})
        }
    }
}

fn computed_field_json(c: &ComputedField) -> Value {
    let mut def = Map::new();
    def.insert("function".into(), qualified_json(&c.definition.function));
    if let Some(s) = &c.definition.session_argument {
        def.insert("session_argument".into(), json!(s));
    }
    if let Some(t) = &c.definition.table_argument {
        def.insert("table_argument".into(), json!(t));
    }
    let mut out = Map::new();
    out.insert("name".into(), json!(c.name));
    out.insert("definition".into(), Value::Object(def));
    if let Some(comment) = &c.comment {
        out.insert("comment".into(), json!(comment));
    }
    Value::Object(out)
}

fn permission_json(kind: PermKind, p: &Permission) -> Value {
    let mut out = Map::new();
    out.insert("role".into(), json!(p.role));
    out.insert("permission".into(), permission_body_json(kind, &p.permission));
    if let Some(c) = &p.comment {
        out.insert("comment".into(), json!(c));
    }
    Value::Object(out)
}

/// A permission body as Hasura's `metadataToOrdJSON` prints the parsed permission: its keys in
/// a fixed order per kind, defaults left out (`allow_aggregations: false`, `backend_only:
/// false`, an empty `set` or `computed_fields`), an update's `check` always (`null` when
/// absent), keys Hasura does not read dropped; boolean expressions and presets with sorted
/// keys.
fn permission_body_json(kind: PermKind, body: &Value) -> Value {
    let get = |key: &str| body.get(key).filter(|v| !v.is_null());
    let mut out = Map::new();
    let mut put = |key: &str, v: Option<Value>| {
        if let Some(v) = v {
            out.insert(key.to_string(), v);
        }
    };
    let sorted = |key: &str| get(key).map(sort_keys);
    let non_empty = |key: &str| get(key).filter(|v| !is_empty_section(v)).map(sort_keys);
    let flag = |key: &str| get(key).filter(|v| v.as_bool() == Some(true)).cloned();
    match kind {
        PermKind::Insert => {
            put("check", sorted("check"));
            put("set", non_empty("set"));
            put("columns", get("columns").cloned());
            put("backend_only", flag("backend_only"));
            put("validate_input", get("validate_input").cloned());
        }
        PermKind::Select => {
            put("columns", get("columns").cloned());
            put("computed_fields", get("computed_fields").filter(|v| !is_empty_section(v)).cloned());
            put("filter", sorted("filter"));
            put("limit", get("limit").cloned());
            put("allow_aggregations", flag("allow_aggregations"));
            put("query_root_fields", get("query_root_fields").cloned());
            put("subscription_root_fields", get("subscription_root_fields").cloned());
        }
        PermKind::Update => {
            put("columns", get("columns").cloned());
            put("filter", sorted("filter"));
            put("check", Some(sorted("check").unwrap_or(Value::Null)));
            put("set", non_empty("set"));
            put("backend_only", flag("backend_only"));
            put("validate_input", get("validate_input").cloned());
        }
        PermKind::Delete => {
            put("filter", sorted("filter"));
            put("backend_only", flag("backend_only"));
            put("validate_input", get("validate_input").cloned());
        }
    }
    Value::Object(out)
}

/// Objects with their keys sorted, at every depth (aeson 2 prints a parsed value so).
fn sort_keys(v: &Value) -> Value {
    match v {
        Value::Object(o) => {
            let mut keys: Vec<&String> = o.keys().collect();
            keys.sort();
            Value::Object(keys.into_iter().map(|k| (k.clone(), sort_keys(&o[k]))).collect())
        }
        Value::Array(a) => Value::Array(a.iter().map(sort_keys).collect()),
        other => other.clone(),
    }
}

fn function_json(f: &FunctionEntry) -> Value {
    let mut out = Map::new();
    out.insert("function".into(), qualified_json(&f.function));
    if !f.configuration.is_empty() {
        out.insert("configuration".into(), function_config_json(&f.configuration));
    }
    if !f.permissions.is_empty() {
        out.insert("permissions".into(), Value::Array(f.permissions.clone()));
    }
    if let Some(c) = &f.comment {
        out.insert("comment".into(), json!(c));
    }
    Value::Object(out)
}

/// `{custom_name?, custom_root_fields, exposed_as?, session_argument?}`.
fn function_config_json(c: &FunctionConfig) -> Value {
    let mut roots: Vec<(&String, &String)> = c.custom_root_fields.iter().collect();
    roots.sort();
    let roots: Map<String, Value> = roots.into_iter().map(|(k, v)| (k.clone(), json!(v))).collect();
    let mut out = Map::new();
    if let Some(n) = &c.custom_name {
        out.insert("custom_name".into(), json!(n));
    }
    out.insert("custom_root_fields".into(), Value::Object(roots));
    if let Some(e) = &c.exposed_as {
        out.insert("exposed_as".into(), json!(e));
    }
    if let Some(s) = &c.session_argument {
        out.insert("session_argument".into(), json!(s));
    }
    Value::Object(out)
}
