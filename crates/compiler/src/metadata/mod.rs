//! Hasura's metadata: the v3 document ([`model`]), the `/v1/metadata` API over it ([`ops`]), and
//! its consistency with the database ([`consistency`]).

pub mod args;
pub mod consistency;
pub mod model;
pub mod names;
pub mod ops;
