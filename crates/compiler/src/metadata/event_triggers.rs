//! `pg_create_event_trigger`, `pg_delete_event_trigger` (and their un-prefixed forms): the
//! definitions in the tables' `event_triggers`. The row triggers that capture the events are
//! derived from them (`events::triggers`) and kept in sync by the extension.

use serde_json::{Map, Value};

use crate::error::MetadataError;
use crate::events::config::{EventTriggerConf, RetryConf};
use crate::metadata::args::{parse_failed, Args};
use crate::dbcatalog::RelKind;
use crate::metadata::model::Metadata;
use crate::metadata::names::{dq, dq_q};
use crate::metadata::ops::{source_mut, success, tracked_mut, tracked_ref, Env};

/// `{name, table, source, webhook | webhook_from_env, insert, update, delete, enable_manual,
/// headers, retry_conf, replace, request_transform, response_transform}`.
pub fn create(md: &mut Metadata, env: &Env, args: &Args) -> Result<Value, MetadataError> {
    let source = args.source()?;
    let table = args.qualified("table")?;
    let name = args.str("name")?;
    let replace = args.bool_or("replace", false)?;
    tracked_ref(md, &source, &table, &args.path_of("table"))?;
    reject_transforms(args)?;

    let stored = stored_form(args);
    let conf = EventTriggerConf::parse(&table, &stored).map_err(|e| parse_failed(&args.path, e))?;
    let db_table = env.db.table(&table.schema, &table.name).ok_or_else(|| {
        MetadataError::new("not-exists", args.path_of("table"), format!("table {} does not exist", dq_q(&table)))
    })?;
    if matches!(db_table.kind, RelKind::View | RelKind::MaterializedView) {
        return Err(MetadataError::new(
            "not-supported",
            args.path_of("table"),
            format!("event triggers are supported on tables only, and {} is a view", dq_q(&table)),
        ));
    }
    for col in conf.named_columns() {
        if db_table.column(col).is_none() {
            return Err(MetadataError::new(
                "not-exists",
                &args.path,
                format!("column {} does not exist in table {}", dq(col), dq_q(&table)),
            ));
        }
    }

    let exists = find(md, &source, &name).is_some();
    if exists && !replace {
        return Err(MetadataError::new(
            "already-exists",
            &args.path,
            format!("Event trigger with name {} already exists", dq(&name)),
        ));
    }
    remove(md, &source, &name);
    tracked_mut(md, &source, &table, &args.path_of("table"))?.event_triggers.push(stored);
    Ok(success())
}

/// Request and response transforms (Kriti templates) are not implemented: refuse them rather
/// than deliver something else than the user asked for.
pub(crate) fn reject_transforms(args: &Args) -> Result<(), MetadataError> {
    for key in ["request_transform", "response_transform"] {
        if args.get(key).is_some() {
            return Err(MetadataError::new(
                "not-supported",
                args.path_of(key),
                format!("{key} is not supported by Graft: remove it, or transform the payload in the webhook"),
            ));
        }
    }
    Ok(())
}

/// `{name, source}`.
pub fn delete(md: &mut Metadata, args: &Args) -> Result<Value, MetadataError> {
    let source = args.source()?;
    let name = args.str("name")?;
    if !remove(md, &source, &name) {
        return Err(MetadataError::new(
            "not-exists",
            args.path_of("name"),
            format!("event trigger with name {} does not exist", dq(&name)),
        ));
    }
    Ok(success())
}

/// The stored definition of event trigger `name` of `source` and its table.
pub fn find<'m>(md: &'m Metadata, source: &str, name: &str) -> Option<(&'m crate::QualifiedName, &'m Value)> {
    md.source(source)?.tables.iter().find_map(|t| {
        t.event_triggers
            .iter()
            .find(|e| e.get("name").and_then(Value::as_str) == Some(name))
            .map(|e| (&t.table, e))
    })
}

fn remove(md: &mut Metadata, source: &str, name: &str) -> bool {
    let Ok(src) = source_mut(md, source) else { return false };
    let mut removed = false;
    for t in &mut src.tables {
        let before = t.event_triggers.len();
        t.event_triggers.retain(|e| e.get("name").and_then(Value::as_str) != Some(name));
        removed |= t.event_triggers.len() != before;
    }
    removed
}

/// The export form Hasura stores: `{name, definition: {enable_manual, insert, update, delete},
/// retry_conf, webhook | webhook_from_env, headers, request_transform, response_transform}`.
fn stored_form(args: &Args) -> Value {
    let mut def = Map::new();
    def.insert("enable_manual".into(), args.get("enable_manual").cloned().unwrap_or(Value::Bool(false)));
    for op in ["insert", "update", "delete"] {
        if let Some(spec) = args.get(op) {
            def.insert(op.into(), spec.clone());
        }
    }
    let mut out = Map::new();
    out.insert("name".into(), args.get("name").cloned().unwrap_or(Value::Null));
    out.insert("definition".into(), Value::Object(def));
    let retry = match RetryConf::parse(args.get("retry_conf")) {
        Ok(conf) => conf.to_json(),
        // Left as given: parsing the stored form reports the error.
        Err(_) => args.get("retry_conf").cloned().unwrap_or(Value::Null),
    };
    out.insert("retry_conf".into(), retry);
    for key in ["webhook", "webhook_from_env", "headers"] {
        if let Some(v) = args.get(key) {
            out.insert(key.into(), v.clone());
        }
    }
    Value::Object(out)
}
