//! The worker's SQL: claiming due events, recording outcomes, reclaiming the claims of dead
//! workers, materialising cron occurrences, deleting old history. Every statement is short;
//! each runs inside the caller's transaction.

use graft_compiler::events::delivery::EventRow;
use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use serde_json::Value;

type SpiResult<T> = std::result::Result<T, pgrx::spi::Error>;

/// Whether the extension is installed in this database (the worker may start before it is).
pub fn extension_installed() -> SpiResult<bool> {
    Ok(Spi::get_one::<bool>("SELECT to_regclass('graphql.event_log') IS NOT NULL AND to_regprocedure('graphql.capture_event()') IS NOT NULL")?
        .unwrap_or(false))
}

/// Release every claim but this worker's own deliveries in flight (`events`, `cron`,
/// `one_off`: their ids). Only one worker serves a database (it holds [`take_database`]'s
/// lock), so any other claim is left over: by a worker that crashed or was stopped (Postgres
/// restarted), or by this one when it could not record an outcome. Those are delivered again:
/// at least once, as in Hasura, but without its 30-minute wait.
pub fn reclaim_stale(events: Vec<String>, cron: Vec<String>, one_off: Vec<String>) -> SpiResult<i64> {
    let mine = |n: u8| format!("NOT (locked_by IS NOT DISTINCT FROM pg_backend_pid() AND id = ANY (${n}::uuid[]))");
    let sql = format!(
        "WITH e AS (UPDATE graphql.event_log SET locked = NULL, locked_by = NULL \
           WHERE locked IS NOT NULL AND NOT delivered AND NOT error AND NOT archived AND {} RETURNING 1), \
         c AS (UPDATE graphql.hdb_cron_events SET status = 'scheduled', locked_by = NULL \
           WHERE status = 'locked' AND {} RETURNING 1), \
         s AS (UPDATE graphql.hdb_scheduled_events SET status = 'scheduled', locked_by = NULL \
           WHERE status = 'locked' AND {} RETURNING 1) \
         SELECT (SELECT count(*) FROM e) + (SELECT count(*) FROM c) + (SELECT count(*) FROM s)",
        mine(1),
        mine(2),
        mine(3)
    );
    Ok(Spi::get_one_with_args::<i64>(&sql, &[events.into(), cron.into(), one_off.into()])?.unwrap_or(0))
}

/// Take the session-level advisory lock that makes this process the one worker of its
/// database; false when another live worker holds it (a second launcher started one).
pub fn take_database() -> SpiResult<bool> {
    // The key: "grft" and 1, in this database's advisory lock space.
    Ok(Spi::get_one::<bool>("SELECT pg_catalog.pg_try_advisory_lock(1735550580, 1)")?.unwrap_or(false))
}

/// Claim up to `limit` pending events of the given triggers, oldest first.
/// `skip`: events this worker could not record lately (see `run::Worker::quarantine`).
pub fn claim_events(limit: i64, triggers: Vec<String>, skip: Vec<String>) -> SpiResult<Vec<EventRow>> {
    let sql = "WITH c AS (SELECT id FROM graphql.event_log \
           WHERE NOT delivered AND NOT error AND NOT archived AND locked IS NULL \
             AND (next_retry_at IS NULL OR next_retry_at <= now()) AND trigger_name = ANY ($2) \
             AND id <> ALL ($3::uuid[]) \
           ORDER BY locked NULLS FIRST, next_retry_at NULLS FIRST, created_at \
           LIMIT $1 FOR UPDATE SKIP LOCKED) \
         UPDATE graphql.event_log e SET locked = now(), locked_by = pg_backend_pid() FROM c WHERE e.id = c.id \
         RETURNING e.id::text, e.schema_name, e.table_name, e.trigger_name, e.payload::text, e.tries, \
           to_char(e.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US')";
    Spi::connect_mut(|c| {
        let mut out = vec![];
        for row in c.update(sql, None, &[limit.into(), triggers.into(), skip.into()])? {
            let payload: String = row.get(5)?.unwrap_or_default();
            out.push(EventRow {
                id: row.get(1)?.unwrap_or_default(),
                schema_name: row.get(2)?.unwrap_or_default(),
                table_name: row.get(3)?.unwrap_or_default(),
                trigger_name: row.get(4)?.unwrap_or_default(),
                event: serde_json::from_str(&payload).unwrap_or(Value::Null),
                tries: row.get::<i32>(6)?.unwrap_or(0).max(0) as u32,
                created_at: row.get(7)?.unwrap_or_default(),
            });
        }
        Ok(out)
    })
}

/// A cron or one-off event, claimed.
pub struct ScheduledRow {
    pub id: String,
    /// The cron trigger's name; `None` for one-off events.
    pub cron_name: Option<String>,
    pub tries: u32,
    /// Seconds since the epoch.
    pub scheduled_at: f64,
    /// `2026-11-25T10:05:00Z`.
    pub scheduled_time: String,
    /// One-off events carry their own definition.
    pub one_off: Option<OneOffDef>,
}

pub struct OneOffDef {
    pub webhook: Value,
    pub retry_conf: Value,
    pub payload: Value,
    pub headers: Value,
    pub comment: Option<String>,
    pub created_at: String,
}

const TIME_FORMAT: &str = "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'";

pub fn claim_cron(limit: i64, triggers: Vec<String>, skip: Vec<String>) -> SpiResult<Vec<ScheduledRow>> {
    let sql = format!(
        "WITH c AS (SELECT id FROM graphql.hdb_cron_events \
           WHERE status = 'scheduled' AND scheduled_time <= now() \
             AND (next_retry_at IS NULL OR next_retry_at <= now()) AND trigger_name = ANY ($2) \
             AND id <> ALL ($3::uuid[]) \
           ORDER BY scheduled_time LIMIT $1 FOR UPDATE SKIP LOCKED) \
         UPDATE graphql.hdb_cron_events e SET status = 'locked', locked_by = pg_backend_pid() FROM c WHERE e.id = c.id \
         RETURNING e.id::text, e.trigger_name, e.tries, extract(epoch FROM e.scheduled_time)::float8, \
           to_char(e.scheduled_time AT TIME ZONE 'UTC', {TIME_FORMAT})"
    );
    Spi::connect_mut(|c| {
        let mut out = vec![];
        for row in c.update(&sql, None, &[limit.into(), triggers.into(), skip.into()])? {
            out.push(ScheduledRow {
                id: row.get(1)?.unwrap_or_default(),
                cron_name: row.get(2)?,
                tries: row.get::<i32>(3)?.unwrap_or(0).max(0) as u32,
                scheduled_at: row.get(4)?.unwrap_or(0.0),
                scheduled_time: row.get(5)?.unwrap_or_default(),
                one_off: None,
            });
        }
        Ok(out)
    })
}

pub fn claim_one_off(limit: i64, skip: Vec<String>) -> SpiResult<Vec<ScheduledRow>> {
    let sql = format!(
        "WITH c AS (SELECT id FROM graphql.hdb_scheduled_events \
           WHERE status = 'scheduled' AND scheduled_time <= now() \
             AND (next_retry_at IS NULL OR next_retry_at <= now()) AND id <> ALL ($2::uuid[]) \
           ORDER BY scheduled_time LIMIT $1 FOR UPDATE SKIP LOCKED) \
         UPDATE graphql.hdb_scheduled_events e SET status = 'locked', locked_by = pg_backend_pid() FROM c WHERE e.id = c.id \
         RETURNING e.id::text, e.tries, extract(epoch FROM e.scheduled_time)::float8, \
           to_char(e.scheduled_time AT TIME ZONE 'UTC', {TIME_FORMAT}), \
           e.webhook_conf::text, e.retry_conf::text, e.payload::text, e.header_conf::text, e.comment, \
           to_char(e.created_at AT TIME ZONE 'UTC', {TIME_FORMAT})"
    );
    let json = |t: Option<String>| t.and_then(|t| serde_json::from_str(&t).ok()).unwrap_or(Value::Null);
    Spi::connect_mut(|c| {
        let mut out = vec![];
        for row in c.update(&sql, None, &[limit.into(), skip.into()])? {
            out.push(ScheduledRow {
                id: row.get(1)?.unwrap_or_default(),
                cron_name: None,
                tries: row.get::<i32>(2)?.unwrap_or(0).max(0) as u32,
                scheduled_at: row.get(3)?.unwrap_or(0.0),
                scheduled_time: row.get(4)?.unwrap_or_default(),
                one_off: Some(OneOffDef {
                    webhook: json(row.get(5)?),
                    retry_conf: json(row.get(6)?),
                    payload: json(row.get(7)?),
                    headers: json(row.get(8)?),
                    comment: row.get(9)?,
                    created_at: row.get(10)?.unwrap_or_default(),
                }),
            });
        }
        Ok(out)
    })
}

/// Outcomes of one batch, column-wise (one statement per table however large the batch).
#[derive(Default)]
pub struct Outcomes {
    pub ids: Vec<String>,
    /// `delivered`, `retry`, `failed` or `dead` (scheduled events only).
    pub outcome: Vec<String>,
    /// Seconds until the retry.
    pub retry_in: Vec<i32>,
    pub status: Vec<Option<i32>>,
    pub request: Vec<String>,
    pub response: Vec<String>,
    pub duration_ms: Vec<f64>,
    pub trigger_name: Vec<String>,
}

impl Outcomes {
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// The `i`th outcome alone.
    pub fn single(&self, i: usize) -> Outcomes {
        Outcomes {
            ids: vec![self.ids[i].clone()],
            outcome: vec![self.outcome[i].clone()],
            retry_in: vec![self.retry_in[i]],
            status: vec![self.status[i]],
            request: vec![self.request[i].clone()],
            response: vec![self.response[i].clone()],
            duration_ms: vec![self.duration_ms[i]],
            trigger_name: vec![self.trigger_name[i].clone()],
        }
    }
}

/// `with_logs` false: the outcome only, when writing its invocation log failed.
pub fn record_events(o: &Outcomes, with_logs: bool) -> SpiResult<()> {
    let update = "UPDATE graphql.event_log e SET tries = e.tries + 1, \
           delivered = (r.outcome = 'delivered'), error = (r.outcome = 'failed'), \
           next_retry_at = CASE WHEN r.outcome = 'retry' THEN now() + make_interval(secs => r.retry_in) END, \
           locked = NULL, locked_by = NULL \
         FROM unnest($1::uuid[], $2::text[], $3::int[]) AS r(id, outcome, retry_in) \
         WHERE e.id = r.id AND e.locked_by = pg_backend_pid()";
    let log = "INSERT INTO graphql.event_invocation_logs (trigger_name, event_id, status, request, response, duration_ms) \
         SELECT * FROM unnest($1::text[], $2::uuid[], $3::int[], $4::json[], $5::json[], $6::float8[])";
    Spi::connect_mut(|c| {
        c.update(update, None, &[o.ids.clone().into(), o.outcome.clone().into(), o.retry_in.clone().into()])?;
        if !with_logs {
            return Ok(());
        }
        let args: Vec<DatumWithOid> = vec![
            o.trigger_name.clone().into(),
            o.ids.clone().into(),
            o.status.clone().into(),
            o.request.clone().into(),
            o.response.clone().into(),
            o.duration_ms.clone().into(),
        ];
        c.update(log, None, &args)?;
        Ok(())
    })
}

/// Cron (`one_off` false) or one-off events' outcomes.
pub fn record_scheduled(o: &Outcomes, one_off: bool, with_logs: bool) -> SpiResult<()> {
    let (events, logs) = if one_off {
        ("hdb_scheduled_events", "hdb_scheduled_event_invocation_logs")
    } else {
        ("hdb_cron_events", "hdb_cron_event_invocation_logs")
    };
    let update = format!(
        "UPDATE graphql.{events} e SET tries = e.tries + CASE WHEN r.outcome = 'dead' THEN 0 ELSE 1 END, \
           status = CASE r.outcome WHEN 'retry' THEN 'scheduled' WHEN 'failed' THEN 'error' ELSE r.outcome END, \
           next_retry_at = CASE WHEN r.outcome = 'retry' THEN now() + make_interval(secs => r.retry_in) END, \
           locked_by = NULL \
         FROM unnest($1::uuid[], $2::text[], $3::int[]) AS r(id, outcome, retry_in) \
         WHERE e.id = r.id AND e.status = 'locked' AND e.locked_by = pg_backend_pid()"
    );
    let log = format!(
        "INSERT INTO graphql.{logs} (event_id, status, request, response, duration_ms) \
         SELECT i, s, q::json, p::json, d FROM unnest($1::uuid[], $2::int[], $3::text[], $4::text[], $5::float8[], $6::text[]) \
           AS r(i, s, q, p, d, outcome) WHERE outcome <> 'dead'"
    );
    Spi::connect_mut(|c| {
        c.update(&update, None, &[o.ids.clone().into(), o.outcome.clone().into(), o.retry_in.clone().into()])?;
        if !with_logs {
            return Ok(());
        }
        let args: Vec<DatumWithOid> = vec![
            o.ids.clone().into(),
            o.status.clone().into(),
            o.request.clone().into(),
            o.response.clone().into(),
            o.duration_ms.clone().into(),
            o.outcome.clone().into(),
        ];
        c.update(&log, None, &args)?;
        Ok(())
    })
}

/// Give back claims that were not attempted (the worker is stopping).
pub fn unlock_events(ids: Vec<String>) -> SpiResult<()> {
    Spi::connect_mut(|c| {
        c.update(
            "UPDATE graphql.event_log SET locked = NULL, locked_by = NULL WHERE id = ANY ($1::uuid[]) AND locked_by = pg_backend_pid()",
            None,
            &[ids.into()],
        )?;
        Ok(())
    })
}

pub fn unlock_scheduled(ids: Vec<String>, one_off: bool) -> SpiResult<()> {
    let table = if one_off { "hdb_scheduled_events" } else { "hdb_cron_events" };
    let sql = format!(
        "UPDATE graphql.{table} SET status = 'scheduled', locked_by = NULL \
         WHERE id = ANY ($1::uuid[]) AND status = 'locked' AND locked_by = pg_backend_pid()"
    );
    Spi::connect_mut(|c| {
        c.update(&sql, None, &[ids.into()])?;
        Ok(())
    })
}

/// The last materialised occurrence of a cron trigger (seconds since the epoch) and how many
/// are still to come.
pub fn cron_horizon(trigger: &str) -> SpiResult<(Option<f64>, i64)> {
    Spi::connect(|c| {
        let t = c.select(
            "SELECT extract(epoch FROM max(scheduled_time))::float8, \
               count(*) FILTER (WHERE status = 'scheduled' AND scheduled_time > now()) \
             FROM graphql.hdb_cron_events WHERE trigger_name = $1",
            Some(1),
            &[trigger.to_string().into()],
        )?;
        let (last, upcoming) = t.first().get_two::<f64, i64>()?;
        Ok((last, upcoming.unwrap_or(0)))
    })
}

pub fn insert_cron_events(trigger: &str, times: Vec<f64>) -> SpiResult<()> {
    Spi::connect_mut(|c| {
        c.update(
            "INSERT INTO graphql.hdb_cron_events (trigger_name, scheduled_time) \
             SELECT $1, to_timestamp(t) FROM unnest($2::float8[]) AS t ON CONFLICT DO NOTHING",
            None,
            &[trigger.to_string().into(), times.into()],
        )?;
        Ok(())
    })
}

/// Upcoming occurrences of cron triggers that no longer exist.
pub fn drop_orphan_cron_events(triggers: Vec<String>) -> SpiResult<()> {
    Spi::connect_mut(|c| {
        c.update(
            "DELETE FROM graphql.hdb_cron_events WHERE status = 'scheduled' AND trigger_name <> ALL ($1)",
            None,
            &[triggers.into()],
        )?;
        Ok(())
    })
}

pub fn seconds_now() -> SpiResult<f64> {
    Ok(Spi::get_one::<f64>("SELECT extract(epoch FROM now())::float8")?.unwrap_or(0.0))
}

/// Delete at most `limit` rows of processed history older than `retention_secs` per table;
/// true when some table had more (the caller comes back soon for the rest).
pub fn cleanup(retention_secs: i64, limit: i64) -> SpiResult<bool> {
    let sql = crate::events::cleanup_sql(false, true);
    let counts = Spi::get_one_with_args::<String>(&sql, &[(retention_secs as f64).into(), limit.into()])?.unwrap_or_default();
    let counts: Value = serde_json::from_str(&counts).unwrap_or(Value::Null);
    let more = ["deleted_events", "deleted_cron_events", "deleted_scheduled_events"]
        .iter()
        .any(|k| counts.get(*k).and_then(Value::as_i64).unwrap_or(0) >= limit);
    Ok(more)
}
