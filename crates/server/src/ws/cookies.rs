//! Which upgrade-request headers a socket authenticates with, as Hasura's `onConn` decides
//! (`enforceCors` and `filterWsHeaders` in `Transport/WebSocket.hs`; the startup check in
//! `Server/Init.hs` `mkCorsConfig`). Only a request with an `Origin` header (a browser) is
//! checked; without one every header is kept.
//!
//! * CORS `*`: everything is kept, cookies included.
//! * A CORS domain list: an origin it allows keeps everything; any other origin is refused
//!   before the upgrade (400 `access-denied`), since a page of that origin could otherwise
//!   authenticate a socket with the user's cookies.
//! * CORS disabled (`HASURA_GRAPHQL_DISABLE_CORS`): the `Cookie` header is dropped (and a note
//!   logged), unless `HASURA_GRAPHQL_WS_READ_COOKIE` says the deployment checks origins itself.
//!   Setting that with CORS enabled stops the server at startup, as in Hasura.
//!
//! The handshake's own headers (`sec-websocket-key`, `sec-websocket-version`, `upgrade`,
//! `connection`) are never passed on.

use axum::http::{header, HeaderMap};

use crate::cors::Policy;

/// Hasura's startup refusal of `HASURA_GRAPHQL_WS_READ_COOKIE` with CORS enabled.
pub fn check_setting(read_cookie: bool, cors: Option<&Policy>) -> Result<(), String> {
    if read_cookie && cors.is_some() {
        return Err("HASURA_GRAPHQL_WS_READ_COOKIE can only be used when CORS is disabled".into());
    }
    Ok(())
}

/// Hasura's message for an upgrade from an origin the domain list does not allow.
pub const ORIGIN_REFUSED: &str = "received origin header does not match configured CORS domains";

/// Hasura's note when it drops the cookie of a socket (CORS disabled).
pub const COOKIE_NOTE: &str = "Cookie is not read when CORS is disabled, because it is a potential security issue. \
If you're already handling CORS before Hasura and enforcing CORS on websocket connections, then you can use the flag \
--ws-read-cookie or HASURA_GRAPHQL_WS_READ_COOKIE to force read cookie when CORS is disabled.";

const HANDSHAKE: [header::HeaderName; 4] = [header::SEC_WEBSOCKET_KEY, header::SEC_WEBSOCKET_VERSION, header::UPGRADE, header::CONNECTION];

/// The headers a socket may authenticate with, or `Err` when its origin is refused.
pub fn auth_headers(mut headers: HeaderMap, cors: Option<&Policy>, read_cookie: bool) -> Result<HeaderMap, &'static str> {
    for h in &HANDSHAKE {
        headers.remove(h);
    }
    let Some(origin) = headers.get(header::ORIGIN) else { return Ok(headers) };
    match cors {
        None if read_cookie => {}
        None => {
            crate::logs::emit("websocket-log", "info", serde_json::json!({"connection_info": {"msg": COOKIE_NOTE}, "event": {"type": "accepted"}}));
            headers.remove(header::COOKIE);
        }
        Some(policy) => {
            if !origin.to_str().is_ok_and(|o| policy.allows(o)) {
                return Err(ORIGIN_REFUSED);
            }
        }
    }
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h.insert(header::SEC_WEBSOCKET_KEY, "k".parse().unwrap());
        h.insert(header::UPGRADE, "websocket".parse().unwrap());
        h
    }

    #[test]
    fn cookies_follow_cors() {
        let list = crate::cors::parse("https://*.example.com").unwrap();
        let browser = [("origin", "https://app.example.com"), ("cookie", "s=1")];
        // CORS `*` and an allowed origin keep the cookie; the handshake headers go.
        let h = auth_headers(req(&browser), Some(&Policy::AllowAll), false).unwrap();
        assert_eq!(h.get("cookie").unwrap(), "s=1");
        assert!(h.get("sec-websocket-key").is_none() && h.get("upgrade").is_none());
        assert_eq!(auth_headers(req(&browser), Some(&list), false).unwrap().get("cookie").unwrap(), "s=1");
        // Another origin is refused.
        let other = [("origin", "https://evil.test"), ("cookie", "s=1")];
        assert_eq!(auth_headers(req(&other), Some(&list), false).unwrap_err(), ORIGIN_REFUSED);
        // CORS disabled: a browser's cookie is dropped unless the setting says otherwise.
        assert!(auth_headers(req(&browser), None, false).unwrap().get("cookie").is_none());
        assert_eq!(auth_headers(req(&browser), None, true).unwrap().get("cookie").unwrap(), "s=1");
        // No Origin (not a browser): nothing is checked or dropped.
        assert_eq!(auth_headers(req(&[("cookie", "s=1")]), None, false).unwrap().get("cookie").unwrap(), "s=1");
        assert!(auth_headers(req(&[("origin", "https://evil.test")]), Some(&list), false).is_err());
    }

    #[test]
    fn read_cookie_needs_cors_disabled() {
        assert!(check_setting(true, None).is_ok() && check_setting(false, Some(&Policy::AllowAll)).is_ok());
        assert_eq!(check_setting(true, Some(&Policy::AllowAll)).unwrap_err(), "HASURA_GRAPHQL_WS_READ_COOKIE can only be used when CORS is disabled");
    }
}
