//! One graphql-transport-ws client socket: connect, connection_init, subscribe, and the
//! messages that come back.

use std::borrow::Cow;
use std::collections::HashMap;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::value::RawValue;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Small buffers: the client holds thousands of sockets, and tungstenite's default is 128 KiB
/// each way per socket.
fn config() -> WebSocketConfig {
    WebSocketConfig::default().read_buffer_size(8 * 1024).write_buffer_size(0)
}

/// Opens a socket and completes connection_init with `headers` (the sidecar reads session
/// headers from the init payload's `headers`).
pub async fn open(url: &str, headers: serde_json::Value) -> Result<Ws, String> {
    let mut req = url.into_client_request().map_err(|e| format!("bad url: {e}"))?;
    req.headers_mut().insert("sec-websocket-protocol", HeaderValue::from_static("graphql-transport-ws"));
    let (mut ws, _) = tokio::time::timeout(Duration::from_secs(30), tokio_tungstenite::connect_async_with_config(req, Some(config()), true))
        .await
        .map_err(|_| "connect: timed out".to_string())?
        .map_err(|e| format!("connect: {e}"))?;
    let init = serde_json::json!({"type": "connection_init", "payload": {"headers": headers}});
    ws.send(Message::Text(init.to_string().into())).await.map_err(|e| format!("send init: {e}"))?;
    loop {
        let m = tokio::time::timeout(Duration::from_secs(30), ws.next()).await.map_err(|_| "no connection_ack in 30 s".to_string())?;
        match m {
            Some(Ok(Message::Text(t))) => match envelope(t.as_str()) {
                Some(e) if e.ty == "connection_ack" => return Ok(ws),
                Some(e) if e.ty == "ping" => {}
                _ => return Err(format!("expected connection_ack, got {}", t.as_str())),
            },
            Some(Ok(Message::Close(c))) => return Err(format!("closed before connection_ack: {c:?}")),
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(format!("before connection_ack: {e}")),
            None => return Err("closed before connection_ack".into()),
        }
    }
}

pub async fn subscribe(ws: &mut Ws, id: &str, query: &str) -> Result<(), String> {
    let m = serde_json::json!({"id": id, "type": "subscribe", "payload": {"query": query}});
    ws.send(Message::Text(m.to_string().into())).await.map_err(|e| format!("send subscribe: {e}"))
}

/// The next text message, `Ok(None)` once `stop` changes, or why the socket ended.
pub async fn next_text(ws: &mut Ws, stop: &mut tokio::sync::watch::Receiver<bool>) -> Result<Option<Utf8Bytes>, String> {
    loop {
        let m = tokio::select! {
            _ = stop.changed() => return Ok(None),
            m = ws.next() => m,
        };
        match m {
            Some(Ok(Message::Text(t))) => return Ok(Some(t)),
            Some(Ok(Message::Close(c))) => return Err(format!("closed by the server: {c:?}")),
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(format!("read: {e}")),
            None => return Err("closed".into()),
        }
    }
}

pub async fn pong(ws: &mut Ws) -> Result<(), String> {
    ws.send(Message::Text(r#"{"type":"pong"}"#.into())).await.map_err(|e| format!("send pong: {e}"))
}

#[derive(Deserialize)]
pub struct Envelope<'a> {
    #[serde(rename = "type", borrow)]
    pub ty: Cow<'a, str>,
    #[serde(borrow, default)]
    pub payload: Option<&'a RawValue>,
}

pub fn envelope(text: &str) -> Option<Envelope<'_>> {
    serde_json::from_str(text).ok()
}

#[derive(Deserialize)]
pub struct Row<'a> {
    pub id: i64,
    #[serde(borrow, default)]
    pub title: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Payload<'a> {
    #[serde(borrow, default)]
    data: Option<HashMap<Cow<'a, str>, Option<Vec<Row<'a>>>>>,
    #[serde(borrow, default)]
    errors: Option<&'a RawValue>,
}

/// The rows of a `next` payload's single root field, or the errors it carries.
pub fn rows<'a>(payload: Option<&'a RawValue>) -> Result<Vec<Row<'a>>, String> {
    let p = payload.ok_or("next without payload")?;
    let p: Payload<'a> = serde_json::from_str(p.get()).map_err(|e| format!("payload: {e}: {}", short(p.get())))?;
    if let Some(e) = p.errors {
        return Err(format!("errors: {}", short(e.get())));
    }
    let data = p.data.ok_or("payload without data")?;
    data.into_values().next().flatten().ok_or_else(|| "data without a list".to_string())
}

pub fn short(s: &str) -> String {
    s.chars().take(300).collect()
}
