//! One socket: the reader loop (this task) and a writer task behind a bounded queue. Every
//! message to the client goes through [`Conn::send`], which never waits: a full queue means
//! the client stopped reading, and the socket is closed (1011) instead of slowing the cohort
//! polls that feed it or holding their results in memory.
//!
//! An idle subscriber is mostly this file's state, so it is kept small: the queue is a
//! `VecDeque` that allocates nothing while empty (a tokio channel allocates its block of 32
//! slots up front), finished operations come back through a list of the same kind, and the
//! writer sends the keep-alive itself, from a static frame, without waking the reader.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_graphql_parser::types::OperationType;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::live::{hash, CohortKey, FirstError, GroupKey, Subscription};
use super::protocol::{self, close, ClientMsg, Proto, Request};
use crate::auth::Session;
use crate::db;
use crate::routes::{is_admin, AppState};

/// How the writer ends: a close frame after what is queued, a close frame at once (the queue
/// overflowed), or nothing (the client is gone).
enum Closing {
    After(u16, String),
    Now(u16, String),
    Silent,
}

/// What waits to be written.
#[derive(Default)]
struct Outbox {
    messages: VecDeque<String>,
    /// The writer has ended: nothing more is queued.
    gone: bool,
}

/// The sending side of a socket, shared by its operations and the cohorts they joined.
pub struct Conn {
    pub proto: Proto,
    outbox: Mutex<Outbox>,
    limit: usize,
    /// A message was queued, or the keep-alive started.
    wake: Notify,
    kill: Notify,
    closing: Mutex<Option<Closing>>,
    overflowed: AtomicBool,
    /// Sends the keep-alive every interval once set (after `connection_ack`).
    keepalive: Mutex<Option<Duration>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Conn {
    /// A socket's sending side, holding at most `queue` unwritten messages.
    pub fn new(proto: Proto, queue: usize) -> Arc<Conn> {
        Arc::new(Conn {
            proto,
            outbox: Mutex::new(Outbox::default()),
            limit: queue.max(1),
            wake: Notify::new(),
            kill: Notify::new(),
            closing: Mutex::new(None),
            overflowed: AtomicBool::new(false),
            keepalive: Mutex::new(None),
        })
    }

    /// Queues a message; false when it was not (queue full: the socket is being closed).
    pub fn send(&self, text: String) -> bool {
        {
            let mut out = lock(&self.outbox);
            if out.gone {
                return false;
            }
            if out.messages.len() < self.limit {
                out.messages.push_back(text);
                drop(out);
                self.wake.notify_one();
                return true;
            }
        }
        if !self.overflowed.swap(true, Ordering::Relaxed) {
            let reason = "the client is not reading: its outgoing queue is full";
            crate::logs::emit("websocket-log", "error", serde_json::json!({"event": {"type": "closed", "code": close::INTERNAL, "reason": reason}}));
            self.end(Closing::Now(close::INTERNAL, reason.into()));
        }
        false
    }

    fn next_queued(&self) -> Option<String> {
        let mut out = lock(&self.outbox);
        let m = out.messages.pop_front();
        // A burst's buffer is not kept by an idle socket.
        if out.messages.is_empty() && out.messages.capacity() > 16 {
            out.messages = VecDeque::new();
        }
        m
    }

    /// The writer ended: drops what is queued and refuses more.
    fn writer_gone(&self) {
        let mut out = lock(&self.outbox);
        out.gone = true;
        out.messages = VecDeque::new();
    }

    /// Starts the keep-alive (`ka` or `ping`, every `every`), written by the writer.
    fn start_keepalive(&self, every: Duration) {
        *lock(&self.keepalive) = Some(every);
        self.wake.notify_one();
    }

    fn end(&self, how: Closing) {
        let mut c = lock(&self.closing);
        if c.is_none() {
            *c = Some(how);
            self.kill.notify_one();
        }
    }

    /// Sends what is queued, then closes with `code`.
    pub fn close(&self, code: u16, reason: impl Into<String>) {
        self.end(Closing::After(code, reason.into()));
    }

    /// Ends the connection without a close frame (Hasura's end on credential expiry).
    pub fn drop_connection(&self) {
        self.end(Closing::Silent);
    }

    /// What is queued, taken (for tests of what a socket would be sent).
    #[cfg(test)]
    pub fn take_queued(&self) -> Vec<String> {
        lock(&self.outbox).messages.drain(..).collect()
    }
}

/// Keep-alives fall due on a grid shared by all sockets (the first one up to this much later
/// than the interval), so that thousands of idle sockets are pinged in a few batches a
/// second. Spread out, each ping and its pong would wake a thread of their own: waking, not
/// writing, was most of what idle subscribers cost.
const KEEPALIVE_GRID: Duration = Duration::from_millis(500);

/// The first grid point at or after `t`. The interval is whole seconds, so a socket's later
/// keep-alives stay on the grid.
fn on_keepalive_grid(t: tokio::time::Instant) -> tokio::time::Instant {
    static EPOCH: std::sync::OnceLock<tokio::time::Instant> = std::sync::OnceLock::new();
    let epoch = *EPOCH.get_or_init(tokio::time::Instant::now);
    let since = t.saturating_duration_since(epoch).as_nanos();
    let grid = KEEPALIVE_GRID.as_nanos();
    let up = since.div_ceil(grid) * grid;
    epoch + Duration::from_nanos(u64::try_from(up).unwrap_or(u64::MAX))
}

async fn write(mut sink: SplitSink<WebSocket, Message>, conn: Arc<Conn>) {
    let ka = if conn.proto == Proto::Legacy { protocol::KA } else { protocol::PING_KEEPALIVE };
    let mut keepalive: Option<tokio::time::Interval> = None;
    loop {
        if let Some(text) = conn.next_queued() {
            tokio::select! {
                biased;
                // A client that does not read blocks this send: stop waiting for it.
                _ = conn.kill.notified() => break,
                r = sink.send(Message::Text(text.into())) => if r.is_err() { conn.writer_gone(); return },
            }
            continue;
        }
        tokio::select! {
            biased;
            _ = conn.kill.notified() => break,
            _ = conn.wake.notified() => {
                if keepalive.is_none() {
                    if let Some(every) = *lock(&conn.keepalive) {
                        let mut i = tokio::time::interval_at(on_keepalive_grid(tokio::time::Instant::now() + every), every);
                        // Skip, not Delay: a late tick must not move the socket off the grid.
                        i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
                        keepalive = Some(i);
                    }
                }
            }
            _ = async { keepalive.as_mut().expect("enabled only when set").tick().await }, if keepalive.is_some() => {
                tokio::select! {
                    biased;
                    _ = conn.kill.notified() => break,
                    r = sink.send(Message::Text(Utf8Bytes::from_static(ka))) => if r.is_err() { conn.writer_gone(); return },
                }
            }
        }
    }
    let how = lock(&conn.closing).take().unwrap_or(Closing::Silent);
    let finish = async {
        let (code, reason) = match how {
            Closing::Silent => return,
            Closing::Now(c, r) => (c, r),
            Closing::After(c, r) => {
                while let Some(t) = conn.next_queued() {
                    if sink.send(Message::Text(t.into())).await.is_err() {
                        return;
                    }
                }
                (c, r)
            }
        };
        let _ = sink.send(Message::Close(Some(CloseFrame { code, reason: reason.into() }))).await;
    };
    // Bounded: a client that reads nothing never receives the close frame either.
    let _ = tokio::time::timeout(Duration::from_secs(2), finish).await;
    conn.writer_gone();
}

/// An operation: its task while it runs, then, for a subscription, its place in a group (no
/// task of its own while it waits for results: a subscriber costs only what its group keeps).
enum Running {
    Task(JoinHandle<()>),
    Subscribed(#[allow(dead_code)] Subscription),
}

impl Running {
    /// Stops the operation (a subscription leaves its group when dropped).
    fn stop(self) {
        if let Running::Task(t) = self {
            t.abort();
        }
    }
}

/// A socket's operations by id, with the generation that tells a reused id apart. A list: a
/// socket runs one or a few (at most GRAFT_WS_MAX_OPERATIONS_PER_SOCKET), and an empty one
/// allocates nothing, where a map's table costs every idle subscriber a few hundred bytes.
#[derive(Default)]
struct Ops(Vec<(String, u64, Running)>);

impl Ops {
    fn generation(&self, id: &str) -> Option<u64> {
        self.0.iter().find(|(i, _, _)| i == id).map(|(_, g, _)| *g)
    }

    fn insert(&mut self, id: String, g: u64, op: Running) {
        match self.0.iter_mut().find(|(i, _, _)| *i == id) {
            Some(slot) => *slot = (id, g, op),
            None => self.0.push((id, g, op)),
        }
    }

    fn remove(&mut self, id: &str) -> Option<Running> {
        let at = self.0.iter().position(|(i, _, _)| i == id)?;
        let (_, _, op) = self.0.swap_remove(at);
        if self.0.is_empty() {
            self.0 = Vec::new();
        }
        Some(op)
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn stop_all(&mut self) {
        for (_, _, op) in std::mem::take(&mut self.0) {
            op.stop();
        }
    }
}

enum Phase {
    Waiting,
    Ready(Session),
}

/// Operations whose task ended, as (id, generation, the subscription a live one joined).
type Finished = (String, u64, Option<Subscription>);

/// Where operation tasks report their end to the socket's task.
#[derive(Default)]
struct Done {
    finished: Mutex<Vec<Finished>>,
    notify: Notify,
}

impl Done {
    fn push(&self, f: Finished) {
        lock(&self.finished).push(f);
        self.notify.notify_one();
    }

    fn take(&self) -> Vec<Finished> {
        std::mem::take(&mut *lock(&self.finished))
    }
}

struct Socket {
    state: Arc<AppState>,
    conn: Arc<Conn>,
    proto: Proto,
    /// Until `connection_init` has been answered: after it nothing reads them. Boxed: an
    /// empty map inline is most of a hundred bytes in every socket's task.
    upgrade_headers: Option<Box<HeaderMap>>,
    phase: Phase,
    ops: Ops,
    generation: u64,
    done: Arc<Done>,
    /// When the credential that authenticated the socket expires (Unix seconds).
    expires: Option<u64>,
}

/// `upgrade_headers` are those the socket may authenticate with (`super::cookies`).
///
/// Not an `async fn`: an async fn's future keeps its arguments for its whole life, and the
/// WebSocket and headers here are moved out at once; the socket's task keeps only [`drive`]'s
/// state.
pub fn run(socket: WebSocket, proto: Proto, upgrade_headers: HeaderMap, state: Arc<AppState>) -> impl std::future::Future<Output = ()> {
    let (sink, stream) = socket.split();
    let conn = Conn::new(proto, state.ws.queue);
    let writer = tokio::spawn(write(sink, conn.clone()));
    let registered = state.ws_sockets.register(&conn);
    let s = Socket { state, conn, proto, upgrade_headers: Some(Box::new(upgrade_headers)), phase: Phase::Waiting, ops: Ops::default(), generation: 0, done: Arc::default(), expires: None };
    drive(s, stream, writer, registered)
}

/// The reader loop. One timer serves both deadlines: `connection_init` (while waiting for
/// it), then the credential's expiry (when it has one).
async fn drive(mut s: Socket, mut stream: SplitStream<WebSocket>, mut writer: JoinHandle<()>, _registered: super::metadata_watch::Registered) {
    let (conn, done) = (s.conn.clone(), s.done.clone());
    let timer = tokio::time::sleep(s.state.ws.init_timeout);
    tokio::pin!(timer);
    let mut timed = true;
    let mut writer_done = false;
    loop {
        tokio::select! {
            _ = &mut timer, if timed => {
                match (&s.phase, s.expires) {
                    (Phase::Waiting, _) => conn.close(close::INIT_TIMEOUT.0, close::INIT_TIMEOUT.1),
                    (Phase::Ready(_), exp) => {
                        super::expiry::log_expired(exp.unwrap_or_default());
                        conn.drop_connection();
                    }
                }
                break;
            }
            _ = done.notify.notified() => {
                for (id, g, subscribed) in done.take() {
                    // A stopped operation's subscription (generation gone) is dropped here.
                    if s.ops.generation(&id) == Some(g) {
                        match subscribed {
                            Some(sub) => {
                                s.ops.insert(id, g, Running::Subscribed(sub));
                            }
                            None => {
                                s.ops.remove(&id);
                            }
                        }
                    }
                }
            }
            _ = &mut writer => { writer_done = true; break }
            m = stream.next() => match m {
                Some(Ok(Message::Text(t))) => {
                    let was_waiting = matches!(s.phase, Phase::Waiting);
                    // Boxed: handling a message (authentication, a webhook call) needs a large
                    // future, which would otherwise be part of every idle socket's task.
                    if !Box::pin(s.handle(t.as_str())).await {
                        break;
                    }
                    if was_waiting && matches!(s.phase, Phase::Ready(_)) {
                        conn.start_keepalive(s.state.ws.keepalive);
                        timed = s.expires.is_some();
                        if let Some(exp) = s.expires {
                            timer.as_mut().reset(super::expiry::deadline(exp));
                        }
                    }
                }
                Some(Ok(Message::Binary(_))) => {
                    if !s.invalid("Invalid message: binary frames are not GraphQL messages") {
                        break;
                    }
                }
                // Pings are answered by the library; pongs need nothing.
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Err(e)) if super::limits::too_big(&e) => {
                    let (code, reason) = super::limits::too_big_close(s.state.ws.max_message_bytes);
                    conn.close(code, reason);
                    break;
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
            }
        }
    }
    // Stopping the operations drops their subscriptions, which leave their cohorts.
    s.ops.stop_all();
    // Those that ended meanwhile too.
    drop(done.take());
    if !writer_done {
        conn.end(Closing::Silent);
        let _ = tokio::time::timeout(Duration::from_secs(3), writer).await;
    }
}

impl Socket {
    /// A message that is not one of the protocol's, as Hasura answers it: the legacy protocol
    /// says why in `connection_error` and goes on; the transport protocol closes with 4400.
    /// True when the socket stays open.
    fn invalid(&self, message: &str) -> bool {
        let message = message.strip_prefix("Invalid message: ").unwrap_or(message);
        let why = format!("parsing ClientMessage failed: {message}");
        if self.proto == Proto::Legacy {
            self.conn.send(protocol::connection_error(&why));
            return true;
        }
        let reason = protocol::server_error_reason(close::INVALID_MESSAGE, &format!("Parsing client message failed: {why}"));
        self.conn.close(close::INVALID_MESSAGE, reason);
        false
    }

    /// Handles one client message; false when the socket is closing.
    async fn handle(&mut self, text: &str) -> bool {
        let msg = match protocol::parse(self.proto, text) {
            Ok(m) => m,
            Err(e) => return self.invalid(&e),
        };
        match msg {
            ClientMsg::Init(payload) => return self.init(payload.as_ref()).await,
            ClientMsg::Start { id, request } => return self.start(id, request),
            ClientMsg::Stop { id } => {
                if let Some(op) = self.ops.remove(&id) {
                    op.stop();
                }
            }
            ClientMsg::Terminate => {
                self.conn.close(1000, "");
                return false;
            }
            ClientMsg::Ping(p) => {
                self.conn.send(protocol::pong(p.as_ref()));
            }
            ClientMsg::Pong => {}
        }
        true
    }

    async fn init(&mut self, payload: Option<&Value>) -> bool {
        if matches!(self.phase, Phase::Ready(_)) {
            if self.proto == Proto::Transport {
                self.conn.close(close::TOO_MANY_INITS.0, close::TOO_MANY_INITS.1);
                return false;
            }
            return true;
        }
        // The payload's headers first: they win over the upgrade request's. Taken: a socket
        // that is answered keeps none of them (a failed init closes it).
        let mut headers = self.upgrade_headers.take().map(|h| *h).unwrap_or_default();
        for (k, v) in protocol::init_headers(payload) {
            let (Ok(name), Some(Ok(value))) = (HeaderName::from_bytes(k.to_ascii_lowercase().as_bytes()), v.as_str().map(HeaderValue::from_str)) else { continue };
            headers.insert(name, value);
        }
        match self.state.auth.authenticate(&headers, None).await {
            Ok(granted) => {
                self.phase = Phase::Ready(granted.session);
                self.expires = granted.expires;
                self.conn.send(protocol::ack());
                if self.proto == Proto::Legacy {
                    self.conn.send(protocol::ka());
                }
                true
            }
            Err(e) => {
                if self.proto == Proto::Legacy {
                    self.conn.send(protocol::connection_error(&e.message));
                }
                let (code, reason) = protocol::init_failed_close(self.proto, &e.message);
                self.conn.close(code, reason);
                false
            }
        }
    }

    fn start(&mut self, id: String, request: Request) -> bool {
        let Phase::Ready(session) = &self.phase else {
            if self.proto == Proto::Transport {
                self.conn.close(close::UNAUTHORIZED.0, close::UNAUTHORIZED.1);
                return false;
            }
            let e = protocol::gql_error("start-failed", "cannot start as connection_init is not sent yet");
            self.conn.send(protocol::error(self.proto, &id, &[e]));
            return true;
        };
        if self.ops.generation(&id).is_some() {
            if self.proto == Proto::Transport {
                self.conn.close(close::DUPLICATE, format!("Subscriber for {id} already exists"));
                return false;
            }
            let e = protocol::gql_error("start-failed", &format!("an operation already exists with this id: {id}"));
            self.conn.send(protocol::error(self.proto, &id, &[e]));
            return true;
        }
        if let Some(e) = super::limits::refused(self.ops.len(), self.state.ws.max_operations) {
            self.conn.send(protocol::error(self.proto, &id, &[e]));
            if self.proto == Proto::Legacy {
                self.conn.send(protocol::complete(&id));
            }
            return true;
        }
        self.generation += 1;
        let op = Op { state: self.state.clone(), conn: self.conn.clone(), id: id.as_str().into(), request, session: session.clone() };
        let (done, g, key) = (self.done.clone(), self.generation, id.clone());
        let task = tokio::spawn(async move {
            let subscribed = op.run().await;
            done.push((key, g, subscribed));
        });
        self.ops.insert(id, g, Running::Task(task));
        true
    }
}

/// One operation: a query or mutation answered once, or a live query that stays subscribed
/// until its task is aborted (stop, or the socket ending).
struct Op {
    state: Arc<AppState>,
    conn: Arc<Conn>,
    id: Arc<str>,
    request: Request,
    session: Session,
}

impl Op {
    fn failed(&self, errors: &[Value]) {
        let proto = self.conn.proto;
        self.conn.send(protocol::error(proto, &self.id, errors));
        // The legacy protocol completes a failed operation; the new one ends it with `error`.
        if proto == Proto::Legacy {
            self.conn.send(protocol::complete(&self.id));
        }
    }

    /// Runs the operation; a live query or stream returns its subscription.
    async fn run(self) -> Option<Subscription> {
        let r = &self.request;
        let shape = super::operation_shape(&r.query, r.operation_name.as_deref());
        let (live, stream) = match shape {
            Some(s) if s.ty == OperationType::Subscription => {
                if s.root_fields != 1 {
                    self.failed(&[protocol::gql_error("validation-failed", "subscriptions must select one top level field")]);
                    return None;
                }
                (true, s.stream)
            }
            _ => (false, false),
        };
        // Sorted keys: the same session written in another order is the same cohort.
        let session: BTreeMap<&String, &Value> = self.session.iter().collect();
        let session = serde_json::to_string(&session).unwrap_or_default();
        let admin = is_admin(&self.session);
        let mut cohort = CohortKey { variables: r.variables.as_deref().map(Into::into), session: session.as_str().into(), cursor: None };
        let proto = self.conn.proto;
        let (text, cursor) = if stream {
            match self.state.live.first_stream(&r.query, r.operation_name.as_deref(), &cohort).await {
                Ok(first) => first,
                Err(FirstError::Db(e)) => (e.graphql_body(admin), None),
                Err(FirstError::Unsupported) => {
                    self.failed(&[protocol::gql_error("not-supported", "streaming subscriptions need a graft extension with graphql.subscription_poll")]);
                    return None;
                }
            }
        } else {
            match db::resolve(&self.state.pool, &r.query, r.variables.clone(), session.clone(), r.operation_name.clone()).await {
                Ok(t) => (t, None),
                Err(e) => (e.graphql_body(admin), None),
            }
        };
        if let Some(errors) = protocol::request_errors(&text) {
            self.failed(&errors);
            return None;
        }
        // A stream's first batch is sent only when it has rows (as later ones).
        let send = !stream || cursor.is_some() || super::live::is_errors(&text);
        if send && !self.conn.send(protocol::data(proto, &self.id, &text)) {
            return None;
        }
        if !live {
            self.conn.send(protocol::complete(&self.id));
            return None;
        }
        cohort.cursor = cursor.map(Into::into);
        let role = self.session.get("x-hasura-role").and_then(Value::as_str).unwrap_or("").into();
        let group = GroupKey { query: r.query.as_str().into(), operation_name: r.operation_name.as_deref().map(Into::into), role, stream };
        Some(self.state.live.join(group, admin, cohort, self.conn.clone(), self.id.clone(), hash(&text)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keepalives_fall_on_the_shared_grid() {
        let g = on_keepalive_grid(tokio::time::Instant::now());
        assert_eq!(on_keepalive_grid(g), g);
        let a = on_keepalive_grid(g + Duration::from_millis(5003));
        let b = on_keepalive_grid(g + Duration::from_millis(5377));
        assert_eq!(a, b, "two sockets a few hundred ms apart share a grid point");
        assert_eq!(a, g + Duration::from_millis(5000) + KEEPALIVE_GRID);
        assert_eq!(on_keepalive_grid(a + Duration::from_secs(5)), a + Duration::from_secs(5));
    }
}
