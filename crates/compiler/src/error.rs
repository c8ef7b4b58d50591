//! Errors in Hasura's shapes: GraphQL errors (`{"message", "extensions": {"path", "code"}}`) and
//! metadata API errors (`{"error", "path", "code"}` with an HTTP status).

use serde_json::{json, Value};

/// One GraphQL error. `path` is Hasura's JSON path (`$.selectionSet.author.args.where`).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct GqlError {
    pub message: String,
    pub path: String,
    pub code: &'static str,
}

impl GqlError {
    pub fn new(code: &'static str, path: impl Into<String>, message: impl Into<String>) -> Self {
        GqlError { message: message.into(), path: path.into(), code }
    }
    pub fn validation(path: impl Into<String>, message: impl Into<String>) -> Self {
        GqlError::new("validation-failed", path, message)
    }
    pub fn to_json(&self) -> Value {
        json!({"message": self.message, "extensions": {"path": self.path, "code": self.code}})
    }
    /// The whole response body for this error.
    pub fn response(&self) -> Value {
        json!({"errors": [self.to_json()]})
    }
}

/// A metadata API error, as `/v1/metadata` returns it with `status`.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{error}")]
pub struct MetadataError {
    pub error: String,
    pub path: String,
    pub code: &'static str,
    pub status: u16,
    /// Hasura's `internal`: details such as the inconsistent objects that refused a change.
    pub internal: Option<Value>,
}

impl MetadataError {
    pub fn new(code: &'static str, path: impl Into<String>, error: impl Into<String>) -> Self {
        let status = match code {
            "conflict" => 409,
            "access-denied" => 401,
            "unexpected" => 500,
            _ => 400,
        };
        MetadataError { error: error.into(), path: path.into(), code, status, internal: None }
    }
    pub fn to_json(&self) -> Value {
        let mut v = json!({"error": self.error, "path": self.path, "code": self.code});
        if let Some(internal) = &self.internal {
            v["internal"] = internal.clone();
        }
        v
    }
}
