//! Build the GraphQL schema a role sees from metadata and the database catalog.

use crate::dbcatalog::DbCatalog;
use crate::metadata::model::Metadata;

use super::model::Schema;

/// A metadata object that does not match the database (a dropped table, a missing column …).
/// Reported by `get_inconsistent_metadata`; the object is left out of the schema.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Inconsistency {
    pub definition: serde_json::Value,
    pub name: String,
    pub reason: String,
    #[serde(rename = "type")]
    pub kind: String,
}

/// Build the schema for `role` (`"admin"` sees everything).
pub fn build_schema(_metadata: &Metadata, _db: &DbCatalog, _role: &str) -> (Schema, Vec<Inconsistency>) {
    unimplemented!("schema builder")
}
