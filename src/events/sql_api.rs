//! psql shorthands for event and scheduled triggers, in schema `graphql`. Each builds the
//! metadata request of the same name and RAISEs on failure, like `graphql.track_table`.

use pgrx::prelude::*;
use pgrx::Json;
use serde_json::{json, Value};

use crate::api::{helper, qualified_json};
use crate::json_text::JsonText;

/// `pg_create_event_trigger`: `operations` among INSERT, UPDATE, DELETE (default: all three);
/// `update_columns`: the columns whose change fires an UPDATE event (NULL: any column).
#[allow(clippy::too_many_arguments)]
#[pg_extern]
fn create_event_trigger(
    name: &str,
    table: &str,
    webhook: &str,
    operations: default!(Vec<String>, "ARRAY['INSERT', 'UPDATE', 'DELETE']"),
    update_columns: default!(Option<Vec<String>>, "NULL"),
    enable_manual: default!(bool, false),
    retry_conf: default!(Option<Json>, "NULL"),
    headers: default!(Option<Json>, "NULL"),
    replace: default!(bool, false),
) -> JsonText {
    let table = qualified_json(table);
    helper(|| {
        let mut args = json!({"name": name, "source": "default", "table": table.clone(), "webhook": webhook,
                              "enable_manual": enable_manual, "replace": replace});
        for op in &operations {
            match op.to_ascii_lowercase().as_str() {
                "insert" => args["insert"] = json!({"columns": "*"}),
                "delete" => args["delete"] = json!({"columns": "*"}),
                "update" => {
                    args["update"] = json!({"columns": update_columns.clone().map(Value::from).unwrap_or_else(|| json!("*"))})
                }
                other => {
                    return Err(crate::errors::GraftError::InvalidArgument(format!(
                        "unknown operation {other:?}: expected INSERT, UPDATE or DELETE"
                    )))
                }
            }
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

/// `create_cron_trigger` with a 5-field UTC `schedule`.
#[pg_extern]
fn create_cron_trigger(
    name: &str,
    webhook: &str,
    schedule: &str,
    payload: default!(Option<Json>, "NULL"),
    include_in_metadata: default!(bool, true),
    replace: default!(bool, false),
) -> JsonText {
    let payload = payload.map(|p| p.0).unwrap_or(Value::Null);
    helper(|| {
        Ok(json!({"type": "create_cron_trigger", "args": {"name": name, "webhook": webhook, "schedule": schedule,
                  "payload": payload.clone(), "include_in_metadata": include_in_metadata, "replace": replace}}))
    })
}

#[pg_extern]
fn delete_cron_trigger(name: &str) -> JsonText {
    helper(|| Ok(json!({"type": "delete_cron_trigger", "args": {"name": name}})))
}

/// `create_scheduled_event`: one POST to `webhook` at `schedule_at`; returns `{"event_id"}`.
#[pg_extern]
fn create_scheduled_event(
    webhook: &str,
    schedule_at: pgrx::datum::TimestampWithTimeZone,
    payload: default!(Option<Json>, "NULL"),
    comment: default!(Option<&str>, "NULL"),
) -> JsonText {
    let at = match Spi::get_one_with_args::<String>(
        "SELECT to_char($1 AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
        &[schedule_at.into()],
    ) {
        Ok(Some(at)) => at,
        _ => crate::errors::GraftError::InvalidArgument("schedule_at is not a valid time".into()).raise(),
    };
    let payload = payload.map(|p| p.0).unwrap_or(Value::Null);
    event_request(json!({"type": "create_scheduled_event", "args": {"webhook": webhook, "schedule_at": at,
                         "payload": payload, "comment": comment}}))
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
