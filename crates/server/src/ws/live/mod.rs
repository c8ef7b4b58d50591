//! Live queries and streaming subscriptions, multiplexed and change-driven, as Hasura keeps
//! them: subscribers with the same query text, operation name and role (and kind) form a
//! [`group`]; within it, those with equal variables and session (and, for a stream, the same
//! cursor) share a cohort. A run of a group answers its cohorts with one
//! `graphql.subscription_poll` per chunk of the batch size; each subscriber gets a message
//! only when its cohort's result differs from the last one it was sent (a stream: whenever
//! the batch has rows).
//!
//! One [`scheduler`] decides when groups run: every GRAFT_LIVE_QUERIES_CHANGE_CHECK_INTERVAL
//! it reads the change counters of all the tables the groups read (`graphql.table_versions`,
//! one statement) and runs a group only when one of its tables changed, at most once per
//! refetch interval. Groups whose reads are unknown, and all of them when the counters are
//! unavailable, run on their refetch interval (Hasura's plain polling).
//!
//! Locks: the group map, then a group's state; neither is held across an await. A group's
//! runs are serialized by its `running` lock (a stream cohort's cursor must not be read by
//! two runs at once).

mod group;
mod scheduler;
mod sql;

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use deadpool_postgres::Pool;

pub use group::{is_errors, CohortKey};
use group::State;
use sql::SqlError;

use super::session::Conn;
use crate::db::DbError;

pub fn hash(text: &str) -> u64 {
    let mut h = DefaultHasher::new();
    text.hash(&mut h);
    h.finish()
}

/// Hasura's subscription settings, and Graft's change checks.
#[derive(Clone, Debug)]
pub struct LiveSettings {
    pub refetch: Duration,
    pub batch: usize,
    pub stream_refetch: Duration,
    pub stream_batch: usize,
    /// None: no change checks, every group runs on its interval.
    pub change_check: Option<Duration>,
}

/// What makes subscribers one group.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GroupKey {
    pub query: Arc<str>,
    pub operation_name: Option<Arc<str>>,
    pub role: Arc<str>,
    pub stream: bool,
}

pub struct Group {
    key: GroupKey,
    admin: bool,
    state: Mutex<State>,
    running: tokio::sync::Mutex<()>,
}

impl Group {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Counters for /v1/metrics.
#[derive(Default)]
struct Counters {
    polls: AtomicU64,
    change_checks: AtomicU64,
    skipped: AtomicU64,
}

/// An extension function that may be missing (an older extension): noticed once, logged once,
/// asked again after a while (the extension may have been updated).
#[derive(Default)]
struct Capability {
    missing_since: Mutex<Option<tokio::time::Instant>>,
    logged: AtomicBool,
}

impl Capability {
    const RETRY: Duration = Duration::from_secs(60);

    fn available(&self) -> bool {
        let mut m = self.missing_since.lock().unwrap_or_else(|e| e.into_inner());
        match *m {
            Some(t) if t.elapsed() < Self::RETRY => false,
            Some(_) => {
                *m = None;
                true
            }
            None => true,
        }
    }

    fn missing(&self, function: &str, fallback: &str) {
        *self.missing_since.lock().unwrap_or_else(|e| e.into_inner()) = Some(tokio::time::Instant::now());
        if !self.logged.swap(true, Ordering::Relaxed) {
            let message = format!("the installed graft extension has no {function}: {fallback}");
            crate::logs::emit("websocket-log", "warn", serde_json::json!({"event": {"type": "live-query-fallback", "message": message}}));
        }
    }
}

#[derive(Default)]
struct Capabilities {
    poll: Capability,
    reads: Capability,
    versions: Capability,
}

pub struct Live {
    pool: Pool,
    settings: LiveSettings,
    groups: Mutex<HashMap<GroupKey, Arc<Group>>>,
    next_id: AtomicU64,
    counters: Counters,
    caps: Capabilities,
    /// `table_versions` answered NULL (logged once).
    untracked_logged: AtomicBool,
}

/// A subscriber's place in its group; dropping it leaves (the last one out ends the group).
pub struct Subscription {
    live: Arc<Live>,
    group: Arc<Group>,
    id: u64,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.live.leave(&self.group, self.id);
    }
}

/// Why a stream's first run failed.
pub enum FirstError {
    /// The extension cannot run streams (no `subscription_poll`).
    Unsupported,
    Db(DbError),
}

impl Live {
    /// Must be called inside the runtime: it starts the scheduler.
    pub fn new(pool: Pool, settings: LiveSettings) -> Arc<Live> {
        let live = Arc::new(Live {
            pool,
            settings,
            groups: Mutex::default(),
            next_id: AtomicU64::new(1),
            counters: Counters::default(),
            caps: Capabilities::default(),
            untracked_logged: AtomicBool::new(false),
        });
        tokio::spawn(scheduler::run(Arc::downgrade(&live)));
        live
    }

    fn groups(&self) -> MutexGuard<'_, HashMap<GroupKey, Arc<Group>>> {
        self.groups.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn group_count(&self) -> usize {
        self.groups().len()
    }

    /// (cohorts, subscribers) over all groups.
    pub fn sizes(&self) -> (usize, usize) {
        let groups: Vec<Arc<Group>> = self.groups().values().cloned().collect();
        groups.iter().fold((0, 0), |(c, s), g| {
            let st = g.state();
            (c + st.cohorts(), s + st.subscribers())
        })
    }

    pub fn polls(&self) -> u64 {
        self.counters.polls.load(Ordering::Relaxed)
    }

    pub fn change_checks(&self) -> u64 {
        self.counters.change_checks.load(Ordering::Relaxed)
    }

    pub fn skipped(&self) -> u64 {
        self.counters.skipped.load(Ordering::Relaxed)
    }

    fn new_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Adds a subscriber that was already sent the result whose hash is `first` (a stream's:
    /// whose rows up to the cursor in `cohort` it was sent).
    pub fn join(self: &Arc<Self>, key: GroupKey, admin: bool, cohort: CohortKey, conn: Arc<Conn>, op_id: Arc<str>, first: u64) -> Subscription {
        let id = self.new_id();
        let mut groups = self.groups();
        let group = groups
            .entry(key.clone())
            .or_insert_with(|| {
                let g = Arc::new(Group { key: key.clone(), admin, state: Mutex::new(State::new(key.stream)), running: tokio::sync::Mutex::new(()) });
                tokio::spawn(scheduler::fetch_reads(self.clone(), g.clone(), cohort.clone()));
                g
            })
            .clone();
        group.state().join(cohort, id, conn, op_id, first, || self.new_id());
        drop(groups);
        Subscription { live: self.clone(), group, id }
    }

    fn leave(&self, group: &Arc<Group>, id: u64) {
        let mut groups = self.groups();
        let mut st = group.state();
        st.leave(id);
        if st.is_empty() {
            // Only this group: a new one under the same key may already have replaced it.
            if groups.get(&group.key).is_some_and(|g| Arc::ptr_eq(g, group)) {
                groups.remove(&group.key);
            }
        }
    }

    /// A stream subscriber's first run, alone, from its own initial cursor: its result and
    /// the cursor after its rows (none: no rows yet).
    pub async fn first_stream(&self, query: &str, operation_name: Option<&str>, key: &CohortKey) -> Result<(String, Option<String>), FirstError> {
        self.counters.polls.fetch_add(1, Ordering::Relaxed);
        match sql::poll(&self.pool, query, operation_name, &[(0, key)]).await {
            Ok(rows) => Ok(rows.into_iter().next().map(|(_, r, c)| (r, c)).unwrap_or_else(|| ("null".into(), None))),
            Err(SqlError::Missing) => {
                self.caps.poll.missing("graphql.subscription_poll", "live queries run graphql.resolve per cohort, streaming subscriptions are refused");
                Err(FirstError::Unsupported)
            }
            Err(SqlError::Db(e)) => Err(FirstError::Db(e)),
        }
    }
}
