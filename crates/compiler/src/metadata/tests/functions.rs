use serde_json::json;

use super::*;
use crate::dbcatalog::QualifiedName;

fn function<'m>(md: &'m Metadata, name: &str) -> &'m crate::metadata::model::FunctionEntry {
    md.default_source().unwrap().function(&QualifiedName::new("public", name)).expect("tracked function")
}

#[test]
fn track_function() {
    let mut md = tracked(&["article"]);
    ok(&mut md, req("pg_track_function", json!({"function": "search_articles", "comment": "search"})));
    ok(&mut md, req("track_function", json!({"schema": "public", "name": "archive_articles"})));
    ok(&mut md, req("track_function", json!("fetch_articles")));
    ok(&mut md, req("untrack_function", json!("fetch_articles")));
    ok(
        &mut md,
        json!({"type": "track_function", "version": 2, "args": {"function": "session_articles", "configuration": {"session_argument": "hasura_session", "exposed_as": "query", "custom_name": "mine", "custom_root_fields": {"function": "my_articles", "function_aggregate": "my_articles_agg"}}}}),
    );
    assert_eq!(function(&md, "search_articles").comment.as_deref(), Some("search"));
    let c = &function(&md, "session_articles").configuration;
    assert_eq!((c.session_argument.as_deref(), c.exposed_as.as_deref()), (Some("hasura_session"), Some("query")));
    assert_eq!(c.custom_root_fields["function_aggregate"], "my_articles_agg");
}

#[test]
fn track_function_twice_or_shadowing_a_table() {
    let mut md = tracked(&["article"]);
    ok(&mut md, req("pg_track_function", json!({"function": "search_articles"})));
    let e = err(&mut md, req("pg_track_function", json!({"function": "search_articles"})));
    assert_err(&e, "already-tracked", "$.args", "function already tracked: \"search_articles\"");
    let e = err(&mut md, req("pg_track_function", json!({"function": "article"})));
    assert_err(&e, "not-supported", "$.args", "table with name \"article\" already exists");
}

#[test]
fn function_must_exist_and_return_a_tracked_table() {
    let mut md = tracked(&["article"]);
    let e = err(&mut md, req("pg_track_function", json!({"function": "nope"})));
    assert_err(
        &e,
        "invalid-configuration",
        "$.args",
        "Inconsistent object: in function \"nope\": no such function exists: \"nope\"",
    );
    let e = err(&mut md, req("pg_track_function", json!({"function": "overloaded"})));
    assert_err(&e, "invalid-configuration", "$.args", "Inconsistent object: in function \"overloaded\": function \"overloaded\" is overloaded. Overloaded functions are not supported");
    let e = err(&mut md, req("pg_track_function", json!({"function": "answer"})));
    assert_err(&e, "invalid-configuration", "$.args", "Inconsistent object: in function \"answer\": the function \"answer\" cannot be tracked because the function does not return a \"COMPOSITE\" type");
    let mut md = tracked(&[]);
    let e = err(&mut md, req("pg_track_function", json!({"function": "search_articles"})));
    assert_err(&e, "invalid-configuration", "$.args", "Inconsistent object: table \"article\" is not tracked");
}

#[test]
fn volatility_and_exposure() {
    let mut md = tracked(&["article"]);
    ok(
        &mut md,
        req("pg_track_function", json!({"function": "archive_articles", "configuration": {"exposed_as": "query"}})),
    );
    let e = err(
        &mut md,
        req("pg_track_function", json!({"function": "search_articles", "configuration": {"exposed_as": "mutation"}})),
    );
    assert_err(&e, "invalid-configuration", "$.args", "Inconsistent object: in function \"search_articles\": the function \"search_articles\" cannot be tracked because the function was requested to be exposed as a mutation, but is not marked VOLATILE. Maybe the function was given the wrong volatility when it was defined?");
    let e = err(
        &mut md,
        req(
            "pg_track_function",
            json!({"function": "search_articles", "configuration": {"exposed_as": "subscription"}}),
        ),
    );
    assert_err(
        &e,
        "parse-failed",
        "$.args.configuration.exposed_as",
        "unexpected value \"subscription\" for exposed_as, expected \"query\" or \"mutation\"",
    );
}

#[test]
fn session_argument() {
    let mut md = tracked(&["article"]);
    let e = err(
        &mut md,
        req(
            "pg_track_function",
            json!({"function": "search_articles", "configuration": {"session_argument": "search"}}),
        ),
    );
    assert_err(&e, "invalid-configuration", "$.args", "Inconsistent object: in function \"search_articles\": the function \"search_articles\" cannot be tracked because given session argument \"search\" is not of type json");
    let e = err(
        &mut md,
        req(
            "pg_track_function",
            json!({"function": "search_articles", "configuration": {"session_argument": "nope", "custom_name": "bad-name"}}),
        ),
    );
    assert_err(&e, "parse-failed", "$.args.configuration.custom_name", "bad-name is not valid GraphQL name");
}

#[test]
fn untrack_and_customize() {
    let mut md = tracked(&["article"]);
    ok(&mut md, req("pg_track_function", json!({"function": "search_articles"})));
    ok(
        &mut md,
        req(
            "pg_set_function_customization",
            json!({"function": "search_articles", "configuration": {"custom_root_fields": {"function": "find"}}}),
        ),
    );
    assert_eq!(function(&md, "search_articles").configuration.custom_root_fields["function"], "find");
    let e = err(
        &mut md,
        req(
            "pg_set_function_customization",
            json!({"function": "search_articles", "configuration": {"custom_root_fields": {"select": "find"}}}),
        ),
    );
    assert_err(
        &e,
        "parse-failed",
        "$.args.configuration.custom_root_fields",
        "unexpected key \"select\" in custom_root_fields, expected one of function, function_aggregate",
    );
    ok(&mut md, req("untrack_function", json!({"schema": "public", "name": "search_articles"})));
    assert!(md.default_source().unwrap().functions.is_empty());
    let e = err(&mut md, req("pg_untrack_function", json!({"function": "search_articles"})));
    assert_err(&e, "not-exists", "$.args.function", "function \"search_articles\" not found in the cache");
}

#[test]
fn function_permissions() {
    let mut md = tracked(&["article"]);
    ok(&mut md, req("pg_track_function", json!({"function": "search_articles"})));
    ok(&mut md, req("pg_create_function_permission", json!({"function": "search_articles", "role": "user"})));
    assert_eq!(function(&md, "search_articles").permissions, vec![json!({"role": "user"})]);
    let e = err(&mut md, req("pg_create_function_permission", json!({"function": "search_articles", "role": "user"})));
    assert_err(
        &e,
        "already-exists",
        "$.args",
        "permission of role \"user\" already exists for function \"search_articles\"",
    );
    ok(&mut md, req("pg_drop_function_permission", json!({"function": "search_articles", "role": "user"})));
    let e = err(&mut md, req("pg_drop_function_permission", json!({"function": "search_articles", "role": "user"})));
    assert_err(
        &e,
        "not-exists",
        "$.args",
        "permission of role \"user\" does not exist for function \"search_articles\"",
    );
}
