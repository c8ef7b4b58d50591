//! How many operations one socket may run at once. Hasura has no such limit (`onStart` in
//! `Transport/WebSocket.hs` adds every operation to the socket's map): a client that starts
//! subscriptions without end grows the server's memory without end. Graft refuses the
//! operation past `GRAFT_WS_MAX_OPERATIONS_PER_SOCKET` with the operation's `error` (the
//! socket and its other operations go on). Operations are subscriptions and the queries and
//! mutations not answered yet, so this also bounds the work a socket can queue.

use serde_json::Value;

use super::protocol::gql_error;

/// The error for an operation refused because `running` already reach `max`, or `None`.
pub fn refused(running: usize, max: usize) -> Option<Value> {
    (running >= max).then(|| {
        gql_error(
            "start-failed",
            &format!("too many operations on this socket: at most {max} may run at once (GRAFT_WS_MAX_OPERATIONS_PER_SOCKET)"),
        )
    })
}

/// The close for a message over GRAFT_MAX_BODY_BYTES: 1009 "message too big", naming the
/// setting (the socket layer refuses the message before it is read in full; Hasura sets no
/// limit).
pub fn too_big_close(max: usize) -> (u16, String) {
    (1009, format!("message larger than GRAFT_MAX_BODY_BYTES ({max} bytes)"))
}

/// Whether a read failed because the message was over the size limit.
pub fn too_big(e: &axum::Error) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if matches!(err.downcast_ref::<tungstenite::Error>(), Some(tungstenite::Error::Capacity(_))) {
            return true;
        }
        cur = err.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cap() {
        assert!(refused(9, 10).is_none());
        let e = refused(10, 10).unwrap();
        assert_eq!(e["extensions"]["code"], "start-failed");
        assert!(e["message"].as_str().unwrap().contains("at most 10") && e["message"].as_str().unwrap().contains("GRAFT_WS_MAX_OPERATIONS_PER_SOCKET"));
    }
}
