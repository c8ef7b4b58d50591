use serde_json::json;

use super::*;
use crate::metadata::ops::apply;

#[test]
fn track_table_adds_an_entry() {
    let mut md = Metadata::default();
    let out =
        apply(&mut md, &db(), &req("pg_track_table", json!({"source": "default", "table": "author"})), 1).unwrap();
    assert_eq!(out.response, json!({"message": "success"}));
    assert!(out.changed);
    assert_eq!(table(&md, "author").table.name, "author");
}

#[test]
fn legacy_track_forms() {
    let mut md = Metadata::default();
    ok(&mut md, req("track_table", json!({"schema": "public", "name": "author"})));
    ok(&mut md, req("add_existing_table_or_view", json!({"name": "article"})));
    ok(
        &mut md,
        json!({"type": "track_table", "version": 2, "args": {"table": {"schema": "public", "name": "comment"}, "configuration": {"custom_name": "remark"}}}),
    );
    ok(&mut md, req("pg_track_table", json!({"schema": "other", "name": "thing"})));
    ok(&mut md, req("track_table", json!("colors")));
    let names: Vec<String> = md.default_source().unwrap().tables.iter().map(|t| t.table.to_string()).collect();
    assert_eq!(names, ["public.author", "public.article", "public.comment", "other.thing", "public.colors"]);
    assert_eq!(table(&md, "comment").configuration.custom_name.as_deref(), Some("remark"));
}

#[test]
fn track_twice_is_already_tracked() {
    let mut md = tracked(&["author"]);
    let e = err(&mut md, req("pg_track_table", json!({"table": "author"})));
    assert_err(&e, "already-tracked", "$.args", "view/table already tracked: \"author\"");
    let mut md = tracked(&[]);
    ok(&mut md, req("pg_track_table", json!({"table": {"schema": "other", "name": "thing"}})));
    let e = err(&mut md, req("pg_track_table", json!({"table": {"schema": "other", "name": "thing"}})));
    assert_err(&e, "already-tracked", "$.args", "view/table already tracked: \"other.thing\"");
}

#[test]
fn track_missing_table_is_inconsistent() {
    let mut md = Metadata::default();
    let e = err(&mut md, req("pg_track_table", json!({"table": "nope"})));
    assert_err(
        &e,
        "invalid-configuration",
        "$.args",
        "Inconsistent object: no such table/view exists in source: \"nope\"",
    );
}

#[test]
fn unknown_source() {
    let mut md = Metadata::default();
    let e = err(&mut md, req("pg_track_table", json!({"table": "author", "source": "elsewhere"})));
    assert_err(&e, "not-exists", "$.args", "source with name \"elsewhere\" does not exist");
}

#[test]
fn missing_and_mistyped_args_are_parse_errors() {
    let mut md = Metadata::default();
    let e = err(&mut md, req("pg_set_table_is_enum", json!({"is_enum": true})));
    assert_err(&e, "parse-failed", "$.args", "key \"table\" not found");
    let e = err(&mut md, req("pg_track_table", json!({"table": 3})));
    assert_err(
        &e,
        "parse-failed",
        "$.args.table",
        "expecting a string/object for QualifiedObject",
    );
    let e = err(&mut md, req("pg_track_table", json!([1])));
    assert_err(&e, "parse-failed", "$.args", "parsing args failed, expected Object, but encountered Array");
}

#[test]
fn enum_tables() {
    let mut md = Metadata::default();
    ok(&mut md, req("pg_track_table", json!({"table": "colors", "is_enum": true})));
    assert!(table(&md, "colors").is_enum);
    let e = err(&mut md, req("pg_track_table", json!({"table": "employee", "is_enum": true})));
    assert_err(
        &e,
        "invalid-configuration",
        "$.args",
        "Inconsistent object: the table \"employee\" cannot be used as an enum for the following reasons:\n  \
         • the table’s primary key (\"id\") must have type \"text\", not type \"integer\"\n  \
         • the table must have exactly one primary key and optionally one comment column, not 4 columns (favorite_color, gets_paid_on, id, name)\n",
    );
}

#[test]
fn set_table_is_enum() {
    let mut md = tracked(&["colors", "author", "author_view"]);
    ok(&mut md, req("pg_set_table_is_enum", json!({"table": "colors", "is_enum": true})));
    assert!(table(&md, "colors").is_enum);
    ok(&mut md, req("set_table_is_enum", json!({"table": "colors", "is_enum": false})));
    assert!(!table(&md, "colors").is_enum);
    let e = err(&mut md, req("pg_set_table_is_enum", json!({"table": "author", "is_enum": true})));
    assert_err(
        &e,
        "invalid-configuration",
        "$.args",
        "Inconsistent object: the table \"author\" cannot be used as an enum for the following reasons:\n  \
         • the table’s primary key (\"id\") must have type \"text\", not type \"integer\"\n  \
         • the table must have exactly one primary key and optionally one comment column, not 3 columns (age, id, name)\n",
    );
    let e = err(&mut md, req("pg_set_table_is_enum", json!({"table": "author_view", "is_enum": true})));
    assert_err(
        &e,
        "invalid-configuration",
        "$.args",
        "Inconsistent object: the table \"author_view\" cannot be used as an enum for the following reasons:\n  \
         • the table must have a primary key\n  \
         • the table must have exactly one primary key and optionally one comment column, not 2 columns (id, name)\n",
    );
    let e = err(&mut md, req("pg_set_table_is_enum", json!({"table": "employee", "is_enum": true})));
    assert_err(&e, "not-exists", "$.args.table", "table \"employee\" does not exist");
}

#[test]
fn untrack_table() {
    let mut md = tracked(&["author", "article"]);
    ok(&mut md, req("pg_untrack_table", json!({"table": "article"})));
    ok(&mut md, req("untrack_table", json!({"table": {"schema": "public", "name": "author"}, "cascade": false})));
    assert!(md.default_source().unwrap().tables.is_empty());
    let e = err(&mut md, req("pg_untrack_table", json!({"table": "author"})));
    assert_err(&e, "already-untracked", "$.args", "view/table already untracked: \"author\"");
}

#[test]
fn untrack_with_dependents_needs_cascade() {
    let mut md = blog();
    ok(
        &mut md,
        req(
            "pg_create_select_permission",
            json!({"table": "article", "role": "user", "permission": {"columns": ["id"], "filter": {"author": {"id": {"_eq": "X-Hasura-User-Id"}}}}}),
        ),
    );
    ok(&mut md, req("pg_track_function", json!({"function": "search_articles"})));
    ok(
        &mut md,
        req(
            "pg_add_computed_field",
            json!({"table": "author", "name": "all_articles", "definition": {"function": "author_articles"}}),
        ),
    );
    let e = err(&mut md, req("pg_untrack_table", json!({"table": "author"})));
    assert_err(&e, "dependency-error", "$.args", "cannot drop due to the following dependent objects: permission article.user.select in source \"default\", relationship article.author in source \"default\"");
    let e = err(&mut md, req("pg_untrack_table", json!({"table": "article"})));
    assert_err(&e, "dependency-error", "$.args", "cannot drop due to the following dependent objects: computed field author.all_articles in source \"default\", function search_articles in source \"default\", relationship author.articles in source \"default\"");
    ok(&mut md, req("pg_untrack_table", json!({"table": "author", "cascade": true})));
    let article = table(&md, "article");
    assert!(article.object_relationships.is_empty());
    assert!(article.select_permissions.is_empty());
    assert_eq!(crate::metadata::consistency::check(&md, &db()).len(), 0);
}

#[test]
fn set_table_customization() {
    let mut md = tracked(&["author"]);
    ok(
        &mut md,
        req(
            "pg_set_table_customization",
            json!({"table": "author", "configuration": {
                "custom_name": "writer",
                "custom_root_fields": {"select": "writers", "select_by_pk": {"name": "writer", "comment": "one writer"}, "insert": null, "bogus": "x"},
                "column_config": {"id": {"custom_name": "writerId", "comment": "the id"}},
                "comment": "Writers",
            }}),
        ),
    );
    let c = &table(&md, "author").configuration;
    assert_eq!(c.custom_name.as_deref(), Some("writer"));
    assert_eq!(c.custom_root_fields.keys().collect::<Vec<_>>(), ["select", "select_by_pk"]);
    assert_eq!(c.column_custom_name("id"), Some("writerId"));
    assert_eq!(c.comment.as_deref(), Some("Writers"));
    // Replaces the whole configuration.
    ok(&mut md, req("set_table_customization", json!({"table": "author", "configuration": {"custom_name": "w"}})));
    let c = &table(&md, "author").configuration;
    assert!(c.custom_root_fields.is_empty() && c.column_config.is_empty());
}

#[test]
fn custom_column_names_fold_into_column_config() {
    let mut md = tracked(&["author"]);
    ok(
        &mut md,
        req(
            "pg_set_table_customization",
            json!({"table": "author", "configuration": {
                "custom_column_names": {"id": "ignored", "name": "authorName"},
                "column_config": {"id": {"custom_name": "wins"}},
            }}),
        ),
    );
    let c = &table(&md, "author").configuration;
    assert_eq!(c.column_custom_name("id"), Some("wins"));
    assert_eq!(c.column_custom_name("name"), Some("authorName"));
    assert!(c.custom_column_names.is_empty());
}

#[test]
fn customization_validation() {
    let mut md = tracked(&["author"]);
    let e = err(
        &mut md,
        req(
            "pg_set_table_customization",
            json!({"table": "author", "configuration": {"custom_root_fields": {"select": "authors", "select_aggregate": "authors", "insert": "add", "delete": "add"}}}),
        ),
    );
    assert_err(
        &e,
        "parse-failed",
        "$.args.configuration.custom_root_fields",
        "the following custom root field names are duplicated: authors and add",
    );
    let e = err(
        &mut md,
        req("pg_set_table_customization", json!({"table": "author", "configuration": {"custom_name": "bad name"}})),
    );
    assert_err(&e, "parse-failed", "$.args.configuration.custom_name", "bad name is not valid GraphQL name");
    let e = err(
        &mut md,
        req(
            "pg_set_table_customization",
            json!({"table": "author", "configuration": {"column_config": {"id": {"custom_name": "1d"}}}}),
        ),
    );
    assert_err(&e, "parse-failed", "$.args.configuration.column_config.id.custom_name", "1d is not valid GraphQL name");
    let e = err(
        &mut md,
        req(
            "pg_set_table_customization",
            json!({"table": "author", "configuration": {"column_config": {"nope": {"custom_name": "x"}}}}),
        ),
    );
    assert_err(&e, "invalid-configuration", "$.args", "Inconsistent object: in table \"author\": the custom field name \"x\" was given for the column \"nope\", but no such column exists");
    let e = err(
        &mut md,
        req(
            "pg_set_table_customization",
            json!({"table": "author", "configuration": {"column_config": {"nope": {"comment": "x"}}}}),
        ),
    );
    assert_err(&e, "invalid-configuration", "$.args", "Inconsistent object: in table \"author\": the column \"nope\" was given a configuration, but no such column exists");
    let e = err(
        &mut md,
        req(
            "pg_set_table_customization",
            json!({"table": "author", "configuration": {"column_config": {"id": {"custom_name": "name"}}}}),
        ),
    );
    assert_err(&e, "invalid-configuration", "$.args", "Inconsistent object: in table \"author\": the definitions of columns \"id\" and \"name\" are in conflict: they are mapped to the same field name, \"name\"");
    let e = err(&mut md, req("pg_set_table_customization", json!({"table": "article", "configuration": {}})));
    assert_err(&e, "not-exists", "$.args.table", "table \"article\" does not exist");
}

#[test]
fn customization_clashing_with_a_relationship() {
    let mut md = blog();
    let e = err(
        &mut md,
        req(
            "pg_set_table_customization",
            json!({"table": "author", "configuration": {"column_config": {"name": {"custom_name": "articles"}}}}),
        ),
    );
    assert_err(&e, "unexpected", "$.args", "cannot continue due to new inconsistent metadata");
    assert_eq!(e.status, 400);
}

#[test]
fn set_table_custom_fields_legacy() {
    let mut md = tracked(&["author"]);
    ok(
        &mut md,
        req(
            "pg_set_table_customization",
            json!({"table": "author", "configuration": {"custom_name": "writer", "column_config": {"age": {"comment": "years"}}}}),
        ),
    );
    ok(
        &mut md,
        json!({"type": "set_table_custom_fields", "version": 2, "args": {"table": "author", "custom_root_fields": {"select": "writers"}, "custom_column_names": {"age": "years"}}}),
    );
    let c = &table(&md, "author").configuration;
    assert_eq!(c.custom_name.as_deref(), Some("writer"));
    assert_eq!(c.column_custom_name("age"), Some("years"));
    assert_eq!(c.column_config["age"].comment.as_deref(), Some("years"));
    assert_eq!(c.root_field("select").and_then(|f| f.name()), Some("writers"));
}

#[test]
fn track_tables_is_all_or_nothing() {
    let mut md = Metadata::default();
    ok(
        &mut md,
        req(
            "pg_track_tables",
            json!({"tables": [{"table": "author"}, {"table": "article", "configuration": {"custom_name": "post"}}]}),
        ),
    );
    assert_eq!(md.default_source().unwrap().tables.len(), 2);
    let e = err(&mut md, req("pg_track_tables", json!({"tables": [{"table": "comment"}, {"table": "nope"}]})));
    assert_eq!(e.code, "invalid-configuration");
    ok(&mut md, req("pg_untrack_tables", json!({"tables": [{"table": "author"}, {"table": "article"}]})));
    assert!(md.default_source().unwrap().tables.is_empty());
}

#[test]
fn a_function_name_blocks_tracking_a_table_of_that_name() {
    let mut md = tracked(&["article"]);
    ok(&mut md, req("pg_track_function", json!({"function": "search_articles"})));
    // Tracking a table named like a tracked function is refused before looking at the database.
    let e = err(&mut md, req("pg_track_table", json!({"table": "search_articles"})));
    assert_err(&e, "not-supported", "$.args", "function with name \"search_articles\" already exists");
}
