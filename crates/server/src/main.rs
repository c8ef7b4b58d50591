//! `graft`: the sidecar (`graft serve`) that speaks Hasura's HTTP API and answers every request
//! with one `graphql.resolve` call on a pooled connection.

mod auth;
mod config;
mod console;
mod cors;
mod db;
mod http;
mod logs;
mod metrics;
mod routes;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use clap::{Parser, Subcommand};
use serde_json::json;
use sha2::{Digest, Sha256};

#[derive(Parser)]
#[command(name = "graft", version, about = "Hasura-compatible GraphQL API served from PostgreSQL (the graft extension)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve Hasura's HTTP API (/v1/graphql, /v1/metadata, /v1/query, /v2/query, /v1/version,
    /// /healthz, /v1alpha1/config, /v1/metrics, /console). Every flag can also be set by the
    /// environment variable shown in brackets.
    Serve(config::ServeConfig),
}

#[tokio::main]
async fn main() {
    let Cli { command: Command::Serve(cfg) } = Cli::parse();
    if let Err(e) = logs::init(&cfg.enabled_log_types, &cfg.log_level) {
        eprintln!("graft serve: {e}");
        std::process::exit(1);
    }
    if let Err(e) = serve(cfg).await {
        logs::emit("startup", "error", json!({"kind": "server", "info": {"message": e}}));
        eprintln!("graft serve: {e}");
        std::process::exit(1);
    }
}

fn router(state: Arc<routes::AppState>, cfg: &config::ServeConfig) -> Router {
    let apis = state.apis;
    let mut app = Router::new()
        .route("/v1/version", get(routes::ops::version))
        .route("/healthz", get(routes::ops::healthz))
        .route("/hasura/healthz", get(routes::ops::healthz));
    if apis.graphql {
        app = app.route("/v1/graphql", post(routes::graphql::graphql));
    }
    if apis.metadata {
        app = app
            .route("/v1/metadata", post(routes::query::metadata))
            .route("/v1/query", post(routes::query::query))
            .route("/v2/query", post(routes::query::query_v2));
    }
    if apis.config {
        app = app.route("/v1alpha1/config", get(routes::ops::config));
    }
    if apis.metrics {
        app = app.route("/v1/metrics", get(routes::ops::metrics));
    }
    if state.console {
        app = app
            .route("/", get(console::root))
            .route("/console", get(console::index))
            .route("/console/", get(console::index))
            .route("/console/assets/{name}", get(console::asset))
            .route("/console/{*rest}", get(console::index_any));
    }
    let mut app = app
        .fallback(routes::not_found)
        .method_not_allowed_fallback(routes::method_not_allowed)
        .layer(DefaultBodyLimit::max(cfg.max_body_bytes))
        .layer(axum::middleware::from_fn_with_state(state.clone(), http::observe))
        .with_state(state);
    if !cfg.disable_cors {
        app = app.layer(cors::layer(&cfg.cors_domain));
    }
    app
}

/// Everything the handlers share, from the settings (no connection is opened here).
async fn app_state(cfg: &config::ServeConfig) -> Result<Arc<routes::AppState>, String> {
    let apis = config::EnabledApis::parse(&cfg.enabled_apis)?;
    let pool_settings = db::pool::PoolSettings::from_config(cfg);
    let pool = db::pool::build(&cfg.database_url, &pool_settings)?;
    db::pool::spawn_reaper(pool.clone(), &pool_settings);
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .map_err(|e| format!("HTTP client: {e}"))?;
    let jwt = auth::jwt::JwtAuth::new(cfg.jwt_secret.as_deref(), cfg.jwt_secrets.as_deref(), &client)?;
    let webhook = cfg
        .auth_hook
        .clone()
        .map(|url| auth::webhook::Webhook::new(url, cfg.auth_hook_mode, cfg.auth_hook_send_request_body, client.clone()));
    let auth = auth::Auth::new(&config::admin_secrets(cfg)?, jwt, webhook, cfg.unauthorized_role.clone())?;
    if let Some(jwt) = auth.jwt() {
        for cache in jwt.jwk_caches() {
            // Failures are logged by the cache.
            tokio::spawn(async move {
                let _ = cache.prefetch().await;
            });
        }
    }
    let state = Arc::new(routes::AppState {
        pool,
        auth,
        metrics: metrics::Metrics::new(),
        apis,
        metrics_secret: cfg.metrics_secret.as_deref().map(|s| Sha256::digest(s.as_bytes()).into()),
        console: cfg.enable_console,
        stringify_numeric: cfg.stringify_numeric_types,
        max_body_bytes: cfg.max_body_bytes,
    });
    Ok(state)
}

async fn serve(cfg: config::ServeConfig) -> Result<(), String> {
    let state = app_state(&cfg).await?;
    let app = router(state.clone(), &cfg);
    let addr = format!("{}:{}", cfg.server_host, cfg.server_port);
    let listener = tokio::net::TcpListener::bind(&addr).await.map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    logs::emit(
        "startup",
        "info",
        json!({"kind": "server", "info": {
            "message": "graft serve listening",
            "address": addr,
            "port": cfg.server_port,
            "version": routes::ops::VERSION,
            "admin_secret_set": state.auth.admin_secret_set(),
            "jwt_set": state.auth.jwt().is_some(),
            "auth_hook": cfg.auth_hook,
            "auth_hook_mode": cfg.auth_hook.as_ref().map(|_| format!("{:?}", cfg.auth_hook_mode).to_uppercase()),
            "unauth_role": cfg.unauthorized_role,
            "cors_config": {"allowed_origins": cfg.cors_domain, "disabled": cfg.disable_cors},
            "enabled_apis": cfg.enabled_apis,
            "enable_console": cfg.enable_console,
            "stringify_numeric_types": cfg.stringify_numeric_types,
            "pg_connections": cfg.pg_connections,
            "pg_pool_timeout": cfg.pg_pool_timeout,
            "pg_timeout": cfg.pg_timeout,
            "pg_conn_lifetime": cfg.pg_conn_lifetime,
            "pg_connect_timeout": cfg.pg_connect_timeout,
        }}),
    );
    axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| e.to_string())
}

/// Ctrl-C or SIGTERM (what `kill`, systemd and container runtimes send): stop accepting and
/// let the requests in flight finish.
async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
    logs::emit("shutdown", "info", json!({"message": "graft serve stopping"}));
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;

    async fn app(extra: &[&str]) -> Router {
        let mut args = vec!["graft", "serve", "--database-url", "postgres://u@127.0.0.1:1/db"];
        args.extend_from_slice(extra);
        let Cli { command: Command::Serve(cfg) } = Cli::try_parse_from(args).unwrap();
        router(app_state(&cfg).await.unwrap(), &cfg)
    }

    async fn call(app: &Router, method: &str, path: &str, body: Vec<u8>) -> (StatusCode, serde_json::Value) {
        let req = Request::builder().method(method).uri(path).body(Body::from(body)).unwrap();
        let resp = app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null))
    }

    #[tokio::test]
    async fn oversized_bodies_are_hasura_shaped() {
        let app = app(&["--max-body-bytes", "16"]).await;
        let big = vec![b'x'; 100];
        let (status, body) = call(&app, "POST", "/v1/graphql", big.clone()).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(body["errors"][0]["extensions"], json!({"path": "$", "code": "bad-request"}));
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("16 bytes"), "{body}");
        let (status, body) = call(&app, "POST", "/v1/metadata", big).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!((body["code"].as_str(), body["path"].as_str()), (Some("bad-request"), Some("$")));
        assert!(body["error"].as_str().unwrap().starts_with("request body too large"), "{body}");
    }

    #[tokio::test]
    async fn v2_query_refuses_metadata_requests() {
        let app = app(&[]).await;
        let body = json!({"type": "bulk", "args": [{"type": "run_sql", "args": {"sql": "SELECT 1"}}, {"type": "pg_track_table", "args": {"table": "t"}}]});
        let (status, body) = call(&app, "POST", "/v2/query", body.to_string().into_bytes()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!((body["code"].as_str(), body["path"].as_str()), (Some("parse-failed"), Some("$.args[1]")));
        let message = body["error"].as_str().unwrap();
        assert!(message.starts_with("When parsing Hasura.Server.API.V2Query.RQLQuery expected an Object with a tag field where the value is one of [insert, select,"), "{message}");
        assert!(message.ends_with("but got pg_track_table."), "{message}");
    }

    #[tokio::test]
    async fn wrong_methods() {
        let app = app(&[]).await;
        let (status, body) = call(&app, "GET", "/v1/metadata", vec![]).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body, json!({"error": "resource does not exist", "path": "$", "code": "not-found"}));
        let (status, body) = call(&app, "PUT", "/v2/query", vec![]).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(body["code"], "method-not-allowed");
        let (status, _) = call(&app, "DELETE", "/healthz", vec![]).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    }
}
