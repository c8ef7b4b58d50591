//! The one error type of the extension layer, and its conversions at the boundary:
//!
//! * to a GraphQL response (`{"errors":[…]}`) for `graphql.resolve`, which never raises;
//! * to a metadata API error (`{"error","path","code"}`) for `graphql.metadata`, which returns it;
//! * to a Postgres `ERROR` with an explicit SQLSTATE for the psql helpers (`graphql.track_table` …),
//!   since a DBA at a prompt expects a failed command to fail.
//!
//! It also maps a Postgres error caught while running compiled SQL to Hasura's GraphQL error
//! (`mkTxErrorHandler` in Hasura's `Execute/Types.hs`).

use graft_compiler::{GqlError, MetadataError};
use pgrx::pg_sys::panic::ErrorReportWithLevel;
use pgrx::prelude::*;
use serde_json::{json, Value};

#[derive(Debug, thiserror::Error)]
pub enum GraftError {
    /// A metadata API request failed (bad arguments, conflict, missing table …).
    #[error("{0}")]
    Metadata(#[from] MetadataError),
    /// A GraphQL request failed before reaching the database (parse, validation, session).
    #[error("{0}")]
    Graphql(#[from] GqlError),
    /// A helper was called with an argument it cannot use (`graphql.track_table('a.b.c')`).
    #[error("{0}")]
    InvalidArgument(String),
    /// The catalog query returned something the compiler's `DbCatalog` cannot read.
    #[error("could not read the database catalog: {0}")]
    Catalog(String),
    /// `graphql.metadata_store` holds JSON that is not Hasura v3 metadata.
    #[error("the stored metadata is invalid: {0}")]
    StoredMetadata(String),
    /// SPI refused a statement (not a Postgres ERROR: those unwind as Postgres errors).
    #[error("SPI error: {0}")]
    Spi(#[from] pgrx::spi::Error),
    /// A bug: a panic caught in compiler code, an impossible state.
    #[error("internal error: {0}")]
    Internal(String),
}

pub type Result<T> = std::result::Result<T, GraftError>;

impl GraftError {
    /// The body `graphql.metadata` answers with (Hasura's `/v1/metadata` error shape).
    pub fn to_metadata_json(&self) -> Value {
        match self {
            GraftError::Metadata(e) => e.to_json(),
            GraftError::Graphql(e) => json!({"error": e.message, "path": e.path, "code": e.code}),
            GraftError::InvalidArgument(m) => {
                json!({"error": m, "path": "$", "code": "invalid-params"})
            }
            other => json!({"error": other.to_string(), "path": "$", "code": "unexpected"}),
        }
    }

    /// The body `graphql.resolve` answers with (Hasura's `/v1/graphql` error shape).
    pub fn to_graphql_response(&self) -> Value {
        match self {
            GraftError::Graphql(e) => e.response(),
            GraftError::Metadata(e) => {
                GqlError::new(e.code, e.path.clone(), e.error.clone()).response()
            }
            GraftError::InvalidArgument(m) => {
                GqlError::new("invalid-params", "$", m.clone()).response()
            }
            other => GqlError::new("unexpected", "$", other.to_string()).response(),
        }
    }

    /// Raise this error as a Postgres `ERROR` (never returns). The Hasura code and path go in
    /// DETAIL so scripts can still tell errors apart.
    pub fn raise(self) -> ! {
        let (code, detail) = match &self {
            GraftError::Metadata(e) => (
                sqlstate_for_metadata_code(e.code),
                Some(format!("code: {}, path: {}", e.code, e.path)),
            ),
            GraftError::Graphql(e) => (
                PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                Some(format!("code: {}, path: {}", e.code, e.path)),
            ),
            GraftError::InvalidArgument(_) => {
                (PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, None)
            }
            GraftError::Catalog(_) | GraftError::StoredMetadata(_) => {
                (PgSqlErrorCode::ERRCODE_DATA_CORRUPTED, None)
            }
            GraftError::Spi(_) | GraftError::Internal(_) => {
                (PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, None)
            }
        };
        let mut report = pgrx::pg_sys::panic::ErrorReport::new(code, self.to_string(), "graft");
        if let Some(d) = detail {
            report = report.set_detail(d);
        }
        report.report(PgLogLevel::ERROR);
        unreachable!("ERROR does not return")
    }
}

/// SQLSTATE for a failed metadata request raised from a helper.
fn sqlstate_for_metadata_code(code: &str) -> PgSqlErrorCode {
    match code {
        "already-exists" | "already-tracked" => PgSqlErrorCode::ERRCODE_DUPLICATE_OBJECT,
        "not-exists" | "not-found" | "already-untracked" => {
            PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT
        }
        "conflict" => PgSqlErrorCode::ERRCODE_T_R_SERIALIZATION_FAILURE,
        "permission-denied" | "access-denied" => PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
        "dependency-error" => PgSqlErrorCode::ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST,
        "unexpected" => PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
        _ => PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
    }
}

/// The five-character SQLSTATE of an error code (`23505`). pgrx stores codes the way
/// Postgres' `MAKE_SQLSTATE` packs them: six bits per character, first character lowest.
pub fn sqlstate(code: PgSqlErrorCode) -> String {
    let packed = code as isize as u32;
    (0..5)
        .map(|i| char::from(((packed >> (6 * i)) & 0x3F) as u8 + b'0'))
        .collect()
}

/// A Postgres error raised by compiled SQL, turned into Hasura's GraphQL error.
/// `internal` (the raw Postgres error) is added only for admin sessions and only to the
/// catch-all `unexpected` error, as Hasura does for admins, so nothing leaks to app roles.
pub fn graphql_error_from_pg(report: &ErrorReportWithLevel, admin: bool) -> Value {
    let state = sqlstate(report.sql_error_code());
    let msg = report.message();
    let (code, message): (&str, String) = match state.as_str() {
        "23505" => (
            "constraint-violation",
            format!("Uniqueness violation. {msg}"),
        ),
        "23503" => (
            "constraint-violation",
            format!("Foreign key violation. {msg}"),
        ),
        "23502" => ("constraint-violation", format!("Not-NULL violation. {msg}")),
        "23P01" => (
            "constraint-violation",
            format!("Exclusion violation. {msg}"),
        ),
        "23001" => (
            "constraint-violation",
            format!("Can not delete or update due to data being referred. {msg}"),
        ),
        "23514" => (
            "permission-error",
            format!("Check constraint violation. {msg}"),
        ),
        "22025" => ("bad-request", msg.to_string()),
        s if s.starts_with("22") => ("data-exception", msg.to_string()),
        "40001" => (
            "concurrent-update",
            "serialization failure due to concurrent update".to_string(),
        ),
        "42P10" => (
            "constraint-error",
            "there is no unique or exclusion constraint on target column(s)".to_string(),
        ),
        _ => ("unexpected", "database query error".to_string()),
    };
    let mut extensions = json!({"path": "$", "code": code});
    if admin && code == "unexpected" {
        extensions["internal"] = json!({
            "error": {
                "exec_status": "FatalError",
                "message": msg,
                "status_code": state,
                "description": report.detail(),
                "hint": report.hint(),
            }
        });
    }
    json!({"errors": [{"message": message, "extensions": extensions}]})
}

/// The message of a caught Rust panic payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".to_string()
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn sqlstate_decodes_packed_codes() {
        assert_eq!(sqlstate(PgSqlErrorCode::ERRCODE_UNIQUE_VIOLATION), "23505");
        assert_eq!(
            sqlstate(PgSqlErrorCode::ERRCODE_EXCLUSION_VIOLATION),
            "23P01"
        );
        assert_eq!(
            sqlstate(PgSqlErrorCode::ERRCODE_INVALID_REGULAR_EXPRESSION),
            "2201B"
        );
    }
}
