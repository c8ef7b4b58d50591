//! `HASURA_GRAPHQL_CLOSE_WEBSOCKETS_ON_METADATA_CHANGE` (default true, as in Hasura: its
//! `mkCloseWebsocketsOnMetadataChangeAction` runs on every schema-cache rebuild and closes every
//! socket with 1012 "Server state changed, restarting the server"). The metadata lives in the
//! database, changed by this sidecar, another one or SQL, so the sidecar watches its
//! `resource_version`: once a second while any socket is open (as Hasura's schema sync polls
//! every second), and at once after each request to its own metadata endpoints. The version
//! comes from a metadata export, which costs the database milliseconds, so with graft
//! preloaded the second's check first reads the change counter of `graphql.metadata_store`
//! (a fraction of that) and exports only when a transaction wrote the store. Without the
//! setting nothing is watched: each live query's next refetch runs against the new metadata
//! (new permissions included): `graphql.subscription_poll` compiles against the metadata of
//! the moment, and the metadata table is among every group's reads.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use deadpool_postgres::Pool;
use tokio::sync::Notify;

use super::protocol::close;
use super::session::Conn;

/// The open sockets, to close them all at once.
#[derive(Default)]
pub struct Sockets {
    open: Mutex<HashMap<u64, Weak<Conn>>>,
    next: AtomicU64,
    /// Told when the first socket opens, so the watcher reads its baseline version then.
    first_opened: Notify,
}

/// A socket's entry; dropping it (the socket ending) removes it.
pub struct Registered {
    sockets: Arc<Sockets>,
    id: u64,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.sockets.open.lock().unwrap_or_else(|e| e.into_inner()).remove(&self.id);
    }
}

impl Sockets {
    pub fn register(self: &Arc<Self>, conn: &Arc<Conn>) -> Registered {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.insert(id, Arc::downgrade(conn));
        if open.len() == 1 {
            self.first_opened.notify_one();
        }
        Registered { sockets: self.clone(), id }
    }

    pub fn count(&self) -> usize {
        self.open.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Closes every open socket with Hasura's metadata-change close; how many there were.
    pub fn close_all(&self) -> usize {
        let conns: Vec<Arc<Conn>> = self.open.lock().unwrap_or_else(|e| e.into_inner()).drain().filter_map(|(_, c)| c.upgrade()).collect();
        for c in &conns {
            c.close(close::RESTARTING.0, close::RESTARTING.1);
        }
        conns.len()
    }
}

/// Wakes the watcher for an immediate check (a metadata request was served).
#[derive(Default)]
pub struct Watch {
    poke: Notify,
}

impl Watch {
    pub fn poke(&self) {
        self.poke.notify_one();
    }
}

/// Middleware on the metadata endpoints: pokes the watcher once a request is answered (its
/// change, if any, is committed by then).
pub async fn after_request(
    axum::extract::State(state): axum::extract::State<Arc<crate::routes::AppState>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let resp = next.run(req).await;
    if let Some(w) = &state.metadata_watch {
        w.poke();
    }
    resp
}

/// The export that carries the version: it reads the store in the statement's own snapshot
/// (not a backend's cache), and only a number comes back. The counter skip in [`run`] relies
/// on that: a store write the counter shows is one this export sees.
const VERSION_SQL: &str = "SELECT ((graphql.metadata($1::text::json)::json) ->> 'resource_version')::int8";
const EXPORT: &str = r#"{"type": "export_metadata", "version": 2, "args": {}}"#;

/// The store's change counter (`graphql.table_versions`): NULL without the preload.
const STORE_COUNTER_SQL: &str = "SELECT (graphql.table_versions(ARRAY[to_regclass('graphql.metadata_store')::oid]))[1]";

/// The counter, or `None` when there is none to trust (not preloaded, an extension without
/// `table_versions`, the database away): the export decides then.
async fn store_counter(pool: &Pool) -> Option<i64> {
    let client = pool.get().await.ok()?;
    client.query_one(STORE_COUNTER_SQL, &[]).await.ok()?.get::<_, Option<i64>>(0)
}

async fn resource_version(pool: &Pool) -> Result<i64, String> {
    let client = pool.get().await.map_err(|e| e.to_string())?;
    let row = client.query_one(VERSION_SQL, &[&EXPORT]).await.map_err(|e| e.to_string())?;
    row.get::<_, Option<i64>>(0).ok_or_else(|| "the metadata export carries no resource_version".into())
}

/// The watcher: closes every socket when the version moves. With no socket open nothing is
/// read, and the version is forgotten: it is read again as the first socket opens, as the
/// baseline. A failed read (the database away) changes nothing.
pub async fn run(pool: Pool, sockets: Arc<Sockets>, watch: Arc<Watch>) {
    let mut known: Option<i64> = None;
    // The store's counter when `known` was read: unchanged means no write since, so no export.
    let mut counted: Option<i64> = None;
    // Logged once per run of failures: a role without EXECUTE on graphql.metadata (the
    // metadata API disabled) would otherwise never close a socket, silently.
    let mut failing = false;
    loop {
        let poked = tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => false,
            _ = watch.poke.notified() => true,
            _ = sockets.first_opened.notified() => true,
        };
        if sockets.count() == 0 {
            known = None;
            continue;
        }
        // Read before the export: a write the counter missed is then one the export sees, or
        // one the next counter shows.
        let counter = store_counter(&pool).await;
        if !poked && known.is_some() && counter.is_some() && counter == counted {
            continue;
        }
        let v = match resource_version(&pool).await {
            Ok(v) => v,
            Err(e) => {
                if !failing {
                    let message = format!("cannot read the metadata version, so sockets are not closed on metadata changes: {e}");
                    crate::logs::emit("websocket-log", "warn", serde_json::json!({"event": {"type": "metadata_watch"}, "message": message}));
                }
                failing = true;
                continue;
            }
        };
        failing = false;
        if known.is_some_and(|k| k != v) {
            let n = sockets.close_all();
            if n > 0 {
                crate::logs::emit(
                    "websocket-log",
                    "info",
                    serde_json::json!({"event": {"type": "closed", "reason": "Closing all websocket connections as the metadata has changed", "sockets": n}}),
                );
            }
        }
        known = Some(v);
        counted = counter;
    }
}
