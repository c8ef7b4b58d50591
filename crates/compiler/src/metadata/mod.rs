//! Hasura's metadata: the v3 document ([`model`]), the `/v1/metadata` API over it ([`ops`]), and
//! its consistency with the database ([`consistency`]).
//!
//! One module per group of requests: [`tables`], [`relationships`], [`computed_fields`],
//! [`functions`], [`permissions`], [`document`] (export/replace/clear/reload/inconsistencies);
//! [`export`] prints Hasura's export JSON; [`track_all`] builds the "track everything" bulk.

pub(crate) mod args;
pub(crate) mod computed_fields;
pub(crate) mod cron_triggers;
pub mod consistency;
pub(crate) mod db_index;
pub(crate) mod definitions;
pub(crate) mod dependents;
pub(crate) mod document;
pub(crate) mod enum_tables;
pub(crate) mod event_triggers;
pub mod export;
pub(crate) mod functions;
pub mod model;
pub mod names;
pub mod ops;
pub(crate) mod permission_shape;
pub(crate) mod permissions;
pub(crate) mod rel_using;
pub(crate) mod relationships;
pub(crate) mod root_fields;
pub(crate) mod sources;
pub(crate) mod tables;
pub(crate) mod track_all;
pub(crate) mod unsupported;

#[cfg(test)]
mod tests;
pub mod inherited_roles;

pub use event_triggers::find as event_trigger;
