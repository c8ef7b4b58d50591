//! Metadata Hasura's schema build refuses as a whole: inherited role cycles, root fields two
//! objects define.

use serde_json::json;

use super::*;

fn roles_doc(roles: Value) -> Value {
    json!({"version": 3, "sources": [{"name": "default", "kind": "postgres", "tables": [{"table": "author"}], "configuration": {}}], "inherited_roles": roles})
}

/// Hasura's own case (tests-py `test_inherited_role_cycle`… in test_graphql_queries.py): a
/// three-role cycle given to `replace_metadata` is a 400 `cyclic-dependency`.
#[test]
fn replace_metadata_refuses_a_role_cycle() {
    let mut md = Metadata::default();
    let doc = roles_doc(json!([
        {"role_name": "manager_employee", "role_set": ["manager", "employee"]},
        {"role_name": "intermediate_circular_role_1", "role_set": ["manager_employee", "circular_role"]},
        {"role_name": "intermediate_circular_role_2", "role_set": ["intermediate_circular_role_1", "employee"]},
        {"role_name": "circular_role", "role_set": ["intermediate_circular_role_2", "author"]},
    ]));
    for r in [req("replace_metadata", doc.clone()), json!({"type": "replace_metadata", "version": 2, "args": {"allow_inconsistent_metadata": true, "metadata": doc}})] {
        let e = err(&mut md, r);
        assert_err(
            &e,
            "cyclic-dependency",
            "$.args",
            "found cycle(s) in roles: [\"circular_role\",\"intermediate_circular_role_2\",\"intermediate_circular_role_1\",\"circular_role\"]",
        );
        assert_eq!(e.status, 400);
    }
    // A role in its own role_set, and two separate cycles.
    let e = err(&mut md, req("replace_metadata", roles_doc(json!([{"role_name": "a", "role_set": ["a"]}]))));
    assert_err(&e, "cyclic-dependency", "$.args", "found cycle(s) in roles: [\"a\",\"a\"]");
    let e = err(
        &mut md,
        req("replace_metadata", roles_doc(json!([
            {"role_name": "b", "role_set": ["a"]}, {"role_name": "a", "role_set": ["b"]},
            {"role_name": "y", "role_set": ["x", "user"]}, {"role_name": "x", "role_set": ["y"]},
            {"role_name": "ok", "role_set": ["a", "user"]},
        ]))),
    );
    assert_err(&e, "cyclic-dependency", "$.args", "found cycle(s) in roles: [\"a\",\"b\",\"a\"], [\"x\",\"y\",\"x\"]");
    // No cycle: accepted.
    ok(&mut md, req("replace_metadata", roles_doc(json!([{"role_name": "b", "role_set": ["a", "c"]}, {"role_name": "a", "role_set": ["c"]}]))));
}

#[test]
fn add_inherited_role_refuses_a_cycle_with_hasuras_message() {
    let mut md = tracked(&["author"]);
    ok(&mut md, req("add_inherited_role", json!({"role_name": "a", "role_set": ["user"]})));
    ok(&mut md, req("add_inherited_role", json!({"role_name": "b", "role_set": ["a"]})));
    let e = err(&mut md, json!({"type": "bulk", "args": [
        req("drop_inherited_role", json!({"role_name": "a"})),
        req("add_inherited_role", json!({"role_name": "a", "role_set": ["b"]})),
    ]}));
    assert_err(&e, "cyclic-dependency", "$.args[1].args", "found cycle(s) in roles: [\"a\",\"b\",\"a\"]");
    let e = err(&mut md, req("add_inherited_role", json!({"role_name": "c", "role_set": ["c"]})));
    assert_err(&e, "cyclic-dependency", "$.args", "found cycle(s) in roles: [\"c\",\"c\"]");
}

const CONFLICT_TAIL: &str = ". Fields must not be defined more than once across all sources.";

/// Two tables whose custom names produce the same root fields: Hasura's schema build fails
/// (500 `unexpected`), reporting the subscription root first.
#[test]
fn two_tables_with_the_same_graphql_name_are_refused() {
    let mut md = tracked(&["author"]);
    let e = err(&mut md, req("pg_track_table", json!({"table": "article", "configuration": {"custom_name": "author"}})));
    assert_eq!((e.code, e.path.as_str(), e.status), ("unexpected", "$.args", 500));
    let origins = "[table author in source default, table article in source default]";
    let fields: Vec<String> = ["author", "author_by_pk", "author_aggregate", "author_stream"]
        .iter()
        .map(|f| format!("'{f}' defined in {origins}"))
        .collect();
    assert_eq!(
        e.error,
        format!("Encountered conflicting definitions in the selection set for 'subscription_root' for fields: [{}]{CONFLICT_TAIL}", fields.join(", "))
    );
    // One custom root field equal to another table's: a single field, singular message.
    let e = err(
        &mut md,
        req("pg_track_table", json!({"table": "article", "configuration": {"custom_root_fields": {"select_by_pk": "author"}}})),
    );
    assert_eq!(
        e.error,
        format!("Encountered conflicting definitions in the selection set for 'subscription_root' for field 'author' defined in [table author in source default, table article in source default]{CONFLICT_TAIL}")
    );
    // A clash on the mutation root only.
    let e = err(
        &mut md,
        req("pg_track_table", json!({"table": "article", "configuration": {"custom_root_fields": {"insert_one": "insert_author"}}})),
    );
    assert_eq!(
        e.error,
        format!("Encountered conflicting definitions in the selection set for 'mutation_root' for field 'insert_author' defined in [table author in source default, table article in source default]{CONFLICT_TAIL}")
    );
    // Distinct names are fine, and nothing was changed by the refusals.
    assert_eq!(md.sources[0].tables.len(), 1);
    ok(&mut md, req("pg_track_table", json!({"table": "article", "configuration": {"custom_name": "post"}})));
    let e = err(&mut md, req("pg_set_table_customization", json!({"table": "article", "configuration": {"custom_name": "author"}})));
    assert_eq!(e.code, "unexpected");
}

#[test]
fn a_table_and_a_function_with_the_same_graphql_name_are_refused() {
    let mut md = tracked(&["author", "article"]);
    let e = err(
        &mut md,
        req("pg_track_function", json!({"function": "search_articles", "configuration": {"custom_name": "article"}})),
    );
    assert_eq!(
        e.error,
        format!("Encountered conflicting definitions in the selection set for 'subscription_root' for fields: ['article' defined in [table article in source default, function search_articles in source default], 'article_aggregate' defined in [table article in source default, function search_articles in source default]]{CONFLICT_TAIL}")
    );
    // A volatile function is a mutation: it clashes on the mutation root.
    let e = err(
        &mut md,
        req("pg_track_function", json!({"function": "archive_articles", "configuration": {"custom_root_fields": {"function": "delete_article"}}})),
    );
    assert!(e.error.starts_with("Encountered conflicting definitions in the selection set for 'mutation_root' for field 'delete_article' defined in [table article in source default, function archive_articles in source default]"), "{}", e.error);
}

/// `replace_metadata` with two tables of the same name fails even when inconsistencies are
/// allowed; an inconsistent table defines no field, so it clashes with nothing.
#[test]
fn replace_metadata_refuses_conflicting_names() {
    let mut md = Metadata::default();
    let doc = |second: &str| {
        json!({"version": 3, "sources": [{"name": "default", "kind": "postgres", "configuration": {}, "tables": [
            {"table": "author"}, {"table": second, "configuration": {"custom_name": "author"}}]}]})
    };
    let v2 = |d: Value| json!({"type": "replace_metadata", "version": 2, "args": {"allow_inconsistent_metadata": true, "metadata": d}});
    let e = err(&mut md, v2(doc("article")));
    assert_eq!((e.code, e.status), ("unexpected", 500));
    assert!(e.error.contains("'author' defined in [table author in source default, table article in source default]"), "{}", e.error);
    let out = ok(&mut md, v2(doc("no_such_table")));
    assert_eq!(out["is_consistent"], json!(false));
}

/// Hasura's tests-py `set_table_is_enum/relationship_with_inconsistent_enum_table.yaml`: an
/// enum table whose rows stop being GraphQL names is inconsistent, and so is a relationship to
/// it (`table "colors" is not tracked`), while its referencing table stays consistent.
#[test]
fn a_relationship_to_an_inconsistent_enum_table_is_inconsistent() {
    let mut db = db();
    let employee = db.tables.iter_mut().find(|t| t.name == "employee").unwrap();
    employee.foreign_keys = serde_json::from_value(json!([
        {"name": "employee_favorite_color_fkey", "columns": ["favorite_color"], "ref_schema": "public", "ref_table": "colors", "ref_columns": ["value"]}
    ])).unwrap();
    let row = |v: &str| serde_json::from_value(json!({"value": v, "comment": ""})).unwrap();
    db.enum_values.insert("public.colors".into(), vec![row("red"), row("blue")]);
    #[allow(clippy::result_large_err)]
    let on = |md: &mut Metadata, db: &crate::dbcatalog::DbCatalog, r: Value| apply(md, db, &r, 1).map(|o| o.response);
    let mut md = Metadata::default();
    on(&mut md, &db, json!({"type": "bulk", "args": [
        req("track_table", json!({"table": "colors", "is_enum": true})),
        req("track_table", json!("employee")),
        req("create_object_relationship", json!({"table": "employee", "name": "favorite_color_object", "using": {"foreign_key_constraint_on": "favorite_color"}})),
    ]})).unwrap();
    // run_sql inserts a value that is not a GraphQL name, then reload_metadata.
    db.enum_values.get_mut("public.colors").unwrap().push(row("illegal+graphql+identifier"));
    let report = on(&mut md, &db, req("get_inconsistent_metadata", json!({}))).unwrap();
    assert_eq!(report["is_consistent"], json!(false));
    let objects = report["inconsistent_objects"].as_array().unwrap();
    let summary: Vec<(Value, Value)> = objects.iter().map(|o| (o["type"].clone(), o["reason"].clone())).collect();
    assert_eq!(
        summary,
        vec![
            (json!("table"), json!("Inconsistent object: the table \"colors\" cannot be used as an enum because the value \"illegal+graphql+identifier\" is not a valid GraphQL enum value name")),
            (json!("object_relation"), json!("Inconsistent object: table \"colors\" is not tracked")),
        ]
    );
    assert_eq!(objects[0]["definition"], json!({"name": "colors", "schema": "public"}));
    assert_eq!(objects[1]["definition"]["name"], json!("favorite_color_object"));
    on(&mut md, &db, req("drop_inconsistent_metadata", json!({}))).unwrap();
    let left = &md.sources[0].tables;
    assert_eq!(left.iter().map(|t| t.table.name.as_str()).collect::<Vec<_>>(), ["employee"]);
    assert!(left[0].object_relationships.is_empty());
}

/// The extension re-checks a request with the rows of the enum tables it made: which tables
/// those are.
#[test]
fn enum_values_missing_names_new_enum_tables() {
    use crate::metadata::ops::enum_values_missing;
    let mut db = db();
    let mut md = tracked(&["colors", "employee"]);
    assert!(!enum_values_missing(&md, &db));
    md.sources[0].tables[0].is_enum = true;
    assert!(enum_values_missing(&md, &db));
    db.enum_values.insert("public.colors".into(), vec![]);
    assert!(!enum_values_missing(&md, &db));
    // A table without a one-column primary key has no rows to load (it is not enum-shaped).
    md.sources[0].tables[1].is_enum = true;
    db.tables.iter_mut().find(|t| t.name == "employee").unwrap().primary_key = None;
    assert!(!enum_values_missing(&md, &db));
}
