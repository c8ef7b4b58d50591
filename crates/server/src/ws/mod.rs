//! The WebSocket endpoint: `GET /v1/graphql` upgraded, with Hasura's two sub-protocols
//! (`protocol`), one task per socket (`session`), and live queries and streams multiplexed
//! into groups of cohorts that re-run when a table they read changed (`live`).
//!
//! Around a socket: which upgrade headers it authenticates with (`cookies`), when its
//! credential expires (`expiry`), how many operations it may run (`limits`), and the close of
//! every socket when the metadata changes (`metadata_watch`).

pub mod cookies;
mod expiry;
mod limits;
pub mod live;
pub mod metadata_watch;
pub mod protocol;
mod session;
#[cfg(test)]
mod socket_tests;

use std::sync::Arc;
use std::time::Duration;

use async_graphql_parser::types::{DocumentOperations, ExecutableDocument, OperationType, Selection, SelectionSet};
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;

use crate::routes::AppState;
use protocol::Proto;

pub use live::{Live, LiveSettings};

/// The socket settings, from Hasura's variables.
#[derive(Clone, Debug)]
pub struct Settings {
    pub keepalive: Duration,
    pub init_timeout: Duration,
    /// Largest message accepted from a client (GRAFT_MAX_BODY_BYTES, as for HTTP bodies).
    pub max_message_bytes: usize,
    /// Messages waiting to be written to one socket before it counts as not reading.
    pub queue: usize,
    /// Operations one socket may run at once (GRAFT_WS_MAX_OPERATIONS_PER_SOCKET).
    pub max_operations: usize,
    /// HASURA_GRAPHQL_WS_READ_COOKIE: a browser's cookies count with CORS disabled.
    pub read_cookie: bool,
}

/// The socket's own read buffer. Client messages are few and small (init, subscribe, stop,
/// pong), and tungstenite's default (128 KiB, zero-filled on the first read) would be most of
/// what an idle subscriber costs; a larger frame grows it as needed (to about twice its size).
const READ_BUFFER: usize = 128;

/// `GET /v1/graphql`: a WebSocket upgrade, or Hasura's 404 for a plain GET.
pub async fn upgrade(State(state): State<Arc<AppState>>, headers: HeaderMap, ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>) -> Response {
    let Ok(ws) = ws else {
        return crate::routes::not_found(Ok(Default::default())).await;
    };
    let headers = match cookies::auth_headers(headers, state.cors.as_deref(), state.ws.read_cookie) {
        Ok(h) => Box::new(detached(h)),
        // Hasura's rejection: the upgrade answered 400 with the error object.
        Err(message) => {
            let body = serde_json::json!({"message": message, "extensions": {"path": "$", "code": "access-denied"}});
            return crate::routes::json_response(axum::http::StatusCode::BAD_REQUEST, body.to_string());
        }
    };
    let offered: Vec<String> = ws.requested_protocols().filter_map(|p| p.to_str().ok()).flat_map(|p| p.split(',').map(|s| s.trim().to_string())).collect();
    let proto = Proto::select(offered.iter().map(String::as_str));
    let name = if proto == Proto::Transport { protocol::TRANSPORT_WS } else { protocol::LEGACY_WS };
    // Echo a protocol whenever the client offered any (browsers fail the handshake otherwise);
    // with none offered, none is echoed and the legacy protocol is spoken.
    let ws = if offered.is_empty() {
        ws
    } else if offered.iter().any(|p| p == name) {
        ws.protocols([name])
    } else {
        ws
    };
    let max = state.ws.max_message_bytes;
    // Messages are written as they come (the socket's queue holds those waiting), and the
    // one being written waits in the library whatever its size: a result is as large as the
    // query made it, and a cap here would end the socket silently (the queue's bound, in
    // messages, is what bounds memory).
    ws.max_message_size(max)
        .max_frame_size(max)
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        .max_write_buffer_size(usize::MAX)
        // The socket gets a task of its own: axum's upgrade task would keep its own state
        // (the closure, the WebSocket config, the protocol) beside the socket's for as long
        // as the socket lives.
        .on_upgrade(move |socket| {
            tokio::spawn(session::run(socket, proto, headers, state));
            std::future::ready(())
        })
}

/// The headers with values of their own. hyper's header values are slices of its read buffer
/// for the connection (8 to 16 KiB), so keeping even one of them until `connection_init`
/// would keep that whole buffer for as long as the socket lives.
fn detached(headers: HeaderMap) -> HeaderMap {
    let mut own = HeaderMap::with_capacity(headers.len());
    let mut last = None;
    for (name, value) in headers {
        // `None` names repeat the previous one (a header sent more than once).
        let Some(name) = name.or_else(|| last.clone()) else { continue };
        let Ok(mut copy) = axum::http::HeaderValue::from_bytes(value.as_bytes()) else { continue };
        copy.set_sensitive(value.is_sensitive());
        own.append(name.clone(), copy);
        last = Some(name);
    }
    own
}

/// What the sidecar needs to know of a request before running it.
#[derive(Debug, PartialEq)]
pub struct Shape {
    pub ty: OperationType,
    /// Distinct root response keys.
    pub root_fields: usize,
    /// A streaming subscription: a root field takes `batch_size` and `cursor` (as `T_stream`
    /// does, and no other root field).
    pub stream: bool,
}

/// The operation type and, for a subscription, how many root fields it selects and whether
/// it is a stream. `None` when the document does not parse or names no operation it has:
/// `graphql.resolve` then answers with the error.
pub fn operation_shape(query: &str, operation_name: Option<&str>) -> Option<Shape> {
    // The parser recurses: a document nested deeper than any real query is left to
    // graphql.resolve (which bounds depth) instead of risking this thread's stack.
    if nesting(query) > 128 {
        return None;
    }
    let doc = async_graphql_parser::parse_query(query).ok()?;
    let op = match (&doc.operations, operation_name) {
        (DocumentOperations::Single(op), _) => &op.node,
        (DocumentOperations::Multiple(ops), Some(name)) => &ops.iter().find(|(n, _)| n.as_str() == name)?.1.node,
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => &ops.values().next()?.node,
        _ => return None,
    };
    let mut keys = Vec::new();
    let mut stream = false;
    root_keys(&doc, &op.selection_set.node, &mut keys, &mut stream, 0);
    Some(Shape { ty: op.ty, root_fields: keys.len(), stream })
}

/// Deepest bracket nesting, strings skipped roughly (a bound, not a parse).
fn nesting(q: &str) -> usize {
    let (mut depth, mut max, mut in_str, mut esc) = (0usize, 0usize, false, false);
    for c in q.chars() {
        if in_str {
            match (esc, c) {
                (true, _) => esc = false,
                (false, '\\') => esc = true,
                (false, '"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_str = true,
            '{' | '(' | '[' => {
                depth += 1;
                max = max.max(depth);
            }
            '}' | ')' | ']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// The distinct response keys of a selection set, through fragments (Hasura counts root fields
/// after merging fields with the same key).
fn root_keys(doc: &ExecutableDocument, set: &SelectionSet, keys: &mut Vec<String>, stream: &mut bool, depth: usize) {
    if depth > 16 {
        return;
    }
    for item in &set.items {
        match &item.node {
            Selection::Field(f) => {
                let k = f.node.response_key().node.to_string();
                let arg = |n: &str| f.node.arguments.iter().any(|(name, _)| name.node.as_str() == n);
                *stream |= arg("batch_size") && arg("cursor");
                if !keys.contains(&k) {
                    keys.push(k);
                }
            }
            Selection::InlineFragment(f) => root_keys(doc, &f.node.selection_set.node, keys, stream, depth + 1),
            Selection::FragmentSpread(s) => {
                if let Some(f) = doc.fragments.get(&s.node.fragment_name.node) {
                    root_keys(doc, &f.node.selection_set.node, keys, stream, depth + 1);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(q: &str, op: Option<&str>) -> Option<(OperationType, usize)> {
        operation_shape(q, op).map(|s| (s.ty, s.root_fields))
    }

    #[test]
    fn detached_headers_keep_every_value() {
        let mut h = HeaderMap::new();
        h.append("authorization", "Bearer x".parse().unwrap());
        h.append("cookie", "a=1".parse().unwrap());
        h.append("cookie", "b=2".parse().unwrap());
        let d = detached(h.clone());
        assert_eq!(d, h);
        assert_eq!(d.get_all("cookie").iter().count(), 2);
        // Copies, not slices of the buffer the originals live in.
        assert_ne!(d["authorization"].as_bytes().as_ptr(), h["authorization"].as_bytes().as_ptr());
    }

    #[test]
    fn shapes() {
        assert_eq!(shape("subscription { a { x } }", None), Some((OperationType::Subscription, 1)));
        assert_eq!(shape("subscription { a { x } b: a { x } }", None), Some((OperationType::Subscription, 2)));
        assert_eq!(shape("subscription { a { x } a { y } }", None), Some((OperationType::Subscription, 1)));
        assert_eq!(shape("subscription S { ...F } fragment F on subscription_root { a b }", None), Some((OperationType::Subscription, 2)));
        assert_eq!(shape("query A { a } mutation B { b }", Some("B")), Some((OperationType::Mutation, 1)));
        assert!(!operation_shape("subscription { a_stream(batch_size: 1) { x } }", None).unwrap().stream);
        let s = operation_shape("subscription ($c: [a_stream_cursor_input]!) { a_stream(batch_size: 1, cursor: $c) { x } }", None).unwrap();
        assert!(s.stream && s.root_fields == 1);
        assert_eq!(shape("query A { a } mutation B { b }", None), None);
        assert_eq!(shape("{ a ", None), None);
        assert_eq!(shape(&format!("{}{}", "{a".repeat(200), "}".repeat(200)), None), None);
        assert_eq!(nesting(r#"{ a(s: "{{{{") }"#), 2);
    }
}
