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
mod ws;

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
    /// Serve Hasura's HTTP API (/v1/graphql, /v1alpha1/graphql, /v1/metadata, /v1/query, /v2/query, /v1/version,
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
        app = app
            .route("/v1/graphql", post(routes::graphql::graphql).get(ws::upgrade))
            .route("/v1alpha1/graphql", post(routes::graphql::graphql_v1alpha1));
    }
    if apis.metadata {
        let metadata_routes = Router::new()
            .route("/v1/metadata", post(routes::query::metadata))
            .route("/v1/query", post(routes::query::query))
            .route("/v2/query", post(routes::query::query_v2))
            // After each request the metadata watcher checks the version at once.
            .route_layer(axum::middleware::from_fn_with_state(state.clone(), ws::metadata_watch::after_request));
        app = app.merge(metadata_routes);
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
    let cors = state.cors.clone();
    let mut app = app
        .fallback(routes::not_found)
        .method_not_allowed_fallback(routes::method_not_allowed)
        .layer(DefaultBodyLimit::max(cfg.max_body_bytes))
        .layer(axum::middleware::from_fn_with_state(state.clone(), http::observe))
        // Outside `observe`, so the http-log line records the uncompressed size.
        .layer(http::compression())
        .with_state(state);
    // Outermost, as Hasura's middleware wraps its whole application: preflights are answered
    // before routing and logging.
    if let Some(policy) = cors {
        app = app.layer(axum::middleware::from_fn_with_state(policy, cors::middleware));
    }
    app
}

/// Everything the handlers share, from the settings (no connection is opened here).
async fn app_state(cfg: &config::ServeConfig) -> Result<Arc<routes::AppState>, String> {
    let apis = config::EnabledApis::parse(&cfg.enabled_apis)?;
    // HASURA_GRAPHQL_DISABLE_CORS wins over the domain list, which is then not even read.
    let cors = if cfg.disable_cors {
        None
    } else {
        Some(Arc::new(cors::parse(&cfg.cors_domain).map_err(|e| format!("HASURA_GRAPHQL_CORS_DOMAIN: {e}"))?))
    };
    ws::cookies::check_setting(cfg.ws_read_cookie, cors.as_deref())?;
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
    let pool_for_live = pool.clone();
    let ws_sockets = Arc::new(ws::metadata_watch::Sockets::default());
    let metadata_watch = cfg.close_websockets_on_metadata_change.then(|| {
        let watch = Arc::new(ws::metadata_watch::Watch::default());
        tokio::spawn(ws::metadata_watch::run(pool.clone(), ws_sockets.clone(), watch.clone()));
        watch
    });
    let state = Arc::new(routes::AppState {
        pool,
        auth,
        metrics: metrics::Metrics::new(),
        apis,
        metrics_secret: cfg.metrics_secret.as_deref().map(|s| Sha256::digest(s.as_bytes()).into()),
        console: cfg.enable_console,
        stringify_numeric: cfg.stringify_numeric_types,
        max_body_bytes: cfg.max_body_bytes,
        cors,
        ws: ws::Settings {
            keepalive: std::time::Duration::from_secs(cfg.websocket_keepalive.max(1)),
            init_timeout: std::time::Duration::from_secs(cfg.websocket_connection_init_timeout.max(1)),
            max_message_bytes: cfg.max_body_bytes,
            queue: cfg.websocket_queue as usize,
            max_operations: cfg.ws_max_operations_per_socket as usize,
            read_cookie: cfg.ws_read_cookie,
        },
        ws_sockets,
        metadata_watch,
        live: ws::Live::new(pool_for_live, live_settings(cfg)),
    });
    Ok(state)
}

/// The subscription settings (intervals in milliseconds; 0 means as often as the scheduler
/// ticks, a change check interval of 0 turns the checks off).
fn live_settings(cfg: &config::ServeConfig) -> ws::LiveSettings {
    use std::time::Duration;
    let ms = |v: u64| Duration::from_millis(v.max(1));
    ws::LiveSettings {
        refetch: ms(cfg.live_queries_refetch_interval),
        batch: cfg.live_queries_batch_size as usize,
        stream_refetch: ms(cfg.streaming_queries_refetch_interval),
        stream_batch: cfg.streaming_queries_batch_size as usize,
        change_check: (cfg.live_queries_change_check_interval > 0).then(|| ms(cfg.live_queries_change_check_interval)),
    }
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
            "cors_config": cors::log_json(state.cors.as_deref(), cfg.ws_read_cookie),
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
    for message in config::event_setting_warnings(&cfg) {
        logs::emit("startup", "warn", json!({"kind": "event_settings", "info": {"message": message}}));
    }
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

    async fn send(app: &Router, req: Request<Body>) -> axum::http::Response<Body> {
        app.clone().oneshot(req).await.unwrap()
    }

    fn header<'a>(resp: &'a axum::http::Response<Body>, name: &str) -> Option<&'a str> {
        resp.headers().get(name).map(|v| v.to_str().unwrap())
    }

    #[tokio::test]
    async fn disabled_apis_are_hasura_404s() {
        let not_found = json!({"error": "resource does not exist", "path": "$", "code": "not-found"});
        let graphql_only = app(&["--enabled-apis", "graphql"]).await;
        for path in ["/v1/metadata", "/v1/query", "/v2/query", "/v1alpha1/pg_dump"] {
            let (status, body) = call(&graphql_only, "POST", path, br#"{"type": "export_metadata", "args": {}}"#.to_vec()).await;
            assert_eq!((status, &body), (StatusCode::NOT_FOUND, &not_found), "{path}");
        }
        for path in ["/v1alpha1/config", "/v1/metrics", "/dev/plan_cache"] {
            let (status, body) = call(&graphql_only, "GET", path, vec![]).await;
            assert_eq!((status, &body), (StatusCode::NOT_FOUND, &not_found), "{path}");
        }
        let app = app(&["--enabled-apis", "metadata"]).await;
        for path in ["/v1/graphql", "/v1alpha1/graphql"] {
            let (status, body) = call(&app, "POST", path, br#"{"query": "{ __typename }"}"#.to_vec()).await;
            assert_eq!((status, &body), (StatusCode::NOT_FOUND, &not_found), "{path}");
        }
        // /v1/version and /healthz are always served (the latter needs a database: not here).
        let (status, _) = call(&app, "GET", "/v1/version", vec![]).await;
        assert_eq!(status, StatusCode::OK);
    }

    #[tokio::test]
    async fn v1alpha1_graphql_keeps_error_statuses() {
        let app = app(&["--admin-secret", "s"]).await;
        // No credentials: /v1/graphql says 200, /v1alpha1/graphql Hasura's 401, same body.
        let (status, v1) = call(&app, "POST", "/v1/graphql", br#"{"query": "{ __typename }"}"#.to_vec()).await;
        assert_eq!(status, StatusCode::OK);
        let (status, alpha) = call(&app, "POST", "/v1alpha1/graphql", br#"{"query": "{ __typename }"}"#.to_vec()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(alpha, v1);
        assert_eq!(alpha["errors"][0]["extensions"]["code"], "access-denied");
        let req = Request::builder().method("POST").uri("/v1alpha1/graphql").header("x-hasura-admin-secret", "s").body(Body::from("{nope")).unwrap();
        let resp = send(&app, req).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    }

    #[tokio::test]
    async fn cors_for_a_domain_list() {
        let app = app(&["--cors-domain", "https://*.example.com, http://localhost:3000"]).await;
        let req = |method: &str, origin: &str| {
            Request::builder()
                .method(method)
                .uri("/v1/version")
                .header("origin", origin)
                .header("access-control-request-method", "POST")
                .header("access-control-request-headers", "content-type,x-hasura-admin-secret")
                .body(Body::empty())
                .unwrap()
        };
        let resp = send(&app, req("GET", "https://app.example.com")).await;
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(header(&resp, "access-control-allow-origin"), Some("https://app.example.com"));
        assert_eq!(header(&resp, "access-control-allow-credentials"), Some("true"));
        assert_eq!(header(&resp, "access-control-allow-methods"), Some("GET,POST,PUT,PATCH,DELETE,OPTIONS"));
        assert_eq!(header(&resp, "access-control-max-age"), None);
        let resp = send(&app, req("OPTIONS", "http://localhost:3000")).await;
        assert_eq!(resp.status(), StatusCode::NO_CONTENT);
        assert_eq!(header(&resp, "access-control-allow-origin"), Some("http://localhost:3000"));
        assert_eq!(header(&resp, "access-control-allow-methods"), Some("GET,POST,PUT,PATCH,DELETE,OPTIONS"));
        assert_eq!(header(&resp, "access-control-allow-headers"), Some("content-type,x-hasura-admin-secret"));
        assert_eq!(header(&resp, "access-control-max-age"), Some("1728000"));
        assert_eq!(header(&resp, "content-type"), Some("text/plain charset=UTF-8"));
        // Another origin: no CORS header, and OPTIONS is not answered as a preflight.
        for method in ["GET", "OPTIONS"] {
            let resp = send(&app, req(method, "http://localhost:4000")).await;
            assert_ne!(resp.status(), StatusCode::NO_CONTENT);
            assert!(resp.headers().keys().all(|k| !k.as_str().starts_with("access-control-")), "{method}: {:?}", resp.headers());
        }
        // A preflight without Access-Control-Request-Headers echoes an empty list.
        let r = Request::builder().method("OPTIONS").uri("/nowhere").header("origin", "https://a.example.com").body(Body::empty()).unwrap();
        let resp = send(&app, r).await;
        assert_eq!((resp.status(), header(&resp, "access-control-allow-headers")), (StatusCode::NO_CONTENT, Some("")));
    }

    #[tokio::test]
    async fn cors_star_disabled_and_invalid() {
        let star = app(&[]).await;
        let r = Request::builder().uri("/v1/version").header("origin", "http://anywhere.test").body(Body::empty()).unwrap();
        let resp = send(&star, r).await;
        assert_eq!(header(&resp, "access-control-allow-origin"), Some("http://anywhere.test"));
        assert_eq!(header(&resp, "access-control-allow-methods"), Some("GET,POST,PUT,PATCH,DELETE,OPTIONS"));
        let r = Request::builder().uri("/v1/version").body(Body::empty()).unwrap();
        assert!(send(&star, r).await.headers().get("access-control-allow-origin").is_none());
        // Disabled: nothing, even with an invalid domain list (which is then never read).
        let disabled = app(&["--disable-cors", "true", "--cors-domain", "nonsense"]).await;
        let r = Request::builder().method("OPTIONS").uri("/v1/version").header("origin", "http://anywhere.test").body(Body::empty()).unwrap();
        let resp = send(&disabled, r).await;
        assert!(resp.headers().keys().all(|k| !k.as_str().starts_with("access-control-")), "{:?}", resp.headers());
        let args = ["graft", "serve", "--database-url", "postgres://u@127.0.0.1:1/db", "--cors-domain", "example.com"];
        let Cli { command: Command::Serve(cfg) } = Cli::try_parse_from(args).unwrap();
        let e = app_state(&cfg).await.err().unwrap();
        assert!(e.starts_with("HASURA_GRAPHQL_CORS_DOMAIN: invalid domain: 'example.com'"), "{e}");
    }

    #[tokio::test]
    async fn gzip_above_700_bytes() {
        let app = app(&["--enabled-apis", "graphql,metrics"]).await;
        let gz = |path: &str, accept: &str| Request::builder().method("POST").uri(path).header("accept-encoding", accept).body(Body::from(vec![b'x'; 10])).unwrap();
        // A small answer (the 404 body) is sent as is.
        let resp = send(&app, gz("/nowhere", "gzip, deflate")).await;
        assert_eq!(header(&resp, "content-encoding"), None);
        // A large one is compressed when gzip is accepted, and only then.
        let big = "/".to_string() + &"a".repeat(800);
        let resp = send(&app, gz(&big, "gzip")).await;
        assert_eq!(header(&resp, "content-encoding"), None, "the 404 answer stays small");
        let resp = send(&app, Request::builder().uri("/v1/metrics").header("accept-encoding", "gzip").body(Body::empty()).unwrap()).await;
        assert_eq!(resp.status(), StatusCode::OK);
        let resp_gz_header = header(&resp, "content-encoding").map(str::to_string);
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap();
        assert_eq!(resp_gz_header.as_deref(), Some("gzip"));
        assert_eq!(&bytes[..2], &[0x1f, 0x8b]);
        let resp = send(&app, Request::builder().uri("/v1/metrics").header("accept-encoding", "gzip;q=0, br").body(Body::empty()).unwrap()).await;
        assert_eq!(header(&resp, "content-encoding"), None);
        let resp = send(&app, Request::builder().uri("/v1/metrics").body(Body::empty()).unwrap()).await;
        assert_eq!(header(&resp, "content-encoding"), None);
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
