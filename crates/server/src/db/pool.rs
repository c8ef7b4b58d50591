//! The connection pool and its limits, with Hasura's settings: at most
//! `HASURA_GRAPHQL_PG_CONNECTIONS` connections; a request waits at most
//! `HASURA_GRAPHQL_PG_POOL_TIMEOUT` for a free one; idle connections are closed after
//! `HASURA_GRAPHQL_PG_TIMEOUT` and every connection is replaced after
//! `HASURA_GRAPHQL_PG_CONN_LIFETIME` (Hasura's cure for memory that large results leave in a
//! backend). Opening a connection and checking one before reuse are bounded too, so that an
//! unreachable or hung server turns into an error instead of a request that never ends.

use std::time::Duration;

use deadpool_postgres::{Hook, HookError, Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};

use super::tls;
use crate::config::{optional_duration, ServeConfig};

#[derive(Clone, Debug)]
pub struct PoolSettings {
    pub size: usize,
    /// Wait for a free connection (`Duration::ZERO`: do not wait).
    pub wait: Duration,
    pub connect: Duration,
    pub recycle: Duration,
    pub idle: Option<Duration>,
    pub lifetime: Option<Duration>,
    pub statement_timeout_ms: u64,
    pub stringify_numeric: bool,
}

impl PoolSettings {
    pub fn from_config(cfg: &ServeConfig) -> PoolSettings {
        PoolSettings {
            size: cfg.pg_connections.max(1),
            wait: Duration::from_secs_f64(cfg.pg_pool_timeout),
            // Zero would fail every connection attempt: treat it as "the default".
            connect: optional_duration(cfg.pg_connect_timeout).unwrap_or(Duration::from_secs(10)),
            recycle: optional_duration(cfg.pg_recycle_timeout).unwrap_or(Duration::from_secs(5)),
            idle: optional_duration(cfg.pg_timeout),
            lifetime: optional_duration(cfg.pg_conn_lifetime),
            statement_timeout_ms: cfg.statement_timeout_ms,
            stringify_numeric: cfg.stringify_numeric_types,
        }
    }
}

/// The connection settings of `url` plus the sidecar's, and its TLS parameters ([`tls`]).
/// Per-connection settings travel in the startup packet's `options` (`statement_timeout`, and
/// `graft.stringify_numeric_types`, a placeholder setting until the extension's library loads,
/// which then adopts it).
pub fn pg_config(url: &str, s: &PoolSettings) -> Result<(tokio_postgres::Config, tls::TlsParams), String> {
    let (url, tls_params) = tls::split_tls_params(url)?;
    let mut cfg: tokio_postgres::Config = url.parse().map_err(|e| format!("invalid database URL: {e}"))?;
    cfg.ssl_mode(tls::pg_ssl_mode(tls_params.mode));
    let mut options: Vec<String> = cfg.get_options().map(|o| vec![o.to_string()]).unwrap_or_default();
    if s.statement_timeout_ms > 0 {
        options.push(format!("-c statement_timeout={}", s.statement_timeout_ms));
    }
    if s.stringify_numeric {
        options.push("-c graft.stringify_numeric_types=on".into());
    }
    if !options.is_empty() {
        cfg.options(options.join(" "));
    }
    // The URL's application_name wins (libpq's rule); it tells sidecars apart in pg_stat_activity.
    if cfg.get_application_name().is_none() {
        cfg.application_name("graft");
    }
    Ok((cfg, tls_params))
}

pub fn build(url: &str, s: &PoolSettings) -> Result<Pool, String> {
    let (cfg, tls_params) = pg_config(url, s)?;
    let connector = tls::connector(&tls_params)?;
    // Fast recycling (no round trip): a broken connection is replaced on its next use, so the
    // sidecar recovers by itself when the database comes back.
    let mgr = Manager::from_config(cfg, connector, ManagerConfig { recycling_method: RecyclingMethod::Fast });
    let lifetime = s.lifetime;
    Pool::builder(mgr)
        .max_size(s.size)
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(s.wait))
        .create_timeout(Some(s.connect))
        .recycle_timeout(Some(s.recycle))
        // A connection past its lifetime is not handed out again: the pool opens a new one.
        .pre_recycle(Hook::sync_fn(move |_, metrics| match lifetime {
            Some(l) if metrics.age() >= l => Err(HookError::message("connection lifetime reached")),
            _ => Ok(()),
        }))
        .build()
        .map_err(|e| e.to_string())
}

/// Close idle connections past `HASURA_GRAPHQL_PG_TIMEOUT` and unused ones past their lifetime,
/// checking a few times per period. (deadpool records when a connection was last handed out,
/// not when it came back, so one that served a request longer than the idle time may be
/// closed early: a reconnect, never a broken request.)
pub fn spawn_reaper(pool: Pool, s: &PoolSettings) {
    let (idle, lifetime) = (s.idle, s.lifetime);
    let Some(shortest) = [idle, lifetime].into_iter().flatten().min() else { return };
    let tick = (shortest / 4).clamp(Duration::from_millis(250), Duration::from_secs(30));
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(tick);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            pool.retain(|_, m| idle.is_none_or(|i| m.last_used() < i) && lifetime.is_none_or(|l| m.age() < l));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn settings() -> PoolSettings {
        PoolSettings {
            size: 1,
            wait: Duration::from_millis(300),
            connect: Duration::from_millis(400),
            recycle: Duration::from_secs(1),
            idle: None,
            lifetime: None,
            statement_timeout_ms: 0,
            stringify_numeric: false,
        }
    }

    #[test]
    fn startup_options() {
        let mut s = settings();
        s.statement_timeout_ms = 500;
        s.stringify_numeric = true;
        let (cfg, tls) = pg_config("postgres://u@h/db?options=-c%20search_path%3Dx&sslmode=require", &s).unwrap();
        assert_eq!((cfg.get_ssl_mode(), tls.mode), (tokio_postgres::config::SslMode::Require, tls::SslMode::Require));
        assert_eq!(cfg.get_options(), Some("-c search_path=x -c statement_timeout=500 -c graft.stringify_numeric_types=on"));
        assert_eq!(cfg.get_application_name(), Some("graft"));
        let (cfg, _) = pg_config("postgres://u@h/db?application_name=mine", &settings()).unwrap();
        assert_eq!(cfg.get_application_name(), Some("mine"));
        assert!(pg_config("postgres://u@h/db?bogus=1", &settings()).unwrap_err().starts_with("invalid database URL"));
    }

    /// A server that accepts connections and never answers; its port.
    async fn silent_server() -> u16 {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((sock, _)) = listener.accept().await {
                held.push(sock);
            }
        });
        port
    }

    /// Against a silent server, opening a connection must give up after the connect timeout,
    /// not hang.
    #[tokio::test]
    async fn connect_timeout_on_a_silent_server() {
        let port = silent_server().await;
        let pool = build(&format!("postgres://u@127.0.0.1:{port}/db"), &settings()).unwrap();
        let started = Instant::now();
        let e = pool.get().await.expect_err("no connection");
        assert!(matches!(e, deadpool_postgres::PoolError::Timeout(deadpool_postgres::TimeoutType::Create)), "{e:?}");
        assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    }

    /// With the pool's only connection slot taken, a second request waits for the wait timeout,
    /// then fails.
    #[tokio::test]
    async fn wait_timeout_when_exhausted() {
        let port = silent_server().await;
        let mut s = settings();
        s.connect = Duration::from_secs(5);
        let pool = build(&format!("postgres://u@127.0.0.1:{port}/db"), &s).unwrap();
        // The first caller holds the slot while its connection attempt hangs.
        let first = tokio::spawn({
            let pool = pool.clone();
            async move { pool.get().await.map(|_| ()) }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let started = Instant::now();
        let e = pool.get().await.expect_err("no connection");
        assert!(matches!(e, deadpool_postgres::PoolError::Timeout(deadpool_postgres::TimeoutType::Wait)), "{e:?}");
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(250) && waited < Duration::from_secs(2), "{waited:?}");
        first.abort();
    }
}
