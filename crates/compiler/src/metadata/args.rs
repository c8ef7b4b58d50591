//! Reading a request's `args` with Hasura's (aeson's) parse errors: `key "table" not found`,
//! `parsing Text failed, expected String, but encountered Number`, code `parse-failed`, and the
//! JSON path of the offending value.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::dbcatalog::QualifiedName;
use crate::error::MetadataError;
use crate::metadata::model::DEFAULT_SOURCE;

pub fn parse_failed(path: impl Into<String>, msg: impl Into<String>) -> MetadataError {
    MetadataError::new("parse-failed", path, msg)
}

/// aeson's name for a JSON value's kind.
pub fn kind_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "Null",
        Value::Bool(_) => "Boolean",
        Value::Number(_) => "Number",
        Value::String(_) => "String",
        Value::Array(_) => "Array",
        Value::Object(_) => "Object",
    }
}

/// aeson's type mismatch message: `parsing Int failed, expected Number, but encountered String`.
pub fn mismatch_message(what: &str, expected: &str, got: &Value) -> String {
    format!("parsing {what} failed, expected {expected}, but encountered {}", kind_name(got))
}

pub fn expected(path: &str, what: &str, expected: &str, got: &Value) -> MetadataError {
    parse_failed(path, mismatch_message(what, expected, got))
}

/// A table or function name: `"author"` or `{"schema": "public", "name": "author"}`.
pub fn qualified(v: &Value, path: &str) -> Result<QualifiedName, MetadataError> {
    match v {
        Value::String(s) => Ok(QualifiedName::new("public", s.clone())),
        Value::Object(o) => {
            let name = match o.get("name") {
                Some(Value::String(s)) => s.clone(),
                Some(other) => return Err(expected(&format!("{path}.name"), "Text", "String", other)),
                None => return Err(parse_failed(path, "key \"name\" not found")),
            };
            let schema = match o.get("schema") {
                Some(Value::String(s)) => s.clone(),
                None | Some(Value::Null) => "public".into(),
                Some(other) => return Err(expected(&format!("{path}.schema"), "Text", "String", other)),
            };
            Ok(QualifiedName::new(schema, name))
        }
        _ => Err(parse_failed(path, "expecting a string/object for QualifiedObject")),
    }
}

/// The `args` object of a request, with its JSON path for errors.
pub struct Args<'a> {
    pub obj: &'a Map<String, Value>,
    pub path: String,
}

impl<'a> Args<'a> {
    pub fn new(v: &'a Value, path: &str) -> Result<Args<'a>, MetadataError> {
        match v {
            Value::Object(obj) => Ok(Args { obj, path: path.to_string() }),
            other => Err(expected(path, "args", "Object", other)),
        }
    }

    pub fn path_of(&self, key: &str) -> String {
        format!("{}.{key}", self.path)
    }

    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.obj.get(key).filter(|v| !v.is_null())
    }

    pub fn has(&self, key: &str) -> bool {
        self.obj.contains_key(key)
    }

    pub fn req(&self, key: &str) -> Result<&'a Value, MetadataError> {
        self.get(key).ok_or_else(|| parse_failed(&self.path, format!("key {key:?} not found")))
    }

    pub fn str(&self, key: &str) -> Result<String, MetadataError> {
        match self.req(key)? {
            Value::String(s) => Ok(s.clone()),
            other => Err(expected(&self.path_of(key), "Text", "String", other)),
        }
    }

    pub fn opt_str(&self, key: &str) -> Result<Option<String>, MetadataError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(expected(&self.path_of(key), "Text", "String", other)),
        }
    }

    pub fn bool_or(&self, key: &str, default: bool) -> Result<bool, MetadataError> {
        match self.get(key) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(other) => Err(expected(&self.path_of(key), "Bool", "Boolean", other)),
        }
    }

    /// `source`, defaulting to `"default"`.
    pub fn source(&self) -> Result<String, MetadataError> {
        Ok(self.opt_str("source")?.unwrap_or_else(|| DEFAULT_SOURCE.to_string()))
    }

    pub fn qualified(&self, key: &str) -> Result<QualifiedName, MetadataError> {
        qualified(self.req(key)?, &self.path_of(key))
    }

    /// The legacy `{schema, name}` form (or `{table}`), as `track_table` v1 accepts.
    pub fn table_or_self(&self, key: &str) -> Result<QualifiedName, MetadataError> {
        if self.has(key) {
            self.qualified(key)
        } else {
            qualified(&Value::Object(self.obj.clone()), &self.path)
        }
    }
}

pub fn from_value<T: DeserializeOwned>(v: &Value, path: &str) -> Result<T, MetadataError> {
    serde_json::from_value(v.clone()).map_err(|e| parse_failed(path, e.to_string()))
}
