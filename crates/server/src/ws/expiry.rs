//! When the credential that authenticated a socket stops being valid: a JWT's `exp`, or the
//! expiry an auth webhook states in its answer (`Cache-Control: max-age` or `Expires` keys of
//! the body, see `auth::webhook`). Hasura (`tokenExpiryHandler` in `Transport/WebSocket.hs`,
//! `onJwtExpiry` in `WebSocket/Server.hs`) waits until then and ends the connection: its
//! threads are cancelled and the TCP connection is closed without a close frame, so clients
//! see 1006 and reconnect with fresh credentials. The sidecar does the same.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

/// The instant a credential valid until `exp` (Unix seconds) expires; at once when past.
pub fn deadline(exp: u64) -> Instant {
    let at = UNIX_EPOCH + Duration::from_secs(exp);
    let left = at.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO);
    Instant::now() + left
}

/// The `websocket-log` line for a socket ended by its credential's expiry (Hasura logs
/// `jwt_expired`, for webhook expiry too).
pub fn log_expired(exp: u64) {
    let expiry = crate::logs::timestamp(UNIX_EPOCH + Duration::from_secs(exp));
    crate::logs::emit("websocket-log", "info", serde_json::json!({"connection_info": {"token_expiry": expiry}, "event": {"type": "jwt_expired"}}));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines() {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
        assert!(deadline(now.saturating_sub(10)) <= Instant::now(), "a past expiry is now");
        let d = deadline(now + 60) - Instant::now();
        assert!(d > Duration::from_secs(58) && d <= Duration::from_secs(60), "{d:?}");
    }
}
