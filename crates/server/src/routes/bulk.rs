//! A metadata `bulk` holding event requests (`create_scheduled_event`, `pg_invoke_event_trigger`,
//! `get_scheduled_events` …). Hasura runs them in a bulk like any other request.
//! `graphql.metadata` runs a bulk against a working copy of the metadata document, and these
//! requests write the event tables instead, so it takes them only on their own: such a bulk is
//! split here into its items, each sent to `graphql.metadata` in turn.
//!
//! * `bulk`: all items in one transaction; the first error stops it, rolls back every item
//!   (events created included) and is the answer, its path under the item (`$.args[1].args…`),
//!   as the extension's own bulk reports it.
//! * `bulk_keep_going`: each item in its own transaction; the answer lists each item's result
//!   or error object, HTTP 200.

use serde_json::Value;

use super::query::{admin_response, metadata_error};
use super::{db_error, AppState};
use crate::db;

/// The requests `graphql.metadata` refuses inside a bulk (the compiler's
/// `events::requests::is_event_request`).
pub fn is_event_request(ty: &str) -> bool {
    matches!(
        ty.strip_prefix("pg_").unwrap_or(ty),
        "invoke_event_trigger" | "redeliver_event" | "get_event_logs" | "get_event_invocation_logs" | "get_event_by_id" | "clear_event_logs"
    ) || matches!(ty, "create_scheduled_event" | "delete_scheduled_event" | "get_scheduled_events" | "get_scheduled_event_invocations")
}

/// The items of a `bulk` or `bulk_keep_going` that holds an event request (at its top level),
/// and whether it keeps going; `None` for any other request.
pub fn with_event_requests(req: &Value) -> Option<(&[Value], bool)> {
    let keep_going = match req.get("type").and_then(Value::as_str)? {
        "bulk" => false,
        "bulk_keep_going" => true,
        _ => return None,
    };
    // Another `version` is refused by graphql.metadata itself, with Hasura's message.
    if !req.get("version").is_none_or(|v| v.as_u64().is_some_and(|n| n == 1 || n == 2)) {
        return None;
    }
    let items = req.get("args")?.as_array()?;
    let has_event = items.iter().any(|i| i.get("type").and_then(Value::as_str).is_some_and(is_event_request));
    has_event.then_some((items.as_slice(), keep_going))
}

/// An item's error object with its path put under the item: `$` → `$.args[i]`,
/// `$.args.x` → `$.args[i].args.x`.
fn under_item(mut error: Value, i: usize) -> Value {
    if let Some(path) = error.get("path").and_then(Value::as_str) {
        let rest = path.strip_prefix('$').unwrap_or(path).to_string();
        error["path"] = Value::String(format!("$.args[{i}]{rest}"));
    }
    error
}

pub async fn run(state: &AppState, items: &[Value], keep_going: bool) -> axum::response::Response {
    let bodies: Vec<String> = items.iter().map(Value::to_string).collect();
    let parse = |answer: &str| serde_json::from_str::<Value>(answer).unwrap_or(Value::Null);
    if keep_going {
        let mut results = Vec::with_capacity(bodies.len());
        for (i, body) in bodies.iter().enumerate() {
            let answer = match db::metadata(&state.pool, body).await {
                Ok(a) => a,
                Err(e) => return db_error(e),
            };
            results.push(match metadata_error(&answer) {
                Some((_, error)) => under_item(error, i),
                None => parse(&answer),
            });
        }
        return admin_response(200, Value::Array(results).to_string(), None);
    }
    let answers = match db::metadata_in_one_transaction(&state.pool, &bodies, |a| metadata_error(a).is_some()).await {
        Ok(a) => a,
        Err(e) => return db_error(e),
    };
    if let Some((status, error)) = answers.last().and_then(|a| metadata_error(a)) {
        let error = under_item(error, answers.len() - 1);
        return admin_response(status, error.to_string(), Some(error));
    }
    admin_response(200, Value::Array(answers.iter().map(|a| parse(a)).collect()).to_string(), None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn which_bulks_are_split() {
        let create = json!({"type": "create_scheduled_event", "args": {"webhook": "http://x", "schedule_at": "2030-01-01T00:00:00Z"}});
        let track = json!({"type": "pg_track_table", "args": {"table": "t"}});
        let bulk = json!({"type": "bulk", "args": [track, create]});
        assert_eq!(with_event_requests(&bulk).map(|(items, k)| (items.len(), k)), Some((2, false)));
        let keep = json!({"type": "bulk_keep_going", "args": [{"type": "pg_get_event_logs", "args": {}}]});
        assert_eq!(with_event_requests(&keep).map(|(_, k)| k), Some(true));
        assert_eq!(with_event_requests(&json!({"type": "bulk", "args": [track]})), None);
        assert_eq!(with_event_requests(&create), None);
        assert_eq!(with_event_requests(&json!({"type": "bulk", "args": {}})), None);
        let v = |version: serde_json::Value| json!({"type": "bulk", "version": version, "args": [{"type": "get_scheduled_events", "args": {}}]});
        assert!(with_event_requests(&v(json!(1))).is_some() && with_event_requests(&v(json!(2))).is_some());
        assert_eq!(with_event_requests(&v(json!(3))), None);
        assert_eq!(with_event_requests(&v(json!("2"))), None);
        for ty in ["pg_invoke_event_trigger", "invoke_event_trigger", "pg_redeliver_event", "get_scheduled_events", "delete_scheduled_event"] {
            assert!(is_event_request(ty), "{ty}");
        }
        for ty in ["create_cron_trigger", "pg_create_event_trigger", "pg_create_scheduled_event", "export_metadata"] {
            assert!(!is_event_request(ty), "{ty}");
        }
    }

    #[test]
    fn error_paths_name_the_item() {
        let e = json!({"error": "x", "path": "$.args.schedule_at", "code": "parse-failed"});
        assert_eq!(under_item(e, 2)["path"], "$.args[2].args.schedule_at");
        assert_eq!(under_item(json!({"error": "x", "path": "$", "code": "c"}), 0)["path"], "$.args[0]");
    }
}
