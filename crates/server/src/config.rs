//! `graft serve` settings: command-line flags, each also read from Hasura's environment
//! variable of the same meaning.

use clap::Args;

#[derive(Args, Debug, Clone)]
pub struct ServeConfig {
    /// PostgreSQL connection URL of the database with the graft extension.
    #[arg(long, env = "HASURA_GRAPHQL_DATABASE_URL")]
    pub database_url: String,
    /// Port to listen on.
    #[arg(long, env = "HASURA_GRAPHQL_SERVER_PORT", default_value_t = 8080)]
    pub server_port: u16,
    /// Address to listen on.
    #[arg(long, env = "HASURA_GRAPHQL_SERVER_HOST", default_value = "127.0.0.1")]
    pub server_host: String,
    /// Admin secret; without one (and without JWT or webhook) every request is admin.
    #[arg(long, env = "HASURA_GRAPHQL_ADMIN_SECRET")]
    pub admin_secret: Option<String>,
    /// JWT configuration, Hasura's JSON: {"type": "HS256", "key": "...", "claims_namespace": ...}.
    #[arg(long, env = "HASURA_GRAPHQL_JWT_SECRET")]
    pub jwt_secret: Option<String>,
    /// Role for requests without credentials when an admin secret is set.
    #[arg(long, env = "HASURA_GRAPHQL_UNAUTHORIZED_ROLE")]
    pub unauthorized_role: Option<String>,
    /// Database connections in the pool.
    #[arg(long, env = "HASURA_GRAPHQL_PG_CONNECTIONS", default_value_t = 10)]
    pub pg_connections: usize,
    /// Largest accepted request body, in bytes.
    #[arg(long, env = "GRAFT_MAX_BODY_BYTES", default_value_t = 1 << 20)]
    pub max_body_bytes: usize,
    /// Statement timeout for each request, in milliseconds (0: none).
    #[arg(long, env = "GRAFT_STATEMENT_TIMEOUT_MS", default_value_t = 0)]
    pub statement_timeout_ms: u64,
}
