//! Property test of the compile cache: every answer it serves equals a fresh, uncached
//! compile (same SQL, parameters and errors), over random requests on the test fixture and
//! random variable values: values equal to each other, to literals of the query, to
//! constants of the SQL, to the old probe values, and to earlier values.
//!
//! The requests are built from a list of random choices (shrinking shortens and lowers the
//! list, so a failure shrinks to a small request). 600 cases with a fixed seed run by default
//! (a few seconds of an unoptimized build);
//! `PROPTEST_CASES=50000 cargo test -p graft-compiler cache_prop` runs more (and
//! `GRAFT_PROP_SEED=<n>` another seed).

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::{json, Map, Value};

use super::cache::CompileCache;
use super::{compile, Limits, Session};
use crate::schema::build::{build_schema, tests::fixture};
use crate::schema::model::Schema;

/// Random choices, read in order; past the end every choice is the first option.
struct Gen<'a> {
    choices: &'a [u32],
    pos: usize,
    /// Variables: name, declared type, value per request (`None`: not given).
    vars: Vec<(String, String, Vec<Option<Value>>)>,
    requests: usize,
    /// Literals written into the query, by type.
    literals: Vec<(String, Value)>,
}

/// A value to write somewhere: a leaf of a scalar (or list) type, or a structure.
enum Node {
    Leaf(&'static str),
    List(Vec<Node>),
    Obj(Vec<(String, Node)>),
}

fn obj(fields: Vec<(&str, Node)>) -> Node {
    Node::Obj(fields.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

fn pool(ty: &str) -> Vec<Value> {
    match ty {
        "Int" => vec![json!(0), json!(1), json!(2), json!(5), json!(10), json!(1000000001), json!(1000000002), json!(-3), json!(2147483647)],
        "String" => vec![
            json!(""),
            json!("a"),
            json!("b"),
            json!("%a%"),
            json!("~graft~probe~1~"),
            json!("x~graft~probe~2~y"),
            json!("9000000000001"),
            json!("1"),
            json!("{}"),
            json!("[]"),
            json!("it's \"q\"\\"),
            json!("true"),
            json!("$1"),
            json!("asc"),
            json!("$.a[0]"),
        ],
        "numeric" => vec![json!(1), json!(2.5), json!("3"), json!("9000000000001"), json!("9000000000001.5"), json!(1000000001), json!("nan"), json!(0)],
        "timestamptz" => vec![json!("2020-01-01"), json!("not a date"), json!("1000000001")],
        "Boolean" => vec![json!(true), json!(false)],
        "jsonb" => vec![
            json!({"a": 1}),
            json!([1, 2]),
            json!("str"),
            json!(5),
            json!({"~graft~probe~1~": 0}),
            json!(["~graft~probe~1~"]),
            json!(true),
            json!({"a": {"b": [1]}}),
            json!("1"),
        ],
        "order_by" => vec![json!("asc"), json!("desc"), json!("asc_nulls_first"), json!("desc_nulls_last")],
        _ => vec![json!(null)],
    }
}

/// GraphQL literal text of `v` as a value of `ty`.
fn literal(v: &Value, ty: &str) -> String {
    match v {
        Value::String(s) if ty == "order_by" => s.clone(),
        Value::Array(items) => format!("[{}]", items.iter().map(|i| literal(i, ty.trim_start_matches('[').trim_end_matches(['!', ']']))).collect::<Vec<_>>().join(", ")),
        // GraphQL object keys must be names; only `jsonb` literals have objects, and their
        // pool keys that are not names are skipped (see `value_for_literal`).
        Value::Object(m) => format!("{{{}}}", m.iter().map(|(k, v)| format!("{k}: {}", literal(v, ty))).collect::<Vec<_>>().join(", ")),
        other => other.to_string(),
    }
}

impl Gen<'_> {
    fn pick(&mut self, n: usize) -> usize {
        let c = self.choices.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        c as usize % n.max(1)
    }

    fn chance(&mut self, in_ten: usize) -> bool {
        self.pick(10) < in_ten
    }

    fn elem(ty: &str) -> Option<&str> {
        ty.strip_prefix('[').map(|t| t.trim_end_matches(['!', ']']))
    }

    /// A random value of `ty`.
    fn value(&mut self, ty: &str) -> Value {
        if let Some(elem) = Self::elem(ty) {
            if self.chance(1) {
                return self.value(elem); // a single value where a list is expected
            }
            let n = self.pick(4);
            return Value::Array((0..n).map(|_| self.value(elem)).collect());
        }
        let same_type: Vec<Value> = self.literals.iter().filter(|(t, _)| t == ty).map(|(_, v)| v.clone()).collect();
        if !same_type.is_empty() && self.chance(2) {
            let i = self.pick(same_type.len());
            return same_type[i].clone();
        }
        let p = pool(ty);
        let i = self.pick(p.len());
        p[i].clone()
    }

    fn literal_value(&mut self, ty: &str) -> Value {
        let v = self.value(ty);
        let name_keys = |m: &Map<String, Value>| m.keys().all(|k| k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
        match &v {
            Value::Object(m) if !name_keys(m) => json!({"a": 1}),
            _ => v,
        }
    }

    /// A new variable of `ty` (GraphQL type text), with a value per request.
    fn variable(&mut self, ty: &str, values: impl Fn(&mut Self, usize) -> Option<Value>) -> String {
        // Sometimes reuse a variable of this type.
        let same: Vec<String> = self.vars.iter().filter(|(_, t, _)| t.trim_end_matches('!') == ty).map(|(n, _, _)| n.clone()).collect();
        if !same.is_empty() && self.chance(2) {
            let i = self.pick(same.len());
            return format!("${}", same[i]);
        }
        let name = format!("v{}", self.vars.len());
        let declared = if self.chance(7) { format!("{ty}!") } else { ty.to_string() };
        let mut vals: Vec<Option<Value>> = vec![];
        for r in 0..self.requests {
            let v = match self.pick(10) {
                // The value of the previous request.
                0 | 1 if r > 0 => vals[r - 1].clone(),
                // Equal to another variable's value in this request (mostly one of its type).
                2 | 5 if !self.vars.is_empty() => {
                    let same: Vec<usize> = (0..self.vars.len()).filter(|&i| self.vars[i].1.trim_end_matches('!') == ty).collect();
                    let i = if same.is_empty() || self.chance(2) { self.pick(self.vars.len()) } else { same[self.pick(same.len())] };
                    self.vars[i].2.get(r).cloned().flatten()
                }
                3 if self.chance(3) => None,
                4 if self.chance(2) => Some(Value::Null),
                _ => values(self, r),
            };
            vals.push(v);
        }
        self.vars.push((name.clone(), declared, vals));
        format!("${name}")
    }

    /// Text of a value of `ty`: a literal or a variable.
    fn hole(&mut self, ty: &'static str) -> String {
        if self.chance(6) {
            return self.variable(ty, |g, _| Some(g.value(ty)));
        }
        let v = self.literal_value(ty);
        self.literals.push((ty.to_string(), v.clone()));
        literal(&v, ty)
    }

    fn render(&mut self, n: &Node) -> String {
        match n {
            Node::Leaf(ty) => self.hole(ty),
            Node::List(items) => format!("[{}]", items.iter().map(|i| self.render(i)).collect::<Vec<_>>().join(", ")),
            Node::Obj(fields) => format!("{{{}}}", fields.iter().map(|(k, v)| format!("{k}: {}", self.render(v))).collect::<Vec<_>>().join(", ")),
        }
    }

    /// JSON of a node, for a variable holding the whole structure.
    fn json(&mut self, n: &Node) -> Value {
        match n {
            Node::Leaf(ty) => self.value(ty),
            Node::List(items) => Value::Array(items.iter().map(|i| self.json(i)).collect()),
            Node::Obj(fields) => Value::Object(fields.iter().map(|(k, v)| (k.clone(), self.json(v))).collect()),
        }
    }

    /// A structure written as a literal, or as one variable of type `ty` (then each request
    /// gets its own values, sometimes its own structure).
    fn structure(&mut self, ty: &str, make: impl Fn(&mut Self) -> Node) -> String {
        let n = make(self);
        if self.chance(3) {
            let first = self.json(&n);
            return self.variable(ty, |g, r| {
                if r == 0 {
                    Some(first.clone())
                } else if g.chance(7) {
                    Some(g.json(&n))
                } else {
                    let other = make(g);
                    Some(g.json(&other))
                }
            });
        }
        self.render(&n)
    }

    /// Operators on a column of `ty`.
    fn comparison(&mut self, ty: &'static str) -> Node {
        let list: &'static str = match ty {
            "Int" => "[Int!]",
            "String" => "[String!]",
            "numeric" => "[numeric!]",
            "timestamptz" => "[timestamptz!]",
            "Boolean" => "[Boolean!]",
            _ => "[jsonb!]",
        };
        let mut ops: Vec<&str> = vec!["_eq", "_neq", "_in", "_nin", "_is_null"];
        match ty {
            "Int" | "numeric" | "timestamptz" => ops.extend(["_gt", "_lt", "_gte", "_lte"]),
            "String" => ops.extend(["_gt", "_like", "_nlike", "_ilike", "_similar", "_regex", "_iregex"]),
            "jsonb" => ops = vec!["_eq", "_contains", "_contained_in", "_has_key", "_has_keys_any", "_has_keys_all", "_is_null", "_cast", "_in"],
            _ => {}
        }
        let n = 1 + self.pick(2);
        let mut fields = vec![];
        for _ in 0..n {
            let op = ops[self.pick(ops.len())];
            if fields.iter().any(|(k, _): &(String, Node)| k == op) {
                continue;
            }
            let v = match op {
                "_in" | "_nin" if self.chance(5) => Node::List((0..self.pick(3)).map(|_| Node::Leaf(ty)).collect()),
                "_in" | "_nin" => Node::Leaf(list),
                "_is_null" => Node::Leaf("Boolean"),
                "_has_key" => Node::Leaf("String"),
                "_has_keys_any" | "_has_keys_all" => Node::Leaf("[String!]"),
                "_cast" => obj(vec![("String", self.comparison("String"))]),
                _ => Node::Leaf(ty),
            };
            fields.push((op.to_string(), v));
        }
        Node::Obj(fields)
    }

    fn bool_exp(&mut self, table: &str, depth: usize) -> Node {
        let cols: &[(&str, &'static str)] = if table == "author" {
            &[("id", "Int"), ("name", "String"), ("meta", "jsonb")]
        } else {
            &[("id", "Int"), ("author_id", "Int"), ("title", "String"), ("rating", "numeric"), ("published", "Boolean"), ("created_at", "timestamptz")]
        };
        let n = 1 + self.pick(2);
        let mut fields: Vec<(String, Node)> = vec![];
        for _ in 0..n {
            let k = if depth == 0 { 0 } else { self.pick(8) };
            let (key, node) = match k {
                1 => ("_and".to_string(), Node::List((0..self.pick(3)).map(|_| self.bool_exp(table, depth - 1)).collect())),
                2 => ("_or".to_string(), Node::List((0..self.pick(3)).map(|_| self.bool_exp(table, depth - 1)).collect())),
                3 => ("_not".to_string(), self.bool_exp(table, depth - 1)),
                4 if table == "author" => ("articles".to_string(), self.bool_exp("article", depth - 1)),
                4 => ("author".to_string(), self.bool_exp("author", depth - 1)),
                5 if table == "author" => {
                    let filter = self.bool_exp("article", depth - 1);
                    let pred = self.comparison("Int");
                    let mut count = vec![("predicate", pred)];
                    if self.chance(5) {
                        count.push(("filter", filter));
                    }
                    if self.chance(3) {
                        count.push(("distinct", Node::Leaf("Boolean")));
                    }
                    ("articles_aggregate".to_string(), obj(vec![("count", obj(count))]))
                }
                6 if table == "author" => ("tags".to_string(), obj(vec![(["_eq", "_contains", "_contained_in"][self.pick(3)], Node::Leaf("[String!]"))])),
                _ => {
                    let (c, ty) = cols[self.pick(cols.len())];
                    (c.to_string(), self.comparison(ty))
                }
            };
            if !fields.iter().any(|(k, _)| *k == key) {
                fields.push((key, node));
            }
        }
        Node::Obj(fields)
    }

    fn where_arg(&mut self, table: &str) -> String {
        let ty = format!("{table}_bool_exp");
        let table = table.to_string();
        self.structure(&ty, move |g| {
            let d = g.pick(3);
            g.bool_exp(&table, d)
        })
    }

    fn list_args(&mut self, table: &str) -> String {
        let mut args = vec![];
        if self.chance(7) {
            args.push(format!("where: {}", self.where_arg(table)));
        }
        if self.chance(3) {
            args.push(format!("limit: {}", self.hole("Int")));
        }
        if self.chance(2) {
            args.push(format!("offset: {}", self.hole("Int")));
        }
        if self.chance(3) {
            let col = if table == "author" { "name" } else { "title" };
            args.push(format!("order_by: {}", self.structure(&format!("[{table}_order_by!]"), |_| obj(vec![(col, Node::Leaf("order_by"))]))));
        }
        if args.is_empty() {
            String::new()
        } else {
            format!("({})", args.join(", "))
        }
    }

    fn directive(&mut self) -> String {
        if self.chance(2) {
            format!(" @include(if: {})", self.hole("Boolean"))
        } else {
            String::new()
        }
    }

    fn author_fields(&mut self, depth: usize) -> String {
        let mut f = vec!["id".to_string()];
        f.push(format!("name{}", self.directive()));
        if self.chance(3) {
            f.push("meta".into());
        }
        if self.chance(2) {
            f.push(format!("m2: meta(path: {})", self.hole("String")));
        }
        if depth > 0 && self.chance(5) {
            let args = self.list_args("article");
            f.push(format!("articles{args} {{ id title{} }}", self.directive()));
        }
        if depth > 0 && self.chance(3) {
            let args = self.list_args("article");
            f.push(format!("articles_aggregate{args} {{ aggregate {{ count max {{ rating }} }} }}"));
        }
        f.join(" ")
    }

    fn query_field(&mut self) -> String {
        match self.pick(6) {
            0 => format!("author_by_pk(id: {}) {{ {} }}", self.hole("Int"), self.author_fields(1)),
            1 => format!("article_by_pk(id: {}) {{ id title author {{ id name }} }}", self.hole("Int")),
            2 => {
                let args = self.list_args("article");
                let distinct = self.hole("Boolean");
                format!("article_aggregate{args} {{ aggregate {{ count(columns: [title], distinct: {distinct}) sum {{ rating }} }} nodes {{ id }} }}")
            }
            3 => {
                let args = self.list_args("article");
                format!("article{args} {{ id rating published author {{ name }} }}")
            }
            _ => {
                let args = self.list_args("author");
                format!("author{args} {{ {} }}", self.author_fields(1))
            }
        }
    }

    fn author_object(&mut self, nested: bool) -> Node {
        let mut f = vec![("name", Node::Leaf("String"))];
        if self.chance(4) {
            f.push(("meta", Node::Leaf("jsonb")));
        }
        if self.chance(3) {
            f.push(("tags", Node::Leaf("[String!]")));
        }
        if self.chance(2) {
            f.push(("id", Node::Leaf("Int")));
        }
        if nested && self.chance(3) {
            let n = self.pick(3);
            let items = (0..n).map(|_| obj(vec![("title", Node::Leaf("String")), ("published", Node::Leaf("Boolean"))])).collect();
            f.push(("articles", obj(vec![("data", Node::List(items))])));
        }
        obj(f)
    }

    fn set_ops(&mut self) -> Vec<(&'static str, Node)> {
        let mut ops = vec![("_set", obj(vec![("name", Node::Leaf("String"))]))];
        match self.pick(7) {
            0 => ops.push(("_inc", obj(vec![("id", Node::Leaf("Int"))]))),
            1 => ops.push(("_append", obj(vec![("meta", Node::Leaf("jsonb"))]))),
            2 => ops.push(("_prepend", obj(vec![("meta", Node::Leaf("jsonb"))]))),
            3 => ops.push(("_delete_key", obj(vec![("meta", Node::Leaf("String"))]))),
            4 => ops.push(("_delete_elem", obj(vec![("meta", Node::Leaf("Int"))]))),
            5 => ops.push(("_delete_at_path", obj(vec![("meta", Node::Leaf("[String!]"))]))),
            _ => {}
        }
        ops
    }

    fn mutation_field(&mut self) -> String {
        let ret = "affected_rows returning { id name }";
        match self.pick(7) {
            0 => {
                let objects = self.structure("[author_insert_input!]", |g| {
                    let n = 1 + g.pick(2);
                    let nested = g.chance(3);
                    Node::List((0..n).map(|_| g.author_object(nested)).collect())
                });
                let conflict = if self.chance(4) {
                    format!(", on_conflict: {{constraint: author_pkey, update_columns: [name], where: {}}}", self.where_arg("author"))
                } else {
                    String::new()
                };
                format!("insert_author(objects: {objects}{conflict}) {{ {ret} }}")
            }
            1 => {
                let object = self.structure("author_insert_input", |g| g.author_object(true));
                format!("insert_author_one(object: {object}) {{ {} }}", self.author_fields(1))
            }
            2 => {
                let w = self.where_arg("author");
                let ops = self.set_ops();
                let ops: Vec<String> = ops.iter().map(|(k, v)| format!("{k}: {}", self.render(v))).collect();
                format!("update_author(where: {w}, {}) {{ {ret} }}", ops.join(", "))
            }
            3 => {
                let id = self.hole("Int");
                let set = self.structure("author_set_input", |_| obj(vec![("name", Node::Leaf("String"))]));
                format!("update_author_by_pk(pk_columns: {{id: {id}}}, _set: {set}) {{ id name }}")
            }
            4 => {
                let updates = self.structure("[author_updates!]", |g| {
                    let n = 1 + g.pick(2);
                    Node::List(
                        (0..n)
                            .map(|_| {
                                let d = g.pick(2);
                                let mut f = vec![("where", g.bool_exp("author", d))];
                                f.extend(g.set_ops());
                                obj(f)
                            })
                            .collect(),
                    )
                });
                format!("update_author_many(updates: {updates}) {{ {ret} }}")
            }
            5 => format!("delete_author(where: {}) {{ {ret} }}", self.where_arg("author")),
            _ => format!("delete_author_by_pk(id: {}) {{ id }}", self.hole("Int")),
        }
    }

    /// A request and its variables per request.
    fn request(&mut self) -> (String, Vec<Value>) {
        let mutation = self.chance(4);
        let n = 1 + self.pick(2);
        let mut fields = vec![];
        for i in 0..n {
            let f = if mutation { self.mutation_field() } else { self.query_field() };
            fields.push(format!("f{i}: {f}"));
        }
        // Sometimes the same field twice under one name, merged when the arguments agree:
        // as is, or with its own arguments (then whether they agree may depend on values).
        if !mutation && self.chance(1) {
            fields.push(fields[0].clone());
        }
        if !mutation && self.chance(2) {
            let (a, b) = (self.hole("Int"), self.hole("Int"));
            let (c, d) = (self.hole("String"), self.hole("String"));
            fields.push(format!("d: author_by_pk(id: {a}) {{ id }} d: author_by_pk(id: {b}) {{ name }}"));
            fields.push(format!("e: author(where: {{name: {{_eq: {c}}}}}) {{ id }} e: author(where: {{name: {{_eq: {d}}}}}) {{ name }}"));
        }
        let defs: Vec<String> = self
            .vars
            .iter()
            .map(|(name, ty, _)| {
                // Sometimes a default, for a nullable variable.
                if !ty.ends_with('!') && ty == "Int" {
                    format!("${name}: {ty} = 7")
                } else {
                    format!("${name}: {ty}")
                }
            })
            .collect();
        let head = if mutation { "mutation" } else { "query" };
        let defs = if defs.is_empty() { String::new() } else { format!("({})", defs.join(", ")) };
        let query = format!("{head} {defs} {{ {} }}", fields.join(" "));
        let variables = (0..self.requests)
            .map(|r| {
                Value::Object(self.vars.iter().filter_map(|(name, _, vals)| vals[r].clone().map(|v| (name.clone(), v))).collect())
            })
            .collect();
        (query, variables)
    }
}

struct Fixture {
    admin: Schema,
    user: Schema,
}

fn schemas() -> Fixture {
    let (md, db) = fixture();
    let (pmd, pdb) = crate::sql::tests::with_permissions();
    Fixture { admin: build_schema(&md, &db, "admin").0, user: build_schema(&pmd, &pdb, "user").0 }
}

/// Outcome counts, to check the run exercised templates at all.
#[derive(Default, Debug)]
struct Stats {
    cases: usize,
    templated: usize,
    answers: usize,
}

fn check(fx: &Fixture, choices: &[u32], stats: &mut Stats) -> Result<(), TestCaseError> {
    let mut g = Gen { choices, pos: 0, vars: vec![], requests: 2, literals: vec![] };
    g.requests = 2 + g.pick(4);
    let as_user = g.chance(3);
    let (query, variables) = g.request();
    let (schema, key) = if as_user { (&fx.user, "user") } else { (&fx.admin, "admin") };
    let mut cache = CompileCache::new(64);
    let limits = Limits::default();
    for (r, vars) in variables.iter().enumerate() {
        let session = if as_user {
            let id = ["1", "7", "1000000001"][(r + choices.len()) % 3];
            Session::from_json(Some(&json!({"x-hasura-role": "user", "x-hasura-user-id": id}))).unwrap()
        } else {
            Session::admin()
        };
        let fresh = compile(schema, &query, Some(vars), None, &session, &limits);
        for _ in 0..2 {
            let cached = cache.compile(key, schema, &query, Some(vars), None, &session, &limits);
            prop_assert_eq!(&cached, &fresh, "{}\nvariables {}", query, vars);
            stats.answers += 1;
        }
    }
    stats.cases += 1;
    if cache.templated(&query) == Some(true) {
        stats.templated += 1;
    }
    Ok(())
}

#[test]
fn cached_answers_equal_fresh_compiles() {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(600);
    let seed: u64 = std::env::var("GRAFT_PROP_SEED").ok().and_then(|c| c.parse().ok()).unwrap_or(11);
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let config = Config { cases, failure_persistence: None, ..Config::default() };
    let mut runner = TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes));
    let fx = schemas();
    let stats = std::cell::RefCell::new(Stats::default());
    let result = runner.run(&prop::collection::vec(any::<u32>(), 0..300), |choices| check(&fx, &choices, &mut stats.borrow_mut()));
    let stats = stats.into_inner();
    eprintln!("cache property: {stats:?}");
    if let Err(e) = result {
        panic!("{e}");
    }
    // Not vacuous: a good part of the requests compiled once for every value.
    assert!(stats.templated * 5 >= stats.cases, "{stats:?}");
}
