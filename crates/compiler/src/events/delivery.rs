//! What a delivery sends and what its outcome means: Hasura's webhook payloads, the retry
//! policy, and the invocation-log records.

use serde_json::{json, Map, Value};

/// An event-trigger event as claimed from `graphql.event_log`.
#[derive(Clone, Debug)]
pub struct EventRow {
    pub id: String,
    pub schema_name: String,
    pub table_name: String,
    pub trigger_name: String,
    /// `{"op", "data", "session_variables", "trace_context"}` as the capture trigger wrote it.
    pub event: Value,
    pub tries: u32,
    /// `created_at` as Hasura prints it (UTC, no offset): `2026-11-25T10:07:30.123456`.
    pub created_at: String,
}

/// Hasura's event-trigger payload, keys in Hasura's order.
pub fn event_payload(row: &EventRow, max_retries: u32) -> Value {
    let mut event = Map::new();
    for key in ["session_variables", "op", "data", "trace_context"] {
        event.insert(key.into(), row.event.get(key).cloned().unwrap_or(Value::Null));
    }
    if event.get("trace_context").is_some_and(Value::is_null) {
        event.remove("trace_context");
    }
    json!({
        "event": event,
        "created_at": row.created_at,
        "id": row.id,
        "delivery_info": {"max_retries": max_retries, "current_retry": row.tries},
        "trigger": {"name": row.trigger_name},
        "table": {"schema": row.schema_name, "name": row.table_name},
    })
}

/// Hasura's scheduled-event payload (`ScheduledEventWebhookPayload`): nulls are left out;
/// `name` only for cron events, `created_at` only for one-off events.
pub fn scheduled_payload(
    id: &str,
    cron_name: Option<&str>,
    scheduled_time: &str,
    payload: &Value,
    comment: Option<&str>,
    created_at: Option<&str>,
) -> Value {
    let mut out = Map::new();
    out.insert("id".into(), id.into());
    if let Some(n) = cron_name {
        out.insert("name".into(), n.into());
    }
    out.insert("scheduled_time".into(), scheduled_time.into());
    if !payload.is_null() {
        out.insert("payload".into(), payload.clone());
    }
    if let Some(c) = comment {
        out.insert("comment".into(), c.into());
    }
    if let Some(c) = created_at {
        out.insert("created_at".into(), c.into());
    }
    Value::Object(out)
}

/// What one HTTP attempt produced.
#[derive(Clone, Debug, Default)]
pub struct Attempt {
    /// The response status, when a response arrived.
    pub status: Option<u16>,
    pub body: String,
    pub headers: Vec<(String, String)>,
    /// No response: connection refused or closed, timeout, bad URL, …
    pub error: Option<String>,
    pub duration_ms: f64,
}

impl Attempt {
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }

    /// A `Retry-After` header in seconds (the HTTP-date form is not honoured).
    pub fn retry_after(&self) -> Option<u32> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("retry-after"))
            .and_then(|(_, v)| v.trim().parse::<u32>().ok())
    }
}

/// What to do with an event after an attempt.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Next {
    Delivered,
    /// Try again in this many seconds.
    RetryIn(u32),
    /// No retries left: the event is marked errored.
    Failed,
}

/// `tries_before` attempts were made before this one. Any non-2xx (or no response) is
/// retried while retries remain, after `Retry-After` when the webhook sent one.
pub fn next_step(attempt: &Attempt, tries_before: u32, num_retries: u32, interval_sec: u32) -> Next {
    if attempt.succeeded() {
        Next::Delivered
    } else if tries_before < num_retries {
        Next::RetryIn(attempt.retry_after().unwrap_or(interval_sec))
    } else {
        Next::Failed
    }
}

/// The invocation log's `request`: `{"payload", "headers", "version": "2"}`.
pub fn logged_request(payload: &Value, headers: &[(String, String)]) -> Value {
    let headers: Vec<Value> = headers.iter().map(|(n, v)| json!({"name": n, "value": v})).collect();
    json!({"payload": payload, "headers": headers, "version": "2"})
}

/// The invocation log's `response`: a webhook response, or a client error when none came.
pub fn logged_response(attempt: &Attempt) -> Value {
    match (attempt.status, &attempt.error) {
        (Some(status), _) => {
            let headers: Vec<Value> =
                attempt.headers.iter().map(|(n, v)| json!({"name": n, "value": v})).collect();
            json!({"type": "webhook_response", "data": {"status": status, "body": attempt.body, "headers": headers}, "version": "2"})
        }
        (None, error) => json!({
            "type": "client_error",
            "data": {"message": error.clone().unwrap_or_else(|| "no response".into())},
            "version": "2",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> EventRow {
        EventRow {
            id: "8a3c".into(),
            schema_name: "public".into(),
            table_name: "author".into(),
            trigger_name: "author_created".into(),
            event: json!({"op": "INSERT", "data": {"old": null, "new": {"id": 1}}, "session_variables": {"x-hasura-role": "admin"}, "trace_context": null}),
            tries: 2,
            created_at: "2026-11-25T10:00:00.000001".into(),
        }
    }

    #[test]
    fn event_payload_has_hasuras_shape() {
        let p = event_payload(&row(), 5);
        let keys: Vec<&String> = p.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["event", "created_at", "id", "delivery_info", "trigger", "table"]);
        assert_eq!(p["event"]["op"], "INSERT");
        assert_eq!(p["event"]["data"]["new"]["id"], 1);
        assert_eq!(p["event"]["session_variables"]["x-hasura-role"], "admin");
        assert_eq!(p["delivery_info"], json!({"max_retries": 5, "current_retry": 2}));
        assert_eq!(p["table"], json!({"schema": "public", "name": "author"}));
        assert_eq!(p["trigger"]["name"], "author_created");
    }

    #[test]
    fn scheduled_payload_omits_nulls() {
        let p = scheduled_payload("e1", Some("daily"), "2026-11-25T10:00:00Z", &Value::Null, None, None);
        assert_eq!(p, json!({"id": "e1", "name": "daily", "scheduled_time": "2026-11-25T10:00:00Z"}));
        let p = scheduled_payload("e2", None, "t", &json!({"a": 1}), Some("c"), Some("t0"));
        assert_eq!(p, json!({"id": "e2", "scheduled_time": "t", "payload": {"a": 1}, "comment": "c", "created_at": "t0"}));
    }

    #[test]
    fn retry_policy() {
        let ok = Attempt { status: Some(204), ..Default::default() };
        let bad = Attempt { status: Some(500), ..Default::default() };
        let slow = Attempt { status: Some(503), headers: vec![("Retry-After".into(), "7".into())], ..Default::default() };
        let down = Attempt { error: Some("connection refused".into()), ..Default::default() };
        assert_eq!(next_step(&ok, 0, 0, 10), Next::Delivered);
        assert_eq!(next_step(&bad, 0, 0, 10), Next::Failed);
        assert_eq!(next_step(&bad, 0, 2, 10), Next::RetryIn(10));
        assert_eq!(next_step(&bad, 1, 2, 10), Next::RetryIn(10));
        assert_eq!(next_step(&bad, 2, 2, 10), Next::Failed);
        assert_eq!(next_step(&slow, 0, 1, 10), Next::RetryIn(7));
        assert_eq!(next_step(&down, 0, 1, 3), Next::RetryIn(3));
        assert_eq!(logged_response(&down)["type"], "client_error");
        assert_eq!(logged_response(&bad)["data"]["status"], 500);
    }
}
