//! One socket: the reader loop (this task) and a writer task behind a bounded queue. Every
//! message to the client goes through [`Conn::send`], which never waits: a full queue means
//! the client stopped reading, and the socket is closed (1011) instead of slowing the cohort
//! polls that feed it or holding their results in memory.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_graphql_parser::types::OperationType;
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::sync::{mpsc, Notify};
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

/// The sending side of a socket, shared by its operations and the cohorts they joined.
pub struct Conn {
    pub proto: Proto,
    tx: mpsc::Sender<String>,
    kill: Notify,
    closing: Mutex<Option<Closing>>,
    overflowed: AtomicBool,
}

impl Conn {
    /// A socket's sending side and the receiving end its writer drains.
    pub fn new(proto: Proto, queue: usize) -> (Arc<Conn>, mpsc::Receiver<String>) {
        let (tx, rx) = mpsc::channel(queue);
        (Arc::new(Conn { proto, tx, kill: Notify::new(), closing: Mutex::new(None), overflowed: AtomicBool::new(false) }), rx)
    }

    /// Queues a message; false when it was not (queue full: the socket is being closed).
    pub fn send(&self, text: String) -> bool {
        match self.tx.try_send(text) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                if !self.overflowed.swap(true, Ordering::Relaxed) {
                    let reason = "the client is not reading: its outgoing queue is full";
                    crate::logs::emit("websocket-log", "error", serde_json::json!({"event": {"type": "closed", "code": close::INTERNAL, "reason": reason}}));
                    self.end(Closing::Now(close::INTERNAL, reason.into()));
                }
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    fn end(&self, how: Closing) {
        let mut c = self.closing.lock().unwrap_or_else(|e| e.into_inner());
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
}

async fn write(mut sink: SplitSink<WebSocket, Message>, mut rx: mpsc::Receiver<String>, conn: Arc<Conn>) {
    loop {
        tokio::select! {
            biased;
            _ = conn.kill.notified() => break,
            m = rx.recv() => {
                let Some(text) = m else { break };
                tokio::select! {
                    r = sink.send(Message::Text(text.into())) => if r.is_err() { return },
                    // A client that does not read blocks this send: stop waiting for it.
                    _ = conn.kill.notified() => break,
                }
            }
        }
    }
    let how = conn.closing.lock().unwrap_or_else(|e| e.into_inner()).take().unwrap_or(Closing::Silent);
    let finish = async {
        let (code, reason) = match how {
            Closing::Silent => return,
            Closing::Now(c, r) => (c, r),
            Closing::After(c, r) => {
                while let Ok(t) = rx.try_recv() {
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

enum Phase {
    Waiting,
    Ready(Session),
}

struct Socket {
    state: Arc<AppState>,
    conn: Arc<Conn>,
    proto: Proto,
    upgrade_headers: HeaderMap,
    phase: Phase,
    /// Operations by id, with the generation that tells a reused id apart.
    ops: HashMap<String, (u64, Running)>,
    generation: u64,
    done: mpsc::UnboundedSender<(String, u64, Option<Subscription>)>,
    /// When the credential that authenticated the socket expires (Unix seconds).
    expires: Option<u64>,
}

/// `upgrade_headers` are those the socket may authenticate with (`super::cookies`).
pub async fn run(socket: WebSocket, proto: Proto, upgrade_headers: HeaderMap, state: Arc<AppState>) {
    let (sink, mut stream) = socket.split();
    let (conn, rx) = Conn::new(proto, state.ws.queue);
    let mut writer = tokio::spawn(write(sink, rx, conn.clone()));
    let _registered = state.ws_sockets.register(&conn);
    let (done, mut finished) = mpsc::unbounded_channel();
    let mut s = Socket { state: state.clone(), conn: conn.clone(), proto, upgrade_headers, phase: Phase::Waiting, ops: HashMap::new(), generation: 0, done, expires: None };
    let init_deadline = tokio::time::sleep(state.ws.init_timeout);
    tokio::pin!(init_deadline);
    let mut keepalive: Option<tokio::time::Interval> = None;
    let mut writer_done = false;
    loop {
        let expires = s.expires;
        tokio::select! {
            _ = &mut init_deadline, if matches!(s.phase, Phase::Waiting) => {
                conn.close(close::INIT_TIMEOUT.0, close::INIT_TIMEOUT.1);
                break;
            }
            _ = async move { tokio::time::sleep_until(super::expiry::deadline(expires.expect("enabled only when set"))).await }, if expires.is_some() => {
                super::expiry::log_expired(expires.unwrap_or_default());
                conn.drop_connection();
                break;
            }
            _ = async { keepalive.as_mut().expect("enabled only when set").tick().await }, if keepalive.is_some() => {
                conn.send(if proto == Proto::Legacy { protocol::ka() } else { protocol::ping_keepalive() });
            }
            Some((id, g, subscribed)) = finished.recv() => {
                // A stopped operation's subscription (generation gone) is dropped here.
                if s.ops.get(&id).is_some_and(|(og, _)| *og == g) {
                    match subscribed {
                        Some(sub) => {
                            s.ops.insert(id, (g, Running::Subscribed(sub)));
                        }
                        None => {
                            s.ops.remove(&id);
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
                        let every = state.ws.keepalive;
                        keepalive = Some(tokio::time::interval_at(tokio::time::Instant::now() + every, every));
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
                    let (code, reason) = super::limits::too_big_close(state.ws.max_message_bytes);
                    conn.close(code, reason);
                    break;
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
            }
        }
    }
    // Stopping the operations drops their subscriptions, which leave their cohorts.
    for (_, (_, op)) in s.ops.drain() {
        op.stop();
    }
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
                if let Some((_, op)) = self.ops.remove(&id) {
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
        // The payload's headers first: they win over the upgrade request's.
        let mut headers = self.upgrade_headers.clone();
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
        if self.ops.contains_key(&id) {
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
            let _ = done.send((key, g, subscribed));
        });
        self.ops.insert(id, (g, Running::Task(task)));
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
