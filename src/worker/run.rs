//! One database's delivery loop. Deliveries are pipelined: up to `graft.events_batch_size`
//! claimed items are in flight on the webhook threads at once, each recorded as soon as its
//! call returns and replaced by a new claim, so one slow webhook holds one thread, never the
//! database's other deliveries. Every transaction is short (claim; record; housekeeping) and
//! none is open while a webhook is called. An error in any of them (a SQL error, a bad row) is
//! logged and never ends the worker; an outcome that cannot be recorded leaves its claim to
//! [`store::reclaim_stale`], which gives back every claim not in flight.

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
/// Old history is looked for this often, or twice per retention period when that is shorter.
const CLEANUP_EVERY: Duration = Duration::from_secs(60);
/// Rows of each history table one cleanup statement deletes at most; with more to delete, the
/// next one follows after [`CLEANUP_AGAIN`].
const CLEANUP_LIMIT: i64 = 10_000;
const CLEANUP_AGAIN: Duration = Duration::from_secs(1);
const SCHEDULED_EVERY: Duration = Duration::from_secs(1);
/// While the extension is missing from the database (or another worker serves it), look
/// again this often.
const NOT_INSTALLED_WAIT: Duration = Duration::from_secs(5);
/// An event whose outcome could not be recorded at all is not claimed again for this long.
const QUARANTINE: Duration = Duration::from_secs(60);

pub fn main_loop(db: &str) {
    let mut w = Worker::new();
    // Keep one stuck statement from stalling deliveries for long. The worker runs as the
    // bootstrap superuser: a search_path from the database's or the role's settings (which a
    // database owner can set) must not choose the functions and operators it calls, so the
    // path is pinned for the whole session before any other statement runs.
    in_transaction("settings", || {
        Spi::run(
            "SELECT pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', false), \
                    pg_catalog.set_config('statement_timeout', '60s', false)",
        )
        .map_err(|e| e.to_string())
    });
    loop {
        let step = w.step();
        if w.stopping {
            break;
        }
        let wait = match step {
            Step::Busy => Duration::ZERO,
            Step::Idle => poll_interval(),
            Step::NotInstalled => NOT_INSTALLED_WAIT,
        };
        // With deliveries in flight, wake up as soon as one returns; the latch then only
        // serves signals and postmaster death.
        let latch_wait = if w.in_flight.is_empty() {
            wait
        } else {
            w.collect(wait);
            Duration::ZERO
        };
        if !BackgroundWorker::wait_latch(Some(latch_wait)) {
            break;
        }
        if BackgroundWorker::sighup_received() {
            // SAFETY: on the main thread, between transactions, as Postgres' own workers do.
            unsafe { pg_sys::ProcessConfigFile(pg_sys::GucContext::PGC_SIGHUP) };
            w.pool.resize(concurrency());
            log!("graft event worker for {db:?}: configuration reloaded");
        }
    }
    w.shutdown();
}

fn concurrency() -> usize {
    guc::EVENTS_CONCURRENCY.get().max(1) as usize
}

fn poll_interval() -> Duration {
    Duration::from_millis(guc::EVENTS_POLL_INTERVAL_MS.get().max(1) as u64)
}

fn batch_size() -> usize {
    guc::EVENTS_BATCH_SIZE.get().max(1) as usize
}

#[derive(Clone, Copy, PartialEq)]
enum Step {
    /// More is due and there is room for it: go again at once.
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
    /// Whether this process holds its database's worker lock ([`store::take_database`]).
    serving: bool,
    cron_stale: bool,
    next_reclaim: Instant,
    next_cron: Instant,
    /// When old history was last deleted (never: due at once, for what piled up while no
    /// worker ran), and whether that left more to delete.
    last_cleanup: Option<Instant>,
    cleanup_backlog: bool,
    next_scheduled: Instant,
    /// When to look for new events again; earlier when the last claim filled its quota.
    next_claim: Instant,
    backlog: bool,
    stopping: bool,
    /// Sent and not yet answered, by job token.
    in_flight: HashMap<u64, Prepared>,
    next_token: u64,
    /// Answered, not yet recorded.
    done: Vec<(Prepared, Option<Attempt>)>,
    /// Claimed but not to be sent (their cron trigger was just deleted): given back.
    unattempted: Vec<(Kind, String)>,
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

impl Claimed {
    fn len(&self) -> usize {
        self.events.len() + self.cron.len() + self.one_off.len()
    }
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
                token: 0,
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
            serving: false,
            cron_stale: true,
            next_reclaim: now,
            next_cron: now,
            last_cleanup: None,
            cleanup_backlog: false,
            next_scheduled: now,
            next_claim: now,
            backlog: false,
            stopping: false,
            in_flight: HashMap::new(),
            next_token: 0,
            done: Vec::new(),
            unattempted: Vec::new(),
            quarantine: HashMap::new(),
        }
    }

    /// Collect what has been answered, claim what there is room for, record, keep house.
    fn step(&mut self) -> Step {
        self.collect(Duration::ZERO);
        let batch = batch_size();
        let now = Instant::now();
        let poll = poll_interval();
        // Claims come in batches: when it is time to look, or at once while there is a
        // backlog and half the room is free.
        let room = |w: &Worker| batch.saturating_sub(w.in_flight.len());
        let r = room(self);
        if r > 0 && (now >= self.next_claim || (self.backlog && r * 2 >= batch)) {
            self.next_claim = now + poll;
            match in_transaction("claim", || self.claim(r)) {
                Some(Some(claimed)) => {
                    self.backlog = claimed.len() >= r;
                    self.send(claimed);
                }
                Some(None) => {
                    self.backlog = false;
                    self.record();
                    return Step::NotInstalled;
                }
                None => self.backlog = false,
            }
        }
        self.record();
        if self.serving {
            self.keep_house(now);
        }
        if self.backlog && room(self) * 2 >= batch {
            Step::Busy
        } else {
            Step::Idle
        }
    }

    /// Move answered deliveries from the pool to `done`, waiting at most `wait` for the first
    /// (so a sleeping worker wakes as soon as a delivery returns).
    fn collect(&mut self, wait: Duration) {
        let mut wait = wait;
        while let Some((token, attempt)) = self.pool.next_result(wait) {
            if let Some(p) = self.in_flight.remove(&token) {
                self.done.push((p, Some(attempt)));
            }
            wait = Duration::ZERO;
        }
    }

    /// Inside the claim transaction: refresh the definitions, claim up to `room` items.
    /// `None` when there is nothing to serve (the extension is missing, or another worker
    /// serves this database).
    fn claim(&mut self, room: usize) -> Result<Option<Claimed>, String> {
        let err = |e: pgrx::spi::Error| e.to_string();
        if !store::extension_installed().map_err(err)? {
            self.config = None;
            return Ok(None);
        }
        if !self.serving {
            if !store::take_database().map_err(err)? {
                return Ok(None);
            }
            self.serving = true;
            log!("graft event worker: serving this database");
        }
        let table = metadata_store::locate().map_err(|e| e.to_string())?;
        let stored = metadata_store::read(table, self.config.as_ref().map(|c| c.0)).map_err(|e| e.to_string())?;
        if let Some(md) = stored.metadata {
            self.config = Some((stored.resource_version, Config::from_metadata(&md)));
            self.cron_stale = true;
        }
        let Some((_, config)) = &self.config else { return Ok(None) };
        let now = Instant::now();
        self.quarantine.retain(|_, until| *until > now);
        let skip: Vec<String> = self.quarantine.keys().cloned().collect();
        let limit = room as i64;
        let mut claimed = Claimed {
            events: store::claim_events(limit, config.events.keys().cloned().collect(), skip.clone()).map_err(err)?,
            ..Default::default()
        };
        let left = |c: &Claimed| room.saturating_sub(c.len()) as i64;
        if now >= self.next_scheduled {
            if left(&claimed) > 0 {
                let crons = config.crons.keys().cloned().collect();
                claimed.cron = store::claim_cron(left(&claimed), crons, skip.clone()).map_err(err)?;
            }
            if left(&claimed) > 0 {
                claimed.one_off = store::claim_one_off(left(&claimed), skip).map_err(err)?;
            }
            // Room to spare: nothing else is due, look again in a second.
            if left(&claimed) > 0 {
                self.next_scheduled = now + SCHEDULED_EVERY;
            }
        }
        claimed.now = store::seconds_now().map_err(err)?;
        Ok(Some(claimed))
    }

    /// Hand claimed items to the webhook threads; scheduled events past their tolerance are
    /// recorded dead instead.
    fn send(&mut self, claimed: Claimed) {
        let Some((_, config)) = &self.config else { return };
        let env = |k: &str| std::env::var(k).ok();
        let mut prepared: Vec<Prepared> = Vec::new();
        for row in claimed.events {
            // Only events of configured triggers are claimed.
            if let Some(conf) = config.events.get(&row.trigger_name) {
                prepared.push(prepare_event(&row, conf, &env));
            }
        }
        for (rows, kind) in [(claimed.cron, Kind::Cron), (claimed.one_off, Kind::OneOff)] {
            for row in rows {
                let Some((p, tolerance)) = prepare_scheduled(&row, kind, config, &env) else {
                    self.unattempted.push((kind, row.id.clone()));
                    continue;
                };
                if claimed.now - row.scheduled_at > tolerance as f64 {
                    self.done.push((p, None));
                } else {
                    prepared.push(p);
                }
            }
        }
        for mut p in prepared {
            if let Some(mut job) = p.job.take() {
                self.next_token += 1;
                job.token = self.next_token;
                self.pool.submit(job);
                self.in_flight.insert(self.next_token, p);
            }
        }
    }

    /// Write the outcomes in `done` (and give back `unattempted` claims) in one transaction;
    /// when that fails, one at a time, so one bad outcome does not cost the others theirs.
    fn record(&mut self) {
        if self.done.is_empty() && self.unattempted.is_empty() {
            return;
        }
        let done = std::mem::take(&mut self.done);
        let unattempted = std::mem::take(&mut self.unattempted);
        let (mut events, mut cron, mut one_off) = (Outcomes::default(), Outcomes::default(), Outcomes::default());
        for (p, attempt) in &done {
            let target = match p.kind {
                Kind::Event => &mut events,
                Kind::Cron => &mut cron,
                Kind::OneOff => &mut one_off,
            };
            let Some(attempt) = attempt else {
                push_outcome(target, p, "dead", 0, None);
                continue;
            };
            let next = next_step(attempt, p.tries, p.num_retries, p.interval);
            if next == Next::Failed {
                log!(
                    "graft: delivery of event {} of trigger {:?} failed after {} attempts: {}",
                    p.id,
                    p.trigger_name,
                    p.tries + 1,
                    attempt.error.clone().unwrap_or_else(|| format!("HTTP {}", attempt.status.unwrap_or(0)))
                );
            }
            push_outcome(target, p, &next_label(next), retry_in(next), Some(attempt));
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
        if recorded.is_some() {
            return;
        }
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
            Ok(lost)
        })
        .unwrap_or_default();
        let until = Instant::now() + QUARANTINE;
        for id in lost {
            warning!(
                "graft event worker: could not record the outcome of event {id}; it is skipped for {}s and will be delivered again",
                QUARANTINE.as_secs()
            );
            self.quarantine.insert(id, until);
        }
    }

    /// Reclaiming leftover claims, materialising cron occurrences, deleting old history: each
    /// in its own transaction, and a failure only postpones that one task (it is logged).
    fn keep_house(&mut self, now: Instant) {
        if now >= self.next_reclaim {
            self.next_reclaim = now + RECLAIM_EVERY;
            let ids = |k: Kind| -> Vec<String> {
                self.in_flight.values().filter(|p| p.kind == k).map(|p| p.id.clone()).collect()
            };
            let (e, c, o) = (ids(Kind::Event), ids(Kind::Cron), ids(Kind::OneOff));
            if let Some(n) = in_transaction("reclaim", || store::reclaim_stale(e, c, o).map_err(|e| e.to_string())) {
                if n > 0 {
                    log!("graft event worker: released {n} claims left by a worker that is gone (or by an outcome that could not be recorded); they will be delivered again");
                }
            }
        }
        if let Some((_, config)) = &self.config {
            if self.cron_stale || now >= self.next_cron {
                self.cron_stale = false;
                self.next_cron = now + CRON_EVERY;
                in_transaction("cron schedule", || materialise_cron(config).map_err(|e| e.to_string()));
            }
        }
        // Due from the last run, so a new retention (SIGHUP) applies at once.
        let retention = guc::EVENT_LOG_RETENTION_S.get();
        let every = if self.cleanup_backlog {
            CLEANUP_AGAIN
        } else {
            CLEANUP_EVERY.min(Duration::from_secs((retention.max(0) as u64 / 2).max(1)))
        };
        if retention > 0 && self.last_cleanup.is_none_or(|last| now >= last + every) {
            self.last_cleanup = Some(now);
            let more = in_transaction("cleanup", || store::cleanup(retention as i64, CLEANUP_LIMIT).map_err(|e| e.to_string()));
            self.cleanup_backlog = more == Some(true);
        }
    }

    /// On SIGTERM: record what has been answered and give back every other claim.
    fn shutdown(&mut self) {
        self.collect(Duration::ZERO);
        let pending: Vec<(Kind, String)> = self.in_flight.drain().map(|(_, p)| (p.kind, p.id)).collect();
        self.unattempted.extend(pending);
        self.record();
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

/// Run `body` in its own transaction: committed when it returns `Ok`, rolled back (and
/// logged) when it returns `Err` or raises a Postgres error. `None` then: one bad step never
/// ends the worker.
fn in_transaction<R>(what: &str, body: impl FnOnce() -> Result<R, String>) -> Option<R> {
    // SAFETY: transaction control on the worker's main thread, outside any transaction.
    unsafe {
        pg_sys::SetCurrentStatementStartTimestamp();
        pg_sys::StartTransactionCommand();
        pg_sys::PushActiveSnapshot(pg_sys::GetTransactionSnapshot());
    }
    let body = AssertUnwindSafe(body);
    PgTryBuilder::new(move || {
        let body = body;
        match (body.0)() {
            Ok(r) => {
                // SAFETY: the snapshot pushed above; commit on the main thread.
                unsafe {
                    pg_sys::PopActiveSnapshot();
                    pg_sys::CommitTransactionCommand();
                }
                Some(r)
            }
            Err(message) => {
                // SAFETY: rolls back the transaction started above (and pops its snapshot).
                unsafe { pg_sys::AbortCurrentTransaction() };
                warning!("graft event worker: {what} failed and was rolled back: {message}");
                None
            }
        }
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
