//! psql shorthands for event and scheduled triggers, in schema `graphql`. Each builds the
//! metadata request of the same name and RAISEs on failure, like `graphql.track_table`.

use pgrx::prelude::*;
use pgrx::Json;
use serde_json::{json, Value};

use crate::api::{helper, qualified_json};
use crate::json_text::JsonText;

/// `pg_create_event_trigger`: `operations` among INSERT, UPDATE, DELETE (default: all three);
/// `update_columns`: the columns whose change fires an UPDATE event (NULL: any column);
/// `payload_columns`: the columns sent in `data.old`/`data.new` (NULL: all). The webhook is
/// `webhook` or, read from the server's environment, `webhook_from_env`.
#[allow(clippy::too_many_arguments)]
#[pg_extern]
fn create_event_trigger(
    name: &str,
    table: &str,
    webhook: default!(Option<&str>, "NULL"),
    operations: default!(Vec<String>, "ARRAY['INSERT', 'UPDATE', 'DELETE']"),
    update_columns: default!(Option<Vec<String>>, "NULL"),
    enable_manual: default!(bool, false),
    retry_conf: default!(Option<Json>, "NULL"),
    headers: default!(Option<Json>, "NULL"),
    replace: default!(bool, false),
    webhook_from_env: default!(Option<&str>, "NULL"),
    payload_columns: default!(Option<Vec<String>>, "NULL"),
) -> JsonText {
    let table = qualified_json(table);
    helper(|| {
        let mut args = json!({"name": name, "source": "default", "table": table.clone(),
                              "enable_manual": enable_manual, "replace": replace});
        if let Some(w) = webhook {
            args["webhook"] = w.into();
        }
        if let Some(w) = webhook_from_env {
            args["webhook_from_env"] = w.into();
        }
        let payload = payload_columns.clone().map(Value::from);
        for op in &operations {
            let columns = match op.to_ascii_lowercase().as_str() {
                "update" => update_columns.clone().map(Value::from).unwrap_or_else(|| json!("*")),
                "insert" | "delete" => json!("*"),
                other => {
                    return Err(crate::errors::GraftError::InvalidArgument(format!(
                        "unknown operation {other:?}: expected INSERT, UPDATE or DELETE"
                    )))
                }
            };
            let mut spec = json!({"columns": columns});
            optional(&mut spec, "payload", payload.clone());
            args[op.to_ascii_lowercase()] = spec;
        }
        if let Some(r) = &retry_conf {
            args["retry_conf"] = r.0.clone();
        }
        if let Some(h) = &headers {
            args["headers"] = h.0.clone();
        }
        Ok(json!({"type": "pg_create_event_trigger", "args": args}))
    })
}

#[pg_extern]
fn delete_event_trigger(name: &str) -> JsonText {
    helper(|| Ok(json!({"type": "pg_delete_event_trigger", "args": {"name": name, "source": "default"}})))
}

/// `pg_invoke_event_trigger`: a MANUAL event with `payload` as `data.new`; returns `{"event_id"}`.
#[pg_extern]
fn invoke_event_trigger(name: &str, payload: default!(Option<Json>, "NULL")) -> JsonText {
    let payload = payload.map(|p| p.0).unwrap_or(Value::Null);
    event_request(json!({"type": "pg_invoke_event_trigger", "args": {"name": name, "payload": payload}}))
}

#[pg_extern]
fn redeliver_event(event_id: &str) -> JsonText {
    event_request(json!({"type": "pg_redeliver_event", "args": {"event_id": event_id}}))
}

/// `create_cron_trigger` with a 5-field UTC `schedule`; `retry_conf` is Hasura's
/// (`num_retries`, `retry_interval_seconds`, `timeout_seconds`, `tolerance_seconds`).
#[allow(clippy::too_many_arguments)]
#[pg_extern]
fn create_cron_trigger(
    name: &str,
    webhook: &str,
    schedule: &str,
    payload: default!(Option<Json>, "NULL"),
    include_in_metadata: default!(bool, true),
    replace: default!(bool, false),
    headers: default!(Option<Json>, "NULL"),
    retry_conf: default!(Option<Json>, "NULL"),
    comment: default!(Option<&str>, "NULL"),
) -> JsonText {
    let payload = payload.map(|p| p.0).unwrap_or(Value::Null);
    helper(|| {
        let mut args = json!({"name": name, "webhook": webhook, "schedule": schedule, "payload": payload.clone(),
                              "include_in_metadata": include_in_metadata, "replace": replace});
        optional(&mut args, "headers", headers.as_ref().map(|h| h.0.clone()));
        optional(&mut args, "retry_conf", retry_conf.as_ref().map(|r| r.0.clone()));
        optional(&mut args, "comment", comment.map(Value::from));
        Ok(json!({"type": "create_cron_trigger", "args": args}))
    })
}

#[pg_extern]
fn delete_cron_trigger(name: &str) -> JsonText {
    helper(|| Ok(json!({"type": "delete_cron_trigger", "args": {"name": name}})))
}

/// `get_cron_triggers`: `{"cron_triggers": [...]}`.
#[pg_extern]
fn get_cron_triggers() -> JsonText {
    helper(|| Ok(json!({"type": "get_cron_triggers", "args": {}})))
}

/// `create_scheduled_event`: one POST to `webhook` at `schedule_at`; returns `{"event_id"}`.
#[pg_extern]
fn create_scheduled_event(
    webhook: &str,
    schedule_at: pgrx::datum::TimestampWithTimeZone,
    payload: default!(Option<Json>, "NULL"),
    comment: default!(Option<&str>, "NULL"),
    headers: default!(Option<Json>, "NULL"),
    retry_conf: default!(Option<Json>, "NULL"),
) -> JsonText {
    let at = match Spi::get_one_with_args::<String>(
        "SELECT to_char($1 AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
        &[schedule_at.into()],
    ) {
        Ok(Some(at)) => at,
        _ => crate::errors::GraftError::InvalidArgument("schedule_at is not a valid time".into()).raise(),
    };
    let payload = payload.map(|p| p.0).unwrap_or(Value::Null);
    let mut args = json!({"webhook": webhook, "schedule_at": at, "payload": payload, "comment": comment});
    optional(&mut args, "headers", headers.map(|h| h.0));
    optional(&mut args, "retry_conf", retry_conf.map(|r| r.0));
    event_request(json!({"type": "create_scheduled_event", "args": args}))
}

/// `delete_scheduled_event`: `kind` is `one_off` or `cron`.
#[pg_extern]
fn delete_scheduled_event(kind: &str, event_id: &str) -> JsonText {
    event_request(json!({"type": "delete_scheduled_event", "args": {"type": kind, "event_id": event_id}}))
}

/// `get_scheduled_events`: `{"events": [...]}` (and `count`); cron events need `trigger_name`.
#[pg_extern]
fn get_scheduled_events(
    kind: &str,
    trigger_name: default!(Option<&str>, "NULL"),
    status: default!(Option<Vec<String>>, "NULL"),
    limit: default!(i32, 100),
    offset: default!(i32, 0),
    get_rows_count: default!(bool, false),
) -> JsonText {
    let mut args = json!({"type": kind, "limit": limit, "offset": offset, "get_rows_count": get_rows_count});
    optional(&mut args, "trigger_name", trigger_name.map(Value::from));
    optional(&mut args, "status", status.map(Value::from));
    event_request(json!({"type": "get_scheduled_events", "args": args}))
}

/// `get_scheduled_event_invocations` of one event (`event_id`) or of a cron trigger.
#[pg_extern]
fn get_scheduled_event_invocations(
    kind: &str,
    event_id: default!(Option<&str>, "NULL"),
    trigger_name: default!(Option<&str>, "NULL"),
    limit: default!(i32, 100),
    offset: default!(i32, 0),
    get_rows_count: default!(bool, false),
) -> JsonText {
    let mut args = json!({"type": kind, "limit": limit, "offset": offset, "get_rows_count": get_rows_count});
    optional(&mut args, "event_id", event_id.map(Value::from));
    optional(&mut args, "trigger_name", trigger_name.map(Value::from));
    event_request(json!({"type": "get_scheduled_event_invocations", "args": args}))
}

/// `pg_get_event_logs` of an event trigger: `status` is `pending`, `processed` or `all`.
#[pg_extern]
fn get_event_logs(name: &str, status: default!(&str, "'all'"), limit: default!(i32, 100), offset: default!(i32, 0)) -> JsonText {
    event_request(json!({"type": "pg_get_event_logs", "args": {"name": name, "status": status, "limit": limit, "offset": offset}}))
}

/// `pg_get_event_invocation_logs` of an event trigger.
#[pg_extern]
fn get_event_invocation_logs(name: &str, limit: default!(i32, 100), offset: default!(i32, 0)) -> JsonText {
    event_request(json!({"type": "pg_get_event_invocation_logs", "args": {"name": name, "limit": limit, "offset": offset}}))
}

/// `pg_get_event_by_id`: the event and its invocations.
#[pg_extern]
fn get_event_by_id(
    event_id: &str,
    invocation_log_limit: default!(i32, 100),
    invocation_log_offset: default!(i32, 0),
) -> JsonText {
    event_request(json!({"type": "pg_get_event_by_id", "args": {"event_id": event_id,
        "invocation_log_limit": invocation_log_limit, "invocation_log_offset": invocation_log_offset}}))
}

/// Set `args[key]` when there is a value.
fn optional(args: &mut Value, key: &str, value: Option<Value>) {
    if let Some(v) = value {
        args[key] = v;
    }
}

/// Graft's `pg_clear_event_logs`: delete processed events (and their logs) older than
/// `older_than_days`; returns how many.
#[pg_extern]
fn clear_event_logs(older_than_days: default!(i32, 7), include_undelivered: default!(bool, false)) -> JsonText {
    event_request(json!({"type": "pg_clear_event_logs", "args": {"older_than_days": older_than_days,
                         "include_undelivered": include_undelivered}}))
}

/// Run an event-log request, RAISE on failure.
fn event_request(request: Value) -> JsonText {
    let result = match graft_compiler::events::requests::parse_request(&request) {
        Ok(Some(r)) => super::requests::run(r),
        Ok(None) => Err(crate::errors::GraftError::Internal("not an event request".into())),
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(v) => v.into(),
        Err(e) => e.raise(),
    }
}
