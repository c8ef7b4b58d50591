//! CORS as Hasura does it (`HASURA_GRAPHQL_CORS_DOMAIN`, `HASURA_GRAPHQL_DISABLE_CORS`): `*`
//! reflects any origin; a list allows only its origins, where `*` matches a subdomain or port
//! (`https://*.example.com`, `http://localhost:*`). Credentials are allowed, the requested
//! headers are echoed, preflights are cached for 20 days.

use std::time::Duration;

use axum::http::{HeaderValue, Method};
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer};

/// Whether `origin` matches `pattern` (`*` matches any run of characters other than `/`).
pub fn origin_matches(pattern: &str, origin: &str) -> bool {
    fn go(p: &[u8], o: &[u8]) -> bool {
        match p.split_first() {
            None => o.is_empty(),
            Some((b'*', rest)) => (0..=o.len()).take_while(|&i| i == 0 || o[i - 1] != b'/').any(|i| go(rest, &o[i..])),
            Some((c, rest)) => o.first().is_some_and(|x| x.eq_ignore_ascii_case(c)) && go(rest, &o[1..]),
        }
    }
    go(pattern.trim().trim_end_matches('/').as_bytes(), origin.as_bytes())
}

pub fn layer(domains: &str) -> CorsLayer {
    let origin = if domains.trim() == "*" {
        AllowOrigin::mirror_request()
    } else {
        let patterns: Vec<String> = domains.split(',').map(|d| d.trim().to_string()).filter(|d| !d.is_empty()).collect();
        AllowOrigin::predicate(move |o: &HeaderValue, _| o.to_str().is_ok_and(|o| patterns.iter().any(|p| origin_matches(p, o))))
    };
    CorsLayer::new()
        .allow_origin(origin)
        .allow_credentials(true)
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE, Method::OPTIONS])
        .allow_headers(AllowHeaders::mirror_request())
        .max_age(Duration::from_secs(1_728_000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(origin_matches("https://*.example.com", "https://app.example.com"));
        assert!(!origin_matches("https://*.example.com", "https://example.org"));
        assert!(!origin_matches("https://*.example.com", "http://app.example.com"));
        assert!(origin_matches("http://localhost:*", "http://localhost:3000"));
        assert!(!origin_matches("http://localhost:*", "http://localhost.evil.com/x:1"));
        assert!(origin_matches("https://app.io", "https://app.io"));
        assert!(!origin_matches("https://app.io", "https://app.io.evil.com"));
    }
}
