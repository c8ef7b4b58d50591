//! Multiplexed streaming subscriptions: the cursor is a per-cohort value whatever its source,
//! the batch returns `(cohort_id, result, cursor)`, and a cohort's cursor moves by a cursor
//! object.

use serde_json::{json, Value};

use super::multiplex::{plan, CursorError, GroupKey, Multiplexed, Sharing};
use super::reads::reads;
use crate::request::input::{Rule, Source, VarPath};
use crate::request::template;
use crate::request::{Compiled, CompiledSql, Limits, Session, StreamCursor};
use crate::schema::build::{build_schema, tests::fixture};
use crate::Schema;

fn admin() -> Schema {
    let (md, db) = fixture();
    build_schema(&md, &db, "admin").0
}

fn user(id: &str) -> Session {
    Session::from_json(Some(&json!({"x-hasura-role": "user", "x-hasura-user-id": id}))).unwrap()
}

fn compile(s: &Schema, q: &str, vars: Value, session: &Session) -> (CompiledSql, Multiplexed) {
    let vars = (!vars.is_null()).then_some(vars);
    let (c, _, t) = template::compile(s, q, vars.as_ref(), None, session, &Limits::default()).unwrap();
    let m = plan(&c, t.as_ref()).unwrap();
    let Compiled::Sql(c) = c else { panic!("expected SQL") };
    (c, m)
}

const LITERAL: &str = "subscription { article_stream(batch_size: 2, cursor: {initial_value: {id: 3}}) { id title } }";

#[test]
fn batch_statement_returns_the_next_cursor() {
    let s = admin();
    let (c, m) = compile(&s, LITERAL, Value::Null, &Session::admin());
    let (sc, slot) = m.stream().expect("a stream");
    assert_eq!(sc, &StreamCursor { param: 0, column: "id".into(), rule: Rule::Scalar });
    assert_eq!(slot, 0);
    // The literal cursor is a per-cohort value, not a shared parameter; the batch size is shared.
    assert_eq!(m.slots().len(), 1);
    assert_eq!(m.slots()[0].source, Some(Source::Const));
    assert_eq!(m.shared(), &[Some("2".to_string())]);
    let body = c.sql.replace("($1)", "(\"graft.vals\".\"v0\")").replace("($2)", "($3)");
    assert_eq!(
        m.sql(),
        format!(
            "SELECT \"graft.subs\".\"cohort_id\", \"graft.resp\".\"result\", \"graft.resp\".\"cursor\" \
             FROM unnest(($1)::\"pg_catalog\".\"int8\"[], ($2)::\"pg_catalog\".\"jsonb\"[]) AS \"graft.subs\"(\"cohort_id\", \"vars\") \
             CROSS JOIN LATERAL (SELECT \"graft.subs\".\"vars\" ->> 0 AS \"v0\" OFFSET 0) AS \"graft.vals\" \
             LEFT JOIN LATERAL ({body}) AS \"graft.resp\"(\"result\", \"cursor\") ON true"
        )
    );
    let cohort = m.cohort(&c).unwrap();
    assert_eq!(m.cursor_of(&cohort), Some(Some("3")));
    assert_eq!(m.params([(1, &cohort)]).unwrap(), vec![Some("{\"1\"}".into()), Some(r#"{"[\"3\"]"}"#.into()), Some("2".into())]);
    // A live query has no cursor and keeps its two columns.
    let (_, live) = compile(&s, "subscription { article { id } }", Value::Null, &Session::admin());
    assert!(live.stream().is_none());
    assert!(live.sql().starts_with("SELECT \"graft.subs\".\"cohort_id\", \"graft.resp\".\"result\" FROM"));
    assert_eq!(live.with_cursor(&super::Cohort { values: vec![] }, &json!({"id": 1})), Err(CursorError::NotAStream));
}

/// Subscribers whose literal initial values differ share the statement, in their own cohorts;
/// equal ones share a cohort.
#[test]
fn initial_values_split_cohorts_not_statements() {
    let s = admin();
    let (_, m) = compile(&s, LITERAL, Value::Null, &Session::admin());
    let other = |v: i64| compile(&s, &LITERAL.replace("id: 3", &format!("id: {v}")), Value::Null, &Session::admin()).0;
    let a = m.cohort(&other(3)).unwrap();
    let b = m.cohort(&other(8)).unwrap();
    assert_ne!(a, b);
    assert_eq!(m.cohort(&other(8)).unwrap(), b);
    assert_eq!(m.cursor_of(&b), Some(Some("8")));
    // Another batch size is another shared value: another statement.
    let c = compile(&s, &LITERAL.replace("batch_size: 2", "batch_size: 3"), Value::Null, &Session::admin()).0;
    assert!(m.cohort(&c).is_none());
}

/// A cursor object moves a cohort's cursor: the statement's own (`{"id": "5"}`, the column's
/// text form) or a client's (`{"id": 5}`), rendered as a variable's value would be.
#[test]
fn cursor_objects_move_cohorts() {
    let s = admin();
    let (c, m) = compile(&s, LITERAL, Value::Null, &Session::admin());
    let cohort = m.cohort(&c).unwrap();
    let moved = m.with_cursor(&cohort, &json!({"id": "5"})).unwrap();
    assert_eq!(moved.values, vec![Some("5".to_string())]);
    assert_eq!(m.with_cursor(&cohort, &json!({"id": 5})).unwrap(), moved);
    assert_eq!(m.with_cursor(&cohort, &json!({"id": null})).unwrap().values, vec![None]);
    assert_eq!(m.with_cursor(&cohort, &json!({"title": "5"})), Err(CursorError::Shape("id".into())));
    assert_eq!(m.with_cursor(&cohort, &json!({"id": 5, "title": "x"})), Err(CursorError::Shape("id".into())));
    assert_eq!(m.with_cursor(&cohort, &json!(5)), Err(CursorError::Shape("id".into())));
    assert_eq!(m.with_cursor(&super::Cohort { values: vec![] }, &json!({"id": 5})), Err(CursorError::Cohort));
    assert!(matches!(m.with_cursor(&cohort, &json!({"id": [1]})), Err(CursorError::Value(_))), "a list is no int4 value");
    // The moved cohort's own statement starts after the new cursor, and it is keyed anew.
    let single = m.single(&moved).unwrap();
    assert_eq!(single.params, vec![Some("5".into()), Some("2".into())]);
    assert_eq!(single.stream, c.stream);
    let group = GroupKey::new(LITERAL, None, &Session::admin());
    assert_ne!(m.key_of(&group, moved.clone()), m.cohort_key(&group, &c).unwrap());
    assert_eq!(m.key_of(&group, cohort), m.cohort_key(&group, &c).unwrap());
    // Other column types: a timestamp's text as is; a list column's cursor as an array literal.
    let (c, m) = compile(&s, r#"subscription { article_stream(batch_size: 1, cursor: {initial_value: {created_at: "2020-01-01"}}) { id } }"#, Value::Null, &Session::admin());
    let moved = m.with_cursor(&m.cohort(&c).unwrap(), &json!({"created_at": "2021-06-01 10:00:00+00"})).unwrap();
    assert_eq!(m.cursor_of(&moved), Some(Some("2021-06-01 10:00:00+00")));
    let (c, m) = compile(&s, r#"subscription { author_stream(batch_size: 1, cursor: {initial_value: {tags: ["a"]}}) { id } }"#, Value::Null, &Session::admin());
    assert_eq!(m.stream().unwrap().0.rule, Rule::Array);
    let cohort = m.cohort(&c).unwrap();
    assert_eq!(m.cursor_of(&cohort), Some(Some("{\"a\"}")));
    assert_eq!(m.cursor_of(&m.with_cursor(&cohort, &json!({"tags": ["b", "c"]})).unwrap()), Some(Some("{\"b\",\"c\"}")));
    assert_eq!(m.cursor_of(&m.with_cursor(&cohort, &json!({"tags": "{b}"})).unwrap()), Some(Some("{b}")));
    // jsonb: a value's JSON text, or the column's text form as the statement returns it.
    let (c, m) = compile(&s, r#"subscription { author_stream(batch_size: 1, cursor: {initial_value: {meta: {a: 1}}}) { id } }"#, Value::Null, &Session::admin());
    let cohort = m.cohort(&c).unwrap();
    assert_eq!(m.cursor_of(&cohort), Some(Some(r#"{"a":1}"#)));
    assert_eq!(m.cursor_of(&m.with_cursor(&cohort, &json!({"meta": {"b": 2}})).unwrap()), Some(Some(r#"{"b":2}"#)));
}

/// The cursor gets its own slot even when the variable it comes from is used elsewhere too:
/// moving the cursor must not change the `where`.
#[test]
fn a_variable_cursor_is_its_own_slot() {
    let s = admin();
    let q = "subscription ($c: Int!) { article_stream(batch_size: 10, cursor: {initial_value: {id: $c}}, where: {author_id: {_neq: $c}}) { id } }";
    let (c, m) = compile(&s, q, json!({"c": 4}), &Session::admin());
    assert_eq!(m.sharing(), Sharing::Template);
    let var = Source::Var { path: VarPath { name: "c".into(), steps: vec![] }, rule: Rule::Scalar };
    let sources: Vec<_> = m.slots().iter().map(|sl| (sl.source.clone(), sl.positions.clone())).collect();
    assert_eq!(sources, vec![(Some(var.clone()), vec![0]), (Some(var), vec![1])]);
    let moved = m.with_cursor(&m.cohort(&c).unwrap(), &json!({"id": "9"})).unwrap();
    assert_eq!(m.single(&moved).unwrap().params, vec![Some("9".into()), Some("4".into()), Some("10".into())]);
    // Equal variables, equal cohorts; other variables, other cohorts of the same statement.
    let other = |v: i64| compile(&s, q, json!({"c": v}), &Session::admin()).0;
    assert_eq!(m.cohort(&other(4)), m.cohort(&c));
    assert!(m.cohort(&other(5)).is_some_and(|o| Some(&o) != m.cohort(&c).as_ref()));
}

/// Without a template (the compile read a variable: every value is per cohort, only equal
/// texts share), the cursor is still known, from the statement itself.
#[test]
fn streams_without_a_template_still_know_their_cursor() {
    let s = admin();
    let q = r#"subscription ($p: String) { author_stream(batch_size: 1, cursor: {initial_value: {id: 0}}) { id meta(path: $p) } }"#;
    let (c, m) = compile(&s, q, json!({"p": "$.a"}), &Session::admin());
    assert_eq!(m.sharing(), Sharing::ExactSql);
    let (sc, slot) = m.stream().unwrap();
    assert_eq!(sc.param, 0);
    assert_eq!(m.slots()[slot].positions, vec![0]);
    let moved = m.with_cursor(&m.cohort(&c).unwrap(), &json!({"id": 3})).unwrap();
    assert_eq!(m.single(&moved).unwrap().params[0].as_deref(), Some("3"));
}

/// Permission values stay per cohort beside the cursor, and the read set is the stream's
/// table and what its selection and filter reach.
#[test]
fn streams_per_user_and_their_reads() {
    let (md, db) = crate::sql::tests::with_permissions();
    let s = build_schema(&md, &db, "user").0;
    let q = "subscription { article_stream(batch_size: 3, cursor: {initial_value: {id: 0}}) { id author { name } } }";
    let (c1, m) = compile(&s, q, Value::Null, &user("1"));
    let (c2, _) = compile(&s, q, Value::Null, &user("2"));
    let (a, b) = (m.cohort(&c1).unwrap(), m.cohort(&c2).unwrap());
    assert_ne!(a, b);
    assert_eq!(m.cursor_of(&a), m.cursor_of(&b));
    let r = reads(&s, &Compiled::Sql(c1)).unwrap();
    let names: Vec<&str> = r.names.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, vec!["author", "article"]);
    assert!(!r.unknown);
}

/// A cursor that names a parameter the statement lacks is a compiler bug: refused.
#[test]
fn a_cursor_out_of_range_is_refused() {
    let bad = CompiledSql {
        sql: "SELECT $1, NULL::json".into(),
        params: vec![None],
        is_mutation: false,
        guarded: false,
        stream: Some(StreamCursor { param: 1, column: "id".into(), rule: Rule::Scalar }),
    };
    assert_eq!(Multiplexed::new(&bad, None).unwrap_err(), super::NotMultiplexed::Mismatch);
}
