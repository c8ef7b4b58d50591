//! One socket, one task: it reads the client's messages and writes what is queued for it,
//! in one loop. Every message to the client goes through [`Conn::send`], which never waits:
//! a full queue means the client stopped reading, and the socket is closed (1011) instead of
//! slowing the cohort polls that feed it or holding their results in memory.
//!
//! An idle subscriber is mostly this file's state, so it is kept small: no second task for
//! writing, no tokio channels (each allocates a block of 32 slots up front): the queue and
//! the list of finished operations are `Vec`s behind a lock that allocate nothing while
//! empty, and whoever fills them wakes the socket's task through one `AtomicWaker`.

use std::collections::{BTreeMap, VecDeque};
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use async_graphql_parser::types::OperationType;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use futures_util::task::AtomicWaker;
use futures_util::{Sink, Stream};
use serde_json::Value;
use tokio::task::JoinHandle;

use super::live::{hash, CohortKey, FirstError, GroupKey, Subscription};
use super::protocol::{self, close, ClientMsg, Proto, Request};
use crate::auth::Session;
use crate::db;
use crate::routes::{is_admin, AppState};

/// How the socket ends: a close frame after what is queued, a close frame at once (the queue
/// overflowed), or nothing (the client is gone).
enum Closing {
    After(u16, String),
    Now(u16, String),
    Silent,
}

/// Operations whose task ended, as (id, generation, the subscription a live one joined).
type Finished = (String, u64, Option<Subscription>);

/// What others hand the socket's task.
#[derive(Default)]
struct Inbox {
    messages: VecDeque<String>,
    finished: Vec<Finished>,
    closing: Option<Closing>,
    /// The socket is closing or has ended: nothing more is queued.
    gone: bool,
}

/// The sending side of a socket, shared by its operations and the cohorts they joined.
pub struct Conn {
    pub proto: Proto,
    inbox: Mutex<Inbox>,
    limit: usize,
    /// The socket's task, woken when something is put in its inbox.
    task: AtomicWaker,
    overflowed: AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Conn {
    /// A socket's sending side, holding at most `queue` unwritten messages.
    pub fn new(proto: Proto, queue: usize) -> Arc<Conn> {
        Arc::new(Conn { proto, inbox: Mutex::new(Inbox::default()), limit: queue.max(1), task: AtomicWaker::new(), overflowed: AtomicBool::new(false) })
    }

    /// Queues a message; false when it was not (queue full: the socket is being closed).
    pub fn send(&self, text: String) -> bool {
        {
            let mut inbox = lock(&self.inbox);
            if inbox.gone {
                return false;
            }
            if inbox.messages.len() < self.limit {
                inbox.messages.push_back(text);
                drop(inbox);
                self.task.wake();
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
        let mut inbox = lock(&self.inbox);
        let m = inbox.messages.pop_front();
        // An idle socket keeps no buffer: most messages come one at a time.
        if inbox.messages.is_empty() {
            inbox.messages = VecDeque::new();
        }
        m
    }

    fn has_queued(&self) -> bool {
        !lock(&self.inbox).messages.is_empty()
    }

    /// An operation's task ended.
    fn finished(&self, f: Finished) {
        let mut inbox = lock(&self.inbox);
        if inbox.gone {
            // The socket is gone: its subscription is dropped here, outside the lock.
            drop(inbox);
            drop(f);
            return;
        }
        inbox.finished.push(f);
        drop(inbox);
        self.task.wake();
    }

    /// The socket's task: ready with the operations that ended since the last call.
    fn poll_finished(&self, cx: &mut Context<'_>) -> Poll<Vec<Finished>> {
        self.task.register(cx.waker());
        let mut inbox = lock(&self.inbox);
        if inbox.finished.is_empty() {
            Poll::Pending
        } else {
            Poll::Ready(std::mem::take(&mut inbox.finished))
        }
    }

    /// The socket's task: ready once the socket is to end.
    fn poll_closing(&self, cx: &mut Context<'_>) -> Poll<()> {
        self.task.register(cx.waker());
        if lock(&self.inbox).closing.is_some() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    /// How the socket is to end (none asked: the client went away). From now on nothing more
    /// is queued: what is queued already is what a close after it sends.
    fn take_closing(&self) -> Closing {
        let mut inbox = lock(&self.inbox);
        inbox.gone = true;
        inbox.closing.take().unwrap_or(Closing::Silent)
    }

    /// The socket's task has ended: refuses more, and hands back what it was given (dropped
    /// outside the lock: a subscription leaving its cohort takes the group's locks).
    fn gone(&self) -> Inbox {
        std::mem::replace(&mut *lock(&self.inbox), Inbox { gone: true, ..Inbox::default() })
    }

    fn end(&self, how: Closing) {
        let mut inbox = lock(&self.inbox);
        if inbox.closing.is_none() && !inbox.gone {
            inbox.closing = Some(how);
            drop(inbox);
            self.task.wake();
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
        lock(&self.inbox).messages.drain(..).collect()
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

/// The socket's side of the connection: what it writes (the queue, then a due keep-alive) and
/// what it reads, in one poll.
struct Wire {
    ws: WebSocket,
    keepalive_frame: &'static str,
    /// A keep-alive is due.
    keepalive_due: bool,
    /// Frames were handed to the socket and not yet flushed.
    unflushed: bool,
}

/// What the wire has for the socket's task.
enum Event {
    Incoming(Option<Result<Message, axum::Error>>),
    /// Writing failed: the client is gone.
    Broken,
}

impl Wire {
    /// Writes as much as the socket takes. Nothing is taken off the queue before the socket
    /// is ready for it, so a write that must wait loses nothing.
    fn poll_write(&mut self, conn: &Conn, cx: &mut Context<'_>) -> Result<(), axum::Error> {
        conn.task.register(cx.waker());
        while self.keepalive_due || conn.has_queued() {
            match Pin::new(&mut self.ws).poll_ready(cx) {
                Poll::Ready(r) => r?,
                Poll::Pending => return Ok(()),
            }
            let frame = match conn.next_queued() {
                Some(text) => Message::Text(text.into()),
                None => {
                    self.keepalive_due = false;
                    Message::Text(Utf8Bytes::from_static(self.keepalive_frame))
                }
            };
            Pin::new(&mut self.ws).start_send(frame)?;
            self.unflushed = true;
        }
        if self.unflushed {
            if let Poll::Ready(r) = Pin::new(&mut self.ws).poll_flush(cx) {
                r?;
                self.unflushed = false;
            }
        }
        Ok(())
    }

    fn poll_event(&mut self, conn: &Conn, cx: &mut Context<'_>) -> Poll<Event> {
        if self.poll_write(conn, cx).is_err() {
            return Poll::Ready(Event::Broken);
        }
        Pin::new(&mut self.ws).poll_next(cx).map(Event::Incoming)
    }

    /// The socket's end as `how` asks: bounded, since a client that reads nothing never
    /// receives the close frame either.
    async fn finish(&mut self, conn: &Conn, how: Closing) {
        let send = async {
            let (code, reason) = match how {
                Closing::Silent => return,
                Closing::Now(c, r) => (c, r),
                Closing::After(c, r) => {
                    while let Some(t) = conn.next_queued() {
                        if self.ws.send(Message::Text(t.into())).await.is_err() {
                            return;
                        }
                    }
                    (c, r)
                }
            };
            let _ = self.ws.send(Message::Close(Some(CloseFrame { code, reason: reason.into() }))).await;
        };
        let _ = tokio::time::timeout(Duration::from_secs(2), send).await;
    }
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
            None => {
                // One more, not four (a Vec's first growth): most sockets run one operation.
                self.0.reserve_exact(1);
                self.0.push((id, g, op));
            }
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

/// Ends the socket's operations however the socket's task ends (a panic included): an
/// operation that finished later would otherwise hand its subscription to an inbox nobody
/// reads, and its cohort would run for ever.
impl Drop for Socket {
    fn drop(&mut self) {
        self.ops.stop_all();
        drop(self.conn.gone());
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
    /// When the credential that authenticated the socket expires (Unix seconds).
    expires: Option<u64>,
}

/// `upgrade_headers` are those the socket may authenticate with (`super::cookies`).
///
/// Not an `async fn`: an async fn's future keeps its arguments for its whole life; the
/// socket's task keeps only [`drive`]'s state.
pub fn run(socket: WebSocket, proto: Proto, upgrade_headers: Box<HeaderMap>, state: Arc<AppState>) -> impl std::future::Future<Output = ()> {
    let conn = Conn::new(proto, state.ws.queue);
    let registered = state.ws_sockets.register(&conn);
    let keepalive_frame = if proto == Proto::Legacy { protocol::KA } else { protocol::PING_KEEPALIVE };
    let wire = Wire { ws: socket, keepalive_frame, keepalive_due: false, unflushed: false };
    let s = Socket { state, conn, proto, upgrade_headers: Some(upgrade_headers), phase: Phase::Waiting, ops: Ops::default(), generation: 0, expires: None };
    drive(s, wire, registered)
}

/// What woke the socket's task.
enum Wake {
    /// The deadline of `connection_init` or of the credential.
    Timer,
    Closing,
    Finished(Vec<Finished>),
    Wire(Event),
}

/// The socket's loop. One timer serves both deadlines: `connection_init` (while waiting for
/// it), then the credential's expiry (when it has one). One hand-written poll waits for
/// everything, in order of precedence: a `select!` over the same would keep a future per
/// branch in every idle socket's task.
///
/// An `async move` block, not an `async fn`: an async fn's future stores its arguments twice
/// (as passed, and moved into the body's locals), here some 600 bytes more per socket.
fn drive(mut s: Socket, mut wire: Wire, registered: super::metadata_watch::Registered) -> impl Future<Output = ()> {
    async move {
        let _registered = &registered;
        let conn = s.conn.clone();
        let timer = tokio::time::sleep(s.state.ws.init_timeout);
        tokio::pin!(timer);
        let mut timed = true;
        let mut keepalive: Option<tokio::time::Interval> = None;
        loop {
            let woke = poll_fn(|cx| {
                if timed && timer.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Wake::Timer);
                }
                if conn.poll_closing(cx).is_ready() {
                    return Poll::Ready(Wake::Closing);
                }
                if let Poll::Ready(f) = conn.poll_finished(cx) {
                    return Poll::Ready(Wake::Finished(f));
                }
                // A due keep-alive is written with the queue, just below. Polled until
                // pending: only a pending poll makes the interval wake the task for its next tick.
                if let Some(k) = keepalive.as_mut() {
                    while k.poll_tick(cx).is_ready() {
                        wire.keepalive_due = true;
                    }
                }
                wire.poll_event(&conn, cx).map(Wake::Wire)
            })
            .await;
            match woke {
                Wake::Timer => {
                    match (&s.phase, s.expires) {
                        (Phase::Waiting, _) => conn.close(close::INIT_TIMEOUT.0, close::INIT_TIMEOUT.1),
                        (Phase::Ready(_), exp) => {
                            super::expiry::log_expired(exp.unwrap_or_default());
                            conn.drop_connection();
                        }
                    }
                    break;
                }
                Wake::Closing => break,
                Wake::Finished(finished) => {
                    for (id, g, subscribed) in finished {
                        // A stopped operation's subscription (generation gone) is dropped here.
                        if s.ops.generation(&id) == Some(g) {
                            match subscribed {
                                Some(sub) => s.ops.insert(id, g, Running::Subscribed(sub)),
                                None => {
                                    s.ops.remove(&id);
                                }
                            }
                        }
                    }
                }
                Wake::Wire(Event::Broken) => break,
                Wake::Wire(Event::Incoming(Some(Ok(Message::Text(t))))) => {
                    let was_waiting = matches!(s.phase, Phase::Waiting);
                    // Boxed: handling a message (authentication, a webhook call) needs a large
                    // future, which would otherwise be part of every idle socket's task.
                    if !Box::pin(s.handle(t.as_str())).await {
                        break;
                    }
                    if was_waiting && matches!(s.phase, Phase::Ready(_)) {
                        let every = s.state.ws.keepalive;
                        let mut k = tokio::time::interval_at(on_keepalive_grid(tokio::time::Instant::now() + every), every);
                        // Skip, not Delay: a late tick must not move the socket off the grid.
                        k.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
                        keepalive = Some(k);
                        timed = s.expires.is_some();
                        if let Some(exp) = s.expires {
                            timer.as_mut().reset(super::expiry::deadline(exp));
                        }
                    }
                }
                Wake::Wire(Event::Incoming(Some(Ok(Message::Binary(_))))) => {
                    if !s.invalid("Invalid message: binary frames are not GraphQL messages") {
                        break;
                    }
                }
                // Pings are answered by the library; pongs need nothing.
                Wake::Wire(Event::Incoming(Some(Ok(Message::Ping(_) | Message::Pong(_))))) => {}
                Wake::Wire(Event::Incoming(Some(Err(e)))) if super::limits::too_big(&e) => {
                    let (code, reason) = super::limits::too_big_close(s.state.ws.max_message_bytes);
                    conn.close(code, reason);
                    break;
                }
                Wake::Wire(Event::Incoming(Some(Ok(Message::Close(_))) | Some(Err(_)) | None)) => break,
            }
        }
        // Stopping the operations drops their subscriptions, which leave their cohorts (before
        // the close frame: nothing is sent after it); those that ended meanwhile go with the
        // inbox when `s` is dropped (`Socket`'s Drop).
        s.ops.stop_all();
        Box::pin(wire.finish(&conn, conn.take_closing())).await;
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
        let (conn, g, key) = (self.conn.clone(), self.generation, id.clone());
        let task = tokio::spawn(async move {
            let subscribed = op.run().await;
            conn.finished((key, g, subscribed));
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
