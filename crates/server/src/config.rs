//! `graft serve` settings: command-line flags, each also read from Hasura's environment
//! variable of the same meaning (`graft serve --help` lists them).

use clap::{Args, ValueEnum};

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum HookMode {
    #[value(name = "GET", alias = "get")]
    Get,
    #[value(name = "POST", alias = "post")]
    Post,
}

#[derive(Args, Debug, Clone)]
pub struct ServeConfig {
    /// PostgreSQL connection URL of the database with the graft extension.
    #[arg(long, env = "HASURA_GRAPHQL_DATABASE_URL", hide_env_values = true)]
    pub database_url: String,
    /// Port to listen on.
    #[arg(long, env = "HASURA_GRAPHQL_SERVER_PORT", default_value_t = 8080)]
    pub server_port: u16,
    /// Address to listen on.
    #[arg(long, env = "HASURA_GRAPHQL_SERVER_HOST", default_value = "127.0.0.1")]
    pub server_host: String,
    /// Admin secret; without one (and without JWT or webhook) every request is admin.
    #[arg(long, env = "HASURA_GRAPHQL_ADMIN_SECRET", hide_env_values = true)]
    pub admin_secret: Option<String>,
    /// Several admin secrets, a JSON array of strings (any of them, or the single one, is accepted).
    #[arg(long, env = "HASURA_GRAPHQL_ADMIN_SECRETS", hide_env_values = true)]
    pub admin_secrets: Option<String>,
    /// JWT configuration, Hasura's JSON: {"type": "HS256", "key": "..."} or {"jwk_url": "..."},
    /// with claims_namespace / claims_namespace_path / claims_map / claims_format, audience,
    /// issuer, allowed_skew, header.
    #[arg(long, env = "HASURA_GRAPHQL_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// Several JWT configurations, a JSON array; the token's `iss` picks one.
    #[arg(long, env = "HASURA_GRAPHQL_JWT_SECRETS", hide_env_values = true)]
    pub jwt_secrets: Option<String>,
    /// Authentication webhook URL (used when no admin secret is sent).
    #[arg(long, env = "HASURA_GRAPHQL_AUTH_HOOK")]
    pub auth_hook: Option<String>,
    /// Method of the authentication webhook call.
    #[arg(long, env = "HASURA_GRAPHQL_AUTH_HOOK_MODE", value_enum, default_value = "GET")]
    pub auth_hook_mode: HookMode,
    /// In POST mode, send the GraphQL request (query, variables, operationName) to the webhook.
    #[arg(long, env = "HASURA_GRAPHQL_AUTH_HOOK_SEND_REQUEST_BODY", default_value_t = true, action = clap::ArgAction::Set, value_parser = clap::builder::BoolishValueParser::new())]
    pub auth_hook_send_request_body: bool,
    /// Role for requests without credentials when an admin secret is set.
    #[arg(long, env = "HASURA_GRAPHQL_UNAUTHORIZED_ROLE")]
    pub unauthorized_role: Option<String>,
    /// Allowed CORS origins: `*` or a comma-separated list, with wildcards
    /// (`https://*.example.com, http://localhost:*`).
    #[arg(long, env = "HASURA_GRAPHQL_CORS_DOMAIN", default_value = "*")]
    pub cors_domain: String,
    /// Send no CORS headers at all.
    #[arg(long, env = "HASURA_GRAPHQL_DISABLE_CORS", default_value_t = false, action = clap::ArgAction::Set, value_parser = clap::builder::BoolishValueParser::new())]
    pub disable_cors: bool,
    /// APIs to serve, comma-separated: metadata, graphql, pgdump, developer, config, metrics
    /// (a disabled API answers 404 not-found; Graft serves no pgdump or developer endpoint).
    #[arg(long, env = "HASURA_GRAPHQL_ENABLED_APIS", default_value = "metadata,graphql,pgdump,config")]
    pub enabled_apis: String,
    /// Bearer token required by /v1/metrics (`Authorization: Bearer <secret>`).
    #[arg(long, env = "HASURA_GRAPHQL_METRICS_SECRET", hide_env_values = true)]
    pub metrics_secret: Option<String>,
    /// Return bigint, numeric, float8 and money values as JSON strings
    /// (sets graft.stringify_numeric_types on every pooled connection).
    #[arg(long, env = "HASURA_GRAPHQL_STRINGIFY_NUMERIC_TYPES", default_value_t = false, action = clap::ArgAction::Set, value_parser = clap::builder::BoolishValueParser::new())]
    pub stringify_numeric_types: bool,
    /// Serve GraphiQL at /console (and redirect / to it).
    #[arg(long, env = "HASURA_GRAPHQL_ENABLE_CONSOLE", default_value_t = false, action = clap::ArgAction::Set, value_parser = clap::builder::BoolishValueParser::new())]
    pub enable_console: bool,
    /// Log types to write, comma-separated (startup is always written).
    #[arg(long, env = "HASURA_GRAPHQL_ENABLED_LOG_TYPES", default_value = "startup,http-log,webhook-log,websocket-log,jwk-refresh-log")]
    pub enabled_log_types: String,
    /// Lowest log level written: debug, info, warn or error.
    #[arg(long, env = "HASURA_GRAPHQL_LOG_LEVEL", default_value = "info")]
    pub log_level: String,
    /// Database connections in the pool (at most).
    #[arg(long, alias = "connections", env = "HASURA_GRAPHQL_PG_CONNECTIONS", default_value_t = 10)]
    pub pg_connections: usize,
    /// Seconds a request waits for a free pooled connection before it fails with
    /// `postgres-error` "connection error" (0: fail at once when none is free).
    #[arg(long, alias = "pool-timeout", env = "HASURA_GRAPHQL_PG_POOL_TIMEOUT", default_value_t = 30.0, value_parser = seconds)]
    pub pg_pool_timeout: f64,
    /// Seconds an idle pooled connection is kept before it is closed (0: kept).
    #[arg(long, alias = "timeout", env = "HASURA_GRAPHQL_PG_TIMEOUT", default_value_t = 180.0, value_parser = seconds)]
    pub pg_timeout: f64,
    /// Seconds after which a pooled connection is closed and replaced, once it is not in use
    /// (0: never).
    #[arg(long, alias = "conn-lifetime", env = "HASURA_GRAPHQL_PG_CONN_LIFETIME", default_value_t = 600.0, value_parser = seconds)]
    pub pg_conn_lifetime: f64,
    /// Seconds allowed to open a new database connection (TCP, TLS, authentication).
    #[arg(long, env = "GRAFT_PG_CONNECT_TIMEOUT", default_value_t = 10.0, value_parser = seconds)]
    pub pg_connect_timeout: f64,
    /// Seconds allowed to check a pooled connection before it is reused.
    #[arg(long, env = "GRAFT_PG_RECYCLE_TIMEOUT", default_value_t = 5.0, value_parser = seconds)]
    pub pg_recycle_timeout: f64,
    /// Largest accepted request body, in bytes.
    #[arg(long, env = "GRAFT_MAX_BODY_BYTES", default_value_t = 1 << 20)]
    pub max_body_bytes: usize,
    /// Seconds between keep-alives on a WebSocket (`ka`, or `ping` for graphql-transport-ws).
    #[arg(long, env = "HASURA_GRAPHQL_WEBSOCKET_KEEPALIVE", default_value_t = 5)]
    pub websocket_keepalive: u64,
    /// Seconds a WebSocket may stay open without `connection_init`.
    #[arg(long, env = "HASURA_GRAPHQL_WEBSOCKET_CONNECTION_INIT_TIMEOUT", default_value_t = 3)]
    pub websocket_connection_init_timeout: u64,
    /// Milliseconds between two runs of a live query.
    #[arg(long, env = "HASURA_GRAPHQL_LIVE_QUERIES_MULTIPLEXED_REFETCH_INTERVAL", default_value_t = 1000)]
    pub live_queries_refetch_interval: u64,
    /// Cohorts of one live query answered by one statement.
    #[arg(long, env = "HASURA_GRAPHQL_LIVE_QUERIES_MULTIPLEXED_BATCH_SIZE", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    pub live_queries_batch_size: u32,
    /// Milliseconds between two runs of a streaming subscription.
    #[arg(long, env = "HASURA_GRAPHQL_STREAMING_QUERIES_MULTIPLEXED_REFETCH_INTERVAL", default_value_t = 1000)]
    pub streaming_queries_refetch_interval: u64,
    /// Cohorts of one streaming subscription answered by one statement.
    #[arg(long, env = "HASURA_GRAPHQL_STREAMING_QUERIES_MULTIPLEXED_BATCH_SIZE", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    pub streaming_queries_batch_size: u32,
    /// Milliseconds between two checks of the change counters of the tables live queries read
    /// (`graphql.table_versions`); a subscription re-runs only when one of its tables changed.
    /// 0 turns the checks off: every subscription re-runs on its refetch interval.
    #[arg(long, env = "GRAFT_LIVE_QUERIES_CHANGE_CHECK_INTERVAL", default_value_t = 100)]
    pub live_queries_change_check_interval: u64,
    /// Messages that may wait to be written to one WebSocket; a client that lets more pile up
    /// is not reading, and its socket is closed (1011).
    #[arg(long, env = "GRAFT_WEBSOCKET_QUEUE", default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..))]
    pub websocket_queue: u32,
    /// Operations (subscriptions, and queries or mutations not answered yet) one WebSocket may
    /// run at once; one more is refused with its `error` (Hasura sets no limit).
    #[arg(long, env = "GRAFT_WS_MAX_OPERATIONS_PER_SOCKET", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    pub ws_max_operations_per_socket: u32,
    /// Read a browser's cookies on a WebSocket upgrade although CORS is disabled (only with
    /// HASURA_GRAPHQL_DISABLE_CORS: the deployment checks origins itself).
    #[arg(long, env = "HASURA_GRAPHQL_WS_READ_COOKIE", default_value_t = false, action = clap::ArgAction::Set, value_parser = clap::builder::BoolishValueParser::new())]
    pub ws_read_cookie: bool,
    /// Close every WebSocket (1012) when the metadata changes, so clients reconnect against the
    /// new schema.
    #[arg(long, env = "HASURA_GRAPHQL_CLOSE_WEBSOCKETS_ON_METADATA_CHANGE", default_value_t = true, action = clap::ArgAction::Set, value_parser = clap::builder::BoolishValueParser::new())]
    pub close_websockets_on_metadata_change: bool,
    /// Statement timeout for each request, in milliseconds (0: none).
    #[arg(long, env = "GRAFT_STATEMENT_TIMEOUT_MS", default_value_t = 0)]
    pub statement_timeout_ms: u64,
    /// Not used here: webhook calls in flight are the worker's `graft.events_concurrency`
    /// (a warning at startup says so).
    #[arg(long, env = "HASURA_GRAPHQL_EVENTS_HTTP_POOL_SIZE")]
    pub events_http_pool_size: Option<String>,
    /// Not used here: the worker's poll interval is `graft.events_poll_interval`.
    #[arg(long, env = "HASURA_GRAPHQL_EVENTS_FETCH_INTERVAL")]
    pub events_fetch_interval: Option<String>,
    /// Not used here: events claimed at once are the worker's `graft.events_batch_size`.
    #[arg(long, env = "HASURA_GRAPHQL_EVENTS_FETCH_BATCH_SIZE")]
    pub events_fetch_batch_size: Option<String>,
}

/// Hasura's event-delivery settings, which Graft's background worker reads as GUCs of the
/// database server (it runs inside PostgreSQL, not in this process, and this process does not
/// change server settings): the variable, the GUC and how its value is written there.
const EVENT_SETTINGS: [(&str, &str, &str); 3] = [
    ("HASURA_GRAPHQL_EVENTS_HTTP_POOL_SIZE", "graft.events_concurrency", ""),
    // Hasura's interval is in milliseconds.
    ("HASURA_GRAPHQL_EVENTS_FETCH_INTERVAL", "graft.events_poll_interval", "ms"),
    ("HASURA_GRAPHQL_EVENTS_FETCH_BATCH_SIZE", "graft.events_batch_size", ""),
];

/// One warning per event-delivery variable given, naming the GUC to set instead and the
/// statement that sets it.
pub fn event_setting_warnings(cfg: &ServeConfig) -> Vec<String> {
    let given = [&cfg.events_http_pool_size, &cfg.events_fetch_interval, &cfg.events_fetch_batch_size];
    EVENT_SETTINGS
        .iter()
        .zip(given)
        .filter_map(|((var, guc, unit), value)| {
            let value = value.as_deref()?.trim();
            let how = match value.parse::<u64>() {
                Ok(n) => format!("set {guc} = '{n}{unit}' in postgresql.conf (or ALTER SYSTEM SET {guc} = '{n}{unit}') and reload (SELECT pg_reload_conf())"),
                Err(_) => format!("set {guc} in postgresql.conf and reload ({value:?} is not a non-negative integer, which Hasura would refuse too)"),
            };
            Some(format!("{var} is not read by graft serve: events are delivered by the graft background worker inside PostgreSQL; {how}"))
        })
        .collect()
}

/// A number of seconds (fractions allowed, as Hasura's `NominalDiffTime` settings are).
fn seconds(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(s) if s.is_finite() && s >= 0.0 => Ok(s),
        _ => Err(format!("{text:?} is not a number of seconds")),
    }
}

/// A setting in seconds where 0 means "none".
pub fn optional_duration(secs: f64) -> Option<std::time::Duration> {
    (secs > 0.0).then(|| std::time::Duration::from_secs_f64(secs))
}

/// The APIs `HASURA_GRAPHQL_ENABLED_APIS` turns on. A disabled API's paths are not routed, so
/// they get Hasura's answer for any path it does not serve: 404 `not-found` "resource does not
/// exist". `metadata` is `/v1/metadata`, `/v1/query` and `/v2/query`; `graphql` is
/// `/v1/graphql` and `/v1alpha1/graphql`; `config` is `/v1alpha1/config`; `metrics` is
/// `/v1/metrics`. `pgdump` (`/v1alpha1/pg_dump`) and `developer` (`/dev/*`) are accepted, as
/// Hasura accepts them, but Graft serves neither.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct EnabledApis {
    pub graphql: bool,
    pub metadata: bool,
    pub config: bool,
    pub metrics: bool,
    pub pgdump: bool,
    pub developer: bool,
}

impl EnabledApis {
    /// Hasura's reading (`Init/Env.hs`): split on commas, each item trimmed and compared without
    /// case; an empty item is an unknown API, as it is for Hasura.
    pub fn parse(list: &str) -> Result<EnabledApis, String> {
        let mut apis = EnabledApis::default();
        for name in list.split(',').map(str::trim) {
            match name.to_ascii_uppercase().as_str() {
                "GRAPHQL" => apis.graphql = true,
                "METADATA" => apis.metadata = true,
                "CONFIG" => apis.config = true,
                "METRICS" => apis.metrics = true,
                "PGDUMP" => apis.pgdump = true,
                "DEVELOPER" => apis.developer = true,
                _ => {
                    return Err("HASURA_GRAPHQL_ENABLED_APIS: Only expecting list of comma separated API types metadata,graphql,pgdump,developer,config,metrics".into())
                }
            }
        }
        Ok(apis)
    }
}

/// The admin secrets from `HASURA_GRAPHQL_ADMIN_SECRET` and `HASURA_GRAPHQL_ADMIN_SECRETS`.
pub fn admin_secrets(cfg: &ServeConfig) -> Result<Vec<String>, String> {
    let mut all: Vec<String> = cfg.admin_secret.iter().cloned().collect();
    if let Some(list) = &cfg.admin_secrets {
        let more: Vec<String> =
            serde_json::from_str(list).map_err(|e| format!("HASURA_GRAPHQL_ADMIN_SECRETS must be a JSON array of strings: {e}"))?;
        all.extend(more);
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_settings() {
        assert_eq!(seconds("1.5"), Ok(1.5));
        assert_eq!(seconds(" 30 "), Ok(30.0));
        assert!(seconds("-1").is_err() && seconds("soon").is_err() && seconds("inf").is_err());
        assert_eq!(optional_duration(0.0), None);
        assert_eq!(optional_duration(2.0), Some(std::time::Duration::from_secs(2)));
    }

    fn cfg(env: &[&str]) -> ServeConfig {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            serve: ServeConfig,
        }
        let mut args = vec!["graft", "--database-url", "postgres://x/y"];
        args.extend_from_slice(env);
        <Cli as clap::Parser>::try_parse_from(args).unwrap().serve
    }

    #[test]
    fn event_settings_name_their_guc() {
        assert!(event_setting_warnings(&cfg(&[])).is_empty());
        let w = event_setting_warnings(&cfg(&["--events-fetch-interval", "500", "--events-http-pool-size", "8", "--events-fetch-batch-size", "lots"]));
        assert_eq!(w.len(), 3);
        assert_eq!(
            w[0],
            "HASURA_GRAPHQL_EVENTS_HTTP_POOL_SIZE is not read by graft serve: events are delivered by the graft background worker inside PostgreSQL; \
             set graft.events_concurrency = '8' in postgresql.conf (or ALTER SYSTEM SET graft.events_concurrency = '8') and reload (SELECT pg_reload_conf())"
        );
        assert!(w[1].starts_with("HASURA_GRAPHQL_EVENTS_FETCH_INTERVAL is not read") && w[1].contains("graft.events_poll_interval = '500ms'"), "{}", w[1]);
        assert!(w[2].contains("set graft.events_batch_size in postgresql.conf") && w[2].contains("\"lots\" is not a non-negative integer"), "{}", w[2]);
    }

    #[test]
    fn enabled_apis() {
        let a = EnabledApis::parse("graphql, Metrics").unwrap();
        assert!(a.graphql && a.metrics && !a.metadata && !a.config);
        let all = EnabledApis::parse("METADATA,graphql,PgDump,developer,config,metrics").unwrap();
        assert_eq!(all, EnabledApis { graphql: true, metadata: true, config: true, metrics: true, pgdump: true, developer: true });
        let message = "HASURA_GRAPHQL_ENABLED_APIS: Only expecting list of comma separated API types metadata,graphql,pgdump,developer,config,metrics";
        for bad in ["graphql,bogus", "graphql,", "", "explain", "graph ql"] {
            assert_eq!(EnabledApis::parse(bad), Err(message.to_string()), "{bad:?}");
        }
    }
}
