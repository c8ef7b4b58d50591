//! The metadata requests that read or write the event tables (`pg_invoke_event_trigger`,
//! `pg_get_event_logs`, `create_scheduled_event` …), parsed by the compiler
//! (`graft_compiler::events::requests`) and run here as the tables' owner.

use graft_compiler::events::config::EventTriggerConf;
use graft_compiler::events::requests::{EventRequest, ScheduledKind};
use graft_compiler::metadata::model::DEFAULT_SOURCE;
use graft_compiler::MetadataError;
use pgrx::datum::DatumWithOid;
use serde_json::{json, Value};

use super::json_as_owner;
use crate::errors::Result;
use crate::metadata_store;

const EVENT_COLUMNS: &str = "id, schema_name, table_name, trigger_name, payload, delivered, error, tries, \
     created_at, locked, next_retry_at, archived";
const INVOCATION_COLUMNS: &str = "id, trigger_name, event_id, status, request, response, duration_ms, created_at";

fn not_exists(path: &str, message: String) -> crate::errors::GraftError {
    MetadataError::new("not-exists", path, message).into()
}

pub fn run(req: EventRequest) -> Result<Value> {
    match req {
        EventRequest::Invoke { source, name, payload } => invoke(&source, &name, payload),
        EventRequest::Redeliver { event_id } => redeliver(&event_id),
        EventRequest::EventLogs { name, status, limit, offset } => {
            let filter = match status.as_str() {
                "pending" => "AND NOT delivered AND NOT error",
                "processed" => "AND (delivered OR error)",
                _ => "",
            };
            let sql = format!(
                "SELECT coalesce(json_agg(e ORDER BY e.created_at DESC), '[]')::text FROM \
                 (SELECT {EVENT_COLUMNS} FROM graphql.event_log WHERE trigger_name = $1 {filter} \
                  ORDER BY created_at DESC LIMIT $2 OFFSET $3) e"
            );
            Ok(json_as_owner(&sql, &[name.into(), limit.into(), offset.into()])?.unwrap_or(json!([])))
        }
        EventRequest::InvocationLogs { name, limit, offset } => {
            let sql = format!(
                "SELECT coalesce(json_agg(i ORDER BY i.created_at DESC), '[]')::text FROM \
                 (SELECT {INVOCATION_COLUMNS} FROM graphql.event_invocation_logs WHERE trigger_name = $1 \
                  ORDER BY created_at DESC LIMIT $2 OFFSET $3) i"
            );
            Ok(json_as_owner(&sql, &[name.into(), limit.into(), offset.into()])?.unwrap_or(json!([])))
        }
        EventRequest::EventById { event_id, limit, offset } => {
            let sql = format!(
                "SELECT json_build_object('event', row_to_json(e), 'invocations', \
                   (SELECT coalesce(json_agg(i ORDER BY i.created_at DESC), '[]') FROM \
                     (SELECT {INVOCATION_COLUMNS} FROM graphql.event_invocation_logs WHERE event_id = e.id \
                      ORDER BY created_at DESC LIMIT $2 OFFSET $3) i))::text \
                 FROM (SELECT {EVENT_COLUMNS} FROM graphql.event_log WHERE id = $1::uuid) e"
            );
            json_as_owner(&sql, &[event_id.clone().into(), limit.into(), offset.into()])?
                .ok_or_else(|| not_exists("$.args.event_id", format!("event with id {event_id:?} does not exist")))
        }
        EventRequest::ClearEventLogs { older_than_secs, include_undelivered } => {
            let sql = super::cleanup_sql(include_undelivered, false);
            Ok(json_as_owner(&sql, &[(older_than_secs as f64).into()])?.unwrap_or(json!({})))
        }
        EventRequest::CreateScheduled { webhook, schedule_at, payload, headers, retry_conf, comment } => {
            let sql = "INSERT INTO graphql.hdb_scheduled_events \
                 (webhook_conf, scheduled_time, retry_conf, payload, header_conf, comment) \
                 VALUES (to_json($1::text), $2::timestamptz, $3::json, $4::json, $5::json, $6) \
                 RETURNING json_build_object('message', 'success', 'event_id', id)::text";
            let args: Vec<DatumWithOid> = vec![
                webhook.into(),
                schedule_at.into(),
                retry_conf.to_string().into(),
                payload.to_string().into(),
                headers.to_string().into(),
                comment.into(),
            ];
            Ok(json_as_owner(sql, &args)?.unwrap_or(json!({})))
        }
        EventRequest::DeleteScheduled { kind, event_id } => {
            let table = scheduled_table(kind);
            let sql = format!("DELETE FROM graphql.{table} WHERE id = $1::uuid RETURNING json_build_object('message', 'success')::text");
            json_as_owner(&sql, &[event_id.clone().into()])?
                .ok_or_else(|| not_exists("$.args.event_id", format!("scheduled event with id {event_id:?} does not exist")))
        }
        EventRequest::GetScheduled { kind, trigger_name, limit, offset, count, status } => {
            let (columns, filter) = match kind {
                ScheduledKind::OneOff => (
                    "id, webhook_conf, scheduled_time, retry_conf, payload, header_conf, status, tries, created_at, next_retry_at, comment",
                    // $1 (the trigger name) only filters cron events.
                    "true",
                ),
                ScheduledKind::Cron => (
                    "id, trigger_name AS name, scheduled_time, status, tries, created_at, next_retry_at",
                    "trigger_name = $1",
                ),
            };
            let table = scheduled_table(kind);
            let sql = format!(
                "SELECT json_build_object('events', (SELECT coalesce(json_agg(e ORDER BY e.scheduled_time), '[]') FROM \
                   (SELECT {columns} FROM graphql.{table} WHERE {filter} \
                    AND (cardinality($4::text[]) = 0 OR status = ANY ($4)) \
                    ORDER BY scheduled_time LIMIT $2 OFFSET $3) e), \
                  'count', CASE WHEN $5 THEN (SELECT count(*) FROM graphql.{table} WHERE {filter} \
                    AND (cardinality($4::text[]) = 0 OR status = ANY ($4))) END)::text"
            );
            let mut out = json_as_owner(
                &sql,
                &[trigger_name.into(), limit.into(), offset.into(), status.into(), count.into()],
            )?
            .unwrap_or(json!({}));
            if !count {
                if let Some(o) = out.as_object_mut() {
                    o.remove("count");
                }
            }
            Ok(out)
        }
        EventRequest::GetScheduledInvocations { kind, event_id, trigger_name, limit, offset, count } => {
            let (logs, events, by_trigger) = match kind {
                ScheduledKind::OneOff => ("hdb_scheduled_event_invocation_logs", "hdb_scheduled_events", "true"),
                ScheduledKind::Cron => ("hdb_cron_event_invocation_logs", "hdb_cron_events", "($2::text IS NULL OR e.trigger_name = $2)"),
            };
            let filter = format!("($1::uuid IS NULL OR i.event_id = $1::uuid) AND {by_trigger}");
            let sql = format!(
                "SELECT json_build_object('invocations', (SELECT coalesce(json_agg(x ORDER BY x.created_at DESC), '[]') FROM \
                   (SELECT i.id, i.event_id, i.status, i.request, i.response, i.duration_ms, i.created_at \
                    FROM graphql.{logs} i JOIN graphql.{events} e ON e.id = i.event_id WHERE {filter} \
                    ORDER BY i.created_at DESC LIMIT $3 OFFSET $4) x), \
                  'count', CASE WHEN $5 THEN (SELECT count(*) FROM graphql.{logs} i \
                    JOIN graphql.{events} e ON e.id = i.event_id WHERE {filter}) END)::text"
            );
            let mut out = json_as_owner(
                &sql,
                &[event_id.into(), trigger_name.into(), limit.into(), offset.into(), count.into()],
            )?
            .unwrap_or(json!({}));
            if !count {
                if let Some(o) = out.as_object_mut() {
                    o.remove("count");
                }
            }
            Ok(out)
        }
    }
}

fn scheduled_table(kind: ScheduledKind) -> &'static str {
    match kind {
        ScheduledKind::OneOff => "hdb_scheduled_events",
        ScheduledKind::Cron => "hdb_cron_events",
    }
}

/// `pg_invoke_event_trigger`: a MANUAL event with the given payload as `data.new`.
fn invoke(source: &str, name: &str, payload: Value) -> Result<Value> {
    let store = metadata_store::locate()?;
    let md = metadata_store::read(store, None)?.metadata.unwrap_or_default();
    let source = if source.is_empty() { DEFAULT_SOURCE } else { source };
    let Some((table, def)) = graft_compiler::metadata::event_trigger(&md, source, name) else {
        return Err(not_exists("$.args.name", format!("event trigger with name {name:?} does not exist")));
    };
    let conf = EventTriggerConf::parse(table, def).map_err(crate::errors::GraftError::Internal)?;
    if !conf.enable_manual {
        return Err(MetadataError::new(
            "not-supported",
            "$.args.name",
            format!("manual mode is not enabled for event trigger {name:?}: create it with \"enable_manual\": true"),
        )
        .into());
    }
    let sql = "INSERT INTO graphql.event_log (schema_name, table_name, trigger_name, payload) \
         VALUES ($1, $2, $3, json_build_object('op', 'MANUAL', \
           'data', json_build_object('old', NULL, 'new', $4::json), \
           'session_variables', json_build_object('x-hasura-role', 'admin'), 'trace_context', NULL)) \
         RETURNING json_build_object('event_id', id)::text";
    let args: Vec<DatumWithOid> =
        vec![table.schema.clone().into(), table.name.clone().into(), name.to_string().into(), payload.to_string().into()];
    Ok(json_as_owner(sql, &args)?.unwrap_or(json!({})))
}

/// `pg_redeliver_event`: back to pending with its tries reset, unless a live worker holds it.
fn redeliver(event_id: &str) -> Result<Value> {
    let sql = "WITH e AS (SELECT id, locked_by IS NOT NULL AND EXISTS \
           (SELECT 1 FROM pg_catalog.pg_stat_activity a WHERE a.pid = locked_by) AS busy \
         FROM graphql.event_log WHERE id = $1::uuid FOR UPDATE), \
         u AS (UPDATE graphql.event_log l SET delivered = false, error = false, tries = 0, archived = false, \
           next_retry_at = NULL, locked = NULL, locked_by = NULL FROM e WHERE l.id = e.id AND NOT e.busy RETURNING 1) \
         SELECT json_build_object('found', (SELECT count(*) FROM e), 'done', (SELECT count(*) FROM u))::text";
    let out = json_as_owner(sql, &[event_id.to_string().into()])?.unwrap_or(json!({}));
    if out["found"] == 0 {
        return Err(not_exists("$.args.event_id", format!("event with id {event_id:?} does not exist")));
    }
    if out["done"] == 0 {
        return Err(MetadataError::new("unexpected", "$.args.event_id", "event is already being processed: try again once this delivery attempt ends").into());
    }
    Ok(json!({"message": "success"}))
}
