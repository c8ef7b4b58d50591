//! Keys from a `jwk_url`: fetched with reqwest, cached until the response's
//! `Cache-Control: max-age` (or `Expires`) says they are stale, selected by `kid`. A token whose
//! `kid` is not in the cached set triggers a refetch (at most once a second), which is how key
//! rotation reaches the sidecar before the cache expires.

use std::time::{Duration, Instant, SystemTime};

use jsonwebtoken::jwk::{Jwk, JwkSet};
use reqwest::header::{HeaderMap, CACHE_CONTROL, EXPIRES};
use tokio::sync::Mutex;

const MIN_REFETCH: Duration = Duration::from_secs(1);

pub struct JwkCache {
    url: String,
    client: reqwest::Client,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    set: Option<JwkSet>,
    expires: Option<Instant>,
    fetched_at: Option<Instant>,
}

impl State {
    fn fresh(&self) -> bool {
        self.set.is_some() && self.expires.is_none_or(|e| Instant::now() < e)
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
        JwkCache { url, client, state: Mutex::new(State::default()) }
    }

    /// The keys a token with this `kid` may be signed with (all keys when it has none).
    pub async fn keys(&self, kid: Option<&str>) -> Result<Vec<Jwk>, String> {
        let mut st = self.state.lock().await;
        if !st.fresh() {
            self.refresh(&mut st).await?;
        } else if st.candidates(kid).is_empty() && st.fetched_at.is_none_or(|t| t.elapsed() >= MIN_REFETCH) {
            // Unknown kid: the provider may have rotated its keys.
            self.refresh(&mut st).await?;
        }
        Ok(st.candidates(kid))
    }

    /// Fetch once at startup so the first request does not wait (errors are logged by the caller).
    pub async fn prefetch(&self) -> Result<(), String> {
        let mut st = self.state.lock().await;
        self.refresh(&mut st).await
    }

    async fn refresh(&self, st: &mut State) -> Result<(), String> {
        st.fetched_at = Some(Instant::now());
        let resp = self.client.get(&self.url).send().await.map_err(|e| format!("fetching JWK set from {}: {e}", self.url))?;
        if !resp.status().is_success() {
            return Err(format!("fetching JWK set from {}: HTTP {}", self.url, resp.status()));
        }
        let ttl = expiry(resp.headers());
        let set: JwkSet = resp.json().await.map_err(|e| format!("JWK set from {} is not valid: {e}", self.url))?;
        st.set = Some(set);
        st.expires = ttl.map(|d| Instant::now() + d);
        Ok(())
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
}
