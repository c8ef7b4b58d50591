//! A per-backend cache of compiled requests. Compiling is a pure function of the schema, the
//! query text, the operation name, the variables, the session and the response options, so a
//! repeated request (the common case: the same query, the same user) skips parsing, validation
//! and SQL generation. The holder drops the cache whenever the schema changes.

use std::collections::HashMap;

use serde_json::Value;

use super::{compile, Compiled, Limits, Session};
use crate::error::GqlError;
use crate::schema::model::Schema;

/// Queries longer than this are compiled every time rather than kept.
const MAX_CACHED_QUERY: usize = 16 * 1024;

pub struct CompileCache {
    entries: HashMap<String, Compiled>,
    capacity: usize,
}

impl CompileCache {
    pub fn new(capacity: usize) -> Self {
        CompileCache { entries: HashMap::new(), capacity }
    }

    /// `compile` through the cache. `schema_key` names the schema (role and options) the
    /// request is compiled against. Errors are not cached.
    pub fn compile(
        &mut self,
        schema_key: &str,
        schema: &Schema,
        query: &str,
        variables: Option<&Value>,
        operation_name: Option<&str>,
        session: &Session,
        limits: &Limits,
    ) -> Result<Compiled, GqlError> {
        if query.len() > MAX_CACHED_QUERY || self.capacity == 0 {
            return compile(schema, query, variables, operation_name, session, limits);
        }
        let key = format!(
            "{schema_key}\u{1}{}\u{1}{}\u{1}{}\u{1}{}\u{1}{}\u{1}{query}",
            operation_name.unwrap_or(""),
            session.stringify_numeric,
            limits.max_depth,
            variables.map(|v| v.to_string()).unwrap_or_default(),
            if session.variables.is_empty() { String::new() } else { session.to_json().to_string() },
        );
        if let Some(c) = self.entries.get(&key) {
            return Ok(c.clone());
        }
        let compiled = compile(schema, query, variables, operation_name, session, limits)?;
        if self.entries.len() >= self.capacity {
            // Simple and bounded: start over rather than track recency on every hit.
            self.entries.clear();
        }
        self.entries.insert(key, compiled.clone());
        Ok(compiled)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::build::{build_schema, tests::fixture};

    #[test]
    fn hits_only_for_identical_inputs() {
        let (md, db) = fixture();
        let s = build_schema(&md, &db, "admin").0;
        let mut c = CompileCache::new(8);
        let q = "query ($id: Int!) { author_by_pk(id: $id) { name } }";
        let a = c.compile("admin", &s, q, Some(&serde_json::json!({"id": 1})), None, &Session::admin(), &Limits::default()).unwrap();
        let b = c.compile("admin", &s, q, Some(&serde_json::json!({"id": 2})), None, &Session::admin(), &Limits::default()).unwrap();
        assert_ne!(a, b, "different variables, different parameters");
        assert_eq!(c.len(), 2);
        let again = c.compile("admin", &s, q, Some(&serde_json::json!({"id": 1})), None, &Session::admin(), &Limits::default()).unwrap();
        assert_eq!(a, again);
        assert_eq!(c.len(), 2);
        assert!(c.compile("admin", &s, "{ nope }", None, None, &Session::admin(), &Limits::default()).is_err());
        assert_eq!(c.len(), 2, "errors are not kept");
    }
}
