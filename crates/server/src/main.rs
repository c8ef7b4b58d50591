//! `graft`: the sidecar (`graft serve`) that speaks Hasura's HTTP API and answers every request
//! with one `graphql.resolve` call on a pooled connection.

mod auth;
mod config;
mod db;
mod routes;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "graft", version, about = "Hasura-compatible GraphQL API served from PostgreSQL (the graft extension)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve Hasura's HTTP API (/v1/graphql, /v1/metadata, /v1/version, /healthz).
    Serve(config::ServeConfig),
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt().json().with_env_filter(
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
    ).init();
    let Cli { command: Command::Serve(cfg) } = Cli::parse();
    if let Err(e) = serve(cfg).await {
        eprintln!("graft serve: {e}");
        std::process::exit(1);
    }
}

async fn serve(cfg: config::ServeConfig) -> Result<(), String> {
    let pool = db::pool(&cfg.database_url, cfg.pg_connections, cfg.statement_timeout_ms)?;
    let auth = auth::Auth::new(cfg.admin_secret.as_deref(), cfg.jwt_secret.as_deref(), cfg.unauthorized_role.clone())?;
    let state = Arc::new(routes::AppState { pool, auth });
    let app = Router::new()
        .route("/v1/graphql", post(routes::graphql))
        .route("/v1/metadata", post(routes::metadata))
        .route("/v1/query", post(routes::metadata))
        .route("/v1/version", get(routes::version))
        .route("/healthz", get(routes::healthz))
        .route("/hasura/healthz", get(routes::healthz))
        .fallback(routes::not_found)
        .layer(DefaultBodyLimit::max(cfg.max_body_bytes))
        .with_state(state);
    let addr = format!("{}:{}", cfg.server_host, cfg.server_port);
    let listener = tokio::net::TcpListener::bind(&addr).await.map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    tracing::info!(r#type = "startup", address = %addr, "graft serve listening");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| e.to_string())
}
