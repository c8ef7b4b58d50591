use serde_json::json;

use super::*;

fn add(name: &str, definition: serde_json::Value) -> serde_json::Value {
    req("pg_add_computed_field", json!({"table": "author", "name": name, "definition": definition}))
}

const CF: &str = "Inconsistent object: in table \"author\": in computed field";

#[test]
fn add_scalar_and_set_returning() {
    let mut md = tracked(&["author", "article"]);
    ok(&mut md, add("full_name", json!({"function": "full_name"})));
    ok(
        &mut md,
        req(
            "add_computed_field",
            json!({"table": "author", "name": "all_articles", "definition": {"function": {"schema": "public", "name": "author_articles"}, "table_argument": "author_row"}, "comment": "every article"}),
        ),
    );
    ok(&mut md, add("test_session", json!({"function": "test_session", "session_argument": "session"})));
    let author = table(&md, "author");
    assert_eq!(author.computed_fields.len(), 3);
    assert_eq!(author.computed_fields[1].comment.as_deref(), Some("every article"));
    assert_eq!(author.computed_fields[1].definition.table_argument.as_deref(), Some("author_row"));
}

#[test]
fn table_must_be_tracked() {
    let mut md = tracked(&["author"]);
    let e = err(
        &mut md,
        req(
            "pg_add_computed_field",
            json!({"table": "random", "name": "full_name", "definition": {"function": "full_name"}}),
        ),
    );
    assert_err(&e, "not-exists", "$.args.table", "table \"random\" does not exist");
}

#[test]
fn clashes() {
    let mut md = blog();
    let e = err(&mut md, add("name", json!({"function": "full_name"})));
    assert_err(
        &e,
        "invalid-configuration",
        "$.args",
        "Inconsistent object: field definition conflicts with postgres column",
    );
    let e = err(&mut md, add("articles", json!({"function": "full_name"})));
    assert_err(
        &e,
        "invalid-configuration",
        "$.args",
        "Inconsistent object: conflicting definitions for field \"articles\"",
    );
    ok(&mut md, add("full_name", json!({"function": "full_name"})));
    let e = err(&mut md, add("full_name", json!({"function": "full_name"})));
    assert_err(&e, "already-exists", "$.args", "field with name \"full_name\" already exists in table \"author\"");
}

#[test]
fn function_must_exist_once() {
    let mut md = tracked(&["author"]);
    let e = err(&mut md, add("full_name", json!({"function": "random_function"})));
    assert_err(
        &e,
        "invalid-configuration",
        "$.args",
        &format!("{CF} \"full_name\": no such function exists: \"random_function\""),
    );
    let e = err(&mut md, add("o", json!({"function": "overloaded"})));
    assert_err(
        &e,
        "invalid-configuration",
        "$.args",
        &format!("{CF} \"o\": function \"overloaded\" is overloaded. Overloaded functions are not supported"),
    );
}

#[test]
fn function_shape_errors() {
    let mut md = tracked(&["author", "article"]);
    let e = err(&mut md, add("full_name", json!({"function": "full_name", "table_argument": "random"})));
    assert_err(&e, "invalid-configuration", "$.args", &format!(
        "{CF} \"full_name\": the computed field \"full_name\" cannot be added to table \"author\" because \"random\" is not an input argument of \"full_name\" function"));
    let e =
        err(&mut md, add("get_articles", json!({"function": "fetch_articles_volatile", "table_argument": "random"})));
    assert_err(&e, "invalid-configuration", "$.args", &format!(
        "{CF} \"get_articles\": the computed field \"get_articles\" cannot be added to table \"author\" for the following reasons:\n  \
         • the function \"fetch_articles_volatile\" is of type VOLATILE; cannot be added as a computed field\n  \
         • \"random\" is not an input argument of \"fetch_articles_volatile\" function\n"));
    let e = err(&mut md, add("hello_world", json!({"function": "hello_world"})));
    assert_err(&e, "invalid-configuration", "$.args", &format!(
        "{CF} \"hello_world\": the computed field \"hello_world\" cannot be added to table \"author\" because the function \"hello_world\" has no input arguments"));
    let e = err(&mut md, add("get_articles", json!({"function": "fetch_articles"})));
    assert_err(&e, "invalid-configuration", "$.args", &format!(
        "{CF} \"get_articles\": the computed field \"get_articles\" cannot be added to table \"author\" for the following reasons:\n  \
         • first argument of the function \"fetch_articles\" is not COMPOSITE type\n  \
         • first argument of the function \"fetch_articles\" of type \"pg_catalog.text\" is not the table to which the computed field is being added\n"));
    ok(&mut md, add("get_articles", json!({"function": "fetch_articles", "table_argument": "author_row"})));
    let e = err(&mut md, add("s", json!({"function": "test_session", "session_argument": "key"})));
    assert_err(&e, "invalid-configuration", "$.args", &format!(
        "{CF} \"s\": the computed field \"s\" cannot be added to table \"author\" because session argument \"key\" of the function \"test_session\" is not of type json or jsonb"));
}

#[test]
fn set_returning_needs_a_tracked_table() {
    let mut md = tracked(&["author"]);
    let e = err(&mut md, add("all_articles", json!({"function": "author_articles"})));
    assert_err(&e, "invalid-configuration", "$.args", &format!(
        "{CF} \"all_articles\": the computed field \"all_articles\" cannot be added to table \"author\" because the function \"author_articles\" returning set of table \"article\" is not tracked or not found in database"));
}

#[test]
fn definition_is_parsed() {
    let mut md = tracked(&["author"]);
    let e = err(&mut md, req("pg_add_computed_field", json!({"table": "author", "name": "x"})));
    assert_err(&e, "parse-failed", "$.args", "key \"definition\" not found");
    let e = err(&mut md, add("x", json!({"table_argument": "a"})));
    assert_eq!((e.code, e.path.as_str()), ("parse-failed", "$.args.definition"));
}

#[test]
fn drop_computed_field() {
    let mut md = tracked(&["author"]);
    ok(&mut md, add("full_name", json!({"function": "full_name"})));
    let e = err(&mut md, req("pg_drop_computed_field", json!({"table": "random", "name": "full_name"})));
    assert_err(&e, "not-exists", "$.args.table", "table \"random\" does not exist");
    let e = err(&mut md, req("drop_computed_field", json!({"table": "author", "name": "random"})));
    assert_err(&e, "not-exists", "$.args.name", "computed field \"random\" does not exist");
    ok(&mut md, req("pg_drop_computed_field", json!({"table": "author", "name": "full_name"})));
    assert!(table(&md, "author").computed_fields.is_empty());
}

#[test]
fn drop_computed_field_used_by_a_permission() {
    let mut md = tracked(&["author"]);
    ok(&mut md, add("full_name", json!({"function": "full_name"})));
    let perm = json!({"columns": ["id"], "computed_fields": ["full_name"], "filter": {}});
    ok(&mut md, req("pg_create_select_permission", json!({"table": "author", "role": "user", "permission": perm})));
    let e = err(&mut md, req("pg_drop_computed_field", json!({"table": "author", "name": "full_name"})));
    assert_err(
        &e,
        "dependency-error",
        "$.args",
        "cannot drop due to the following dependent objects: permission author.user.select in source \"default\"",
    );
    ok(&mut md, req("pg_drop_computed_field", json!({"table": "author", "name": "full_name", "cascade": true})));
    assert!(table(&md, "author").select_permissions.is_empty());
}
