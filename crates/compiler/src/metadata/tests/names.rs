//! Names that are not GraphQL names (issue 12 item 11) and tables dropped behind Graft's back
//! (item 13), through the metadata API.

use serde_json::{json, Value};

use super::*;
use crate::dbcatalog::DbCatalog;
use crate::metadata::ops::apply;

/// The shared catalog plus `weird` (columns `id`, `a"b`, `x'y`; primary key `we"ird_pkey`) and
/// `bad-name`, whose name is not a GraphQL name.
fn names_db() -> DbCatalog {
    let mut db = db();
    let extra: Vec<crate::dbcatalog::DbTable> = serde_json::from_value(json!([
        {"schema": "public", "name": "weird", "kind": "table",
         "columns": [col("id", "int4"), col("a\"b", "text"), col("x'y", "int4")],
         "primary_key": {"name": "we\"ird_pkey", "columns": ["id"]}},
        {"schema": "public", "name": "bad-name", "kind": "table",
         "columns": [col("id", "int4")],
         "primary_key": {"name": "bad-name_pkey", "columns": ["id"]}},
    ]))
    .unwrap();
    db.tables.extend(extra);
    db
}

fn on(md: &mut Metadata, db: &DbCatalog, req: Value) -> Result<Value, MetadataError> {
    apply(md, db, &req, 1).map(|o| o.response)
}

fn inconsistent(md: &mut Metadata, db: &DbCatalog) -> Value {
    on(md, db, req("get_inconsistent_metadata", json!({}))).unwrap()
}

#[test]
fn a_column_that_is_not_a_graphql_name_needs_a_custom_name() {
    let db = names_db();
    let mut md = Metadata::default();
    let e = on(&mut md, &db, req("pg_track_table", json!({"table": "weird"}))).unwrap_err();
    assert_err(
        &e,
        "invalid-configuration",
        "$.args",
        "Inconsistent object: cannot include \"a\"b\" in the GraphQL schema because  it is not a valid GraphQL identifier",
    );
    // One custom name is not enough: `x'y` is next.
    let one = json!({"table": "weird", "configuration": {"column_config": {"a\"b": {"custom_name": "a_b"}}}});
    let e = on(&mut md, &db, req("pg_track_table", one)).unwrap_err();
    assert!(e.error.contains("cannot include \"x'y\""), "{}", e.error);
    let both = json!({"table": "weird", "configuration": {"column_config": {"a\"b": {"custom_name": "a_b"}},
                                                           "custom_column_names": {"x'y": "x_y"}}});
    on(&mut md, &db, req("pg_track_table", both)).unwrap();
    // A column (or custom) name `true`/`false`/`null` can't be a `T_select_column` value.
    let e = on(&mut md, &db, req("pg_set_table_customization", json!({"table": "weird", "configuration":
        {"column_config": {"a\"b": {"custom_name": "null"}, "x'y": {"custom_name": "x_y"}}}}))).unwrap_err();
    assert!(e.error.ends_with("cannot include \"null\" in the GraphQL schema because  it is not a valid GraphQL identifier"), "{}", e.error);
    assert_eq!(inconsistent(&mut md, &db), json!({"is_consistent": true, "inconsistent_objects": []}));
}

#[test]
fn a_table_whose_name_is_not_a_graphql_name_needs_a_custom_name() {
    let db = names_db();
    let mut md = Metadata::default();
    let e = on(&mut md, &db, req("pg_track_table", json!({"table": "bad-name"}))).unwrap_err();
    assert_err(
        &e,
        "invalid-configuration",
        "$.args",
        "Inconsistent object: cannot include \"bad-name\" in the GraphQL schema because \"bad-name\" is not a valid GraphQL identifier",
    );
    on(&mut md, &db, req("pg_track_table", json!({"table": "bad-name", "configuration": {"custom_name": "bad_name"}}))).unwrap();
    // A table stored without one (replace_metadata) is reported, and the rest stays usable.
    let doc = json!({"version": 3, "sources": [{"name": "default", "kind": "postgres", "configuration": {},
        "tables": [{"table": {"schema": "public", "name": "bad-name"}}, {"table": {"schema": "public", "name": "author"}}]}]});
    let e = on(&mut md, &db, req("replace_metadata", doc.clone())).unwrap_err();
    assert_eq!(e.error, "cannot continue due to inconsistent metadata");
    on(&mut md, &db, req("replace_metadata", json!({"allow_inconsistent_metadata": true, "metadata": doc}))).unwrap();
    let report = inconsistent(&mut md, &db);
    assert_eq!(report["inconsistent_objects"].as_array().unwrap().len(), 1, "{report}");
    assert_eq!(report["inconsistent_objects"][0]["name"], "table bad-name in source default");
    on(&mut md, &db, req("pg_set_table_customization", json!({"table": "bad-name", "configuration": {"custom_name": "bad_name"}})))
        .unwrap();
    assert_eq!(inconsistent(&mut md, &db)["is_consistent"], true);
}

#[test]
fn relationship_and_computed_field_names_must_be_graphql_names() {
    let mut md = blog();
    let e = err(
        &mut md,
        req("pg_create_object_relationship", json!({"table": "article", "name": "the author", "using": {"foreign_key_constraint_on": "author_id"}})),
    );
    assert_err(
        &e,
        "invalid-configuration",
        "$.args",
        "Inconsistent object: cannot include \"the author\" in the GraphQL schema because  it is not a valid GraphQL identifier",
    );
    let e = err(
        &mut md,
        req("pg_add_computed_field", json!({"table": "author", "name": "full-name", "definition": {"function": "full_name"}})),
    );
    assert_err(
        &e,
        "invalid-configuration",
        "$.args",
        "Inconsistent object: in table \"author\": in computed field \"full-name\": the computed field \"full-name\" cannot be added to table \"author\" because \"full-name\" is not valid GraphQL name",
    );
}

#[test]
fn enum_table_values_must_be_graphql_names() {
    let mut db = names_db();
    let row = |v: &str| serde_json::from_value(json!({"value": v})).unwrap();
    db.enum_values.insert("public.colors".into(), vec![row("red"), row("dark blue"), row("1st")]);
    let mut md = Metadata::default();
    let e = on(&mut md, &db, req("pg_track_table", json!({"table": "colors", "is_enum": true}))).unwrap_err();
    assert_err(
        &e,
        "invalid-configuration",
        "$.args",
        "Inconsistent object: the table \"colors\" cannot be used as an enum because the values \"1st\" and \"dark blue\" are not valid GraphQL enum value names",
    );
    // `null` is a name but not an enum value; three values are listed as Hasura lists them.
    db.enum_values.insert("public.colors".into(), vec![row("red"), row("null"), row("dark blue"), row("1st")]);
    let e = on(&mut md, &db, req("pg_track_table", json!({"table": "colors", "is_enum": true}))).unwrap_err();
    assert!(
        e.error.ends_with("because the values 1st, dark blue, and \"null\" are not valid GraphQL enum value names"),
        "{}",
        e.error
    );
    db.enum_values.insert("public.colors".into(), vec![]);
    let e = on(&mut md, &db, req("pg_track_table", json!({"table": "colors", "is_enum": true}))).unwrap_err();
    assert!(e.error.ends_with("cannot be used as an enum because the table must have at least one row"), "{}", e.error);
    // Without the rows in the catalog (the metadata API does not read them) nothing is said.
    db.enum_values.clear();
    on(&mut md, &db, req("pg_track_table", json!({"table": "colors", "is_enum": true}))).unwrap();
}

/// Item 13: a tracked table dropped with plain SQL stays in the metadata, reported as
/// inconsistent; re-created, it is consistent again; `drop_inconsistent_metadata` removes it.
#[test]
fn a_dropped_table_is_inconsistent_until_it_is_recreated_or_dropped_from_metadata() {
    let full = db();
    let mut dropped = db();
    dropped.tables.retain(|t| t.name != "article");
    let mut md = blog();
    on(&mut md, &full, req("pg_create_select_permission", json!({"table": "article", "role": "user", "permission": {"columns": ["id"], "filter": {}}})))
        .unwrap();
    // Dropped: listed (with its dependent on another table), still in the metadata.
    let report = inconsistent(&mut md, &dropped);
    assert_eq!(report["is_consistent"], false);
    let objects: Vec<(&str, &str)> = report["inconsistent_objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["name"].as_str().unwrap(), o["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(
        objects,
        [
            ("table article in source default", "Inconsistent object: no such table/view exists in source: \"article\""),
            ("array_relation articles in table author in source default", "Inconsistent object: table \"article\" is not tracked"),
        ]
    );
    assert_eq!(report["inconsistent_objects"][0]["definition"], json!({"name": "article", "schema": "public"}));
    let reload = on(&mut md, &dropped, req("reload_metadata", json!({}))).unwrap();
    assert_eq!((&reload["is_consistent"], &reload["inconsistent_objects"]), (&json!(false), &report["inconsistent_objects"]));
    // Tracking it again while it is missing fails as tracking a missing table does.
    let e = on(&mut md, &dropped, req("pg_track_table", json!({"table": "article"}))).unwrap_err();
    assert_err(&e, "invalid-configuration", "$.args", "Inconsistent object: no such table/view exists in source: \"article\"");
    assert!(md.default_source().unwrap().table(&crate::dbcatalog::QualifiedName::new("public", "article")).is_some());

    // Re-created: consistent again, with its relationships and permissions; tracked already.
    let mut recreated = md.clone();
    assert_eq!(inconsistent(&mut recreated, &full)["is_consistent"], true);
    let reload = on(&mut recreated, &full, req("reload_metadata", json!({}))).unwrap();
    assert_eq!(reload, json!({"message": "success", "is_consistent": true}));
    let e = on(&mut recreated, &full, req("pg_track_table", json!({"table": "article"}))).unwrap_err();
    assert_err(&e, "already-tracked", "$.args", "view/table already tracked: \"article\"");
    assert_eq!(table(&recreated, "article").select_permissions.len(), 1);
    assert_eq!(table(&recreated, "article").object_relationships.len(), 1);

    // drop_inconsistent_metadata removes it and what depends on it; re-created, it is untracked.
    on(&mut md, &dropped, req("drop_inconsistent_metadata", json!({}))).unwrap();
    assert_eq!(inconsistent(&mut md, &dropped)["is_consistent"], true);
    assert!(md.default_source().unwrap().table(&crate::dbcatalog::QualifiedName::new("public", "article")).is_none());
    assert!(table(&md, "author").array_relationships.is_empty());
    on(&mut md, &full, req("pg_track_table", json!({"table": "article"}))).unwrap();
}

/// A tracked table that became inconsistent while it exists (a column renamed to a name that is
/// not a GraphQL name) is not in Hasura's schema cache, so `track_table` may track it again:
/// the new entry replaces the old one if it is consistent.
#[test]
fn an_inconsistent_table_can_be_tracked_again() {
    let mut before = names_db();
    before.tables.iter_mut().find(|t| t.name == "weird").unwrap().columns.truncate(1);
    let after = names_db();
    let mut md = Metadata::default();
    on(&mut md, &before, req("pg_track_table", json!({"table": "weird"}))).unwrap();
    on(&mut md, &before, req("pg_track_table", json!({"table": "author"}))).unwrap();
    assert_eq!(inconsistent(&mut md, &after)["inconsistent_objects"][0]["name"], "table weird in source default");
    let e = on(&mut md, &after, req("pg_track_table", json!({"table": "weird"}))).unwrap_err();
    assert_eq!((e.code, e.error.contains("cannot include \"a\"b\"")), ("invalid-configuration", true), "{}", e.error);
    let names = json!({"column_config": {"a\"b": {"custom_name": "a_b"}, "x'y": {"custom_name": "x_y"}}});
    on(&mut md, &after, req("pg_track_table", json!({"table": "weird", "configuration": names}))).unwrap();
    assert_eq!(inconsistent(&mut md, &after)["is_consistent"], true);
    let tables: Vec<String> = md.default_source().unwrap().tables.iter().map(|t| t.table.name.clone()).collect();
    assert_eq!(tables, ["weird", "author"], "replaced in place");
    let e = on(&mut md, &after, req("pg_track_table", json!({"table": "weird"}))).unwrap_err();
    assert_err(&e, "already-tracked", "$.args", "view/table already tracked: \"weird\"");
}
