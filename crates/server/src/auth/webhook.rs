//! Webhook mode (`HASURA_GRAPHQL_AUTH_HOOK`): GET forwards the client's headers, POST sends
//! `{"headers": {...}, "request": {query, variables, operationName}}`. A 200 answer is a JSON
//! object of session variables (`x-hasura-role` required); 401 denies the request; anything
//! else is an internal error. An answer that carries `Cache-Control: max-age` or `Expires`
//! (in its body, as Hasura reads them, or as HTTP headers) is reused for identical requests
//! until then. `Set-Cookie` headers of the hook's answer are passed on to the client.
//!
//! The answer's expiry as Hasura reads it (`mkUserInfoFromResp` in `Auth/WebHook.hs`): the body's
//! `Cache-Control` key (exactly so spelt) with `max-age`/`s-maxage`, else its `Expires` key (an
//! HTTP date). HTTP headers do not count there. A WebSocket authenticated by the answer is
//! ended then (`ws::expiry`).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;

use super::jwk::{cache_control_max_age, expires_in, expiry};
use super::{denied, AuthError, Session};
use crate::config::HookMode;

/// Client headers never forwarded to the hook (Hasura's list).
const SKIPPED: &[&str] = &[
    "content-length",
    "content-type",
    "content-md5",
    "user-agent",
    "host",
    "origin",
    "referer",
    "accept",
    "accept-encoding",
    "accept-language",
    "accept-datetime",
    "cache-control",
    "connection",
    "dnt",
];

const MAX_CACHED: usize = 10_000;

pub struct Webhook {
    url: String,
    mode: HookMode,
    send_body: bool,
    client: reqwest::Client,
    cache: Mutex<HashMap<[u8; 32], (Granted, Instant)>>,
}

/// What the hook granted: the session and the cookies it sets on the client.
#[derive(Clone, Debug, Default)]
pub struct Granted {
    pub session: Session,
    pub set_cookies: Vec<String>,
    /// When the credential stops being valid (a JWT's `exp`, or the webhook answer's expiry;
    /// Unix seconds): a WebSocket authenticated with it is ended then.
    pub expires: Option<u64>,
}

impl Webhook {
    pub fn new(url: String, mode: HookMode, send_body: bool, client: reqwest::Client) -> Webhook {
        Webhook { url, mode, send_body, client, cache: Mutex::new(HashMap::new()) }
    }

    /// The session the hook grants this request.
    pub async fn session(&self, h: &HeaderMap, request: Option<&Value>) -> Result<Granted, AuthError> {
        let forwarded: Vec<(String, String)> = h
            .iter()
            .filter(|(k, _)| !SKIPPED.contains(&k.as_str()))
            .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str().to_string(), v.to_string())))
            .collect();
        let body = match self.mode {
            HookMode::Get => None,
            HookMode::Post => {
                let headers: Map<String, Value> = forwarded.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
                let mut b = json!({"headers": headers});
                if self.send_body {
                    if let Some(r) = request {
                        b["request"] = r.clone();
                    }
                }
                Some(b)
            }
        };
        let key = cache_key(&forwarded, body.as_ref());
        if let Some((s, until)) = self.cache.lock().await.get(&key) {
            if Instant::now() < *until {
                return Ok(s.clone());
            }
        }
        let req = match &body {
            None => forwarded.iter().fold(self.client.get(&self.url), |r, (k, v)| r.header(k, v)),
            Some(b) => self.client.post(&self.url).json(b),
        };
        let resp = req.send().await.map_err(|e| {
            log_failure(&self.url, None, &e.to_string());
            denied(500, "unexpected", "webhook authentication request failed")
        })?;
        let status = resp.status().as_u16();
        let ttl = expiry(resp.headers());
        let set_cookies: Vec<String> =
            resp.headers().get_all(reqwest::header::SET_COOKIE).iter().filter_map(|v| v.to_str().ok().map(str::to_string)).collect();
        let text = resp.text().await.map_err(|_| denied(500, "unexpected", "webhook authentication request failed"))?;
        let outcome = match status {
            200 => session_from_body(&text),
            401 => Err(denied(401, "access-denied", "Authentication hook unauthorized this request")),
            _ => Err(denied(500, "unexpected", "Invalid response from authorization hook")),
        };
        let (session, body_ttl, expires) = outcome.inspect_err(|e| log_failure(&self.url, Some(status), &format!("{}: {}", e.message, truncate(&text))))?;
        if let Some(ttl) = body_ttl.or(ttl).filter(|d| !d.is_zero()) {
            let mut cache = self.cache.lock().await;
            if cache.len() >= MAX_CACHED {
                let now = Instant::now();
                cache.retain(|_, (_, until)| *until > now);
                if cache.len() >= MAX_CACHED {
                    cache.clear();
                }
            }
            cache.insert(key, (Granted { session: session.clone(), set_cookies: set_cookies.clone(), expires }, Instant::now() + ttl));
        }
        Ok(Granted { session, set_cookies, expires })
    }
}

fn truncate(s: &str) -> &str {
    match s.char_indices().nth(500) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// A `webhook-log` line for a refused or failed authentication (as Hasura logs them).
fn log_failure(url: &str, status: Option<u16>, message: &str) {
    crate::logs::emit("webhook-log", "error", json!({"url": url, "status_code": status, "message": message}));
}

fn cache_key(headers: &[(String, String)], body: Option<&Value>) -> [u8; 32] {
    let mut sorted: Vec<_> = headers.iter().collect();
    sorted.sort();
    let mut h = Sha256::new();
    for (k, v) in sorted {
        h.update(k.as_bytes());
        h.update([0]);
        h.update(v.as_bytes());
        h.update([0]);
    }
    if let Some(b) = body {
        h.update(b.to_string().as_bytes());
    }
    h.finalize().into()
}

/// When the answer stops being valid, Unix seconds, as Hasura reads it: `Cache-Control`'s
/// `max-age` (or `s-maxage`) from now, else the `Expires` date; keys spelt exactly so.
fn answer_expiry(obj: &Map<String, Value>) -> Option<u64> {
    let now = std::time::SystemTime::now();
    let max_age = obj.get("Cache-Control").and_then(Value::as_str).and_then(|cc| {
        cc.split(',').map(str::trim).find_map(|d| {
            let (token, value) = d.split_once('=')?;
            matches!(token.trim(), "max-age" | "s-maxage").then(|| value.trim().parse::<u64>().ok())?
        })
    });
    let at = match max_age {
        Some(secs) => now + Duration::from_secs(secs),
        None => httpdate::parse_http_date(obj.get("Expires").and_then(Value::as_str)?.trim()).ok()?,
    };
    Some(at.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()))
}

/// Session variables (the `x-hasura-*` keys, lower-cased), the body's own cache lifetime and
/// the answer's expiry.
fn session_from_body(text: &str) -> Result<(Session, Option<Duration>, Option<u64>), AuthError> {
    let obj: Map<String, Value> = serde_json::from_str(text)
        .map_err(|e| denied(500, "unexpected", format!("Invalid response from authorization hook: {e}")))?;
    let expires = answer_expiry(&obj);
    let mut vars = Map::new();
    let mut ttl = None;
    for (k, v) in obj {
        let k = k.to_ascii_lowercase();
        let s = match v {
            Value::String(s) => s,
            Value::Number(_) | Value::Bool(_) => v.to_string(),
            Value::Null => continue,
            // Hasura reads the answer as a map of strings.
            Value::Array(_) | Value::Object(_) => {
                return Err(denied(
                    500,
                    "unexpected",
                    format!("Invalid response from authorization hook: Error in $['{k}']: expected a string"),
                ))
            }
        };
        match k.as_str() {
            "cache-control" => ttl = cache_control_max_age(&s).or(ttl),
            "expires" => ttl = ttl.or(Some(expires_in(&s))),
            _ if k.starts_with("x-hasura-") => {
                vars.insert(k, Value::String(s));
            }
            _ => {}
        }
    }
    if !vars.contains_key("x-hasura-role") {
        return Err(denied(500, "unexpected", "missing x-hasura-role key in webhook response"));
    }
    Ok((vars, ttl, expires))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_as_hasura_reads_it() {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        let exp = |body: &str| session_from_body(body).unwrap().2;
        let e = exp(r#"{"X-Hasura-Role": "u", "Cache-Control": "private, max-age=30"}"#).unwrap();
        assert!((now + 29..=now + 31).contains(&e), "{e} {now}");
        assert!(exp(r#"{"X-Hasura-Role": "u", "Cache-Control": "s-maxage=5"}"#).is_some());
        assert_eq!(exp(r#"{"X-Hasura-Role": "u", "Expires": "Thu, 01 Jan 2099 00:00:00 GMT"}"#), Some(4_070_908_800));
        // No max-age: the Expires key decides; neither: no expiry.
        assert_eq!(exp(r#"{"X-Hasura-Role": "u", "Cache-Control": "no-cache", "Expires": "Thu, 01 Jan 2099 00:00:00 GMT"}"#), Some(4_070_908_800));
        assert_eq!(exp(r#"{"X-Hasura-Role": "u", "Cache-Control": "no-cache"}"#), None);
        // Keys spelt otherwise do not count for Hasura (they still set the sidecar's cache).
        assert_eq!(exp(r#"{"X-Hasura-Role": "u", "cache-control": "max-age=30", "expires": "Thu, 01 Jan 2099 00:00:00 GMT"}"#), None);
        assert_eq!(exp(r#"{"X-Hasura-Role": "u", "Expires": "soon"}"#), None);
    }

    #[test]
    fn body() {
        let (s, ttl, _) = session_from_body(r#"{"X-Hasura-Role": "user", "X-Hasura-User-Id": 3, "Cache-Control": "max-age=60", "other": "x"}"#).unwrap();
        assert_eq!(Value::Object(s), json!({"x-hasura-role": "user", "x-hasura-user-id": "3"}));
        assert_eq!(ttl, Some(Duration::from_secs(60)));
        assert_eq!(session_from_body(r#"{"x-hasura-user-id": "1"}"#).unwrap_err().status, 500);
        assert_eq!(session_from_body("nope").unwrap_err().code, "unexpected");
        let e = session_from_body(r#"{"x-hasura-role": "user", "x-hasura-allowed-ids": [1, 2]}"#).unwrap_err();
        assert!(e.message.starts_with("Invalid response from authorization hook"), "{}", e.message);
    }
}
