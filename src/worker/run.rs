//! One database's delivery loop. Each round is: a claim transaction, the webhook calls (no
//! transaction open, no snapshot held), a record transaction. An error in either transaction
//! (a SQL error, a bad row) is logged and never ends the worker. Claims this process cannot
//! record are given back here ([`store::reclaim_orphans`] only frees those of dead processes).

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use graft_compiler::events::config::{
    cron_triggers, event_triggers, expand_env_template, parse_headers, resolve_headers, CronTriggerConf,
    EventTriggerConf, ScheduledRetryConf,
};
use graft_compiler::events::cron::Schedule;
use graft_compiler::events::delivery::{
    event_payload, logged_request, logged_response, next_step, scheduled_payload, Attempt, EventRow, Next,
};
use pgrx::bgworkers::BackgroundWorker;
use pgrx::pg_sys::panic::CaughtError;
use pgrx::prelude::*;
use serde_json::Value;

use super::http::{Job, Pool};
use super::store::{self, Outcomes, ScheduledRow};
use crate::{guc, metadata_store};

/// Upcoming occurrences kept materialised per cron trigger (Hasura keeps 100).
const CRON_AHEAD: usize = 100;
const RECLAIM_EVERY: Duration = Duration::from_secs(5);
const CRON_EVERY: Duration = Duration::from_secs(30);
const CLEANUP_EVERY: Duration = Duration::from_secs(60);
const SCHEDULED_EVERY: Duration = Duration::from_secs(1);
/// While the extension is missing from the database, look again this often.
const NOT_INSTALLED_WAIT: Duration = Duration::from_secs(5);
/// An event whose outcome could not be recorded at all is not claimed again for this long.
const QUARANTINE: Duration = Duration::from_secs(60);

pub fn main_loop(db: &str) {
    let mut w = Worker::new();
    // Keep one stuck statement from stalling deliveries for long.
    in_transaction("settings", || {
        Spi::run("SELECT pg_catalog.set_config('statement_timeout', '60s', false)").map_err(|e| e.to_string())
    });
    loop {
        let busy = w.round();
        if w.stopping {
            break;
        }
        let wait = match busy {
            Round::Busy => Duration::ZERO,
            Round::Idle => Duration::from_millis(guc::EVENTS_POLL_INTERVAL_MS.get().max(1) as u64),
            Round::NotInstalled => NOT_INSTALLED_WAIT,
        };
        if !BackgroundWorker::wait_latch(Some(wait)) {
            break;
        }
        if BackgroundWorker::sighup_received() {
            // SAFETY: on the main thread, between rounds, as Postgres' own workers do.
            unsafe { pg_sys::ProcessConfigFile(pg_sys::GucContext::PGC_SIGHUP) };
            if w.pool.size() != concurrency() {
                w.pool = Pool::new(concurrency());
            }
            log!("graft event worker for {db:?}: configuration reloaded");
        }
    }
}

fn concurrency() -> usize {
    guc::EVENTS_CONCURRENCY.get().max(1) as usize
}

#[derive(Clone, Copy, PartialEq)]
enum Round {
    /// A full batch was claimed: go again at once.
    Busy,
    Idle,
    NotInstalled,
}

/// The definitions the deliveries need, from the metadata.
#[derive(Default)]
struct Config {
    events: HashMap<String, EventTriggerConf>,
    crons: HashMap<String, CronTriggerConf>,
}

impl Config {
    fn from_metadata(md: &graft_compiler::Metadata) -> Config {
        let mut c = Config::default();
        for t in event_triggers(md) {
            match t {
                Ok(t) => {
                    c.events.insert(t.name.clone(), t);
                }
                Err((name, e)) => warning!("graft: event trigger {name:?} is not delivered: {e}"),
            }
        }
        for t in cron_triggers(md) {
            match t {
                Ok(t) => {
                    c.crons.insert(t.name.clone(), t);
                }
                Err((name, e)) => warning!("graft: cron trigger {name:?} is not delivered: {e}"),
            }
        }
        c
    }
}

struct Worker {
    pool: Pool,
    config: Option<(i64, Config)>,
    cron_stale: bool,
    next_reclaim: Instant,
    next_cron: Instant,
    next_cleanup: Instant,
    next_scheduled: Instant,
    stopping: bool,
    /// Events whose outcome could not be written (a trigger or constraint someone added on
    /// the event tables rejects it …): skipped until the time given, so one poison row
    /// neither stops the others nor is sent again in a loop.
    quarantine: HashMap<String, Instant>,
}

#[derive(Default)]
struct Claimed {
    events: Vec<EventRow>,
    cron: Vec<ScheduledRow>,
    one_off: Vec<ScheduledRow>,
    now: f64,
}

/// What one claimed item becomes before it is sent.
struct Prepared {
    kind: Kind,
    id: String,
    trigger_name: String,
    tries: u32,
    num_retries: u32,
    interval: u32,
    request: Value,
    job: Option<Job>,
}

/// How one item is retried: `(num_retries, interval seconds, timeout seconds)`.
type Retry = (u32, u32, u32);

impl Prepared {
    /// `url` and `headers` as resolved; a failure to resolve either is the attempt's error.
    #[allow(clippy::too_many_arguments)]
    fn new(
        kind: Kind,
        id: &str,
        trigger_name: String,
        tries: u32,
        (num_retries, interval, timeout): Retry,
        payload: &Value,
        url: Result<String, String>,
        headers: Result<Vec<(String, String)>, String>,
    ) -> Prepared {
        let url = url.and_then(|u| headers.as_ref().map(|_| u).map_err(Clone::clone));
        let headers = headers.unwrap_or_default();
        Prepared {
            kind,
            id: id.to_string(),
            trigger_name,
            tries,
            num_retries,
            interval,
            request: logged_request(payload, &headers),
            job: Some(Job {
                index: 0,
                url,
                headers,
                body: payload.to_string(),
                timeout: Duration::from_secs(timeout.max(1) as u64),
            }),
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Event,
    Cron,
    OneOff,
}

impl Worker {
    fn new() -> Worker {
        let now = Instant::now();
        Worker {
            pool: Pool::new(concurrency()),
            config: None,
            cron_stale: true,
            next_reclaim: now,
            next_cron: now,
            next_cleanup: now,
            next_scheduled: now,
            stopping: false,
            quarantine: HashMap::new(),
        }
    }

    fn round(&mut self) -> Round {
        let claimed = in_transaction("claim", || self.claim());
        let claimed = match claimed {
            Some(Ok(Some(c))) => c,
            Some(Ok(None)) => return Round::NotInstalled,
            Some(Err(e)) => {
                warning!("graft event worker: {e}");
                return Round::Idle;
            }
            None => return Round::Idle,
        };
        let batch = batch_size() as usize;
        let busy = claimed.events.len() >= batch || claimed.cron.len() >= batch || claimed.one_off.len() >= batch;
        if claimed.events.is_empty() && claimed.cron.is_empty() && claimed.one_off.is_empty() {
            return Round::Idle;
        }
        self.deliver_and_record(claimed);
        if busy {
            Round::Busy
        } else {
            Round::Idle
        }
    }

    /// Inside the claim transaction: refresh the definitions, housekeeping, claim.
    fn claim(&mut self) -> Result<Option<Claimed>, String> {
        let err = |e: pgrx::spi::Error| e.to_string();
        if !store::extension_installed().map_err(err)? {
            self.config = None;
            return Ok(None);
        }
        let table = metadata_store::locate().map_err(|e| e.to_string())?;
        let stored = metadata_store::read(table, self.config.as_ref().map(|c| c.0)).map_err(|e| e.to_string())?;
        if let Some(md) = stored.metadata {
            self.config = Some((stored.resource_version, Config::from_metadata(&md)));
            self.cron_stale = true;
        }
        let Some((_, config)) = &self.config else { return Ok(None) };
        let now = Instant::now();
        if now >= self.next_reclaim {
            let n = store::reclaim_orphans().map_err(err)?;
            if n > 0 {
                log!("graft event worker: released {n} events claimed by a worker that is gone; they will be delivered again");
            }
            self.next_reclaim = now + RECLAIM_EVERY;
        }
        if self.cron_stale || now >= self.next_cron {
            materialise_cron(config).map_err(err)?;
            self.cron_stale = false;
            self.next_cron = now + CRON_EVERY;
        }
        let retention = guc::EVENT_LOG_RETENTION_S.get();
        if retention > 0 && now >= self.next_cleanup {
            store::cleanup(retention as i64).map_err(err)?;
            self.next_cleanup = now + CLEANUP_EVERY;
        }
        let batch = batch_size();
        self.quarantine.retain(|_, until| *until > now);
        let skip: Vec<String> = self.quarantine.keys().cloned().collect();
        let mut claimed = Claimed {
            events: store::claim_events(batch, config.events.keys().cloned().collect(), skip.clone()).map_err(err)?,
            ..Default::default()
        };
        if now >= self.next_scheduled {
            claimed.cron = store::claim_cron(batch, config.crons.keys().cloned().collect(), skip.clone()).map_err(err)?;
            claimed.one_off = store::claim_one_off(batch, skip).map_err(err)?;
            if claimed.cron.len() < batch as usize && claimed.one_off.len() < batch as usize {
                self.next_scheduled = now + SCHEDULED_EVERY;
            }
        }
        claimed.now = store::seconds_now().map_err(err)?;
        Ok(Some(claimed))
    }

    fn deliver_and_record(&mut self, claimed: Claimed) {
        let Some((_, config)) = &self.config else { return };
        let env = |k: &str| std::env::var(k).ok();
        let mut prepared: Vec<Prepared> = Vec::new();
        let mut dead: Vec<Prepared> = Vec::new();
        // Claimed but not sent (their cron trigger was just deleted, or the worker is
        // stopping): given back.
        let mut unattempted: Vec<(Kind, String)> = Vec::new();
        for row in claimed.events {
            // Only events of configured triggers are claimed.
            if let Some(conf) = config.events.get(&row.trigger_name) {
                prepared.push(prepare_event(&row, conf, &env));
            }
        }
        for (rows, kind) in [(claimed.cron, Kind::Cron), (claimed.one_off, Kind::OneOff)] {
            for row in rows {
                let Some(p) = prepare_scheduled(&row, kind, config, &env) else {
                    unattempted.push((kind, row.id.clone()));
                    continue;
                };
                let (p, tolerance) = p;
                if claimed.now - row.scheduled_at > tolerance as f64 {
                    dead.push(p);
                } else {
                    prepared.push(p);
                }
            }
        }

        for (index, p) in prepared.iter_mut().enumerate() {
            if let Some(mut job) = p.job.take() {
                job.index = index;
                self.pool.submit(job);
            }
        }
        let mut attempts: Vec<Option<Attempt>> = vec![None; prepared.len()];
        let mut pending = prepared.len();
        while pending > 0 {
            if let Some((i, a)) = self.pool.next_result(Duration::from_millis(100)) {
                if attempts[i].is_none() {
                    pending -= 1;
                }
                attempts[i] = Some(a);
            } else if BackgroundWorker::sigterm_received() {
                self.stopping = true;
                break;
            }
        }

        let (mut events, mut cron, mut one_off) = (Outcomes::default(), Outcomes::default(), Outcomes::default());
        for (p, attempt) in prepared.iter().zip(attempts) {
            let Some(attempt) = attempt else {
                unattempted.push((p.kind, p.id.clone()));
                continue;
            };
            let next = next_step(&attempt, p.tries, p.num_retries, p.interval);
            if next == Next::Failed {
                log!(
                    "graft: delivery of event {} of trigger {:?} failed after {} attempts: {}",
                    p.id,
                    p.trigger_name,
                    p.tries + 1,
                    attempt.error.clone().unwrap_or_else(|| format!("HTTP {}", attempt.status.unwrap_or(0)))
                );
            }
            let target = match p.kind {
                Kind::Event => &mut events,
                Kind::Cron => &mut cron,
                Kind::OneOff => &mut one_off,
            };
            push_outcome(target, p, &next_label(next), retry_in(next), Some(&attempt));
        }
        for p in &dead {
            let target = if p.kind == Kind::Cron { &mut cron } else { &mut one_off };
            push_outcome(target, p, "dead", 0, None);
        }
        let recorded = in_transaction("record", || {
            let err = |e: pgrx::spi::Error| e.to_string();
            if !events.is_empty() {
                store::record_events(&events, true).map_err(err)?;
            }
            if !cron.is_empty() {
                store::record_scheduled(&cron, false, true).map_err(err)?;
            }
            if !one_off.is_empty() {
                store::record_scheduled(&one_off, true, true).map_err(err)?;
            }
            release(&unattempted).map_err(err)
        });
        if !matches!(recorded, Some(Ok(()))) {
            // One bad outcome must not cost the others theirs: record them one at a time.
            let lost = in_transaction("record one at a time", || {
                let mut lost = Vec::new();
                for (o, kind) in [(&events, Kind::Event), (&cron, Kind::Cron), (&one_off, Kind::OneOff)] {
                    for i in 0..o.len() {
                        let single = o.single(i);
                        if !record_alone(&single, kind) {
                            lost.push(single.ids[0].clone());
                        }
                    }
                }
                let _ = in_subtransaction(|| release(&unattempted));
                lost
            })
            .unwrap_or_default();
            let until = Instant::now() + QUARANTINE;
            for id in lost {
                warning!("graft event worker: could not record the outcome of event {id}; it is skipped for {}s and will be delivered again", QUARANTINE.as_secs());
                self.quarantine.insert(id, until);
            }
        }
    }
}

/// Record one outcome in a subtransaction: with its invocation log, else without it, else
/// give the claim back. False when even that failed.
fn record_alone(o: &Outcomes, kind: Kind) -> bool {
    let record = |with_logs: bool| match kind {
        Kind::Event => store::record_events(o, with_logs),
        Kind::Cron => store::record_scheduled(o, false, with_logs),
        Kind::OneOff => store::record_scheduled(o, true, with_logs),
    };
    if in_subtransaction(|| record(true)) {
        return true;
    }
    warning!("graft event worker: the invocation log of event {} could not be written; its outcome is recorded without it", o.ids[0]);
    if in_subtransaction(|| record(false)) {
        return true;
    }
    let _ = in_subtransaction(|| release(&[(kind, o.ids[0].clone())]));
    false
}

/// Run `f` in a subtransaction of the current transaction (the one `graphql.resolve` uses);
/// true when it succeeded. A Postgres error inside rolls it back; the transaction stays usable.
fn in_subtransaction(f: impl FnOnce() -> Result<(), pgrx::spi::Error>) -> bool {
    matches!(crate::execute::in_subtransaction(|| f().map_err(Into::into)), Ok(Ok(())))
}

fn caught_message(e: &CaughtError) -> String {
    match e {
        CaughtError::PostgresError(r) | CaughtError::ErrorReport(r) => r.message().to_string(),
        CaughtError::RustPanic { ereport, .. } => ereport.message().to_string(),
    }
}

fn release(items: &[(Kind, String)]) -> Result<(), pgrx::spi::Error> {
    let ids = |k: Kind| -> Vec<String> { items.iter().filter(|(kind, _)| *kind == k).map(|(_, id)| id.clone()).collect() };
    let (e, c, o) = (ids(Kind::Event), ids(Kind::Cron), ids(Kind::OneOff));
    if !e.is_empty() {
        store::unlock_events(e)?;
    }
    if !c.is_empty() {
        store::unlock_scheduled(c, false)?;
    }
    if !o.is_empty() {
        store::unlock_scheduled(o, true)?;
    }
    Ok(())
}

fn next_label(next: Next) -> String {
    match next {
        Next::Delivered => "delivered",
        Next::RetryIn(_) => "retry",
        Next::Failed => "failed",
    }
    .into()
}

fn retry_in(next: Next) -> i32 {
    match next {
        Next::RetryIn(s) => s.min(i32::MAX as u32) as i32,
        _ => 0,
    }
}

fn push_outcome(o: &mut Outcomes, p: &Prepared, outcome: &str, retry_in: i32, attempt: Option<&Attempt>) {
    o.ids.push(p.id.clone());
    o.outcome.push(outcome.to_string());
    o.retry_in.push(retry_in);
    o.trigger_name.push(p.trigger_name.clone());
    o.request.push(p.request.to_string());
    match attempt {
        Some(a) => {
            o.status.push(a.status.map(i32::from));
            o.response.push(logged_response(a).to_string());
            o.duration_ms.push(a.duration_ms);
        }
        None => {
            o.status.push(None);
            o.response.push("null".into());
            o.duration_ms.push(0.0);
        }
    }
}

fn prepare_event(row: &EventRow, conf: &EventTriggerConf, env: &dyn Fn(&str) -> Option<String>) -> Prepared {
    let r = conf.retry;
    Prepared::new(
        Kind::Event,
        &row.id,
        row.trigger_name.clone(),
        row.tries,
        (r.num_retries, r.interval_sec, r.timeout_sec),
        &event_payload(row, r.num_retries),
        conf.webhook.resolve(env),
        resolve_headers(&conf.headers, env),
    )
}

/// A cron or one-off event ready to send, with its tolerance in seconds. `None` for a cron
/// event whose trigger is gone (it was claimed before the trigger was deleted).
fn prepare_scheduled(
    row: &ScheduledRow,
    kind: Kind,
    config: &Config,
    env: &dyn Fn(&str) -> Option<String>,
) -> Option<(Prepared, u32)> {
    let (url, headers, retry, payload, name) = match (&row.one_off, &row.cron_name) {
        (Some(def), _) => {
            let retry = ScheduledRetryConf::parse(Some(&def.retry_conf)).unwrap_or_default();
            let url = match &def.webhook {
                Value::String(u) => expand_env_template(u, env),
                other => Err(format!("the event's webhook is not a URL: {other}")),
            };
            let headers = parse_headers(Some(&def.headers)).and_then(|h| resolve_headers(&h, env));
            let payload = scheduled_payload(
                &row.id,
                None,
                &row.scheduled_time,
                &def.payload,
                def.comment.as_deref(),
                Some(&def.created_at),
            );
            (url, headers, retry, payload, String::new())
        }
        (None, Some(name)) => {
            let conf = config.crons.get(name)?;
            let payload =
                scheduled_payload(&row.id, Some(name), &row.scheduled_time, &conf.payload, conf.comment.as_deref(), None);
            (conf.webhook.resolve(env), resolve_headers(&conf.headers, env), conf.retry, payload, name.clone())
        }
        (None, None) => return None,
    };
    let prepared = Prepared::new(
        kind,
        &row.id,
        name,
        row.tries,
        (retry.num_retries, retry.retry_interval_seconds, retry.timeout_seconds),
        &payload,
        url,
        headers,
    );
    Some((prepared, retry.tolerance_seconds))
}

/// Keep [`CRON_AHEAD`] upcoming occurrences of every cron trigger materialised, and drop the
/// upcoming ones of triggers that are gone.
fn materialise_cron(config: &Config) -> Result<(), pgrx::spi::Error> {
    let now = store::seconds_now()?;
    for conf in config.crons.values() {
        let Ok(schedule) = Schedule::parse(&conf.schedule) else { continue };
        let (last, upcoming) = store::cron_horizon(&conf.name)?;
        if upcoming as usize >= CRON_AHEAD / 2 {
            continue;
        }
        let after = last.unwrap_or(now).max(now).floor() as i64;
        let times: Vec<f64> = schedule
            .occurrences_after(after, CRON_AHEAD - upcoming as usize)
            .into_iter()
            .map(|t| t as f64)
            .collect();
        if !times.is_empty() {
            store::insert_cron_events(&conf.name, times)?;
        }
    }
    store::drop_orphan_cron_events(config.crons.keys().cloned().collect())
}

fn batch_size() -> i64 {
    guc::EVENTS_BATCH_SIZE.get().max(1) as i64
}

/// Run `body` in its own transaction. A Postgres error inside is caught and logged, the
/// transaction rolled back, and `None` returned: one bad round never ends the worker.
fn in_transaction<R>(what: &str, body: impl FnOnce() -> R) -> Option<R> {
    // SAFETY: transaction control on the worker's main thread, outside any transaction.
    unsafe {
        pg_sys::SetCurrentStatementStartTimestamp();
        pg_sys::StartTransactionCommand();
        pg_sys::PushActiveSnapshot(pg_sys::GetTransactionSnapshot());
    }
    let body = AssertUnwindSafe(body);
    PgTryBuilder::new(move || {
        let body = body;
        let r = (body.0)();
        // SAFETY: the snapshot pushed above; commit on the main thread.
        unsafe {
            pg_sys::PopActiveSnapshot();
            pg_sys::CommitTransactionCommand();
        }
        Some(r)
    })
    .catch_others(|e| {
        let message = caught_message(&e);
        // SAFETY: rolls back whatever the failed body left open.
        unsafe { pg_sys::AbortCurrentTransaction() };
        warning!("graft event worker: {what} failed and was rolled back: {message}");
        None
    })
    .execute()
}
