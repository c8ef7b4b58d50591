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

/// Hasura parses `offset` with `bigInt` (a decimal string is an integer) and `limit` with
/// `nonNegativeInt` (no strings), both under the type name `Int`; a literal and a variable
/// alike. The limit and offset are SQL text, so the SQL shows what was read.
#[test]
fn offset_takes_a_decimal_string_limit_does_not() {
    let s = admin_schema();
    let sql = |q: &str, vars: Value| match compile(&s, q, Some(&vars), None, &Session::admin(), &Limits::default()) {
        Ok(Compiled::Sql(c)) => c.sql,
        other => panic!("{q}: {other:?}"),
    };
    assert!(sql("{ author(offset: \"1\") { id } }", json!({})).contains(" OFFSET 1"));
    assert!(sql("query ($o: Int) { author(offset: $o) { id } }", json!({"o": "12"})).contains(" OFFSET 12"));
    assert!(sql("{ author(offset: \"9000000000\") { id } }", json!({})).contains(" OFFSET 9000000000"));
    let bigint = "expected a 32-bit integer, or a 64-bit integer represented as a string for type 'Int', but found a string";
    for bad in ["\"-1\"", "\" 1\"", "\"1.0\"", "\"x\"", "\"\""] {
        assert_eq!(error(&s, &format!("{{ author(offset: {bad}) {{ id }} }}"), json!({})), ("$.selectionSet.author.args.offset".into(), bigint.into()), "{bad}");
    }
    assert_eq!(error(&s, "query ($o: Int) { author(offset: $o) { id } }", json!({"o": "1e3"})).1, bigint);

    let nonneg = |what: &str| format!("expected a non-negative 32-bit integer for type 'Int', but found {what}");
    assert_eq!(error(&s, "{ author(limit: \"2\") { id } }", json!({})), ("$.selectionSet.author.args.limit".into(), nonneg("a string")));
    assert_eq!(error(&s, "{ author(limit: -1) { id } }", json!({})).1, nonneg("an integer"));
    assert_eq!(error(&s, "query ($l: Int) { author(limit: $l) { id } }", json!({"l": "2"})).1, nonneg("a string"));
    assert_eq!(error(&s, "query ($l: Int) { author(limit: $l) { id } }", json!({"l": -1})).1, nonneg("a number"));
    assert!(sql("{ author(limit: 2) { id } }", json!({})).contains(" LIMIT 2"));
    assert!(sql("query ($l: Int) { author(limit: $l) { id } }", json!({"l": null})).contains("FROM"));
}

/// An `Int` column value may be a string, which Postgres reads (Hasura's `parsePGValue`
/// passes it on); the statement is guarded, so a string Postgres refuses is a request error.
#[test]
fn an_int_column_value_may_be_a_string() {
    let s = admin_schema();
    for (q, vars) in [
        ("{ author(where: {id: {_eq: \"1\"}}) { id } }", json!({})),
        ("query ($id: Int!) { author_by_pk(id: $id) { id } }", json!({"id": "1"})),
        ("query ($w: author_bool_exp) { author(where: $w) { id } }", json!({"w": {"id": {"_in": ["1", 2]}}})),
    ] {
        let Ok(Compiled::Sql(c)) = compile(&s, q, Some(&vars), None, &Session::admin(), &Limits::default()) else { panic!("{q}") };
        assert!(c.guarded, "{q}: a string Postgres must read runs guarded");
        assert!(c.params.iter().flatten().any(|p| p == "1" || p.starts_with("{\"1\"")), "{q}: {:?}", c.params);
    }
    // Numbers are still checked here: a fraction or a 64-bit number is no `Int`.
    assert_eq!(error(&s, "{ author(where: {id: {_eq: 1.5}}) { id } }", json!({})).1, "expected a 32-bit integer for type 'Int', but found a number");
}

/// A tracked function's argument of a table's row type is a scalar `<table>_scalar` (Hasura's
/// `mkScalarTypeName`: the table's name is its object type), and its value is the row's text,
/// which Postgres reads in a guarded statement.
#[test]
fn a_row_typed_function_argument_is_a_scalar() {
    let (mut md, mut db) = fixture();
    db.functions.push(crate::dbcatalog::DbFunction {
        schema: "public".into(),
        name: "articles_like".into(),
        comment: None,
        arg_names: vec!["a".into(), "n".into()],
        arg_types: vec!["author".into(), "int4".into()],
        arg_type_schemas: vec!["public".into(), "pg_catalog".into()],
        num_defaults: 0,
        return_type_schema: "public".into(),
        return_type: "article".into(),
        returns_set: true,
        volatility: "s".into(),
    });
    md.sources[0].functions = vec![serde_json::from_value(json!({"function": {"schema": "public", "name": "articles_like"}})).unwrap()];
    let (s, problems) = build_schema(&md, &db, "admin");
    assert!(problems.is_empty(), "{problems:?}");
    let Some(crate::schema::model::TypeKind::InputObject { fields }) = s.get("articles_like_args").map(|t| &t.kind) else { panic!() };
    assert_eq!(fields["a"].ty.to_string(), "author_scalar");
    assert!(matches!(s.get("author_scalar").map(|t| &t.kind), Some(crate::schema::model::TypeKind::Scalar)));
    let q = "query ($a: author_scalar) { articles_like(args: {a: $a, n: 1}) { id } }";
    let Ok(Compiled::Sql(c)) = compile(&s, q, Some(&json!({"a": "(1,Alice,,)"})), None, &Session::admin(), &Limits::default()) else { panic!() };
    assert!(c.sql.contains("::\"public\".\"author\""), "{}", c.sql);
    assert!(c.guarded && c.params.contains(&Some("(1,Alice,,)".into())), "{c:?}");
    // The object type is still no input type.
    assert_eq!(
        error(&s, "query ($a: author) { articles_like(args: {a: $a, n: 1}) { id } }", json!({"a": "x"})).1,
        "variable \"a\" has an unknown or non-input type 'author'"
    );
}

/// `Int` and `Float` values are Postgres values (`integer`, `real` columns and arguments):
/// a string passes on; other kinds keep their errors.
#[test]
fn int_and_float_values_take_strings() {
    let s = admin_schema();
    let (vars, sources, types, defaults) = (indexmap::IndexMap::new(), super::input::VarSources::none(), indexmap::IndexMap::new(), std::collections::HashSet::new());
    let c = super::coerce::Coercer { schema: &s, variables: &vars, sources: &sources, variable_types: &types, non_null_defaults: &defaults };
    for scalar in ["Int", "Float"] {
        assert_eq!(c.scalar_json(&json!("1.5e3"), scalar, "$").unwrap(), json!("1.5e3"));
        assert!(c.scalar_json(&json!(true), scalar, "$").is_err());
        assert!(c.scalar_json(&json!([1]), scalar, "$").is_err());
    }
    assert_eq!(c.scalar_json(&json!(true), "Float", "$").unwrap_err().message, "expected a float for type 'Float', but found a boolean");
}

/// A `boolean` value may be a string Postgres reads (`published: {_eq: "true"}`, Hasura's
/// `parsePGValue`), but `_is_null`, `distinct` and `@include(if:)` take GraphQL's `Boolean`
/// (Hasura's `P.boolean`): a string there is refused, as a literal, as a variable, and inside
/// an input object variable, never read as false.
#[test]
fn boolean_values_take_strings_builtin_booleans_do_not() {
    let s = admin_schema();
    let q = "{ article(where: {published: {_eq: \"true\"}}) { id } }";
    let Ok(Compiled::Sql(c)) = compile(&s, q, None, None, &Session::admin(), &Limits::default()) else { panic!() };
    assert!(c.guarded && c.params.contains(&Some("true".into())), "{c:?}");
    let expected = "expected a boolean for type 'Boolean', but found a string";
    assert_eq!(
        error(&s, "{ article(where: {title: {_is_null: \"true\"}}) { id } }", json!({})),
        ("$.selectionSet.article.args.where.title._is_null".into(), expected.into())
    );
    assert_eq!(error(&s, "query ($n: Boolean) { article(where: {title: {_is_null: $n}}) { id } }", json!({"n": "true"})).1, expected);
    assert_eq!(
        error(&s, "query ($w: article_bool_exp) { article(where: $w) { id } }", json!({"w": {"title": {"_is_null": "true"}}})),
        ("$.variableValues.w.title._is_null".into(), expected.into())
    );
    assert_eq!(error(&s, "query ($f: Boolean!) { article { id @include(if: $f) } }", json!({"f": "true"})).1, expected);
    assert_eq!(error(&s, "{ article { id @skip(if: \"true\") } }", json!({})).1, expected);
    assert_eq!(error(&s, "{ article_aggregate { aggregate { count(distinct: \"true\") } } }", json!({})).1, expected);
    // Booleans themselves still work.
    assert!(compile(&s, "query ($f: Boolean!) { article(where: {title: {_is_null: false}}) { id @include(if: $f) } }", Some(&json!({"f": true})), None, &Session::admin(), &Limits::default()).is_ok());
}
