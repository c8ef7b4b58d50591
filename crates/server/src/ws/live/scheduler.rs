//! When groups run. One loop for all of them: each tick reads the change counters of every
//! table some group reads (one `graphql.table_versions`), then starts a run of each group
//! that is due:
//!
//! * reads known and counters available: all its cohorts when a counter of its tables differs
//!   from those read before its last full run, at most once per refetch interval;
//! * otherwise (reads unknown, no counters, or its last run failed): all its cohorts every
//!   refetch interval;
//! * always: cohorts a subscriber just joined, and streams whose last batch had rows (there
//!   may be more than a batch) once their refetch interval is over.
//!
//! The counters are read before the run's statement (a separate statement, so its snapshot is
//! later): a change committed between the two is seen by the run and again by the next
//! check, never missed.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::time::Instant;

use super::group::{CohortKey, Reads};
use super::sql::{self, SqlError};
use super::{Group, Live};

/// Versions by table oid, as read at this tick; None: not available.
type Versions = HashMap<u32, Option<i64>>;

pub async fn run(live: Weak<Live>) {
    let tick = {
        let Some(l) = live.upgrade() else { return };
        let s = &l.settings;
        s.change_check.unwrap_or(Duration::from_millis(100)).min(s.refetch).min(s.stream_refetch).max(Duration::from_millis(5))
    };
    let mut ticker = tokio::time::interval(tick);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut metadata = Metadata::default();
    loop {
        ticker.tick().await;
        let Some(live) = live.upgrade() else { return };
        let groups: Vec<Arc<Group>> = live.groups().values().cloned().collect();
        if groups.is_empty() {
            continue;
        }
        let versions = check(&live, &groups, &mut metadata).await;
        for g in groups {
            consider(&live, g, versions.as_ref(), tick);
        }
    }
}

/// The metadata table: its counter changing means reads may have changed.
#[derive(Default)]
struct Metadata {
    oid: Option<Option<u32>>,
    seen: Option<i64>,
}

/// The counters of all known reads (and the metadata table), or None.
async fn check(live: &Arc<Live>, groups: &[Arc<Group>], metadata: &mut Metadata) -> Option<Versions> {
    live.settings.change_check?;
    if !live.caps.versions.available() {
        return None;
    }
    let mut oids: Vec<u32> = Vec::new();
    for g in groups {
        if let Reads::Known(r) = &g.state().reads {
            oids.extend(r);
        }
    }
    if oids.is_empty() {
        return None;
    }
    if metadata.oid.is_none() {
        metadata.oid = sql::metadata_oid(&live.pool).await.ok();
    }
    if let Some(Some(m)) = metadata.oid {
        oids.push(m);
    }
    oids.sort_unstable();
    oids.dedup();
    live.counters.change_checks.fetch_add(1, Ordering::Relaxed);
    let values = match sql::versions(&live.pool, &oids).await {
        Ok(Some(v)) => v,
        Ok(None) => {
            if !live.untracked_logged.swap(true, Ordering::Relaxed) {
                let message = "graphql.table_versions: change tracking is unavailable (graft not in shared_preload_libraries, a standby, or turned off): live queries run on their refetch interval";
                crate::logs::emit("websocket-log", "warn", serde_json::json!({"event": {"type": "live-query-fallback", "message": message}}));
            }
            return None;
        }
        Err(SqlError::Missing) => {
            live.caps.versions.missing("graphql.table_versions", "live queries run on their refetch interval");
            return None;
        }
        Err(SqlError::Db(_)) => return None,
    };
    let versions: Versions = oids.into_iter().zip(values).collect();
    if let Some(Some(m)) = metadata.oid {
        let now = versions.get(&m).copied().flatten();
        if metadata.seen.is_some() && now != metadata.seen {
            // The metadata changed: every group asks its reads again and runs.
            for g in groups {
                let key = {
                    let mut st = g.state();
                    st.reads = Reads::Pending;
                    st.seen = None;
                    st.some_key()
                };
                if let Some(k) = key {
                    tokio::spawn(fetch_reads(live.clone(), g.clone(), k));
                }
            }
        }
        metadata.seen = now;
    }
    Some(versions)
}

/// Starts a run of `g` if it is due.
fn consider(live: &Arc<Live>, g: Arc<Group>, versions: Option<&Versions>, tick: Duration) {
    if g.running.try_lock().is_err() {
        // Still running: what is due now is due at a later tick (its flags are kept).
        return;
    }
    let interval = if g.key.stream { live.settings.stream_refetch } else { live.settings.refetch };
    let now = Instant::now();
    let over = |t: Option<Instant>| t.is_none_or(|t| now.duration_since(t) + tick / 2 >= interval);
    let mut st = g.state();
    let elapsed = over(st.last_run);
    let current: Option<Vec<Option<i64>>> = match (&st.reads, versions, st.failing) {
        (Reads::Known(oids), Some(v), false) => {
            let cur: Vec<Option<i64>> = oids.iter().map(|o| v.get(o).copied().flatten()).collect();
            cur.iter().all(Option::is_some).then_some(cur)
        }
        _ => None,
    };
    let all = match &current {
        Some(cur) => {
            let changed = st.seen.as_ref() != Some(cur);
            if !changed && elapsed && over(st.last_skip) {
                // Plain polling would have run it now.
                live.counters.skipped.fetch_add(1, Ordering::Relaxed);
                st.last_skip = Some(now);
            }
            changed && elapsed
        }
        None => elapsed,
    };
    let due = st.take_due(all, g.key.stream && elapsed);
    if due.is_empty() {
        return;
    }
    if all || (g.key.stream && elapsed) {
        st.last_run = Some(now);
    }
    drop(st);
    let record = if all { current } else { None };
    tokio::spawn(run_group(live.clone(), g, due, record));
}

/// One run of a group over the cohorts `due`, in chunks of the batch size.
async fn run_group(live: Arc<Live>, g: Arc<Group>, due: Vec<u64>, record: Option<Vec<Option<i64>>>) {
    let _running = g.running.lock().await;
    let keys = g.state().keys(&due);
    let batch = if g.key.stream { live.settings.stream_batch } else { live.settings.batch };
    let mut failed = false;
    for chunk in keys.chunks(batch.max(1)) {
        let (results, chunk_failed) = poll_chunk(&live, &g, chunk).await;
        failed |= chunk_failed;
        let mut st = g.state();
        for (id, result, cursor) in results {
            st.apply(id, &result, cursor);
        }
    }
    let mut st = g.state();
    st.failing = failed;
    if failed {
        st.seen = None;
    } else if let Some(seen) = record {
        st.seen = Some(seen);
    }
}

type Answers = Vec<(u64, String, Option<String>)>;

/// One chunk's answers, and whether the database failed them.
async fn poll_chunk(live: &Live, g: &Group, chunk: &[(u64, CohortKey)]) -> (Answers, bool) {
    let query = &*g.key.query;
    let op = g.key.operation_name.as_deref();
    let every = |body: String| chunk.iter().map(|(id, _)| (*id, body.clone(), None)).collect::<Answers>();
    if live.caps.poll.available() {
        let cohorts: Vec<(u64, &CohortKey)> = chunk.iter().map(|(id, k)| (*id, k)).collect();
        live.counters.polls.fetch_add(1, Ordering::Relaxed);
        match sql::poll(&live.pool, query, op, &cohorts).await {
            Ok(rows) => return (rows, false),
            Err(SqlError::Missing) => live.caps.poll.missing("graphql.subscription_poll", "live queries run graphql.resolve per cohort, streaming subscriptions are refused"),
            Err(SqlError::Db(e)) if chunk.len() > 1 && e.message != "connection error" => {
                // An error of one cohort's data (a function raising, a cast): each cohort
                // alone, so the error stays that cohort's.
                let mut out = Vec::new();
                let mut failed = false;
                for (id, k) in chunk {
                    live.counters.polls.fetch_add(1, Ordering::Relaxed);
                    match sql::poll(&live.pool, query, op, &[(*id, k)]).await {
                        Ok(rows) => out.extend(rows),
                        Err(SqlError::Db(e)) => {
                            failed |= e.message == "connection error";
                            out.push((*id, e.graphql_body(g.admin), None));
                        }
                        Err(SqlError::Missing) => out.push((*id, unsupported(), None)),
                    }
                }
                return (out, failed);
            }
            Err(SqlError::Db(e)) => return (every(e.graphql_body(g.admin)), true),
        }
    }
    if g.key.stream {
        return (every(unsupported()), false);
    }
    let mut out = Vec::with_capacity(chunk.len());
    let mut failed = false;
    for (id, k) in chunk {
        live.counters.polls.fetch_add(1, Ordering::Relaxed);
        let text = match sql::resolve(&live.pool, query, op, k).await {
            Ok(t) => t,
            Err(e) => {
                failed = true;
                e.graphql_body(g.admin)
            }
        };
        out.push((*id, text, None));
    }
    (out, failed)
}

pub fn unsupported() -> String {
    serde_json::json!({"errors": [{"message": "streaming subscriptions need a graft extension with graphql.subscription_poll", "extensions": {"path": "$", "code": "not-supported"}}]}).to_string()
}

/// Asks a group's reads (again, after a metadata change); the database being away is retried
/// while the group has subscribers.
pub async fn fetch_reads(live: Arc<Live>, g: Arc<Group>, key: CohortKey) {
    let mut wait = Duration::from_millis(500);
    loop {
        if !live.caps.reads.available() {
            g.state().reads = Reads::Unknown;
            return;
        }
        match sql::reads(&live.pool, &g.key.query, g.key.operation_name.as_deref(), &key).await {
            Ok(r) => {
                g.state().reads = r;
                return;
            }
            Err(SqlError::Missing) => {
                live.caps.reads.missing("graphql.subscription_reads", "live queries run on their refetch interval");
                g.state().reads = Reads::Unknown;
                return;
            }
            Err(SqlError::Db(_)) => {
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(10));
                if g.state().is_empty() {
                    return;
                }
            }
        }
    }
}
