//! The extension layer's error type, turned into a Postgres error report at the boundary.

use pgrx::prelude::*;
use pgrx::spi::SpiError;

#[derive(Debug, thiserror::Error)]
pub enum GraftError {
    #[error("SPI error: {0}")]
    Spi(#[from] SpiError),
    #[error("{0}")]
    Internal(String),
    /// A GraphQL error response (JSON text) that must also undo the request's writes.
    #[error("{0}")]
    Graphql(String),
    /// A metadata API error (Hasura's `{"error","path","code"}`), raised from the SQL helpers.
    #[error("{0}")]
    Metadata(graft_compiler::MetadataError),
}

impl GraftError {
    /// Raise as a Postgres ERROR (never returns).
    pub fn raise(self) -> ! {
        match self {
            GraftError::Metadata(e) => ereport!(
                PgLogLevel::ERROR,
                PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                e.error.clone(),
                format!("code: {}, path: {}", e.code, e.path)
            ),
            other => ereport!(PgLogLevel::ERROR, PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, other.to_string()),
        }
        unreachable!()
    }
}
