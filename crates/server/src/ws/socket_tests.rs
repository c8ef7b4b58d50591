//! The protocol's edge cases over a real socket, against the router with an admin secret and a
//! database that does not exist (nothing here reaches it): close codes, keep-alives, protocol
//! choice. Live queries and auth through JWT are covered by tests/sidecar with real clients.

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

type Client = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn server() -> String {
    use clap::Parser;
    let args = ["graft", "serve", "--database-url", "postgres://u@127.0.0.1:1/db", "--admin-secret", "s", "--websocket-keepalive", "1", "--websocket-connection-init-timeout", "1"];
    let crate::Cli { command: crate::Command::Serve(cfg) } = crate::Cli::try_parse_from(args).unwrap();
    let app = crate::router(crate::app_state(&cfg).await.unwrap(), &cfg);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("ws://{addr}/v1/graphql")
}

async fn connect(url: &str, protocol: Option<&str>) -> (Client, Option<String>) {
    let mut req = url.into_client_request().unwrap();
    if let Some(p) = protocol {
        req.headers_mut().insert("sec-websocket-protocol", p.parse().unwrap());
    }
    let (ws, resp) = tokio_tungstenite::connect_async(req).await.unwrap();
    let chosen = resp.headers().get("sec-websocket-protocol").map(|v| v.to_str().unwrap().to_string());
    (ws, chosen)
}

async fn send(ws: &mut Client, v: serde_json::Value) {
    ws.send(Message::Text(v.to_string().into())).await.unwrap();
}

/// The next message: a text frame's JSON `type`, or `close <code> <reason>`.
async fn next(ws: &mut Client) -> String {
    let m = tokio::time::timeout(std::time::Duration::from_secs(3), ws.next()).await.expect("a message in time");
    match m {
        Some(Ok(Message::Text(t))) => serde_json::from_str::<serde_json::Value>(&t).unwrap()["type"].as_str().unwrap().to_string(),
        Some(Ok(Message::Close(Some(f)))) => format!("close {} {}", u16::from(f.code), f.reason),
        other => format!("{other:?}"),
    }
}

fn init(secret: &str) -> serde_json::Value {
    serde_json::json!({"type": "connection_init", "payload": {"headers": {"x-hasura-admin-secret": secret}}})
}

#[tokio::test]
async fn transport_protocol_close_codes() {
    let url = server().await;
    let (mut ws, chosen) = connect(&url, Some("graphql-transport-ws")).await;
    assert_eq!(chosen.as_deref(), Some("graphql-transport-ws"));
    send(&mut ws, serde_json::json!({"type": "subscribe", "id": "1", "payload": {"query": "{ a }"}})).await;
    assert_eq!(next(&mut ws).await, "close 4401 Unauthorized");

    let (mut ws, _) = connect(&url, Some("graphql-transport-ws")).await;
    send(&mut ws, init("wrong")).await;
    assert_eq!(next(&mut ws).await, r#"close 4403 {"server_error_msg":"4403: Forbidden"}"#);

    let (mut ws, _) = connect(&url, Some("graphql-transport-ws")).await;
    send(&mut ws, init("s")).await;
    assert_eq!(next(&mut ws).await, "connection_ack");
    send(&mut ws, serde_json::json!({"type": "ping"})).await;
    assert_eq!(next(&mut ws).await, "pong");
    assert_eq!(next(&mut ws).await, "ping", "the keep-alive");
    send(&mut ws, init("s")).await;
    assert_eq!(next(&mut ws).await, "close 4429 Too many requests");

    let (mut ws, _) = connect(&url, Some("graphql-transport-ws")).await;
    send(&mut ws, serde_json::json!({"type": "nonsense"})).await;
    let closed = next(&mut ws).await;
    assert!(closed.starts_with(r#"close 4400 {"server_error_msg":"4400: Parsing client message failed: parsing ClientMessage failed: "#), "{closed}");

    let (mut ws, _) = connect(&url, Some("graphql-transport-ws")).await;
    assert_eq!(next(&mut ws).await, "close 4408 Connection initialisation timeout");
}

#[tokio::test]
async fn legacy_protocol() {
    let url = server().await;
    let (mut ws, chosen) = connect(&url, None).await;
    assert_eq!(chosen, None, "no protocol asked, none echoed: the legacy one is spoken");
    send(&mut ws, serde_json::json!({"type": "start", "id": "1", "payload": {"query": "{ a }"}})).await;
    assert_eq!(next(&mut ws).await, "error", "start before init is the operation's error");
    send(&mut ws, init("s")).await;
    assert_eq!(next(&mut ws).await, "connection_ack");
    assert_eq!(next(&mut ws).await, "ka");
    assert_eq!(next(&mut ws).await, "ka");
    send(&mut ws, serde_json::json!({"type": "connection_terminate"})).await;
    assert!(next(&mut ws).await.starts_with("close 1000"));

    let (mut ws, chosen) = connect(&url, Some("graphql-ws")).await;
    assert_eq!(chosen.as_deref(), Some("graphql-ws"));
    send(&mut ws, serde_json::json!({"type": "nonsense"})).await;
    assert_eq!(next(&mut ws).await, "connection_error", "an invalid message is answered, the socket stays open");
    send(&mut ws, init("wrong")).await;
    assert_eq!(next(&mut ws).await, "connection_error");
    let closed = next(&mut ws).await;
    assert!(closed.starts_with(r#"close 4400 {"server_error_msg":"4400: Connection initialization failed: invalid x-hasura-admin-secret"#), "{closed}");
}

/// Hasura refuses the upgrade from an origin its CORS domain list does not allow.
#[tokio::test]
async fn origin_outside_the_cors_list_is_refused() {
    use clap::Parser;
    let args = ["graft", "serve", "--database-url", "postgres://u@127.0.0.1:1/db", "--admin-secret", "s", "--cors-domain", "https://app.example.com"];
    let crate::Cli { command: crate::Command::Serve(cfg) } = crate::Cli::try_parse_from(args).unwrap();
    let app = crate::router(crate::app_state(&cfg).await.unwrap(), &cfg);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let url = format!("ws://{addr}/v1/graphql");
    let mut req = url.as_str().into_client_request().unwrap();
    req.headers_mut().insert("origin", "https://evil.test".parse().unwrap());
    match tokio_tungstenite::connect_async(req).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), 400),
        other => panic!("{:?}", other.map(|_| ())),
    }
    let mut req = url.as_str().into_client_request().unwrap();
    req.headers_mut().insert("origin", "https://app.example.com".parse().unwrap());
    assert!(tokio_tungstenite::connect_async(req).await.is_ok());
    // HASURA_GRAPHQL_WS_READ_COOKIE needs CORS disabled.
    let args = ["graft", "serve", "--database-url", "postgres://u@127.0.0.1:1/db", "--ws-read-cookie", "true"];
    let crate::Cli { command: crate::Command::Serve(cfg) } = crate::Cli::try_parse_from(args).unwrap();
    assert_eq!(crate::app_state(&cfg).await.err().unwrap_or_default(), "HASURA_GRAPHQL_WS_READ_COOKIE can only be used when CORS is disabled");
}

#[tokio::test]
async fn a_message_over_the_body_limit_is_closed_1009() {
    let url = server().await;
    let (mut ws, _) = connect(&url, Some("graphql-transport-ws")).await;
    ws.send(Message::Text(format!(r#"{{"type":"connection_init","payload":{{"pad":"{}"}}}}"#, "x".repeat((1 << 20) + 10)).into())).await.unwrap();
    assert_eq!(next(&mut ws).await, "close 1009 message larger than GRAFT_MAX_BODY_BYTES (1048576 bytes)");
}
