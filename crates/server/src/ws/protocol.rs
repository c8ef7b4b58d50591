//! The two WebSocket sub-protocols Hasura speaks on `/v1/graphql`, as messages: what a client
//! may send (parsed into [`ClientMsg`]) and what the server sends (built as text here, the
//! result JSON spliced in as `graphql.resolve` returned it, never re-parsed).
//!
//! * `graphql-transport-ws` (the `graphql-ws` npm library): `subscribe`/`next`/`complete`,
//!   `ping`/`pong`, failures as close codes.
//! * legacy `graphql-ws` (Apollo's subscriptions-transport-ws): `start`/`data`/`stop`, `ka`,
//!   `connection_error`. Hasura's default when the client asks for no or another protocol.

use serde_json::{json, Map, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    /// `graphql-ws`: subscriptions-transport-ws.
    Legacy,
    /// `graphql-transport-ws`: the graphql-ws library.
    Transport,
}

pub const TRANSPORT_WS: &str = "graphql-transport-ws";
pub const LEGACY_WS: &str = "graphql-ws";

impl Proto {
    /// Hasura's choice: `graphql-transport-ws` when offered, the legacy protocol otherwise.
    pub fn select<'a>(offered: impl IntoIterator<Item = &'a str>) -> Proto {
        if offered.into_iter().any(|p| p.trim() == TRANSPORT_WS) {
            Proto::Transport
        } else {
            Proto::Legacy
        }
    }
}

/// Close codes and reasons Hasura sends (`Protocol.hs`, `ServerErrorCode`).
pub mod close {
    /// Hasura's metadata-change close (`forceConnReconnect`: "Server is restarting", so
    /// clients reconnect), with its reason as plain text.
    pub const RESTARTING: (u16, &str) = (1012, "Server state changed, restarting the server");
    pub const INVALID_MESSAGE: u16 = 4400;
    pub const UNAUTHORIZED: (u16, &str) = (4401, "Unauthorized");
    pub const FORBIDDEN: (u16, &str) = (4403, "Forbidden");
    pub const INIT_TIMEOUT: (u16, &str) = (4408, "Connection initialisation timeout");
    pub const DUPLICATE: u16 = 4409;
    pub const TOO_MANY_INITS: (u16, &str) = (4429, "Too many requests");
    /// A server-side failure (the client stopped reading and its queue filled up).
    pub const INTERNAL: u16 = 1011;
}

/// The largest close reason a close frame carries (125 payload bytes, 2 of them the code).
const MAX_REASON_BYTES: usize = 123;

/// A close reason as Hasura writes it for the errors it closes with (`encodeServerErrorMsg`):
/// `{"server_error_msg":"<code>: <text>"}`. The text is cut (at a character) so the frame
/// stays within the 123 bytes a close reason may have: a longer one is a protocol error on the
/// client, which then sees neither code nor reason.
pub fn server_error_reason(code: u16, text: &str) -> String {
    let whole = |t: &str| json!({"server_error_msg": format!("{code}: {t}")}).to_string();
    let mut end = text.len();
    loop {
        let r = whole(&text[..end]);
        if r.len() <= MAX_REASON_BYTES || end == 0 {
            return r;
        }
        end = text[..end].char_indices().next_back().map_or(0, |(i, _)| i);
    }
}

/// Hasura's close when `connection_init` fails: the legacy protocol closes 4400 "Connection
/// initialization failed: <why>" (after `connection_error`), graphql-transport-ws 4403
/// Forbidden (`mkWSServerErrorCode`).
pub fn init_failed_close(proto: Proto, why: &str) -> (u16, String) {
    match proto {
        Proto::Legacy => (close::INVALID_MESSAGE, server_error_reason(close::INVALID_MESSAGE, &format!("Connection initialization failed: {why}"))),
        Proto::Transport => (close::FORBIDDEN.0, server_error_reason(close::FORBIDDEN.0, close::FORBIDDEN.1)),
    }
}

/// A GraphQL request in `start`/`subscribe`.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub query: String,
    /// The variables' JSON text (an object), or none.
    pub variables: Option<String>,
    pub operation_name: Option<String>,
}

#[derive(Debug, PartialEq)]
pub enum ClientMsg {
    Init(Option<Value>),
    Start { id: String, request: Request },
    Stop { id: String },
    Terminate,
    Ping(Option<Value>),
    Pong,
}

fn request(payload: Option<&Value>) -> Result<Request, String> {
    let p = payload.and_then(Value::as_object).ok_or("the payload must be an object")?;
    let query = p.get("query").and_then(Value::as_str).ok_or("the payload needs a string 'query'")?;
    let variables = match p.get("variables") {
        None | Some(Value::Null) => None,
        Some(v @ Value::Object(_)) => Some(v.to_string()),
        Some(_) => return Err("'variables' must be an object".into()),
    };
    let operation_name = match p.get("operationName") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err("'operationName' must be a string".into()),
    };
    Ok(Request { query: query.to_string(), variables, operation_name })
}

/// One text frame from the client, or why it is not a message of `proto`.
pub fn parse(proto: Proto, text: &str) -> Result<ClientMsg, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("Invalid message: {e}"))?;
    let m = v.as_object().ok_or("Invalid message: not an object")?;
    let ty = m.get("type").and_then(Value::as_str).ok_or("Invalid message: no string 'type'")?;
    let id = || match m.get("id") {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        _ => Err(format!("Invalid message: '{ty}' needs a non-empty string 'id'")),
    };
    let payload = m.get("payload").filter(|p| !p.is_null()).cloned();
    let invalid = |e: String| format!("Invalid message: {e}");
    Ok(match (proto, ty) {
        (_, "connection_init") => ClientMsg::Init(payload),
        (Proto::Legacy, "start") | (Proto::Transport, "subscribe") => {
            ClientMsg::Start { id: id()?, request: request(payload.as_ref()).map_err(invalid)? }
        }
        (Proto::Legacy, "stop") | (Proto::Transport, "complete") => ClientMsg::Stop { id: id()? },
        (Proto::Legacy, "connection_terminate") => ClientMsg::Terminate,
        (Proto::Transport, "ping") => ClientMsg::Ping(payload),
        (Proto::Transport, "pong") => ClientMsg::Pong,
        _ => return Err(format!("Invalid message: unknown message type '{ty}'")),
    })
}

/// The headers `connection_init` contributes: `payload.headers`, or the payload itself when it
/// has no `headers` key (clients that put `Authorization` at the top). Strings only.
pub fn init_headers(payload: Option<&Value>) -> Map<String, Value> {
    let Some(Value::Object(p)) = payload else { return Map::new() };
    let h = match p.get("headers") {
        Some(Value::Object(h)) => h,
        Some(_) => return Map::new(),
        None => p,
    };
    h.iter().filter(|(_, v)| v.is_string()).map(|(k, v)| (k.clone(), v.clone())).collect()
}

fn id_json(id: &str) -> String {
    Value::String(id.to_string()).to_string()
}

pub fn ack() -> String {
    r#"{"type":"connection_ack"}"#.into()
}

/// The legacy keep-alive.
pub const KA: &str = r#"{"type":"ka"}"#;
/// graphql-transport-ws's keep-alive, as Hasura sends it.
pub const PING_KEEPALIVE: &str = r#"{"type":"ping","payload":{"message":"keepalive"}}"#;

pub fn ka() -> String {
    KA.into()
}

pub fn pong(payload: Option<&Value>) -> String {
    match payload {
        Some(p) => json!({"type": "pong", "payload": p}).to_string(),
        None => r#"{"type":"pong"}"#.into(),
    }
}

pub fn connection_error(message: &str) -> String {
    json!({"type": "connection_error", "payload": message}).to_string()
}

/// A result (`data`/`next`): `result` is a whole GraphQL response, `{"data": …}` or
/// `{"errors": […]}`.
pub fn data(proto: Proto, id: &str, result: &str) -> String {
    let ty = if proto == Proto::Legacy { "data" } else { "next" };
    format!(r#"{{"type":"{ty}","id":{},"payload":{result}}}"#, id_json(id))
}

pub fn complete(id: &str) -> String {
    format!(r#"{{"type":"complete","id":{}}}"#, id_json(id))
}

/// An operation's `error`: the legacy protocol carries one error object, the new one the
/// errors array.
pub fn error(proto: Proto, id: &str, errors: &[Value]) -> String {
    let payload = match proto {
        Proto::Legacy => errors.first().cloned().unwrap_or(Value::Null),
        Proto::Transport => Value::Array(errors.to_vec()),
    };
    json!({"type": "error", "id": id, "payload": payload}).to_string()
}

/// A Hasura-shaped GraphQL error.
pub fn gql_error(code: &str, message: &str) -> Value {
    json!({"message": message, "extensions": {"path": "$", "code": code}})
}

/// Error codes that come from running the statement (Hasura's post-execution errors), which it
/// sends as a result with `errors` rather than as the operation's `error`.
const EXECUTION_CODES: [&str; 6] = ["constraint-violation", "data-exception", "postgres-error", "permission-error", "unexpected", "postgres-max-connections-error"];

/// A response that is a request error (no `data`, Hasura's pre-execution errors): its errors.
/// Success answers are not parsed (see routes::graphql::logged_error).
pub fn request_errors(result: &str) -> Option<Vec<Value>> {
    let rest = result.trim_start().strip_prefix('{')?.trim_start();
    if !rest.starts_with("\"errors\"") {
        return None;
    }
    let v: Value = serde_json::from_str(result).ok()?;
    if v.get("data").is_some() {
        return None;
    }
    let errors = v.get("errors")?.as_array()?.clone();
    let executed = errors.iter().any(|e| e["extensions"]["code"].as_str().is_some_and(|c| EXECUTION_CODES.contains(&c)));
    (!executed).then_some(errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_choice() {
        assert_eq!(Proto::select(["graphql-transport-ws"]), Proto::Transport);
        assert_eq!(Proto::select(["graphql-ws"]), Proto::Legacy);
        assert_eq!(Proto::select([]), Proto::Legacy);
        assert_eq!(Proto::select(["other", " graphql-transport-ws"]), Proto::Transport);
    }

    #[test]
    fn client_messages() {
        let start = parse(Proto::Legacy, r#"{"type":"start","id":"1","payload":{"query":"{a}","variables":{"x":1}}}"#);
        assert_eq!(start, Ok(ClientMsg::Start { id: "1".into(), request: Request { query: "{a}".into(), variables: Some(r#"{"x":1}"#.into()), operation_name: None } }));
        assert!(parse(Proto::Transport, r#"{"type":"start","id":"1","payload":{"query":"{a}"}}"#).is_err());
        assert!(parse(Proto::Transport, r#"{"type":"subscribe","payload":{"query":"{a}"}}"#).is_err());
        assert!(parse(Proto::Transport, r#"{"type":"subscribe","id":"1","payload":{"query":1}}"#).is_err());
        assert_eq!(parse(Proto::Transport, r#"{"type":"complete","id":"1"}"#), Ok(ClientMsg::Stop { id: "1".into() }));
        assert_eq!(parse(Proto::Legacy, r#"{"type":"connection_terminate"}"#), Ok(ClientMsg::Terminate));
        assert!(parse(Proto::Legacy, "nope").is_err());
    }

    #[test]
    fn headers_from_init() {
        let h = init_headers(Some(&json!({"headers": {"Authorization": "Bearer x", "n": 1}})));
        assert_eq!(Value::Object(h), json!({"Authorization": "Bearer x"}));
        let h = init_headers(Some(&json!({"x-hasura-admin-secret": "s"})));
        assert_eq!(Value::Object(h), json!({"x-hasura-admin-secret": "s"}));
        assert!(init_headers(None).is_empty());
    }

    #[test]
    fn server_messages() {
        assert_eq!(data(Proto::Legacy, "a\"b", r#"{"data":{}}"#), r#"{"type":"data","id":"a\"b","payload":{"data":{}}}"#);
        assert_eq!(data(Proto::Transport, "1", "{}"), r#"{"type":"next","id":"1","payload":{}}"#);
        let e = [gql_error("validation-failed", "m")];
        assert_eq!(serde_json::from_str::<Value>(&error(Proto::Transport, "1", &e)).unwrap()["payload"][0]["message"], "m");
        assert_eq!(serde_json::from_str::<Value>(&error(Proto::Legacy, "1", &e)).unwrap()["payload"]["message"], "m");
    }

    #[test]
    fn close_reasons() {
        assert_eq!(server_error_reason(4403, "Forbidden"), r#"{"server_error_msg":"4403: Forbidden"}"#);
        let (code, reason) = init_failed_close(Proto::Legacy, "x-hasura-admin-secret/x-hasura-access-key required, but not found");
        assert_eq!(code, 4400);
        assert!(reason.len() <= MAX_REASON_BYTES, "{reason}");
        let v: Value = serde_json::from_str(&reason).unwrap();
        assert!(v["server_error_msg"].as_str().unwrap().starts_with("4400: Connection initialization failed: x-hasura-admin-secret"), "{reason}");
        assert_eq!(init_failed_close(Proto::Transport, "any").1, r#"{"server_error_msg":"4403: Forbidden"}"#);
        // Cut at a character, never inside one.
        let long = server_error_reason(4400, &"é".repeat(200));
        assert!(long.len() <= MAX_REASON_BYTES && serde_json::from_str::<Value>(&long).is_ok(), "{long}");
    }

    #[test]
    fn which_errors_are_request_errors() {
        let v = r#"{"errors":[{"message":"m","extensions":{"path":"$","code":"validation-failed"}}]}"#;
        assert_eq!(request_errors(v).unwrap().len(), 1);
        assert!(request_errors(r#"{"errors":[{"message":"m","extensions":{"code":"constraint-violation"}}]}"#).is_none());
        assert!(request_errors(r#"{"data":{"a":1}}"#).is_none());
    }
}
