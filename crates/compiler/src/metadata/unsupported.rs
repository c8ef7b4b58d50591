//! What Graft does not implement yet. Commands outside Graft's metadata model (remote schemas,
//! actions, sources, event logs …) are answered with `not-supported` rather than an
//! unknown-command error; the same features arriving in a metadata document (a Hasura export
//! given to `replace_metadata`) are kept, so an export round-trips, but reported as inconsistent
//! objects ([`check`]): nothing enforces them, and a migrated project must not lose its allow
//! list or API limits silently. Supporting a feature means removing it from [`SECTIONS`] (or the
//! per-table/per-source checks below).

use serde_json::{json, Value};

use crate::metadata::consistency::{Found, ObjectId};
use crate::metadata::model::{qualified_json, Metadata};
use crate::metadata::names::display;
use crate::schema::build::Inconsistency;

/// A top-level metadata section Graft stores but does not enforce.
struct Section {
    /// The key in the metadata document.
    key: &'static str,
    /// The `type` of its inconsistent objects (Hasura's `moiTypeName` where it has one).
    kind: &'static str,
    /// A list of named objects (one inconsistency each, named by this key) or one object.
    item_name: Option<&'static str>,
}

const SECTIONS: &[Section] = &[
    Section { key: "remote_schemas", kind: "remote_schema", item_name: Some("name") },
    Section { key: "query_collections", kind: "query_collections", item_name: Some("name") },
    Section { key: "allowlist", kind: "allowlist", item_name: Some("collection") },
    Section { key: "actions", kind: "action", item_name: Some("name") },
    Section { key: "custom_types", kind: "custom_types", item_name: None },
    Section { key: "rest_endpoints", kind: "rest_endpoint", item_name: Some("name") },
    Section { key: "api_limits", kind: "api_limits", item_name: None },
    Section { key: "graphql_schema_introspection", kind: "graphql_schema_introspection", item_name: None },
    Section { key: "network", kind: "network", item_name: None },
    Section { key: "backend_configs", kind: "backend_configs", item_name: None },
    Section { key: "opentelemetry", kind: "open_telemetry", item_name: None },
    Section { key: "metrics_config", kind: "metrics_config", item_name: None },
];

/// Permission keys Graft does not enforce. A permission using one is inconsistent, so it grants
/// nothing rather than letting through what the check would have refused.
const PERMISSION_KEYS: &[&str] = &["validate_input"];

/// The unsupported feature a permission body uses, as the inconsistency's message.
pub(crate) fn permission_problem(body: &Value) -> Option<String> {
    PERMISSION_KEYS
        .iter()
        .find(|k| body.get(**k).is_some_and(|v| !inert(v)))
        .map(|k| format!("Graft does not support {k} yet"))
}

/// Kriti request/response transforms of a trigger (the metadata API refuses them, a document
/// may still carry them): the trigger would deliver something else than what it says.
fn transform(trigger: &Value) -> Option<&'static str> {
    ["request_transform", "response_transform"].into_iter().find(|k| trigger.get(*k).is_some_and(|v| !inert(v)))
}

/// How the items of a list section are named.
fn item_key(section: &str) -> Option<&'static str> {
    match section {
        "cron_triggers" => Some("name"),
        _ => SECTIONS.iter().find(|s| s.key == section).and_then(|s| s.item_name),
    }
}

/// A value that configures nothing: null, false, empty, or made only of such values (an
/// export's `custom_types: {objects: [], …}` or `metrics_config` with every option off).
fn inert(v: &Value) -> bool {
    match v {
        Value::Null | Value::Bool(false) => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.values().all(inert),
        _ => false,
    }
}

fn reason(what: &str) -> String {
    format!("Inconsistent object: Graft does not support {what} yet")
}

fn found(section: &str, item: Option<String>, kind: &str, name: String, definition: Value, what: &str) -> Found {
    Found {
        id: ObjectId::Unsupported { section: section.to_string(), item },
        inconsistency: Inconsistency { definition, name, reason: reason(what), kind: kind.to_string() },
    }
}

/// Every stored feature Graft does not enforce, as inconsistent objects: sources' customization,
/// tables' event trigger transforms and remote relationships, cron trigger transforms, then the
/// top-level sections of [`SECTIONS`].
pub(crate) fn check(md: &Metadata) -> Vec<Found> {
    let mut out = Vec::new();
    for src in &md.sources {
        if let Some(c) = src.customization.as_ref().filter(|c| !inert(c)) {
            out.push(found(
                "customization",
                Some(src.name.clone()),
                "source",
                format!("source {}", src.name),
                json!({"name": src.name, "customization": c}),
                "source customization",
            ));
        }
        for t in &src.tables {
            for et in &t.event_triggers {
                let Some(key) = transform(et) else { continue };
                let name = et.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
                out.push(Found {
                    id: ObjectId::EventTrigger { source: src.name.clone(), table: t.table.clone(), name: name.clone() },
                    inconsistency: Inconsistency {
                        definition: json!({"source": src.name, "table": qualified_json(&t.table), "configuration": et}),
                        name: format!("event_trigger {name} in table {} in source {}", display(&t.table), src.name),
                        reason: reason(key),
                        kind: "event_trigger".into(),
                    },
                });
            }
            for (i, rr) in t.remote_relationships.iter().enumerate() {
                let name = rr.get("name").and_then(Value::as_str).map(str::to_string).unwrap_or_else(|| i.to_string());
                out.push(Found {
                    id: ObjectId::RemoteRelationship { source: src.name.clone(), table: t.table.clone(), name: name.clone() },
                    inconsistency: Inconsistency {
                        definition: json!({"source": src.name, "table": qualified_json(&t.table), "name": name,
                                           "definition": rr.get("definition").cloned().unwrap_or(Value::Null)}),
                        name: format!("remote_relationship {name} in table {} in source {}", display(&t.table), src.name),
                        reason: reason("remote relationships"),
                        kind: "remote_relationship".into(),
                    },
                });
            }
        }
    }
    // Cron triggers are supported, but not their transforms.
    for ct in md.other.get("cron_triggers").and_then(Value::as_array).into_iter().flatten() {
        if let Some(key) = transform(ct) {
            let name = ct.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
            out.push(found("cron_triggers", Some(name.clone()), "cron_trigger", format!("cron_trigger {name}"), ct.clone(), key));
        }
    }
    for s in SECTIONS {
        let Some(v) = md.other.get(s.key).filter(|v| !inert(v)) else { continue };
        match (s.item_name, v) {
            (Some(key), Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    let name = item.get(key).and_then(Value::as_str).map(str::to_string).unwrap_or_else(|| i.to_string());
                    out.push(found(s.key, Some(name.clone()), s.kind, format!("{} {name}", s.kind), item.clone(), s.key));
                }
            }
            _ => out.push(found(s.key, None, s.kind, s.key.to_string(), v.clone(), s.key)),
        }
    }
    out
}

/// Remove an unsupported object (`drop_inconsistent_metadata`).
pub(crate) fn remove(md: &mut Metadata, section: &str, item: Option<&str>) {
    if section == "customization" {
        if let Some(src) = item.and_then(|s| md.source_mut(s)) {
            src.customization = None;
        }
        return;
    }
    match (item_key(section), item, md.other.get_mut(section)) {
        (Some(key), Some(item), Some(Value::Array(items))) => {
            let mut i = 0;
            items.retain(|v| {
                let name = v.get(key).and_then(Value::as_str).map(str::to_string).unwrap_or_else(|| i.to_string());
                i += 1;
                name != item
            });
            if items.is_empty() {
                md.other.shift_remove(section);
            }
        }
        _ => {
            md.other.shift_remove(section);
        }
    }
}

/// Hasura commands Graft does not implement (yet): answered with `not-supported` rather than
/// the parse error an unknown command gets.
pub(crate) fn is_known_hasura_command(ty: &str) -> bool {
    const KNOWN: &[&str] = &[
        "add_remote_schema",
        "update_remote_schema",
        "remove_remote_schema",
        "reload_remote_schema",
        "introspect_remote_schema",
        "add_remote_schema_permissions",
        "drop_remote_schema_permissions",
        "create_remote_schema_remote_relationship",
        "update_remote_schema_remote_relationship",
        "delete_remote_schema_remote_relationship",
        "create_action",
        "drop_action",
        "update_action",
        "create_action_permission",
        "drop_action_permission",
        "set_custom_types",
        "create_query_collection",
        "rename_query_collection",
        "drop_query_collection",
        "add_query_to_collection",
        "drop_query_from_collection",
        "add_collection_to_allowlist",
        "drop_collection_from_allowlist",
        "update_scope_of_collection_in_allowlist",
        "create_rest_endpoint",
        "drop_rest_endpoint",
        "set_api_limits",
        "remove_api_limits",
        "set_metrics_config",
        "remove_metrics_config",
        "add_host_to_tls_allowlist",
        "drop_host_from_tls_allowlist",
        "dump_internal_state",
        "get_catalog_state",
        "set_catalog_state",
        "set_graphql_schema_introspection_options",
        "test_webhook_transform",
        "set_query_tags",
        "set_opentelemetry_config",
        "set_opentelemetry_status",
        "rename_source",
        "list_source_kinds",
        "get_source_kind_capabilities",
        "get_table_info",
        "run_sql",
        "create_remote_relationship",
        "update_remote_relationship",
        "delete_remote_relationship",
    ];
    let base = ty.strip_prefix("pg_").unwrap_or(ty);
    KNOWN.contains(&ty)
        || KNOWN.contains(&base)
        || matches!(
            base,
            "add_source"
                | "drop_source"
                | "update_source"
                | "get_source_tables"
                | "set_apollo_federation_config"
                | "suggest_relationships"
                | "get_source_trackables"
                | "track_native_query"
                | "untrack_native_query"
                | "track_logical_model"
                | "untrack_logical_model"
                | "run_sql"
        )
}
