//! The `/v1/metadata` API as pure functions over [`Metadata`] and the [`DbCatalog`].

use serde_json::Value;

use crate::dbcatalog::DbCatalog;
use crate::error::MetadataError;
use crate::metadata::model::Metadata;

/// The result of one metadata request.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// The JSON body Hasura answers with (`{"message":"success"}`, the exported metadata, …).
    pub response: Value,
    /// Whether `md` changed and must be stored (and the resource version bumped).
    pub changed: bool,
}

/// Apply one `/v1/metadata` (or legacy `/v1/query`) request to `md`. On error `md` is left as
/// it was. `resource_version` is the stored version, echoed by `export_metadata` v2.
pub fn apply(
    _md: &mut Metadata,
    _db: &DbCatalog,
    _request: &Value,
    _resource_version: i64,
) -> Result<Outcome, MetadataError> {
    unimplemented!("metadata ops")
}

/// The `bulk` request that tracks every table and view of `schema` not yet tracked and creates
/// the relationships its foreign keys imply, both directions, with Graft's default names.
pub fn track_all_request(_md: &Metadata, _db: &DbCatalog, _schema: &str) -> Value {
    unimplemented!("track_all")
}
