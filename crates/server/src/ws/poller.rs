//! Live queries by polling, one poll per cohort: subscribers with the same query, variables,
//! operation name and session share one `graphql.resolve` per refetch interval, and each gets
//! a message only when the result's hash differs from the last one it was sent.
//!
//! Locks: the cohort map, then a cohort's subscribers; a poll only takes the latter, and never
//! awaits while holding it (sends are `try_send` into each socket's bounded queue).

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use deadpool_postgres::Pool;
use tokio::task::JoinHandle;

use super::protocol;
use super::session::Conn;
use crate::db;

/// What makes two subscribers one cohort. `session` is the session JSON with sorted keys.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CohortKey {
    pub query: String,
    pub variables: Option<String>,
    pub operation_name: Option<String>,
    pub session: String,
    pub admin: bool,
}

struct Sub {
    conn: Arc<Conn>,
    op_id: Arc<str>,
    /// Hash of the last result this subscriber was sent.
    last: u64,
}

#[derive(Default)]
struct Cohort {
    subs: Mutex<HashMap<u64, Sub>>,
    task: Mutex<Option<JoinHandle<()>>>,
}

pub struct Poller {
    pool: Pool,
    interval: Duration,
    cohorts: Mutex<HashMap<CohortKey, Arc<Cohort>>>,
    next_id: AtomicU64,
    /// `graphql.resolve` calls made by polls (first results excluded), for tests and metrics.
    polls: AtomicU64,
}

/// A subscriber's place in its cohort; dropping it leaves (the last one out ends the poll).
pub struct Subscription {
    poller: Arc<Poller>,
    key: CohortKey,
    id: u64,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.poller.leave(&self.key, self.id);
    }
}

pub fn hash(text: &str) -> u64 {
    let mut h = DefaultHasher::new();
    text.hash(&mut h);
    h.finish()
}

impl Poller {
    pub fn new(pool: Pool, interval: Duration) -> Poller {
        Poller { pool, interval, cohorts: Mutex::default(), next_id: AtomicU64::new(1), polls: AtomicU64::new(0) }
    }

    pub fn polls(&self) -> u64 {
        self.polls.load(Ordering::Relaxed)
    }

    pub fn cohorts(&self) -> usize {
        self.cohorts.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Adds a subscriber that was already sent the result whose hash is `first`.
    pub fn join(self: &Arc<Self>, key: CohortKey, conn: Arc<Conn>, op_id: Arc<str>, first: u64) -> Subscription {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut map = self.cohorts.lock().unwrap_or_else(|e| e.into_inner());
        let cohort = map.entry(key.clone()).or_insert_with(|| {
            let c = Arc::new(Cohort::default());
            let task = tokio::spawn(poll(self.clone(), key.clone(), c.clone()));
            *c.task.lock().unwrap_or_else(|e| e.into_inner()) = Some(task);
            c
        });
        cohort.subs.lock().unwrap_or_else(|e| e.into_inner()).insert(id, Sub { conn, op_id, last: first });
        Subscription { poller: self.clone(), key, id }
    }

    fn leave(&self, key: &CohortKey, id: u64) {
        let mut map = self.cohorts.lock().unwrap_or_else(|e| e.into_inner());
        let Some(cohort) = map.get(key) else { return };
        let mut subs = cohort.subs.lock().unwrap_or_else(|e| e.into_inner());
        subs.remove(&id);
        if subs.is_empty() {
            drop(subs);
            if let Some(t) = cohort.task.lock().unwrap_or_else(|e| e.into_inner()).take() {
                t.abort();
            }
            map.remove(key);
        }
    }
}

/// One cohort's loop. A failed call (the database down) is a result like any other: its
/// errors are sent once, and the poll goes on, so the subscribers see the data again when the
/// database is back.
async fn poll(poller: Arc<Poller>, key: CohortKey, cohort: Arc<Cohort>) {
    let mut tick = tokio::time::interval(poller.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await; // the first tick is immediate: the first result was sent on subscribe
    loop {
        tick.tick().await;
        poller.polls.fetch_add(1, Ordering::Relaxed);
        let text = match db::resolve(&poller.pool, &key.query, key.variables.clone(), key.session.clone(), key.operation_name.clone()).await {
            Ok(t) => t,
            Err(e) => e.graphql_body(key.admin),
        };
        let h = hash(&text);
        let mut subs = cohort.subs.lock().unwrap_or_else(|e| e.into_inner());
        for sub in subs.values_mut().filter(|s| s.last != h) {
            if sub.conn.send(protocol::data(sub.conn.proto, &sub.op_id, &text)) {
                sub.last = h;
            }
        }
    }
}
