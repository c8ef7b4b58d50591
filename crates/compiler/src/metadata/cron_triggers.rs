//! `create_cron_trigger`, `delete_cron_trigger`, `get_cron_triggers`: the metadata's
//! `cron_triggers` section. The extension's worker materialises and delivers the events.

use serde_json::{json, Map, Value};

use crate::error::MetadataError;
use crate::events::config::{CronTriggerConf, ScheduledRetryConf};
use crate::metadata::args::{parse_failed, Args};
use crate::metadata::model::Metadata;
use crate::metadata::ops::success;

/// `{name, webhook, schedule, payload, headers, retry_conf, include_in_metadata, comment,
/// replace}`.
pub fn create(md: &mut Metadata, args: &Args) -> Result<Value, MetadataError> {
    let name = args.str("name")?;
    crate::metadata::event_triggers::reject_transforms(args)?;
    args.str("webhook")?;
    args.str("schedule")?;
    let include = match args.get("include_in_metadata") {
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(parse_failed(args.path_of("include_in_metadata"), "expected a boolean")),
        None => return Err(parse_failed(&args.path, "key \"include_in_metadata\" not found")),
    };
    let replace = args.bool_or("replace", false)?;

    let mut stored = Map::new();
    stored.insert("name".into(), json!(name));
    stored.insert("webhook".into(), args.req("webhook")?.clone());
    stored.insert("schedule".into(), args.req("schedule")?.clone());
    stored.insert("include_in_metadata".into(), json!(include));
    stored.insert("payload".into(), args.get("payload").cloned().unwrap_or(Value::Null));
    let retry = ScheduledRetryConf::parse(args.get("retry_conf")).map_err(|e| parse_failed(args.path_of("retry_conf"), e))?;
    stored.insert("retry_conf".into(), retry.to_json());
    if let Some(h) = args.get("headers") {
        stored.insert("headers".into(), h.clone());
    }
    if let Some(comment) = args.get("comment") {
        stored.insert("comment".into(), comment.clone());
    }
    let stored = Value::Object(stored);
    CronTriggerConf::parse(&stored).map_err(|e| parse_failed(&args.path, e))?;

    let list = section(md);
    let existing = list.iter().position(|t| t.get("name").and_then(Value::as_str) == Some(name.as_str()));
    match (existing, replace) {
        (Some(_), false) => Err(MetadataError::new(
            "already-exists",
            &args.path,
            format!("cron trigger with name: {name} already exists"),
        )),
        (Some(i), true) => {
            list[i] = stored;
            Ok(success())
        }
        (None, _) => {
            list.push(stored);
            Ok(success())
        }
    }
}

/// `{name}`.
pub fn delete(md: &mut Metadata, args: &Args) -> Result<Value, MetadataError> {
    let name = args.str("name")?;
    let list = section(md);
    let before = list.len();
    list.retain(|t| t.get("name").and_then(Value::as_str) != Some(name.as_str()));
    if list.len() == before {
        return Err(MetadataError::new(
            "not-exists",
            args.path_of("name"),
            format!("cron trigger with name: {name} does not exist"),
        ));
    }
    Ok(success())
}

/// Every cron trigger, also those not included in the exported metadata.
pub fn get(md: &Metadata) -> Result<Value, MetadataError> {
    let list = md.other.get("cron_triggers").cloned().unwrap_or_else(|| json!([]));
    Ok(json!({"cron_triggers": list}))
}

fn section(md: &mut Metadata) -> &mut Vec<Value> {
    let v = md.other.entry("cron_triggers".to_string()).or_insert_with(|| json!([]));
    if !v.is_array() {
        *v = json!([]);
    }
    v.as_array_mut().expect("cron_triggers was just made an array")
}
