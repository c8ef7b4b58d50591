//! Graft's compiler: everything that can be computed without a database.
//!
//! metadata (Hasura v3 JSON) + dbcatalog (introspected Postgres) → `schema::build` → per-role
//! [`Schema`] → `request::compile` (parse, validate, coerce) → IR → `sql` → one SQL statement
//! with bound parameters. `introspection` answers `__schema`/`__type` from the same [`Schema`].

pub mod change_slots;
pub mod dbcatalog;
pub mod dml;
pub mod error;
pub mod events;
pub mod interrupt;
pub mod introspection;
pub mod metadata;
pub mod request;
pub mod schema;
pub mod sql;
pub mod stack;
pub mod subscription;
#[cfg(test)]
mod testing;

pub use dbcatalog::{DbCatalog, QualifiedName};
pub use error::{GqlError, MetadataError};
pub use metadata::model::Metadata;
pub use schema::model::Schema;
