//! Issue 13 item 9: how literals and variables are accepted where Hasura accepts them, with
//! Hasura's messages where it refuses them.

use serde_json::{json, Value};

use super::{compile, Compiled, Limits, Session};
use crate::schema::build::{build_schema, tests::fixture};
use crate::schema::model::Schema;

fn admin_schema() -> Schema {
    let (md, db) = fixture();
    build_schema(&md, &db, "admin").0
}

/// The error of a request, as `(path, message)`.
fn error(s: &Schema, q: &str, vars: Value) -> (String, String) {
    let e = compile(s, q, Some(&vars), None, &Session::admin(), &Limits::default()).expect_err(q);
    let r = e.response();
    let err = &r["errors"][0];
    (err["extensions"]["path"].as_str().unwrap_or("").to_string(), err["message"].as_str().unwrap().to_string())
}

fn params(s: &Schema, q: &str, vars: Value) -> Vec<Option<String>> {
    match compile(s, q, Some(&vars), None, &Session::admin(), &Limits::default()) {
        Ok(Compiled::Sql(sql)) => sql.params,
        other => panic!("{q}: {other:?}"),
    }
}

/// Hasura's `isVariableUsageAllowed`: a nullable variable at a non-null location is refused
/// whatever its value, unless it has a non-null default or the location has a default.
#[test]
fn nullable_variable_at_a_non_null_location() {
    let s = admin_schema();
    let q = "query ($id: Int) { author_by_pk(id: $id) { name } }";
    for vars in [json!({"id": 1}), json!({})] {
        assert_eq!(
            error(&s, q, vars),
            ("$.selectionSet.author_by_pk.args.id".into(), "variable 'id' is declared as 'Int', but used where 'Int!' is expected".into())
        );
    }
    // A non-null default lets it stand there; the default fills in when not given.
    let q = "query ($id: Int = 7) { author_by_pk(id: $id) { name } }";
    assert_eq!(params(&s, q, json!({})), vec![Some("7".into())]);
    assert_eq!(params(&s, q, json!({"id": 2})), vec![Some("2".into())]);
    assert_eq!(error(&s, q, json!({"id": null})).1, "unexpected null value for type 'Int'");
    // A null default is no default.
    let q = "query ($id: Int = null) { author_by_pk(id: $id) { name } }";
    assert!(error(&s, q, json!({"id": 1})).1.contains("is declared as 'Int', but used where 'Int!'"));
    // Inside a list, a non-null element takes only a non-null one.
    let q = "query ($ids: [Int]) { author(where: {id: {_in: $ids}}) { id } }";
    assert_eq!(error(&s, q, json!({"ids": [1]})).1, "variable 'ids' is declared as '[Int]', but used where '[Int!]' is expected");
    let q = "query ($ids: [Int!]!) { author(where: {id: {_in: $ids}}) { id } }";
    assert_eq!(params(&s, q, json!({"ids": [1, 2]})).len(), 1);
    // A different type never fits.
    let q = "query ($id: String!) { author_by_pk(id: $id) { name } }";
    assert_eq!(error(&s, q, json!({"id": "1"})).1, "variable 'id' is declared as 'String!', but used where 'Int!' is expected");
}

/// A location with a default (`update_columns: [..!]! = []`) takes a nullable variable, and an
/// omitted one leaves the default in place.
#[test]
fn nullable_variable_at_a_location_with_a_default() {
    let s = admin_schema();
    let q = "mutation ($c: [author_update_column!]) { insert_author(objects: [{name: \"a\"}], on_conflict: {constraint: author_pkey, update_columns: $c}) { affected_rows } }";
    for vars in [json!({"c": ["name"]}), json!({})] {
        assert!(matches!(compile(&s, q, Some(&vars), None, &Session::admin(), &Limits::default()), Ok(Compiled::Mutation(_))), "{vars}");
    }
}
