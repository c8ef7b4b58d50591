//! One group of subscribers (same query text, operation name, role and kind) and its cohorts
//! (same variables and session, and for a stream the same cursor), as plain state behind the
//! group's lock: who is subscribed, which cohorts are due, and what a poll's answer sends to
//! whom. No database and no waiting here.

use std::collections::HashMap;
use std::sync::Arc;
use tokio::time::Instant;

use super::hash;
use crate::ws::protocol;
use crate::ws::session::Conn;

/// What a cohort's statement depends on besides the group: the variables' JSON text, the
/// session JSON (sorted keys) and, for a stream, the cursor it has reached (none: the query's
/// own `initial_value`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CohortKey {
    pub variables: Option<Arc<str>>,
    pub session: Arc<str>,
    pub cursor: Option<Arc<str>>,
}

struct Sub {
    conn: Arc<Conn>,
    op_id: Arc<str>,
    /// Hash of the last result this subscriber was sent (or, for a stream, last saw).
    last: u64,
}

struct Cohort {
    key: CohortKey,
    subs: HashMap<u64, Sub>,
    /// Run at the next tick whatever changed: a subscriber joined after its own first result,
    /// which may be older than what the cohort's others were last sent.
    pending: bool,
    /// A stream cohort whose last poll returned rows: there may be more than a batch.
    more: bool,
}

/// The tables a group's statement reads, from `graphql.subscription_reads`.
#[derive(Clone, Debug, PartialEq)]
pub enum Reads {
    /// Not asked yet (or being asked again after a metadata change).
    Pending,
    /// Exactly these tables: the group re-runs only when one of them changed.
    Known(Vec<u32>),
    /// Not knowable (a function, or no change tracking): the group runs on its interval.
    Unknown,
}

pub struct State {
    stream: bool,
    cohorts: HashMap<u64, Cohort>,
    by_key: HashMap<CohortKey, u64>,
    /// Which cohort each subscriber is in (a stream's cohorts merge as cursors meet).
    members: HashMap<u64, u64>,
    pub reads: Reads,
    /// The versions of `reads` (in that order) read before the last full run that succeeded.
    pub seen: Option<Vec<Option<i64>>>,
    /// When the last full run started.
    pub last_run: Option<Instant>,
    /// When an unchanged group last counted as a skipped refetch.
    pub last_skip: Option<Instant>,
    /// The last run failed (the database is away): run on the interval until one succeeds.
    pub failing: bool,
}

impl State {
    pub fn new(stream: bool) -> State {
        State {
            stream,
            cohorts: HashMap::new(),
            by_key: HashMap::new(),
            members: HashMap::new(),
            reads: Reads::Pending,
            seen: None,
            last_run: None,
            last_skip: None,
            failing: false,
        }
    }

    pub fn cohorts(&self) -> usize {
        self.cohorts.len()
    }

    pub fn subscribers(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Any cohort's key (for asking the group's reads).
    pub fn some_key(&self) -> Option<CohortKey> {
        self.cohorts.values().next().map(|c| c.key.clone())
    }

    /// Adds subscriber `id`, who was already sent (or for a stream, saw) the result hashed
    /// `first`, to the cohort of `key` (a new one numbered by `new_id` if none). The cohort
    /// runs at the next tick.
    pub fn join(&mut self, key: CohortKey, id: u64, conn: Arc<Conn>, op_id: Arc<str>, first: u64, new_id: impl FnOnce() -> u64) {
        let cid = match self.by_key.get(&key) {
            Some(c) => *c,
            None => {
                let c = new_id();
                self.by_key.insert(key.clone(), c);
                self.cohorts.insert(c, Cohort { key, subs: HashMap::new(), pending: false, more: false });
                c
            }
        };
        let cohort = self.cohorts.get_mut(&cid).expect("just found or made");
        cohort.subs.insert(id, Sub { conn, op_id, last: first });
        cohort.pending = true;
        self.members.insert(id, cid);
    }

    /// Removes subscriber `id` (and its cohort when it was the last one).
    pub fn leave(&mut self, id: u64) {
        let Some(cid) = self.members.remove(&id) else { return };
        let Some(cohort) = self.cohorts.get_mut(&cid) else { return };
        cohort.subs.remove(&id);
        if cohort.subs.is_empty() {
            let key = cohort.key.clone();
            self.cohorts.remove(&cid);
            self.by_key.remove(&key);
        }
    }

    /// The cohorts to run now: all of them (`all`), else the pending ones and, with `more`,
    /// the streams that may have more rows. Their flags are cleared. Only their ids: a run
    /// reads their keys (a stream's cursor) once it holds the group's run lock.
    pub fn take_due(&mut self, all: bool, more: bool) -> Vec<u64> {
        let mut due: Vec<u64> = self
            .cohorts
            .iter_mut()
            .filter(|(_, c)| all || c.pending || (more && c.more))
            .map(|(id, c)| {
                c.pending = false;
                c.more = false;
                *id
            })
            .collect();
        // Oldest cohorts first: a stable order for batches.
        due.sort_unstable();
        due
    }

    /// The current keys of those of `ids` that still exist (a cohort may have ended, or
    /// merged into another, since it was found due).
    pub fn keys(&self, ids: &[u64]) -> Vec<(u64, CohortKey)> {
        ids.iter().filter_map(|id| self.cohorts.get(id).map(|c| (*id, c.key.clone()))).collect()
    }

    /// One cohort's answer: `result` is a whole GraphQL response; `cursor`, for a stream, the
    /// cursor after the rows it holds (none: no new rows). Returns the messages queued.
    pub fn apply(&mut self, id: u64, result: &str, cursor: Option<String>) -> usize {
        let h = hash(result);
        let Some(cohort) = self.cohorts.get_mut(&id) else { return 0 };
        let mut sent = 0;
        let errors = is_errors(result);
        if !self.stream || errors {
            // A live query's result, or a stream's failure: sent when it differs from the
            // subscriber's last (an error once, however many polls fail alike).
            for sub in cohort.subs.values_mut().filter(|s| s.last != h) {
                if sub.conn.send(protocol::data(sub.conn.proto, &sub.op_id, result)) {
                    sub.last = h;
                    sent += 1;
                }
            }
            return sent;
        }
        let Some(cursor) = cursor else {
            // No new rows: nothing to send (Hasura sends no empty batch either).
            for sub in cohort.subs.values_mut() {
                sub.last = h;
            }
            return 0;
        };
        // New rows, once to every subscriber: two batches may look alike and still be
        // different rows, so no hash comparison here.
        for sub in cohort.subs.values_mut() {
            if sub.conn.send(protocol::data(sub.conn.proto, &sub.op_id, result)) {
                sent += 1;
            }
            sub.last = h;
        }
        cohort.more = true;
        self.advance(id, cursor.into());
        sent
    }

    /// A stream cohort moved to `cursor`: it is now the cohort of that key, joining one that
    /// is already there (the same position, so the same rows from now on).
    fn advance(&mut self, id: u64, cursor: Arc<str>) {
        let Some(cohort) = self.cohorts.get_mut(&id) else { return };
        let old = cohort.key.clone();
        let new = CohortKey { cursor: Some(cursor), ..old.clone() };
        if new == old {
            return;
        }
        self.by_key.remove(&old);
        match self.by_key.get(&new).copied() {
            Some(target) if target != id => {
                let moved = self.cohorts.remove(&id).expect("present");
                let into = self.cohorts.get_mut(&target).expect("indexed");
                into.more |= moved.more;
                for (sid, sub) in moved.subs {
                    self.members.insert(sid, target);
                    into.subs.insert(sid, sub);
                }
            }
            _ => {
                cohort.key = new.clone();
                self.by_key.insert(new, id);
            }
        }
    }
}

/// A response with errors and no data (a failed run, or a request error).
pub fn is_errors(result: &str) -> bool {
    result.trim_start().strip_prefix('{').is_some_and(|r| r.trim_start().starts_with("\"errors\""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ws::protocol::Proto;

    fn key(session: &str, cursor: Option<&str>) -> CohortKey {
        CohortKey { variables: None, session: session.into(), cursor: cursor.map(Into::into) }
    }

    fn drain(conn: &Conn) -> Vec<String> {
        conn.take_queued()
    }

    #[test]
    fn live_results_go_to_those_whose_last_differs() {
        let conn = Conn::new(Proto::Transport, 16);
        let mut st = State::new(false);
        let mut n = 0;
        let mut next = || {
            n += 1;
            n
        };
        st.join(key("a", None), 1, conn.clone(), "x".into(), hash("r0"), &mut next);
        st.join(key("a", None), 2, conn.clone(), "y".into(), hash("r1"), &mut next);
        st.join(key("b", None), 3, conn.clone(), "z".into(), hash("r0"), &mut next);
        assert_eq!((st.cohorts(), st.subscribers()), (2, 3));
        let due = st.take_due(false, false);
        assert_eq!(due, vec![1, 2], "joins make their cohorts pending");
        assert!(st.take_due(false, false).is_empty());
        assert_eq!(st.keys(&due)[1].1, key("b", None));
        assert_eq!(st.apply(due[0], "r1", None), 1, "only the subscriber that had r0");
        assert_eq!(drain(&conn), vec![r#"{"type":"next","id":"x","payload":r1}"#.to_string()]);
        assert_eq!(st.apply(due[0], "r1", None), 0);
        st.leave(1);
        st.leave(2);
        assert_eq!(st.cohorts(), 1);
        st.leave(3);
        assert!(st.is_empty() && st.cohorts() == 0);
    }

    #[test]
    fn errors_are_sent_once() {
        let conn = Conn::new(Proto::Legacy, 16);
        let mut st = State::new(true);
        st.join(key("a", None), 1, conn.clone(), "s".into(), 0, || 7);
        let err = r#"{"errors":[{"message":"connection error"}]}"#;
        assert_eq!(st.apply(7, err, None), 1);
        assert_eq!(st.apply(7, err, None), 0);
        assert_eq!(st.apply(7, r#"{"data":{"t":[]}}"#, None), 0, "an empty batch sends nothing");
        assert_eq!(st.apply(7, err, None), 1, "a new failure is sent again");
        assert_eq!(drain(&conn).len(), 2);
    }

    #[test]
    fn stream_cohorts_advance_and_merge() {
        let conn = Conn::new(Proto::Transport, 16);
        let mut st = State::new(true);
        let mut ids = [10, 11, 12].into_iter();
        st.join(key("a", Some("c1")), 1, conn.clone(), "one".into(), 0, || ids.next().unwrap());
        st.join(key("a", None), 2, conn.clone(), "two".into(), 0, || ids.next().unwrap());
        assert_eq!(st.cohorts(), 2);
        // The same batch twice is two batches of rows: both sent.
        let rows = r#"{"data":{"t_stream":[{"id":1}]}}"#;
        assert_eq!(st.apply(11, rows, Some("c1".into())), 1);
        assert_eq!(st.cohorts(), 1, "cohort 11 reached c1, where cohort 10 is: one cohort");
        assert_eq!(st.take_due(false, true).len(), 1, "rows came: there may be more");
        assert_eq!(st.apply(10, rows, Some("c2".into())), 2);
        assert_eq!(drain(&conn).len(), 3);
        // A newcomer from the initial cursor is a cohort of its own.
        st.join(key("a", None), 3, conn, "three".into(), 0, || ids.next().unwrap());
        assert_eq!(st.cohorts(), 2);
        st.leave(1);
        st.leave(2);
        assert_eq!(st.cohorts(), 1);
    }

    #[test]
    fn error_shapes() {
        assert!(is_errors(r#" { "errors": []}"#));
        assert!(!is_errors(r#"{"data":{"errors":1}}"#));
    }
}
