//! Answers `__schema` and `__type` from a [`Schema`](crate::schema::model::Schema).
//! (Placeholder on main until the introspection branch lands.)
use indexmap::IndexMap;
use serde_json::Value;

use crate::error::GqlError;
use crate::request::SelField;
use crate::schema::model::{Field, Schema, TypeDef};

pub fn add_introspection_types(_types: &mut IndexMap<String, TypeDef>) {}
pub fn root_fields() -> Vec<Field> {
    vec![]
}
pub fn resolve(_schema: &Schema, _field: &SelField) -> Result<Value, GqlError> {
    Ok(Value::Null)
}
