//! CORS exactly as Hasura's middleware does it (`Server/Cors.hs`, `Server/Middleware.hs`),
//! for `HASURA_GRAPHQL_CORS_DOMAIN` (`*`, the default, or a comma-separated list) and
//! `HASURA_GRAPHQL_DISABLE_CORS` (no layer at all).
//!
//! * A request without `Origin`, or from an origin the list does not allow, passes through
//!   untouched: no CORS header at all.
//! * An allowed origin gets `Access-Control-Allow-Origin: <origin>`,
//!   `Access-Control-Allow-Credentials: true` and
//!   `Access-Control-Allow-Methods: GET,POST,PUT,PATCH,DELETE,OPTIONS` on every answer.
//! * Any `OPTIONS` request from an allowed origin (on any path) is answered here: 204, empty,
//!   with those three headers plus `Access-Control-Max-Age: 1728000`,
//!   `Access-Control-Allow-Headers` echoing `Access-Control-Request-Headers` (empty when
//!   absent), `Content-Length: 0` and `Content-Type: text/plain charset=UTF-8`.
//!
//! A list entry is `http://` or `https://`, then a host, then an optional `:port`. An entry
//! whose host starts with `*.` is a wildcard: it allows an origin with the same scheme, host
//! and port once the origin's first label is dropped, so `https://*.foo.com` allows
//! `https://app.foo.com` but neither `https://foo.com` nor `https://a.b.foo.com`. Any other
//! entry must equal the origin exactly (case included). Hasura's parser stops at what it cannot
//! read instead of failing, so `http://localhost:*` is the entry `http://localhost`; an entry
//! without a scheme stops the server at startup.

use std::collections::HashSet;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

/// What `HASURA_GRAPHQL_CORS_DOMAIN` allows.
#[derive(Debug, PartialEq)]
pub enum Policy {
    AllowAll,
    Origins { exact: HashSet<String>, wildcards: HashSet<Parts> },
}

/// Scheme (with `://`), host (for a wildcard: after `*.`) and port.
#[derive(Debug, PartialEq, Eq, Hash, Clone)]
pub struct Parts {
    scheme: String,
    host: String,
    port: Option<u64>,
}

const METHODS: &str = "GET,POST,PUT,PATCH,DELETE,OPTIONS";
const MAX_AGE: &str = "1728000";

/// Hasura's `domainParser`: the scheme, then (for a wildcard) `*.` or (for an origin) the
/// first label and its dot, then the host up to a `:` (or the rest), then the port's digits.
/// `None` where Hasura's parser fails.
fn parts(text: &str, skip: Skip) -> Option<Parts> {
    let (scheme, rest) = if let Some(r) = text.strip_prefix("http://") {
        ("http://", r)
    } else {
        ("https://", text.strip_prefix("https://")?)
    };
    let rest = match skip {
        Skip::Nothing => rest,
        Skip::Wildcard => rest.strip_prefix("*.")?,
        Skip::FirstLabel => rest.split_once('.')?.1,
    };
    // `takeWhile1 (/= ':')` then `:`; failing that, the whole rest is the host.
    let (host, after) = match rest.split_once(':') {
        Some((h, after)) if !h.is_empty() => (h, after),
        _ => (rest, ""),
    };
    let digits: &str = &after[..after.find(|c: char| !c.is_ascii_digit()).unwrap_or(after.len())];
    Some(Parts { scheme: scheme.into(), host: host.into(), port: digits.parse().ok() })
}

#[derive(Clone, Copy)]
enum Skip {
    Nothing,
    Wildcard,
    FirstLabel,
}

/// Parse `HASURA_GRAPHQL_CORS_DOMAIN` (Hasura's `readCorsDomains`, with its message).
pub fn parse(domains: &str) -> Result<Policy, String> {
    if domains == "*" {
        return Ok(Policy::AllowAll);
    }
    let mut exact = HashSet::new();
    let mut wildcards = HashSet::new();
    for d in domains.split(',').map(str::trim) {
        if let Some(w) = parts(d, Skip::Wildcard) {
            wildcards.insert(w);
        } else if let Some(p) = parts(d, Skip::Nothing) {
            let port = p.port.map(|n| format!(":{n}")).unwrap_or_default();
            exact.insert(format!("{}{}{port}", p.scheme, p.host));
        } else {
            return Err(format!(
                "invalid domain: '{d}'. All domains should have scheme + (optional wildcard) host + (optional port)"
            ));
        }
    }
    Ok(Policy::Origins { exact, wildcards })
}

/// The startup log's `cors_config`, as Hasura prints its `CorsConfig`: `disabled`,
/// `ws_read_cookie` (HASURA_GRAPHQL_WS_READ_COOKIE, only when disabled) and
/// `allowed_origins` (`"*"`, or `{fqdns, wildcards: [{scheme, host, port}]}`).
pub fn log_json(policy: Option<&Policy>, ws_read_cookie: bool) -> serde_json::Value {
    use serde_json::json;
    match policy {
        None => json!({"disabled": true, "ws_read_cookie": ws_read_cookie, "allowed_origins": null}),
        Some(Policy::AllowAll) => json!({"disabled": false, "ws_read_cookie": null, "allowed_origins": "*"}),
        Some(Policy::Origins { exact, wildcards }) => {
            let mut fqdns: Vec<&String> = exact.iter().collect();
            fqdns.sort();
            let mut wild: Vec<&Parts> = wildcards.iter().collect();
            wild.sort_by(|a, b| (&a.scheme, &a.host, a.port).cmp(&(&b.scheme, &b.host, b.port)));
            let wild: Vec<_> = wild.iter().map(|w| json!({"scheme": w.scheme, "host": w.host, "port": w.port})).collect();
            json!({"disabled": false, "ws_read_cookie": null, "allowed_origins": {"fqdns": fqdns, "wildcards": wild}})
        }
    }
}

impl Policy {
    pub fn allows(&self, origin: &str) -> bool {
        match self {
            Policy::AllowAll => true,
            Policy::Origins { exact, wildcards } => {
                exact.contains(origin) || parts(origin, Skip::FirstLabel).is_some_and(|p| wildcards.contains(&p))
            }
        }
    }
}

fn set(resp: &mut Response, name: &'static str, value: HeaderValue) {
    resp.headers_mut().insert(name, value);
}

fn add_cors_headers(resp: &mut Response, origin: HeaderValue) {
    set(resp, "access-control-allow-origin", origin);
    set(resp, "access-control-allow-credentials", HeaderValue::from_static("true"));
    set(resp, "access-control-allow-methods", HeaderValue::from_static(METHODS));
}

pub async fn middleware(State(policy): State<Arc<Policy>>, req: Request, next: Next) -> Response {
    let Some(origin) = req.headers().get(header::ORIGIN).cloned() else {
        return next.run(req).await;
    };
    if !origin.to_str().is_ok_and(|o| policy.allows(o)) {
        return next.run(req).await;
    }
    if req.method() == Method::OPTIONS {
        let requested = req.headers().get(header::ACCESS_CONTROL_REQUEST_HEADERS).cloned().unwrap_or(HeaderValue::from_static(""));
        let mut resp = Response::new(Body::empty());
        *resp.status_mut() = StatusCode::NO_CONTENT;
        add_cors_headers(&mut resp, origin);
        set(&mut resp, "access-control-max-age", HeaderValue::from_static(MAX_AGE));
        set(&mut resp, "access-control-allow-headers", requested);
        set(&mut resp, "content-length", HeaderValue::from_static("0"));
        set(&mut resp, "content-type", HeaderValue::from_static("text/plain charset=UTF-8"));
        return resp;
    }
    let mut resp = next.run(req).await;
    add_cors_headers(&mut resp, origin);
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allows(domains: &str, origin: &str) -> bool {
        parse(domains).unwrap().allows(origin)
    }

    #[test]
    fn star_allows_every_origin() {
        assert_eq!(parse("*"), Ok(Policy::AllowAll));
        assert!(allows("*", "http://anything.test:1234"));
        assert!(allows("*", "null"));
    }

    #[test]
    fn exact_origins() {
        let list = "https://app.io, http://localhost:3000,http://127.0.0.1:08080";
        assert!(allows(list, "https://app.io"));
        assert!(allows(list, "http://localhost:3000"));
        // Hasura prints the port it read: leading zeros go.
        assert!(allows(list, "http://127.0.0.1:8080"));
        assert!(!allows(list, "http://127.0.0.1:08080"));
        assert!(!allows(list, "http://app.io"));
        assert!(!allows(list, "https://app.io:443"));
        assert!(!allows(list, "https://app.io.evil.com"));
        assert!(!allows(list, "https://APP.io"));
        assert!(!allows(list, "http://localhost:4000"));
        assert!(!allows(list, "http://localhost"));
    }

    #[test]
    fn wildcard_subdomains() {
        let list = "https://*.example.com, http://*.localhost, https://*.foo.bar.com:8080";
        assert!(allows(list, "https://app.example.com"));
        assert!(!allows(list, "https://example.com"), "the domain itself is not its wildcard");
        assert!(!allows(list, "https://a.b.example.com"), "one label only");
        assert!(!allows(list, "http://app.example.com"));
        assert!(!allows(list, "https://app.example.com:8443"));
        assert!(!allows(list, "https://app.example.org"));
        assert!(allows(list, "http://x.localhost"));
        assert!(allows(list, "https://a.foo.bar.com:8080"));
        assert!(!allows(list, "https://a.foo.bar.com"));
        assert!(!allows(list, "https://a.foo.bar.com:8081"));
    }

    #[test]
    fn hasura_parser_quirks() {
        // The port wildcard is not Hasura syntax: its parser reads `http://localhost` and stops.
        assert!(allows("http://localhost:*", "http://localhost"));
        assert!(!allows("http://localhost:*", "http://localhost:3000"));
        // A trailing slash stays part of the entry, which no browser origin has.
        assert!(!allows("https://app.io/", "https://app.io"));
    }

    #[test]
    fn logged_as_hasura_prints_it() {
        use serde_json::json;
        assert_eq!(log_json(None, false), json!({"disabled": true, "ws_read_cookie": false, "allowed_origins": null}));
        assert_eq!(log_json(Some(&Policy::AllowAll), false)["allowed_origins"], "*");
        let p = parse("https://*.b.io:8080, http://a.io").unwrap();
        assert_eq!(
            log_json(Some(&p), false)["allowed_origins"],
            json!({"fqdns": ["http://a.io"], "wildcards": [{"scheme": "https://", "host": "b.io", "port": 8080}]})
        );
    }

    #[test]
    fn invalid_entries_stop_the_server() {
        for bad in ["", ",", "app.io", "https://a.io, ftp://b.io", " *"] {
            let e = parse(bad).expect_err(bad);
            assert!(e.starts_with("invalid domain: '") && e.ends_with("(optional port)"), "{e}");
        }
        assert_eq!(
            parse("https://a.io,example.com").unwrap_err(),
            "invalid domain: 'example.com'. All domains should have scheme + (optional wildcard) host + (optional port)"
        );
    }
}
