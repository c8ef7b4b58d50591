//! The middleware every request goes through: the request id (the client's `x-request-id`, or
//! a new UUID; echoed in the response), Prometheus counters, and one `http-log` line.

use std::sync::Arc;
use std::time::Instant;

use std::net::SocketAddr;

use axum::body::HttpBody;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use serde_json::json;

use crate::logs;
use crate::routes::{AppState, LogInfo};

fn request_id(req: &Request) -> String {
    req.headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 200)
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

pub async fn observe(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request_id(&req);
    // The route pattern, not the raw path: bounded label cardinality.
    let endpoint = req.extensions().get::<MatchedPath>().map_or("unmatched", |m| m.as_str()).to_string();
    let method = req.method().to_string();
    let url = req.uri().path().to_string();
    let version = format!("{:?}", req.version());
    // The client address: the first X-Forwarded-For hop behind a proxy, else the peer.
    let ip = req
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(|v| v.trim().to_string())
        .or_else(|| req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string()));
    let mut resp = next.run(req).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert("x-request-id", v);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let status = resp.status().as_u16();
    state.metrics.observe(&endpoint, &method, status, elapsed);
    let info = resp.extensions().get::<LogInfo>().cloned().unwrap_or_default();
    let size = resp.body().size_hint().exact();
    logs::emit(
        "http-log",
        // Hasura logs every error answer at level error (logHttpError), 200s with GraphQL
        // errors included.
        if status >= 400 || info.error.is_some() { "error" } else { "info" },
        json!({
            "request_id": id,
            "operation": {
                "request_id": id,
                "user_vars": info.role.map(|r| json!({"x-hasura-role": r})),
                "error": info.error,
                "response_size": size,
                "request_read_time": null,
                "query_execution_time": elapsed,
            },
            "http_info": {"status": status, "http_version": version, "url": url, "method": method, "ip": ip},
        }),
    );
    resp
}

/// Hasura's response compression (`Server/Compression.hs`): gzip at the fastest level when the
/// client accepts gzip, for answers of 700 bytes or more (smaller ones are not worth it).
pub fn compression() -> tower_http::compression::CompressionLayer<tower_http::compression::predicate::SizeAbove> {
    use tower_http::compression::{predicate::SizeAbove, CompressionLayer, CompressionLevel};
    CompressionLayer::new().gzip(true).quality(CompressionLevel::Fastest).compress_when(SizeAbove::new(700))
}
