//! A per-backend cache of compiled requests. Compiling is a pure function of the schema, the
//! query text, the operation name, the variables, the session and the response options, so a
//! repeated request skips parsing, validation and SQL generation. Requests that differ only in
//! their variables' values share one entry through a [`Template`] (see `template`): the
//! common case of one query sent with many ids costs one compile, not one per id. The
//! template knows which parameter carries which variable because the SQL generator recorded
//! it; it is looked up by the request's shape (`shape::signature`), everything else about the
//! variables that may change the SQL. Shapes that have no template (the compile looked into
//! a variable's value) are kept by their exact variables. The key holds the session, so
//! session values are fixed per entry. The holder drops the cache whenever the schema
//! changes.

use std::collections::HashMap;

use serde_json::Value;

use super::shape;
use super::template::{self, Template};
use super::validate::{coerce_variables, VarDef};
use super::{compile, Compiled, Limits, Session};
use crate::error::GqlError;
use crate::schema::model::Schema;

/// Queries longer than this are compiled every time rather than kept.
const MAX_CACHED_QUERY: usize = 16 * 1024;

pub struct CompileCache {
    /// By schema, query text, operation, session and response options.
    entries: HashMap<String, Entry>,
    /// Compiled requests kept, over all entries.
    size: usize,
    capacity: usize,
}

struct Entry {
    defs: Vec<VarDef>,
    /// By [`shape::signature`]; `None`: this shape has no template.
    shapes: HashMap<String, Option<Template>>,
    /// Requests of shapes without a template, by their variables' JSON.
    exact: HashMap<String, Compiled>,
}

impl CompileCache {
    pub fn new(capacity: usize) -> Self {
        CompileCache { entries: HashMap::new(), size: 0, capacity }
    }

    /// `compile` through the cache. `schema_key` names the schema (role and options) the
    /// request is compiled against. Errors are not cached.
    #[allow(clippy::too_many_arguments)]
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
        self.compile_inner(schema_key, schema, query, variables, operation_name, session, limits, false).map(|(c, _)| c)
    }

    /// [`Self::compile`], and the template of the request's shape (`None`: it has none), as
    /// `template::compile` gives it: what a multiplexed live query is planned from.
    #[allow(clippy::too_many_arguments)]
    pub fn compile_with_template(
        &mut self,
        schema_key: &str,
        schema: &Schema,
        query: &str,
        variables: Option<&Value>,
        operation_name: Option<&str>,
        session: &Session,
        limits: &Limits,
    ) -> Result<(Compiled, Option<Template>), GqlError> {
        self.compile_inner(schema_key, schema, query, variables, operation_name, session, limits, true)
    }

    /// `want_template`: also answer the template (a clone; plain compiles skip the copy).
    #[allow(clippy::too_many_arguments)]
    fn compile_inner(
        &mut self,
        schema_key: &str,
        schema: &Schema,
        query: &str,
        variables: Option<&Value>,
        operation_name: Option<&str>,
        session: &Session,
        limits: &Limits,
        want_template: bool,
    ) -> Result<(Compiled, Option<Template>), GqlError> {
        super::check_variables_depth(variables)?;
        if query.len() > MAX_CACHED_QUERY || self.capacity == 0 {
            if want_template {
                let (compiled, _, template) = template::compile(schema, query, variables, operation_name, session, limits)?;
                return Ok((compiled, template));
            }
            return compile(schema, query, variables, operation_name, session, limits).map(|c| (c, None));
        }
        let key = format!(
            "{schema_key}\u{1}{}\u{1}{}\u{1}{}/{}\u{1}{}\u{1}{query}",
            operation_name.unwrap_or(""),
            session.stringify_numeric,
            limits.max_depth,
            limits.node_limit,
            if session.variables.is_empty() { String::new() } else { session.to_json().to_string() },
        );
        let exact_key = || variables.map(|v| v.to_string()).unwrap_or_default();
        let mut sig = None;
        if let Some(e) = self.entries.get(&key) {
            let shape = sig.insert(shape::signature(schema, &e.defs, variables));
            match e.shapes.get(shape.as_str()) {
                Some(Some(t)) => {
                    // The new values get the checks (and errors) a full compile gives them.
                    let values = coerce_variables(schema, &e.defs, variables)?;
                    if let Some(c) = t.fill(&values) {
                        return Ok((c, want_template.then(|| t.clone())));
                    }
                }
                Some(None) => {
                    if let Some(c) = e.exact.get(&exact_key()) {
                        return Ok((c.clone(), None));
                    }
                }
                None => {}
            }
        }
        let (compiled, defs, template) = template::compile(schema, query, variables, operation_name, session, limits)?;
        if self.size >= self.capacity {
            // Simple and bounded: start over rather than track recency on every hit.
            self.entries.clear();
            self.size = 0;
        }
        let e = self.entries.entry(key).or_insert_with(|| Entry { defs, shapes: HashMap::new(), exact: HashMap::new() });
        let sig = sig.unwrap_or_else(|| shape::signature(schema, &e.defs, variables));
        if template.is_none() {
            e.exact.insert(exact_key(), compiled.clone());
        }
        let answered = if want_template { template.clone() } else { None };
        e.shapes.insert(sig, template);
        self.size += 1;
        Ok((compiled, answered))
    }

    /// Compiled requests kept.
    pub fn len(&self) -> usize {
        self.size
    }

    pub fn is_empty(&self) -> bool {
        self.size == 0
    }

    /// Whether a shape kept for `query` has a template (for tests).
    #[cfg(test)]
    pub(super) fn templated(&self, query: &str) -> Option<bool> {
        let e = self.entries.iter().find(|(k, _)| k.ends_with(query))?.1;
        Some(e.shapes.values().any(Option::is_some))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::schema::build::{build_schema, tests::fixture};

    /// Every request answered through the cache must equal a fresh compile: same SQL, same
    /// parameters, same errors.
    fn same_as_fresh(c: &mut CompileCache, s: &Schema, session: &Session, q: &str, values: &[Value]) {
        for v in values {
            let vars = (!v.is_null()).then_some(v);
            let fresh = compile(s, q, vars, None, session, &Limits::default());
            // Twice: the first may fill the cache, the second must come from it.
            for _ in 0..2 {
                let cached = c.compile("admin", s, q, vars, None, session, &Limits::default());
                assert_eq!(cached, fresh, "{q} with {v}");
            }
        }
    }

    #[test]
    fn templates_answer_like_fresh_compiles() {
        let (md, db) = fixture();
        let s = build_schema(&md, &db, "admin").0;
        let admin = Session::admin();
        let mut c = CompileCache::new(1000);
        let cases: Vec<(&str, Vec<Value>)> = vec![
            ("query ($id: Int!) { author_by_pk(id: $id) { name } }",
             vec![json!({"id": 1}), json!({"id": 2}), json!({"id": 2147483647}), json!({"id": "x"}), json!({"id": 3000000000u64}), json!({"id": null}), json!({}), json!({"id": 1.5})]),
            ("query ($t: String, $r: numeric) { article(where: {title: {_like: $t}, rating: {_gte: $r}}) { id } }",
             vec![json!({"t": "a%", "r": 4.5}), json!({"t": "b", "r": 3}), json!({"t": null, "r": "2.5"}), json!({}), json!({"t": "it's \"quoted\"", "r": "nan"}), json!({"r": [1]})]),
            ("query ($ids: [Int!]) { article(where: {id: {_in: $ids}}) { id } }",
             vec![json!({"ids": [1, 2]}), json!({"ids": [3, 4]}), json!({"ids": [5]}), json!({"ids": []}), json!({"ids": 7}), json!({"ids": 8}), json!({"ids": [1, null]})]),
            ("query ($lim: Int, $off: Int) { article(limit: $lim, offset: $off) { id } }",
             vec![json!({"lim": 1}), json!({"lim": 2, "off": 5}), json!({"lim": -1}), json!({"lim": 1})]),
            ("query ($o: order_by) { article(order_by: {id: $o}) { id } }",
             vec![json!({"o": "asc"}), json!({"o": "desc"}), json!({"o": "sideways"})]),
            ("query ($w: article_bool_exp) { article(where: $w) { id } }",
             vec![json!({"w": {"id": {"_eq": 1}}}), json!({"w": {"id": {"_eq": 2}}}), json!({"w": {"title": {"_eq": "x"}}}),
                  json!({"w": {"_or": [{"id": {"_eq": 1}}, {"id": {"_eq": 5}}]}}), json!({"w": {"_or": [{"id": {"_eq": 3}}, {"id": {"_eq": 4}}]}}),
                  json!({"w": {"author": {"name": {"_ilike": "%a%"}}}}), json!({"w": {"nope": {"_eq": 1}}})]),
            ("query ($m: jsonb) { author(where: {meta: {_contains: $m}}) { id } }",
             vec![json!({"m": {"a": 1}}), json!({"m": {"b": [1]}}), json!({"m": "str"}), json!({"m": "other"}), json!({"m": 5}), json!({"m": [1, 2]})]),
            ("query ($tags: [String!]) { author(where: {tags: {_contains: $tags}}) { id } }",
             vec![json!({"tags": ["a", "b"]}), json!({"tags": ["c", "d\"e"]}), json!({"tags": "single"})]),
            ("query ($flag: Boolean!) { author { id name @include(if: $flag) } }",
             vec![json!({"flag": true}), json!({"flag": false}), json!({"flag": true})]),
            ("query ($t: timestamptz) { article(where: {created_at: {_gt: $t}}) { id } }",
             vec![json!({"t": "2020-01-01"}), json!({"t": "not a date"}), json!({"t": 5})]),
            ("query ($x: Int) { a: author(where: {id: {_eq: $x}}) { id } b: article(where: {author_id: {_eq: $x}}) { id } }",
             vec![json!({"x": 1}), json!({"x": 2})]),
            ("query ($x: Int = 5) { author(where: {id: {_eq: $x}}) { id } }",
             vec![json!({}), json!({"x": 6}), json!({"x": 7}), json!({"x": null})]),
            ("query ($r: numeric) { article_aggregate(where: {rating: {_gt: $r}}) { aggregate { count max { rating } } nodes { id } } }",
             vec![json!({"r": 1}), json!({"r": 2.25}), json!({"r": "3"})]),
            ("query ($n: String!) { author(where: {name: {_eq: $n}}) { articles(where: {title: {_neq: $n}}) { title } } }",
             vec![json!({"n": "a"}), json!({"n": "b"})]),
            ("query ($name: String!) { __type(name: $name) { name } }",
             vec![json!({"name": "author"}), json!({"name": "article"})]),
            ("mutation ($name: String!, $meta: jsonb) { insert_author_one(object: {name: $name, meta: $meta}) { id name } }",
             vec![json!({"name": "a", "meta": {"k": 1}}), json!({"name": "b", "meta": [1]}), json!({"name": "c"}), json!({"name": "d", "meta": null})]),
            ("mutation ($n: String!) { insert_author_one(object: {name: $n}) { id articles { title } } }",
             vec![json!({"n": "a"}), json!({"n": "b"})]),
            ("mutation ($objs: [author_insert_input!]!) { insert_author(objects: $objs) { affected_rows returning { id } } }",
             vec![json!({"objs": [{"name": "a"}, {"name": "b"}]}), json!({"objs": [{"name": "c"}, {"name": "d"}]}), json!({"objs": [{"name": "e", "id": 3}]})]),
            ("mutation ($id: Int!, $n: String, $i: Int) { update_author_by_pk(pk_columns: {id: $id}, _set: {name: $n}) { id } update_article(where: {id: {_eq: $id}}, _inc: {author_id: $i}) { affected_rows } }",
             vec![json!({"id": 1, "n": "x", "i": 1}), json!({"id": 2, "n": "y", "i": 2}), json!({"id": 3, "n": null, "i": 3})]),
        ];
        for (q, values) in &cases {
            same_as_fresh(&mut c, &s, &admin, q, values);
        }
        // Values that only become parameters share a template; a limit or an introspected
        // type name changes the answer itself, so those shapes are kept by value.
        for (i, (q, _)) in cases.iter().enumerate() {
            let expected = !matches!(i, 3 | 14);
            assert_eq!(c.templated(q), Some(expected), "{q}");
        }
        // A session's variables are part of the key, not of the template.
        let user = Session::from_json(Some(&json!({"x-hasura-role": "admin", "x-hasura-user-id": "42"}))).unwrap();
        same_as_fresh(&mut c, &s, &user, "query ($id: Int!) { author_by_pk(id: $id) { name } }", &[json!({"id": 1}), json!({"id": 9})]);
    }

    /// Issue 11 item 3: the old template was derived by diffing a compile with "probe" values,
    /// and a real value equal to a probe was taken for a constant. Values equal to the old
    /// probes, to each other, and to literals of the query must each get their own answer.
    #[test]
    fn values_equal_to_old_probes_get_their_own_answer() {
        let (md, db) = fixture();
        let s = build_schema(&md, &db, "admin").0;
        let admin = Session::admin();
        let mut c = CompileCache::new(1000);
        let q = "query ($id: Int!) { author_by_pk(id: $id) { id name } }";
        let ids = [1000000001, 1, 2, 1000000002, 1000000001];
        for id in ids {
            let cached = c.compile("admin", &s, q, Some(&json!({ "id": id })), None, &admin, &Limits::default()).unwrap();
            let Compiled::Sql(sql) = &cached else { panic!("{cached:?}") };
            assert_eq!(sql.params, vec![Some(id.to_string())], "the answer for id {id}");
        }
        assert_eq!(c.templated(q), Some(true));
        assert_eq!(c.len(), 1, "one template serves them all");
        let cases: Vec<(&str, Vec<Value>)> = vec![
            (q, ids.iter().map(|id| json!({ "id": id })).collect()),
            ("query ($r: numeric!) { article(where: {rating: {_eq: $r}}) { id } }",
             vec![json!({"r": "9000000000001"}), json!({"r": "1"}), json!({"r": "9000000000002.5"}), json!({"r": 1000000001}), json!({"r": "9000000000001"})]),
            ("query ($t: String!) { article(where: {title: {_eq: $t}}) { id } }",
             vec![json!({"t": "~graft~probe~1~"}), json!({"t": "x"}), json!({"t": "a~graft~probe~2~b"}), json!({"t": ""})]),
            ("query ($m: jsonb!) { author(where: {meta: {_contains: $m}}) { id } }",
             vec![json!({"m": ["~graft~probe~1~"]}), json!({"m": {"~graft~probe~1~": 0}}), json!({"m": [1]}), json!({"m": {"a": 1}})]),
            // Two variables with equal values, then different ones.
            ("query ($a: Int!, $b: Int!) { author(where: {id: {_gte: $a}, _or: [{id: {_lte: $b}}]}) { id } }",
             vec![json!({"a": 1, "b": 1}), json!({"a": 1, "b": 2}), json!({"a": 3, "b": 1})]),
            // A value equal to a literal of the query.
            ("query ($x: Int!) { author(where: {id: {_eq: 5}, _not: {id: {_eq: $x}}}) { id } }",
             vec![json!({"x": 5}), json!({"x": 6}), json!({"x": 5})]),
            // Variables inside a list literal: computed, so kept by value.
            ("query ($a: Int!, $b: Int!) { author(where: {id: {_in: [$a, $b]}}) { id } }",
             vec![json!({"a": 1, "b": 2}), json!({"a": 2, "b": 2}), json!({"a": 1, "b": 2})]),
            // The same field twice: whether the two may merge depends on the values.
            ("query ($a: Int!, $b: Int!) { x: author_by_pk(id: $a) { id } x: author_by_pk(id: $b) { name } }",
             vec![json!({"a": 1, "b": 1}), json!({"a": 1, "b": 2}), json!({"a": 2, "b": 2})]),
        ];
        for (q, values) in &cases {
            same_as_fresh(&mut c, &s, &admin, q, values);
        }
        for (i, (q, _)) in cases.iter().enumerate() {
            assert_eq!(c.templated(q), Some(i < 6), "{q}");
        }
    }

    /// Issue 13 item 9's coercions through the cache: an offset given as a string (converted,
    /// so read), an `Int` column value given as a string (bound as it is, guarded by its shape),
    /// a nullable variable with a default at a non-null location.
    #[test]
    fn string_integers_and_defaults_answer_like_fresh_compiles() {
        let (md, db) = fixture();
        let s = build_schema(&md, &db, "admin").0;
        let admin = Session::admin();
        let mut c = CompileCache::new(1000);
        let cases: Vec<(&str, Vec<Value>)> = vec![
            ("query ($o: Int) { article(offset: $o) { id } }",
             vec![json!({"o": "1"}), json!({"o": "2"}), json!({"o": 1}), json!({"o": "-1"}), json!({"o": "x"}), json!({"o": "2"})]),
            ("query ($id: Int!) { author_by_pk(id: $id) { id } }",
             vec![json!({"id": "1"}), json!({"id": "2"}), json!({"id": 3}), json!({"id": "1"}), json!({"id": 1.5})]),
            ("query ($ids: [Int!]!) { author(where: {id: {_in: $ids}}) { id } }",
             vec![json!({"ids": ["1", 2]}), json!({"ids": ["3", 4]}), json!({"ids": [5, 6]}), json!({"ids": [5, "6"]})]),
            ("query ($id: Int = 4) { author_by_pk(id: $id) { id } }",
             vec![json!({}), json!({"id": 5}), json!({"id": "6"}), json!({"id": null}), json!({})]),
            ("query ($l: Int) { article(limit: $l) { id } }", vec![json!({"l": "2"}), json!({"l": 2}), json!({"l": "2"})]),
        ];
        for (q, values) in &cases {
            same_as_fresh(&mut c, &s, &admin, q, values);
        }
        assert_eq!(c.templated(cases[0].0), Some(false), "an offset is SQL text");
        assert_eq!(c.templated(cases[1].0), Some(true), "a value is a parameter, strings or not");
    }

    /// What a live query is planned from: the template comes with the compile, on a miss and
    /// on a hit alike, and plans the same multiplexed statement a fresh compile's does.
    #[test]
    fn templates_come_with_cached_compiles() {
        let (md, db) = fixture();
        let s = build_schema(&md, &db, "admin").0;
        let admin = Session::admin();
        let mut c = CompileCache::new(100);
        let q = "subscription ($id: Int!) { author_by_pk(id: $id) { name } }";
        for id in [1, 2, 2] {
            let vars = json!({ "id": id });
            let (compiled, t) = c.compile_with_template("admin", &s, q, Some(&vars), None, &admin, &Limits::default()).unwrap();
            let (fresh, _, fresh_t) = template::compile(&s, q, Some(&vars), None, &admin, &Limits::default()).unwrap();
            assert_eq!(compiled, fresh);
            let (t, fresh_t) = (t.expect("a template"), fresh_t.expect("a template"));
            assert_eq!(t.sources(), fresh_t.sources());
            let m = crate::subscription::plan(&compiled, Some(&t)).unwrap();
            assert_eq!(m.sql(), crate::subscription::plan(&fresh, Some(&fresh_t)).unwrap().sql());
        }
        // Kept by value: no template, on a hit too.
        let q = "subscription ($l: Int) { author(limit: $l) { name } }";
        for _ in 0..2 {
            let (_, t) = c.compile_with_template("admin", &s, q, Some(&json!({"l": 1})), None, &admin, &Limits::default()).unwrap();
            assert!(t.is_none());
        }
        assert_eq!(crate::request::operation_kind(q, None, &Limits::default()), Ok(crate::request::OperationKind::Subscription));
        assert!(crate::request::operation_kind("{", None, &Limits::default()).is_err());
    }

    #[test]
    fn one_compile_serves_every_value_of_a_shape() {
        let (md, db) = fixture();
        let s = build_schema(&md, &db, "admin").0;
        let mut c = CompileCache::new(8);
        let q = "query ($id: Int!) { author_by_pk(id: $id) { name } }";
        for id in 1..100 {
            c.compile("admin", &s, q, Some(&json!({"id": id})), None, &Session::admin(), &Limits::default()).unwrap();
        }
        assert_eq!(c.len(), 1, "one template for every id");
        // A value that changes the SQL (a limit) has no template: one entry per value.
        let q = "query ($l: Int) { author(limit: $l) { name } }";
        for l in 1..4 {
            c.compile("admin", &s, q, Some(&json!({"l": l})), None, &Session::admin(), &Limits::default()).unwrap();
        }
        assert_eq!(c.len(), 4);
        assert!(c.compile("admin", &s, "{ nope }", None, None, &Session::admin(), &Limits::default()).is_err());
        assert_eq!(c.len(), 4, "errors are not kept");
        // Full: start over.
        for l in 4..10 {
            c.compile("admin", &s, q, Some(&json!({"l": l})), None, &Session::admin(), &Limits::default()).unwrap();
        }
        assert!(c.len() <= 8);
    }
}
