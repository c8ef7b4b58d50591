//! Metadata requests about events themselves rather than definitions: they read or write the
//! event tables, so the extension runs them. Here they are parsed and checked.

use serde_json::Value;

use crate::error::MetadataError;
use crate::events::config::{parse_headers, ScheduledRetryConf};
use crate::metadata::args::{parse_failed, Args};

/// Which scheduled events: Hasura's `type`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ScheduledKind {
    OneOff,
    Cron,
}

#[derive(Clone, Debug, PartialEq)]
pub enum EventRequest {
    /// `pg_invoke_event_trigger {name, source, payload}` → `{"event_id"}`.
    Invoke { source: String, name: String, payload: Value },
    /// `pg_redeliver_event {event_id}`.
    Redeliver { event_id: String },
    /// `pg_get_event_logs {name, source, status: pending|processed|all, limit, offset}`.
    EventLogs { name: String, status: String, limit: i64, offset: i64 },
    /// `pg_get_event_invocation_logs {name, limit, offset}`.
    InvocationLogs { name: String, limit: i64, offset: i64 },
    /// `pg_get_event_by_id {event_id, invocation_log_limit, invocation_log_offset}`.
    EventById { event_id: String, limit: i64, offset: i64 },
    /// `create_scheduled_event {webhook, schedule_at, payload, headers, retry_conf, comment}`.
    CreateScheduled { webhook: String, schedule_at: String, payload: Value, headers: Value, retry_conf: Value, comment: Option<String> },
    /// `delete_scheduled_event {type, event_id}`.
    DeleteScheduled { kind: ScheduledKind, event_id: String },
    /// `get_scheduled_events {type, trigger_name, limit, offset, get_rows_count, status}`.
    GetScheduled { kind: ScheduledKind, trigger_name: Option<String>, limit: i64, offset: i64, count: bool, status: Vec<String> },
    /// `get_scheduled_event_invocations {type, event_id | trigger_name, limit, offset, get_rows_count}`.
    GetScheduledInvocations { kind: ScheduledKind, event_id: Option<String>, trigger_name: Option<String>, limit: i64, offset: i64, count: bool },
    /// `pg_clear_event_logs {older_than_days, include_undelivered}`: Graft's cleanup request.
    ClearEventLogs { older_than_secs: i64, include_undelivered: bool },
}

/// The request types [`parse`] understands (with or without the `pg_` prefix where Hasura
/// has one).
pub fn is_event_request(ty: &str) -> bool {
    matches!(
        ty.strip_prefix("pg_").unwrap_or(ty),
        "invoke_event_trigger"
            | "redeliver_event"
            | "get_event_logs"
            | "get_event_invocation_logs"
            | "get_event_by_id"
            | "clear_event_logs"
    ) || matches!(
        ty,
        "create_scheduled_event" | "delete_scheduled_event" | "get_scheduled_events" | "get_scheduled_event_invocations"
    )
}

fn int(args: &Args, key: &str, default: i64, max: i64) -> Result<i64, MetadataError> {
    match args.get(key) {
        None => Ok(default),
        Some(v) => match v.as_i64() {
            Some(n) if (0..=max).contains(&n) => Ok(n),
            _ => Err(parse_failed(args.path_of(key), format!("expected an integer between 0 and {max}"))),
        },
    }
}

fn kind(args: &Args) -> Result<ScheduledKind, MetadataError> {
    match args.str("type")?.as_str() {
        "one_off" => Ok(ScheduledKind::OneOff),
        "cron" => Ok(ScheduledKind::Cron),
        other => Err(parse_failed(args.path_of("type"), format!("unexpected type {other:?}: expected one_off or cron"))),
    }
}

fn uuid(args: &Args, key: &str) -> Result<String, MetadataError> {
    let id = args.str(key)?;
    let ok = id.len() == 36
        && id.chars().enumerate().all(|(i, c)| if [8, 13, 18, 23].contains(&i) { c == '-' } else { c.is_ascii_hexdigit() });
    if ok {
        Ok(id)
    } else {
        Err(parse_failed(args.path_of(key), format!("{id:?} is not a valid event id (a UUID)")))
    }
}

const MAX_LIMIT: i64 = 100_000;

/// An ISO 8601 time (`2026-11-25T10:00:00Z`, with any offset, or without one for UTC), as
/// RFC 3339 in UTC.
fn utc_time(s: &str) -> Result<String, String> {
    use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
    let parsed = DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").map(|t| t.and_utc()))
        .map_err(|_| format!("{s:?} is not an ISO 8601 time such as \"2026-11-25T10:00:00Z\""))?;
    Ok(parsed.to_rfc3339_opts(SecondsFormat::Micros, true))
}

/// A whole `/v1/metadata` request: `Ok(None)` when it is not an event request.
pub fn parse_request(request: &Value) -> Result<Option<EventRequest>, MetadataError> {
    let Some(ty) = request.get("type").and_then(Value::as_str).filter(|t| is_event_request(t)) else {
        return Ok(None);
    };
    let empty = Value::Object(Default::default());
    let args = Args::new(request.get("args").filter(|a| !a.is_null()).unwrap_or(&empty), "$.args")?;
    parse(ty, &args).map(Some)
}

pub fn parse(ty: &str, args: &Args) -> Result<EventRequest, MetadataError> {
    let base = ty.strip_prefix("pg_").unwrap_or(ty);
    Ok(match base {
        "invoke_event_trigger" => EventRequest::Invoke {
            source: args.source()?,
            name: args.str("name")?,
            payload: args.get("payload").cloned().unwrap_or(Value::Null),
        },
        "redeliver_event" => EventRequest::Redeliver { event_id: uuid(args, "event_id")? },
        "get_event_logs" => {
            let status = args.opt_str("status")?.unwrap_or_else(|| "all".into());
            if !matches!(status.as_str(), "pending" | "processed" | "all") {
                return Err(parse_failed(args.path_of("status"), "expected one of pending, processed, all"));
            }
            EventRequest::EventLogs { name: args.str("name")?, status, limit: int(args, "limit", 100, MAX_LIMIT)?, offset: int(args, "offset", 0, i64::MAX)? }
        }
        "get_event_invocation_logs" => EventRequest::InvocationLogs {
            name: args.str("name")?,
            limit: int(args, "limit", 100, MAX_LIMIT)?,
            offset: int(args, "offset", 0, i64::MAX)?,
        },
        "get_event_by_id" => EventRequest::EventById {
            event_id: uuid(args, "event_id")?,
            limit: int(args, "invocation_log_limit", 100, MAX_LIMIT)?,
            offset: int(args, "invocation_log_offset", 0, i64::MAX)?,
        },
        "clear_event_logs" => EventRequest::ClearEventLogs {
            older_than_secs: int(args, "older_than_days", 7, 36_500)? * 86_400,
            include_undelivered: args.bool_or("include_undelivered", false)?,
        },
        "create_scheduled_event" => {
            crate::metadata::event_triggers::reject_transforms(args)?;
            let retry_conf = args.get("retry_conf").cloned().unwrap_or(Value::Null);
            ScheduledRetryConf::parse(Some(&retry_conf)).map_err(|e| parse_failed(args.path_of("retry_conf"), e))?;
            let headers = args.get("headers").cloned().unwrap_or(Value::Null);
            parse_headers(Some(&headers)).map_err(|e| parse_failed(args.path_of("headers"), e))?;
            EventRequest::CreateScheduled {
                webhook: args.str("webhook")?,
                schedule_at: utc_time(&args.str("schedule_at")?).map_err(|e| parse_failed(args.path_of("schedule_at"), e))?,
                payload: args.get("payload").cloned().unwrap_or(Value::Null),
                headers,
                retry_conf,
                comment: args.opt_str("comment")?,
            }
        }
        "delete_scheduled_event" => EventRequest::DeleteScheduled { kind: kind(args)?, event_id: uuid(args, "event_id")? },
        "get_scheduled_events" => {
            let status = match args.get("status") {
                None => vec![],
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|s| match s.as_str() {
                        Some(s @ ("scheduled" | "locked" | "delivered" | "error" | "dead")) => Ok(s.to_string()),
                        _ => Err(parse_failed(args.path_of("status"), "expected statuses among scheduled, locked, delivered, error, dead")),
                    })
                    .collect::<Result<_, _>>()?,
                Some(_) => return Err(parse_failed(args.path_of("status"), "expected a list of statuses")),
            };
            let kind = kind(args)?;
            let trigger_name = args.opt_str("trigger_name")?;
            if kind == ScheduledKind::Cron && trigger_name.is_none() {
                return Err(parse_failed(&args.path, "key \"trigger_name\" not found"));
            }
            EventRequest::GetScheduled {
                kind,
                trigger_name,
                limit: int(args, "limit", 100, MAX_LIMIT)?,
                offset: int(args, "offset", 0, i64::MAX)?,
                count: args.bool_or("get_rows_count", false)?,
                status,
            }
        }
        "get_scheduled_event_invocations" => {
            let event_id = if args.get("event_id").is_some() { Some(uuid(args, "event_id")?) } else { None };
            EventRequest::GetScheduledInvocations {
                kind: kind(args)?,
                event_id,
                trigger_name: args.opt_str("trigger_name")?,
                limit: int(args, "limit", 100, MAX_LIMIT)?,
                offset: int(args, "offset", 0, i64::MAX)?,
                count: args.bool_or("get_rows_count", false)?,
            }
        }
        other => return Err(parse_failed(&args.path, format!("not an event request: {other}"))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(ty: &str, args: Value) -> Result<EventRequest, MetadataError> {
        parse(ty, &Args::new(&args, "$.args").unwrap())
    }

    #[test]
    fn parses_and_checks() {
        assert!(is_event_request("pg_invoke_event_trigger") && is_event_request("get_scheduled_events"));
        assert!(!is_event_request("pg_create_event_trigger"));
        assert_eq!(
            p("pg_invoke_event_trigger", json!({"name": "t", "payload": {"a": 1}})).unwrap(),
            EventRequest::Invoke { source: "default".into(), name: "t".into(), payload: json!({"a": 1}) }
        );
        assert_eq!(p("pg_redeliver_event", json!({"event_id": "x'; drop"})).unwrap_err().code, "parse-failed");
        assert!(p("pg_redeliver_event", json!({"event_id": "8a3c5f0e-1b2c-4d5e-8f90-123456789abc"})).is_ok());
        assert!(p("get_scheduled_events", json!({"type": "cron"})).is_err());
        assert!(p("get_scheduled_events", json!({"type": "one_off", "status": ["bogus"]})).is_err());
        assert!(p("pg_get_event_logs", json!({"name": "t", "limit": -1})).is_err());
        assert!(p("create_scheduled_event", json!({"webhook": "http://x", "schedule_at": "2026-01-01T00:00:00Z", "retry_conf": {"num_retries": "a"}})).is_err());
        assert!(p("create_scheduled_event", json!({"webhook": "http://x", "schedule_at": "tomorrow"})).is_err());
        assert_eq!(utc_time("2026-01-01T01:00:00+01:00").unwrap(), "2026-01-01T00:00:00.000000Z");
        assert_eq!(utc_time("2026-01-01T00:00:00").unwrap(), "2026-01-01T00:00:00.000000Z");
    }
}
