//! Keys from a `jwk_url`: fetched with reqwest, cached until the response's
//! `Cache-Control: max-age` (or `Expires`) says they are stale, selected by `kid`.
//!
//! Requests never wait on the JWK endpoint while there are keys to use: stale keys keep
//! verifying tokens while one refresh runs in the background, and when that refresh fails the
//! previous keys stay in use (the failure is logged as `jwk-refresh-log`), as Hasura's
//! refresher does. Only a request with nothing to verify against waits: before the first
//! successful fetch, or when its token names a `kid` the cached set lacks (key rotation
//! reaching the sidecar before the cache expires; at most one such refetch a second). One
//! fetch runs at a time; requests that waited for it share its outcome.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use jsonwebtoken::jwk::{Jwk, JwkSet};
use reqwest::header::{HeaderMap, CACHE_CONTROL, EXPIRES};
use serde_json::json;

/// Unknown `kid`: refetch at most this often.
const MIN_REFETCH: Duration = Duration::from_secs(1);
/// Stale keys and a failing endpoint: try again no sooner than this.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(10);

pub struct JwkCache {
    url: String,
    client: reqwest::Client,
    /// Held only to read or store, never across a fetch.
    state: Mutex<State>,
    /// Held across a fetch: one at a time.
    fetching: Arc<tokio::sync::Mutex<()>>,
}

#[derive(Default, Clone)]
struct State {
    set: Option<Arc<JwkSet>>,
    expires: Option<Instant>,
    attempted_at: Option<Instant>,
    /// Fetch attempts so far: a request that waited for a fetch sees it changed.
    attempts: u64,
    last_error: Option<String>,
}

impl State {
    fn stale(&self) -> bool {
        self.expires.is_some_and(|e| Instant::now() >= e)
    }

    /// A background refresh of stale keys is due.
    fn refresh_due(&self) -> bool {
        let wait = if self.last_error.is_some() { RETRY_AFTER_FAILURE } else { MIN_REFETCH };
        self.stale() && self.attempted_at.is_none_or(|t| t.elapsed() >= wait)
    }

    fn candidates(&self, kid: Option<&str>) -> Vec<Jwk> {
        let Some(set) = &self.set else { return Vec::new() };
        match kid {
            Some(kid) => set.find(kid).cloned().into_iter().collect(),
            None => set.keys.clone(),
        }
    }
}

/// How long a response may be cached: `Cache-Control: max-age` (or `s-maxage`), else `Expires`;
/// `no-cache`/`no-store`/`must-revalidate` mean not at all. `None`: no expiry given.
pub fn expiry(headers: &HeaderMap) -> Option<Duration> {
    if let Some(cc) = headers.get(CACHE_CONTROL).and_then(|v| v.to_str().ok()) {
        if let Some(d) = cache_control_max_age(cc) {
            return Some(d);
        }
    }
    let expires = headers.get(EXPIRES).and_then(|v| v.to_str().ok())?;
    Some(expires_in(expires))
}

pub fn cache_control_max_age(cc: &str) -> Option<Duration> {
    let mut max_age = None;
    for directive in cc.split(',').map(|d| d.trim().to_ascii_lowercase()) {
        if matches!(directive.as_str(), "no-cache" | "no-store" | "must-revalidate") {
            return Some(Duration::ZERO);
        }
        if let Some(n) = directive.strip_prefix("max-age=").or_else(|| directive.strip_prefix("s-maxage=")) {
            max_age = n.trim_matches('"').parse::<u64>().ok().map(Duration::from_secs).or(max_age);
        }
    }
    max_age
}

/// Time from now until an HTTP date (zero if unparseable or past).
pub fn expires_in(http_date: &str) -> Duration {
    httpdate::parse_http_date(http_date.trim())
        .ok()
        .and_then(|t| t.duration_since(SystemTime::now()).ok())
        .unwrap_or(Duration::ZERO)
}

impl JwkCache {
    pub fn new(url: String, client: reqwest::Client) -> JwkCache {
        JwkCache { url, client, state: Mutex::new(State::default()), fetching: Arc::new(tokio::sync::Mutex::new(())) }
    }

    fn snapshot(&self) -> State {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The keys a token with this `kid` may be signed with (all keys when it has none).
    pub async fn keys(self: &Arc<Self>, kid: Option<&str>) -> Result<Vec<Jwk>, String> {
        let st = self.snapshot();
        if st.set.is_none() {
            // Nothing to verify with yet: wait for a fetch.
            self.fetch_once(st.attempts).await?;
            return Ok(self.snapshot().candidates(kid));
        }
        if st.refresh_due() {
            self.refresh_in_background();
        }
        let found = st.candidates(kid);
        if found.is_empty() && st.attempted_at.is_none_or(|t| t.elapsed() >= MIN_REFETCH) {
            // Unknown kid: the provider may have rotated its keys. A failure keeps the old set
            // (and is logged); the token then finds no key.
            let _ = self.fetch_once(st.attempts).await;
            return Ok(self.snapshot().candidates(kid));
        }
        Ok(found)
    }

    /// Fetch once at startup so that the first request does not wait.
    pub async fn prefetch(&self) -> Result<(), String> {
        self.fetch_once(self.snapshot().attempts).await
    }

    fn refresh_in_background(self: &Arc<Self>) {
        // A fetch already running will do.
        let Ok(guard) = self.fetching.clone().try_lock_owned() else { return };
        let me = Arc::clone(self);
        tokio::spawn(async move {
            let _ = me.fetch_locked().await;
            drop(guard);
        });
    }

    /// Fetch, unless another fetch ended while this one waited for its turn (`seen` is the
    /// attempt count the caller saw): then its outcome is the answer.
    async fn fetch_once(&self, seen: u64) -> Result<(), String> {
        let _guard = self.fetching.lock().await;
        let st = self.snapshot();
        if st.attempts != seen {
            return st.last_error.map_or(Ok(()), Err);
        }
        self.fetch_locked().await
    }

    /// One fetch; the caller holds `fetching`.
    async fn fetch_locked(&self) -> Result<(), String> {
        let result = self.fetch().await;
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        st.attempts += 1;
        st.attempted_at = Some(Instant::now());
        match result {
            Ok((set, ttl)) => {
                st.set = Some(Arc::new(set));
                st.expires = ttl.map(|d| Instant::now() + d);
                st.last_error = None;
                Ok(())
            }
            Err(e) => {
                let keeping = if st.set.is_some() { "; the previous keys stay in use" } else { "" };
                crate::logs::emit("jwk-refresh-log", "error", json!({"message": format!("{e}{keeping}"), "url": self.url}));
                st.last_error = Some(e.clone());
                Err(e)
            }
        }
    }

    async fn fetch(&self) -> Result<(JwkSet, Option<Duration>), String> {
        let resp = self.client.get(&self.url).send().await.map_err(|e| format!("fetching JWK set from {}: {e}", self.url))?;
        if !resp.status().is_success() {
            return Err(format!("fetching JWK set from {}: HTTP {}", self.url, resp.status()));
        }
        let ttl = expiry(resp.headers());
        let set: JwkSet = resp.json().await.map_err(|e| format!("JWK set from {} is not valid: {e}", self.url))?;
        Ok((set, ttl))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_headers() {
        assert_eq!(cache_control_max_age("public, max-age=600"), Some(Duration::from_secs(600)));
        assert_eq!(cache_control_max_age("s-maxage=5"), Some(Duration::from_secs(5)));
        assert_eq!(cache_control_max_age("no-cache"), Some(Duration::ZERO));
        assert_eq!(cache_control_max_age("public"), None);
        assert_eq!(expires_in("Thu, 01 Jan 1970 00:00:00 GMT"), Duration::ZERO);
        let later = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(100));
        let d = expires_in(&later);
        assert!(d > Duration::from_secs(90) && d <= Duration::from_secs(100), "{d:?}");
    }

    /// A JWK endpoint on a local port whose every answer is scripted by `answer(n)` (the
    /// n-th request, from 0): (delay, status, Cache-Control).
    async fn endpoint(answer: fn(usize) -> (u64, u16, &'static str)) -> (String, Arc<std::sync::atomic::AtomicUsize>) {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/jwks", listener.local_addr().unwrap());
        let count = Arc::new(AtomicUsize::new(0));
        let counter = count.clone();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let n = counter.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let _ = sock.read(&mut buf).await;
                    let (delay, status, cache) = answer(n);
                    tokio::time::sleep(Duration::from_millis(delay)).await;
                    let body = r#"{"keys": [{"kty": "RSA", "kid": "k1", "alg": "RS256", "use": "sig", "n": "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw", "e": "AQAB"}]}"#;
                    let resp = format!(
                        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nCache-Control: {cache}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = sock.write_all(resp.as_bytes()).await;
                });
            }
        });
        (url, count)
    }

    /// Stale keys keep verifying while a slow refresh runs, and after it fails.
    #[tokio::test]
    async fn stale_keys_serve_while_a_slow_refresh_fails() {
        use std::sync::atomic::Ordering;
        // The first answer expires at once; the refresh takes 1.5 s and fails.
        let (url, count) = endpoint(|n| if n == 0 { (0, 200, "max-age=0") } else { (1500, 500, "no-store") }).await;
        let cache = Arc::new(JwkCache::new(url, reqwest::Client::new()));
        assert_eq!(cache.keys(Some("k1")).await.unwrap().len(), 1);
        tokio::time::sleep(MIN_REFETCH + Duration::from_millis(50)).await;
        for _ in 0..3 {
            let started = Instant::now();
            assert_eq!(cache.keys(Some("k1")).await.unwrap().len(), 1);
            assert!(started.elapsed() < Duration::from_millis(300), "waited {:?} for the JWK endpoint", started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(1700)).await;
        assert_eq!(count.load(Ordering::SeqCst), 2, "one background refresh");
        assert!(cache.snapshot().last_error.is_some());
        assert_eq!(cache.keys(Some("k1")).await.unwrap().len(), 1, "the previous keys stay in use");
        assert_eq!(count.load(Ordering::SeqCst), 2, "no new attempt right after a failure");
    }

    /// Without any keys, concurrent requests share one fetch.
    #[tokio::test]
    async fn first_fetch_is_shared() {
        use std::sync::atomic::Ordering;
        let (url, count) = endpoint(|_| (300, 200, "max-age=600")).await;
        let cache = Arc::new(JwkCache::new(url, reqwest::Client::new()));
        let calls: Vec<_> = (0..5)
            .map(|_| {
                let c = cache.clone();
                tokio::spawn(async move { c.keys(Some("k1")).await.map(|k| k.len()) })
            })
            .collect();
        for c in calls {
            assert_eq!(c.await.unwrap(), Ok(1));
        }
        assert_eq!(count.load(Ordering::SeqCst), 1);
        // A failing endpoint with no keys at all: the request gets the error.
        let (url, _) = endpoint(|_| (0, 503, "no-store")).await;
        let cache = Arc::new(JwkCache::new(url, reqwest::Client::new()));
        assert!(cache.keys(None).await.unwrap_err().contains("HTTP 503"));
    }
}
