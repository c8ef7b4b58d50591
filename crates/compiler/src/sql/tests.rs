//! Compiler-level tests of generated SQL: permissions, mutations, determinism, injection.

use serde_json::json;

use crate::metadata::model::Metadata;
use crate::request::{compile, Compiled, Limits, MutationStep, Session};
use crate::schema::build::{build_schema, tests::fixture};
use crate::Schema;

fn session(v: serde_json::Value) -> Session {
    Session::from_json(Some(&v)).unwrap()
}

/// The fixture with a `user` role: articles it wrote or published ones, columns id/title/author_id;
/// authors all, id/name; inserts articles as itself.
pub(crate) fn with_permissions() -> (Metadata, crate::DbCatalog) {
    let (mut md, db) = fixture();
    let tables = &mut md.sources[0].tables;
    let author = tables.iter_mut().find(|t| t.table.name == "author").unwrap();
    author.select_permissions = vec![serde_json::from_value(json!({"role": "user", "permission": {"columns": ["id", "name"], "filter": {}}})).unwrap()];
    let article = tables.iter_mut().find(|t| t.table.name == "article").unwrap();
    article.select_permissions = vec![serde_json::from_value(json!({"role": "user", "permission": {
        "columns": ["id", "title", "author_id"],
        "filter": {"_or": [{"published": {"_eq": true}}, {"author_id": {"_eq": "X-Hasura-User-Id"}}]}, "limit": 10}})).unwrap()];
    article.insert_permissions = vec![serde_json::from_value(json!({"role": "user", "permission": {
        "columns": ["title"], "check": {"author_id": {"_eq": "X-Hasura-User-Id"}}, "set": {"author_id": "x-hasura-user-id"}}})).unwrap()];
    (md, db)
}

fn user_schema() -> Schema {
    let (md, db) = with_permissions();
    build_schema(&md, &db, "user").0
}

fn sql_of(schema: &Schema, q: &str, s: &Session) -> (String, Vec<Option<String>>) {
    match compile(schema, q, None, None, s, &Limits::default()).unwrap() {
        Compiled::Sql(c) => (c.sql, c.params),
        other => panic!("expected SQL, got {other:?}"),
    }
}

#[test]
fn role_schema_hides_what_is_not_granted() {
    let s = user_schema();
    assert!(s.object_field("article", "rating").is_none());
    assert!(s.object_field("article", "title").is_some());
    assert!(s.object_field("query_root", "article_aggregate").is_none(), "no allow_aggregations");
    assert!(s.object_field("author", "articles_aggregate").is_none());
    let insert = s.get("article_insert_input").unwrap();
    let crate::schema::model::TypeKind::InputObject { fields } = &insert.kind else { panic!() };
    assert!(fields.contains_key("title") && !fields.contains_key("author_id"), "preset column hidden");
    assert!(s.object_field("mutation_root", "delete_article").is_none());
    let (md, db) = with_permissions();
    let nobody = build_schema(&md, &db, "nobody").0;
    assert!(nobody.object_field("query_root", "article").is_none());
}

#[test]
fn session_variables_are_parameters_never_sql() {
    let s = user_schema();
    let evil = "1'; DROP TABLE article; --";
    let (sql, params) = sql_of(&s, "{ article { id } }", &session(json!({"x-hasura-role": "user", "x-hasura-user-id": evil})));
    assert!(!sql.contains("DROP TABLE"), "{sql}");
    assert!(params.iter().any(|p| p.as_deref() == Some(evil)));
    assert!(sql.contains("LIMIT 10"), "role limit applies: {sql}");
}

#[test]
fn relationship_targets_are_filtered_too() {
    let s = user_schema();
    let (sql, _) = sql_of(&s, "{ author { articles { id } } }", &session(json!({"x-hasura-role": "user", "x-hasura-user-id": "1"})));
    assert!(sql.contains("\"published\""), "target filter inside the relationship: {sql}");
}

#[test]
fn missing_session_variable_is_not_found() {
    let s = user_schema();
    let e = compile(&s, "{ article { id } }", None, None, &session(json!({"x-hasura-role": "user"})), &Limits::default()).unwrap_err();
    assert_eq!(e.code, "not-found");
    assert_eq!(e.message, "missing session variable: \"x-hasura-user-id\"");
}

#[test]
fn same_query_same_sql() {
    let (md, db) = fixture();
    let s = build_schema(&md, &db, "admin").0;
    let q = "{ author(where: {name: {_eq: \"a\"}}) { id articles(limit: 2) { title } } }";
    let a = sql_of(&s, q, &Session::admin());
    let b = sql_of(&s, &q.replace("\"a\"", "\"b\""), &Session::admin());
    assert_eq!(a.0, b.0, "literals are parameters, so the plan is shared");
    assert_ne!(a.1, b.1);
}

#[test]
fn inserts_check_and_preset() {
    let s = user_schema();
    let plan = compile(
        &s,
        "mutation { insert_article(objects: [{title: \"t\"}]) { affected_rows } }",
        None,
        None,
        &session(json!({"x-hasura-role": "user", "x-hasura-user-id": "7"})),
        &Limits::default(),
    )
    .unwrap();
    let Compiled::Mutation(plan) = plan else { panic!() };
    let MutationStep::WriteRead { write, .. } = &plan.fields[0].steps[0] else { panic!() };
    assert!(write.sql.contains("\"author_id\""), "preset column written: {}", write.sql);
    assert!(write.sql.contains("bool_and"), "insert check evaluated: {}", write.sql);
    assert!(write.params.iter().any(|p| p.as_deref() == Some("7")));
}

#[test]
fn nested_insert_orders_parents_first() {
    let (md, db) = fixture();
    let s = build_schema(&md, &db, "admin").0;
    let Compiled::Mutation(plan) = compile(
        &s,
        "mutation { insert_article_one(object: {id: 1, title: \"t\", published: true, author: {data: {id: 2, name: \"n\"}}}) { id } }",
        None,
        None,
        &Session::admin(),
        &Limits::default(),
    )
    .unwrap() else {
        panic!()
    };
    let write = match &plan.fields[0].steps[0] {
        MutationStep::WriteRead { write, .. } => write,
        MutationStep::Query(q) => q,
        other => panic!("{other:?}"),
    };
    let author_at = write.sql.find("INSERT INTO \"public\".\"author\"").unwrap();
    let article_at = write.sql.find("INSERT INTO \"public\".\"article\"").unwrap();
    assert!(author_at < article_at, "{}", write.sql);
}

#[test]
fn unknown_operator_names_the_path() {
    let (md, db) = fixture();
    let s = build_schema(&md, &db, "admin").0;
    let e = compile(&s, "{ author(where: {name: {_ne: \"x\"}}) { id } }", None, None, &Session::admin(), &Limits::default()).unwrap_err();
    assert_eq!(e.path, "$.selectionSet.author.args.where.name._ne");
    assert_eq!(e.message, "field '_ne' not found in type: 'String_comparison_exp'");
    let e = compile(&s, "query Q($id: Int!) { author_by_pk(id: $id) { id } }", Some(&json!({"id": 1.5})), None, &Session::admin(), &Limits::default()).unwrap_err();
    // (A string is passed on for Postgres to read, as Hasura's parsePGValue does.)
    assert_eq!(e.path, "$.variableValues.id");
    let deep = format!("{{ {} id {} }}", "author { articles { author { ".repeat(30), "} } } ".repeat(30));
    let e = compile(&s, &deep, None, None, &Session::admin(), &Limits::default()).unwrap_err();
    assert!(e.message.contains("maximum depth"), "{}", e.message);
}

/// Rough timing of the compiler on a by-pk query (run with `--ignored --nocapture`, release).
#[test]
#[ignore]
fn compile_speed() {
    let (md, db) = fixture();
    let s = build_schema(&md, &db, "admin").0;
    let n = 100_000;
    let t = std::time::Instant::now();
    for _ in 0..n {
        let _ = compile(&s, "{ author_by_pk(id: 1) { id name } }", None, None, &Session::admin(), &Limits::default()).unwrap();
    }
    println!("compile: {:.2} µs per call", t.elapsed().as_secs_f64() * 1e6 / n as f64);
}

#[test]
fn plain_returning_needs_one_statement() {
    let (md, db) = fixture();
    let s = build_schema(&md, &db, "admin").0;
    let one = |q: &str| match compile(&s, q, None, None, &Session::admin(), &Limits::default()).unwrap() {
        Compiled::Mutation(p) => p.fields[0].steps[0].clone(),
        other => panic!("{other:?}"),
    };
    assert!(matches!(one("mutation { insert_author_one(object: {id: 1, name: \"n\"}) { id } }"), MutationStep::Query(_)));
    assert!(matches!(
        one("mutation { insert_author_one(object: {id: 1, name: \"n\"}) { id articles { id } } }"),
        MutationStep::WriteRead { .. }
    ));
}

/// More order_by keys than PostgreSQL's target list holds are a request error, not 54011.
#[test]
fn too_many_order_by_keys_are_refused() {
    let (md, db) = fixture();
    let s = build_schema(&md, &db, "admin").0;
    let q = |n: usize| format!("{{ article(order_by: [{}]) {{ id }} }}", "{id: asc},".repeat(n));
    assert!(compile(&s, &q(super::select::MAX_ORDER_KEYS), None, None, &Session::admin(), &Limits::default()).is_ok());
    let e = compile(&s, &q(1700), None, None, &Session::admin(), &Limits::default()).unwrap_err();
    assert_eq!(e.code, "validation-failed");
    assert!(e.message.contains("order_by"), "{}", e.message);
}

/// A jsonb parameter runs guarded: `\u0000` (which jsonb refuses) may come in any later value
/// of the same shape.
#[test]
fn jsonb_parameters_are_guarded() {
    let (md, db) = fixture();
    let s = build_schema(&md, &db, "admin").0;
    let vars = json!({"m": {"a": 1}});
    match compile(&s, "query ($m: jsonb) { author(where: {meta: {_contains: $m}}) { id } }", Some(&vars), None, &Session::admin(), &Limits::default()).unwrap() {
        Compiled::Sql(c) => assert!(c.guarded),
        other => panic!("expected SQL, got {other:?}"),
    }
}

/// Relationship filters nested deeper than MAX_FILTER_HOPS are a request error.
#[test]
fn deeply_nested_relationship_filters_are_refused() {
    let (md, db) = fixture();
    let s = build_schema(&md, &db, "admin").0;
    let q = |n: usize| format!("{{ article(where: {}{{id: {{_eq: 1}}}}{}) {{ id }} }}", "{author: {articles: ".repeat(n), "}}".repeat(n));
    let hops = super::select::MAX_FILTER_HOPS / 2;
    assert!(compile(&s, &q(hops), None, None, &Session::admin(), &Limits::default()).is_ok());
    let e = compile(&s, &q(hops + 1), None, None, &Session::admin(), &Limits::default()).unwrap_err();
    assert_eq!(e.code, "validation-failed", "{}", e.message);
    assert!(e.message.contains("nested relationships"), "{}", e.message);
}
