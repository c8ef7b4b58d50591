use serde_json::json;

use super::*;
use crate::metadata::model::{FkOn, RelUsing};

fn obj(table: &str, name: &str, using: serde_json::Value) -> serde_json::Value {
    req("pg_create_object_relationship", json!({"table": table, "name": name, "using": using}))
}

fn arr(table: &str, name: &str, using: serde_json::Value) -> serde_json::Value {
    req("pg_create_array_relationship", json!({"table": table, "name": name, "using": using}))
}

#[test]
fn create_both_directions() {
    let md = blog();
    let article = table(&md, "article");
    assert!(
        matches!(&article.object_relationships[0].using, RelUsing::ForeignKey(FkOn::Column(c)) if c == "author_id")
    );
    let author = table(&md, "author");
    assert!(
        matches!(&author.array_relationships[0].using, RelUsing::ForeignKey(FkOn::Remote(r)) if r.table.name == "article")
    );
}

#[test]
fn foreign_key_forms() {
    let mut md = tracked(&["author", "article", "comment"]);
    ok(&mut md, obj("comment", "writer", json!({"foreign_key_constraint_on": ["author_id"]})));
    ok(
        &mut md,
        req(
            "create_object_relationship",
            json!({"table": "comment", "name": "article", "using": {"foreign_key_constraint_on": "article_id"}, "comment": "the article"}),
        ),
    );
    ok(
        &mut md,
        arr(
            "article",
            "comments",
            json!({"foreign_key_constraint_on": {"table": {"schema": "public", "name": "comment"}, "columns": ["article_id"]}}),
        ),
    );
    ok(
        &mut md,
        req(
            "create_array_relationship",
            json!({"table": "author", "name": "comments", "using": {"foreign_key_constraint_on": {"table": "comment", "column": "author_id"}}}),
        ),
    );
    // An object relationship from the referenced side (one-to-one).
    ok(
        &mut md,
        obj(
            "author",
            "some_article",
            json!({"foreign_key_constraint_on": {"table": "article", "column": "author_id"}}),
        ),
    );
    assert_eq!(table(&md, "comment").object_relationships[1].comment.as_deref(), Some("the article"));
    assert_eq!(crate::metadata::consistency::check(&md, &db()).len(), 0);
}

#[test]
fn table_must_be_tracked() {
    let mut md = tracked(&["author"]);
    let e = err(&mut md, obj("article", "author", json!({"foreign_key_constraint_on": "author_id"})));
    assert_err(&e, "not-exists", "$.args.table", "table \"article\" does not exist");
}

#[test]
fn remote_table_must_be_tracked() {
    let mut md = tracked(&["article"]);
    let e = err(&mut md, obj("article", "author", json!({"foreign_key_constraint_on": "author_id"})));
    assert_err(&e, "invalid-configuration", "$.args", "Inconsistent object: table \"author\" is not tracked");
    let mut md = tracked(&["author"]);
    let e = err(
        &mut md,
        arr("author", "articles", json!({"foreign_key_constraint_on": {"table": "article", "column": "author_id"}})),
    );
    assert_err(&e, "invalid-configuration", "$.args", "Inconsistent object: table \"article\" is not tracked");
}

#[test]
fn name_must_be_free() {
    let mut md = blog();
    let e = err(&mut md, obj("article", "title", json!({"foreign_key_constraint_on": "author_id"})));
    assert_err(&e, "already-exists", "$.args", "field with name \"title\" already exists in table \"article\"");
    let e = err(&mut md, obj("article", "author", json!({"foreign_key_constraint_on": "author_id"})));
    assert_err(&e, "already-exists", "$.args", "field with name \"author\" already exists in table \"article\"");
    ok(
        &mut md,
        req(
            "pg_add_computed_field",
            json!({"table": "author", "name": "full_name", "definition": {"function": "full_name"}}),
        ),
    );
    let e = err(
        &mut md,
        arr("author", "full_name", json!({"foreign_key_constraint_on": {"table": "article", "column": "author_id"}})),
    );
    assert_err(&e, "already-exists", "$.args", "field with name \"full_name\" already exists in table \"author\"");
}

#[test]
fn name_clashing_with_a_custom_column_name() {
    let mut md = tracked(&["author", "article"]);
    ok(
        &mut md,
        req(
            "pg_set_table_customization",
            json!({"table": "article", "configuration": {"column_config": {"title": {"custom_name": "writer"}}}}),
        ),
    );
    let e = err(&mut md, obj("article", "writer", json!({"foreign_key_constraint_on": "author_id"})));
    assert_err(
        &e,
        "invalid-configuration",
        "$.args",
        "Inconsistent object: field definition conflicts with custom field name for postgres column \"title\"",
    );
}

#[test]
fn foreign_key_must_exist() {
    let mut md = tracked(&["author", "article"]);
    let e = err(&mut md, obj("article", "published", json!({"foreign_key_constraint_on": "published_on"})));
    assert_err(&e, "invalid-configuration", "$.args", "Inconsistent object: in table \"article\": in relationship \"published\": no foreign constraint exists on the given column(s)");
    let e = err(
        &mut md,
        arr("author", "articles", json!({"foreign_key_constraint_on": {"table": "article", "column": "published_on"}})),
    );
    assert_err(&e, "invalid-configuration", "$.args", "Inconsistent object: in table \"author\": in relationship \"articles\": no foreign constraint exists on the given column(s)");
    let e = err(&mut md, obj("article", "x", json!({"foreign_key_constraint_on": ["author_id", "id"]})));
    assert_err(&e, "invalid-configuration", "$.args", "Inconsistent object: in table \"article\": in relationship \"x\": no foreign constraint exists on the given column(s)");
}

#[test]
fn using_parse_errors() {
    let mut md = tracked(&["author", "article"]);
    let e = err(&mut md, arr("author", "articles", json!({"foreign_key_constraint_on": "author_id"})));
    assert_err(
        &e,
        "parse-failed",
        "$.args.using",
        "Expecting object { table, columns }.",
    );
    let e = err(&mut md, obj("article", "author", json!({})));
    assert_err(
        &e,
        "parse-failed",
        "$.args.using",
        "atleast one of foreign_key_constraint_on/manual_configuration should be present",
    );
    let e = err(
        &mut md,
        obj("article", "author", json!({"foreign_key_constraint_on": "author_id", "manual_configuration": {}})),
    );
    assert_err(
        &e,
        "parse-failed",
        "$.args.using",
        "only one of foreign_key_constraint_on/manual_configuration should be present",
    );
    let e = err(&mut md, req("pg_create_object_relationship", json!({"table": "article", "name": "author"})));
    assert_err(&e, "parse-failed", "$.args", "key \"using\" not found");
}

#[test]
fn manual_configuration() {
    let mut md = tracked(&["author", "article", "author_view"]);
    ok(
        &mut md,
        obj(
            "article",
            "author_info",
            json!({"manual_configuration": {"remote_table": "author_view", "column_mapping": {"author_id": "id"}, "insertion_order": "before_parent"}}),
        ),
    );
    ok(
        &mut md,
        arr(
            "author_view",
            "articles",
            json!({"manual_configuration": {"remote_table": {"schema": "public", "name": "article"}, "column_mapping": {"id": "author_id"}}}),
        ),
    );
    let e = err(
        &mut md,
        obj(
            "article",
            "x",
            json!({"manual_configuration": {"remote_table": "author", "column_mapping": {"author_id": "nope"}}}),
        ),
    );
    assert_err(
        &e,
        "invalid-configuration",
        "$.args",
        "Inconsistent object: table \"author\" has no field named \"nope\"",
    );
    let e = err(
        &mut md,
        obj(
            "article",
            "x",
            json!({"manual_configuration": {"remote_table": "author", "column_mapping": {"nope": "id"}}}),
        ),
    );
    assert_err(
        &e,
        "invalid-configuration",
        "$.args",
        "Inconsistent object: table \"article\" has no field named \"nope\"",
    );
    let e = err(
        &mut md,
        obj(
            "article",
            "x",
            json!({"manual_configuration": {"remote_table": "comment", "column_mapping": {"id": "article_id"}}}),
        ),
    );
    assert_err(&e, "invalid-configuration", "$.args", "Inconsistent object: table \"comment\" is not tracked");
    let e = err(
        &mut md,
        obj(
            "article",
            "x",
            json!({"manual_configuration": {"remote_table": "author", "column_mapping": {"author_id": "id"}, "insertion_order": "sideways"}}),
        ),
    );
    assert_err(
        &e,
        "parse-failed",
        "$.args.using.insertion_order",
        "insertion_order should be 'before_parent' or 'after_parent'",
    );
}

#[test]
fn drop_relationship() {
    let mut md = blog();
    ok(&mut md, req("pg_drop_relationship", json!({"table": "article", "relationship": "author"})));
    assert!(table(&md, "article").object_relationships.is_empty());
    let e = err(&mut md, req("drop_relationship", json!({"table": "article", "relationship": "author"})));
    assert_err(&e, "not-exists", "$.args.relationship", "\"author\" does not exist");
    let e = err(&mut md, req("pg_drop_relationship", json!({"table": "article", "relationship": "title"})));
    assert_err(
        &e,
        "unexpected-payload",
        "$.args.relationship",
        "expecting a relationship; but, \"title\" is a postgres column",
    );
}

#[test]
fn drop_relationship_used_by_a_permission() {
    let mut md = blog();
    let perm = json!({"columns": ["id"], "filter": {"_and": [{"author": {"id": {"_eq": "X-Hasura-User-Id"}}}]}});
    ok(&mut md, req("pg_create_select_permission", json!({"table": "article", "role": "user", "permission": perm})));
    let e = err(&mut md, req("pg_drop_relationship", json!({"table": "article", "relationship": "author"})));
    assert_err(
        &e,
        "dependency-error",
        "$.args",
        "cannot drop due to the following dependent objects: permission article.user.select in source \"default\"",
    );
    ok(&mut md, req("pg_drop_relationship", json!({"table": "article", "relationship": "author", "cascade": true})));
    assert!(table(&md, "article").select_permissions.is_empty());
}

#[test]
fn rename_relationship() {
    let mut md = blog();
    let perm = json!({"columns": ["id"], "filter": {"author": {"id": {"_eq": "X-Hasura-User-Id"}}, "id": {"_gt": 0}}});
    ok(&mut md, req("pg_create_select_permission", json!({"table": "article", "role": "user", "permission": perm})));
    ok(&mut md, req("pg_rename_relationship", json!({"table": "article", "name": "author", "new_name": "writer"})));
    let article = table(&md, "article");
    assert_eq!(article.object_relationships[0].name, "writer");
    assert_eq!(
        serde_json::to_string(&article.select_permissions[0].permission["filter"]).unwrap(),
        r#"{"writer":{"id":{"_eq":"X-Hasura-User-Id"}},"id":{"_gt":0}}"#
    );
    let e =
        err(&mut md, req("rename_relationship", json!({"table": "article", "name": "writer", "new_name": "title"})));
    assert_err(&e, "already-exists", "$.args", "cannot rename relationship \"writer\" to \"title\" in table \"article\" as a column/relationship with the name already exists");
    let e = err(&mut md, req("pg_rename_relationship", json!({"table": "article", "name": "nope", "new_name": "x"})));
    assert_err(&e, "not-exists", "$.args.name", "\"nope\" does not exist");
}

#[test]
fn relationship_comment() {
    let mut md = blog();
    ok(
        &mut md,
        req(
            "pg_set_relationship_comment",
            json!({"table": "author", "relationship": "articles", "comment": "All articles"}),
        ),
    );
    assert_eq!(table(&md, "author").array_relationships[0].comment.as_deref(), Some("All articles"));
    ok(&mut md, req("set_relationship_comment", json!({"table": "author", "relationship": "articles"})));
    assert_eq!(table(&md, "author").array_relationships[0].comment, None);
    let e = err(
        &mut md,
        req("pg_set_relationship_comment", json!({"table": "author", "relationship": "nope", "comment": "x"})),
    );
    assert_err(&e, "not-exists", "$.args.relationship", "\"nope\" does not exist");
}

/// Every `foreign_key_constraint_on` form Hasura's parser accepts (`ObjRelUsingChoice`,
/// `ArrRelUsingFKeyOn`): `column` and `columns` each take a name or a list.
#[test]
fn every_foreign_key_form_hasura_accepts() {
    let mut md = tracked(&["author", "article", "comment"]);
    let forms = [
        ("a1", json!({"table": "article", "columns": "author_id"})),
        ("a2", json!({"table": "article", "column": ["author_id"]})),
        ("a3", json!({"table": {"name": "article"}, "column": "author_id", "columns": null})),
        ("a4", json!({"table": {"schema": "public", "name": "article"}, "columns": ["author_id"]})),
    ];
    for (name, fk) in forms {
        ok(&mut md, arr("author", name, json!({"foreign_key_constraint_on": fk})));
        ok(&mut md, obj("author", &format!("o_{name}"), json!({"foreign_key_constraint_on": fk})));
    }
    ok(&mut md, obj("comment", "writer", json!({"foreign_key_constraint_on": ["author_id"]})));
    ok(&mut md, obj("comment", "on_article", json!({"foreign_key_constraint_on": "article_id"})));
    assert_eq!(crate::metadata::consistency::check(&md, &db()).len(), 0);
    // All of them export in Hasura's canonical form: one column as `column`, or a bare name.
    let out = ok(&mut md, req("export_metadata", json!({})));
    let author = &out["sources"][0]["tables"][1];
    assert_eq!(author["table"], json!({"name": "author", "schema": "public"}));
    for rel in author["array_relationships"].as_array().unwrap().iter().chain(author["object_relationships"].as_array().unwrap()) {
        assert_eq!(
            rel["using"],
            json!({"foreign_key_constraint_on": {"column": "author_id", "table": {"name": "article", "schema": "public"}}}),
            "{rel}"
        );
    }
    let comment = &out["sources"][0]["tables"][2];
    assert_eq!(comment["object_relationships"][0]["using"], json!({"foreign_key_constraint_on": "article_id"}));
    assert_eq!(comment["object_relationships"][1]["using"], json!({"foreign_key_constraint_on": "author_id"}));
}

/// What Hasura's parser refuses, with its message at its path: errors inside
/// `foreign_key_constraint_on` / `manual_configuration` are reported at `using` (Hasura looks
/// the keys up without a parse context), those of a key inside them below it.
#[test]
fn foreign_key_forms_hasura_refuses() {
    let mut md = tracked(&["author", "article"]);
    let cases = [
        (json!({"table": "article"}), "$.args.using", "expected exactly one of 'column' or 'columns'"),
        (
            json!({"table": "article", "column": "author_id", "columns": ["author_id"]}),
            "$.args.using",
            "expected exactly one of 'column' or 'columns'",
        ),
        (json!({"table": "article", "columns": []}), "$.args.using", "Expected a NonEmpty but got an empty list"),
        (json!({"table": "article", "columns": 3}), "$.args.using", "Expected string or array"),
        (
            json!({"table": "article", "columns": ["author_id", 3]}),
            "$.args.using[1]",
            "parsing Text failed, expected String, but encountered Number",
        ),
        (json!({"column": "author_id"}), "$.args.using", "key \"table\" not found"),
    ];
    for (fk, path, msg) in cases {
        let e = err(&mut md, arr("author", "articles", json!({"foreign_key_constraint_on": fk})));
        assert_err(&e, "parse-failed", path, msg);
        let e = err(&mut md, obj("author", "article", json!({"foreign_key_constraint_on": fk})));
        assert_err(&e, "parse-failed", path, msg);
    }
    let e = err(&mut md, obj("article", "author", json!({"foreign_key_constraint_on": []})));
    assert_err(&e, "parse-failed", "$.args.using", "Expected a NonEmpty but got an empty list");
    let e = err(&mut md, obj("article", "author", json!({"foreign_key_constraint_on": 1})));
    assert_err(&e, "parse-failed", "$.args.using", "Expected string or array");
    let e = err(&mut md, arr("author", "articles", json!({"foreign_key_constraint_on": ["author_id"]})));
    assert_err(&e, "parse-failed", "$.args.using", "Expecting object { table, columns }.");
    let e = err(&mut md, obj("article", "author", json!("author_id")));
    assert_err(&e, "parse-failed", "$.args.using", "using should be an object");
    let e = err(&mut md, obj("article", "author", json!({"manual_configuration": "author"})));
    assert_err(&e, "parse-failed", "$.args.using", "manual_configuration should be an object");
    let e = err(&mut md, obj("article", "author", json!({"manual_configuration": {"column_mapping": {}}})));
    assert_err(&e, "parse-failed", "$.args.using", "key \"remote_table\" not found");
    let e = err(&mut md, obj("article", "author", json!({"manual_configuration": {"remote_table": "author"}})));
    assert_err(&e, "parse-failed", "$.args.using", "key \"column_mapping\" not found");
    let e = err(
        &mut md,
        obj("article", "author", json!({"manual_configuration": {"remote_table": "author", "column_mapping": {"author_id": 1}}})),
    );
    assert_err(&e, "parse-failed", "$.args.using.column_mapping.author_id", "parsing Text failed, expected String, but encountered Number");
}

/// `manual_configuration` with `insertion_order` null or absent, and `remote_table` as a
/// plain name, exports as Hasura prints it (`insertion_order: null`, the qualified table).
#[test]
fn manual_configuration_exports_canonically() {
    let mut md = tracked(&["author", "article"]);
    ok(
        &mut md,
        obj("article", "w", json!({"manual_configuration": {"remote_table": "author", "column_mapping": {"author_id": "id"}, "insertion_order": null}})),
    );
    ok(
        &mut md,
        obj("article", "v", json!({"manual_configuration": {"remote_table": "author", "column_mapping": {"author_id": "id"}, "insertion_order": "after_parent"}})),
    );
    let out = ok(&mut md, req("export_metadata", json!({})));
    let rels = &out["sources"][0]["tables"][0]["object_relationships"];
    assert_eq!(
        rels[1]["using"],
        json!({"manual_configuration": {"column_mapping": {"author_id": "id"}, "insertion_order": null, "remote_table": {"name": "author", "schema": "public"}}})
    );
    assert_eq!(rels[0]["using"]["manual_configuration"]["insertion_order"], json!("after_parent"));
}

/// A metadata document goes through the same parser as the commands, with the document's path.
#[test]
fn replace_metadata_reads_every_relationship_form() {
    let mut md = Metadata::default();
    let doc = |articles_fk: serde_json::Value| {
        json!({"version": 3, "sources": [{"name": "default", "kind": "postgres", "tables": [
            {"table": "article", "object_relationships": [{"name": "author", "using": {"foreign_key_constraint_on": {"table": "author", "columns": "id"}}}]},
            {"table": {"schema": "public", "name": "author"}, "array_relationships": [{"name": "articles", "using": {"foreign_key_constraint_on": articles_fk}}]},
        ], "configuration": {}}]})
    };
    // `{table: author, columns: id}` on article is a one-to-one from the referenced side: author
    // has no foreign key to article, so that one is inconsistent; the parse itself succeeds.
    let good = doc(json!({"table": "article", "columns": "author_id"}));
    let v2 = |d: serde_json::Value| json!({"type": "replace_metadata", "version": 2, "args": {"allow_inconsistent_metadata": true, "metadata": d}});
    let out = ok(&mut md, v2(good));
    assert_eq!(out["inconsistent_objects"].as_array().unwrap().len(), 1, "{out}");
    assert_eq!(out["inconsistent_objects"][0]["name"], json!("object_relation author in table article in source default"));
    let e = err(&mut md, v2(doc(json!("author_id"))));
    assert_err(&e, "parse-failed", "$.args.metadata.sources[0].tables[1].array_relationships[0].using", "Expecting object { table, columns }.");
    let e = err(&mut md, v2(doc(json!({"table": "article", "columns": []}))));
    assert_err(&e, "parse-failed", "$.args.metadata.sources[0].tables[1].array_relationships[0].using", "Expected a NonEmpty but got an empty list");
}
