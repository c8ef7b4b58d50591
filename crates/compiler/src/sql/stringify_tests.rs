//! Issue 13 item 7: `HASURA_GRAPHQL_STRINGIFY_NUMERIC_TYPES`. Hasura's `toJSONableExp` sends a
//! value as a string when the type that describes it is bigint, numeric, float8 or money:
//! the column's type for a column and for every aggregate of it (`avg`, `stddev` … included,
//! though their GraphQL type is `Float`), the result type for a scalar computed field.

use serde_json::json;

use super::leak_tests::leak_fixture;
use crate::request::{compile, Compiled, Limits, MutationStep, Session};
use crate::schema::build::build_schema;
use crate::Schema;

fn owner_schema() -> Schema {
    let (md, db) = leak_fixture();
    build_schema(&md, &db, "owner").0
}

fn session(stringify: bool) -> Session {
    let mut s = Session::from_json(Some(&json!({"x-hasura-role": "owner", "x-hasura-user-id": "1"}))).unwrap();
    s.stringify_numeric = stringify;
    s
}

/// The SQL of every statement of a request.
fn sql(q: &str, stringify: bool) -> String {
    match compile(&owner_schema(), q, None, None, &session(stringify), &Limits::default()).unwrap() {
        Compiled::Sql(c) => c.sql,
        Compiled::Mutation(plan) => plan
            .fields
            .iter()
            .flat_map(|f| &f.steps)
            .map(|s| match s {
                MutationStep::WriteRead { write, read } => format!("{}\n{}", write.sql, read.sql),
                MutationStep::Query(q) => q.sql.clone(),
                MutationStep::Static(s) => s.clone(),
            })
            .collect::<Vec<_>>()
            .join("\n"),
        other => panic!("{other:?}"),
    }
}

/// Whether `call` (`avg(_o3."rating")`, …) appears cast to text.
fn as_text(sql: &str, call_prefix: &str) -> bool {
    let at = sql.find(call_prefix).unwrap_or_else(|| panic!("no {call_prefix} in {sql}"));
    let mut depth = 0;
    for (i, c) in sql[at..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return sql[at + i + 1..].starts_with(")::text") && sql[..at].ends_with('(');
                }
            }
            _ => {}
        }
    }
    false
}

#[test]
fn every_aggregate_of_a_numeric_column_is_a_string() {
    for op in ["sum", "avg", "max", "min", "stddev", "stddev_pop", "stddev_samp", "variance", "var_pop", "var_samp"] {
        let q = format!("{{ article_aggregate {{ aggregate {{ {op} {{ rating id }} }} }} }}");
        let s = sql(&q, true);
        assert!(as_text(&s, &format!("{op}(_o")), "{op} of numeric: {s}");
        // The int4 column stays a number, even where Postgres returns numeric (avg).
        let id_at = s.rfind(&format!("{op}(_o")).unwrap();
        assert!(!as_text(&s[id_at - 1..], &format!("{op}(_o")), "{op} of int4: {s}");
        assert!(!sql(&q, false).contains("::text"), "not without the setting");
    }
}

#[test]
fn numeric_columns_and_computed_fields_are_strings_everywhere() {
    // A list, a by-pk lookup, nodes, a relationship's rows: columns and the numeric `score`.
    for q in [
        "{ article { rating score } }",
        "{ article_by_pk(id: 1) { rating score } }",
        "{ article_aggregate { nodes { rating score } } }",
        "{ author { articles { rating score } } }",
    ] {
        let s = sql(q, true);
        assert!(s.contains("\"rating\")::text") || s.contains("\"rating\" END)::text"), "{q}: {s}");
        assert!(as_text(&s, "\"public\".\"article_score\"("), "{q}: {s}");
        assert!(!sql(q, false).contains("::text"), "{q}");
    }
    // int4 and text columns stay as they are.
    assert!(!sql("{ article { id title } }", true).contains("::text"));
}

#[test]
fn mutation_returning_is_stringified_too() {
    let (md, db) = crate::schema::build::tests::fixture();
    let s = build_schema(&md, &db, "admin").0;
    let mut session = Session::admin();
    session.stringify_numeric = true;
    let q = r#"mutation { insert_article_one(object: {id: 1, author_id: 1, title: "t", published: true, rating: 1.5}) { rating }
        delete_article(where: {id: {_eq: 1}}) { returning { id rating } } }"#;
    let Compiled::Mutation(plan) = compile(&s, q, None, None, &session, &Limits::default()).unwrap() else { panic!() };
    for f in &plan.fields {
        let read = match &f.steps[0] {
            MutationStep::WriteRead { read, .. } => read,
            MutationStep::Query(q) => q,
            other => panic!("{other:?}"),
        };
        assert!(read.sql.contains("\"rating\")::text"), "{}: {}", f.alias, read.sql);
        assert!(!read.sql.contains("\"id\")::text"), "{}", read.sql);
    }
}
