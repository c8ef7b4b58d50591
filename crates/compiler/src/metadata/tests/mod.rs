//! Unit tests of the metadata API against a small hand-built database:
//! `author` ← `article` ← `comment` (→ `author` too), a view, an enum table `colors`, a table
//! `employee` that can't be an enum, and functions for tracking and computed fields.

mod bulk;
mod computed_fields;
mod document;
mod events;
mod functions;
mod names;
mod limits;
mod permissions;
mod relationships;
mod schema_errors;
mod sources;
mod tables;
mod track_all;

use serde_json::{json, Value};

use crate::dbcatalog::DbCatalog;
use crate::error::MetadataError;
use crate::metadata::model::Metadata;
use crate::metadata::ops::apply;

fn col(name: &str, ty: &str) -> Value {
    json!({"name": name, "type_name": ty, "nullable": false})
}

fn fk(name: &str, cols: &[&str], table: &str, ref_cols: &[&str]) -> Value {
    json!({"name": name, "columns": cols, "ref_schema": "public", "ref_table": table, "ref_columns": ref_cols})
}

fn function(name: &str, args: &[(&str, &str)], returns: &str, set: bool, volatility: &str) -> Value {
    let table_types = ["author", "article", "comment"];
    json!({
        "schema": "public", "name": name,
        "arg_names": args.iter().map(|a| a.0).collect::<Vec<_>>(),
        "arg_types": args.iter().map(|a| a.1).collect::<Vec<_>>(),
        "arg_type_schemas": args.iter().map(|a| if table_types.contains(&a.1) { "public" } else { "pg_catalog" }).collect::<Vec<_>>(),
        "return_type_schema": if table_types.contains(&returns) { "public" } else { "pg_catalog" },
        "return_type": returns, "returns_set": set, "volatility": volatility,
    })
}

pub fn db() -> DbCatalog {
    let doc = json!({
        "tables": [
            {"schema": "public", "name": "author", "kind": "table",
             "columns": [col("id", "int4"), col("name", "text"), col("age", "int4")],
             "primary_key": {"name": "author_pkey", "columns": ["id"]}},
            {"schema": "public", "name": "article", "kind": "table",
             "columns": [col("id", "int4"), col("title", "text"), col("author_id", "int4"), col("published_on", "date")],
             "primary_key": {"name": "article_pkey", "columns": ["id"]},
             "foreign_keys": [fk("article_author_id_fkey", &["author_id"], "author", &["id"])]},
            {"schema": "public", "name": "comment", "kind": "table",
             "columns": [col("id", "int4"), col("body", "text"), col("article_id", "int4"), col("author_id", "int4")],
             "primary_key": {"name": "comment_pkey", "columns": ["id"]},
             "foreign_keys": [
                 fk("comment_author_id_fkey", &["author_id"], "author", &["id"]),
                 fk("comment_article_id_fkey", &["article_id"], "article", &["id"])]},
            {"schema": "public", "name": "author_view", "kind": "view",
             "columns": [col("id", "int4"), col("name", "text")]},
            {"schema": "public", "name": "colors", "kind": "table",
             "columns": [col("value", "text"), col("comment", "text")],
             "primary_key": {"name": "colors_pkey", "columns": ["value"]}},
            {"schema": "public", "name": "employee", "kind": "table",
             "columns": [col("id", "int4"), col("name", "text"), col("favorite_color", "text"), col("gets_paid_on", "text")],
             "primary_key": {"name": "employee_pkey", "columns": ["id"]}},
            {"schema": "other", "name": "thing", "kind": "table",
             "columns": [col("id", "int4")],
             "primary_key": {"name": "thing_pkey", "columns": ["id"]}},
        ],
        "functions": [
            function("search_articles", &[("search", "text")], "article", true, "s"),
            function("archive_articles", &[("search", "text")], "article", true, "v"),
            function("full_name", &[("author_row", "author")], "text", false, "s"),
            function("author_articles", &[("author_row", "author")], "article", true, "s"),
            function("fetch_articles_volatile", &[("search", "text"), ("author_row", "author")], "article", true, "v"),
            function("fetch_articles", &[("search", "text"), ("author_row", "author")], "article", true, "s"),
            function("hello_world", &[], "text", false, "s"),
            function("test_session", &[("author_row", "author"), ("key", "text"), ("session", "json")], "text", false, "s"),
            function("session_articles", &[("hasura_session", "json")], "article", true, "s"),
            function("overloaded", &[("a", "int4")], "article", true, "s"),
            function("overloaded", &[("a", "text")], "article", true, "s"),
            function("answer", &[], "int4", false, "i"),
        ],
    });
    serde_json::from_value(doc).expect("fixture catalog")
}

/// Apply `req` and return the response, panicking on error.
pub fn ok(md: &mut Metadata, req: Value) -> Value {
    match apply(md, &db(), &req, 1) {
        Ok(o) => o.response,
        Err(e) => panic!("request {req} failed: {}", e.to_json()),
    }
}

/// Apply `req`, expect an error, and check `md` was left exactly as it was.
pub fn err(md: &mut Metadata, req: Value) -> MetadataError {
    let before = serde_json::to_value(&*md).unwrap();
    let e = apply(md, &db(), &req, 1).expect_err("request should fail");
    assert_eq!(serde_json::to_value(&*md).unwrap(), before, "metadata changed by a failed request");
    e
}

/// Assert an error's code, path and message.
pub fn assert_err(e: &MetadataError, code: &str, path: &str, message: &str) {
    assert_eq!((e.code, e.path.as_str(), e.error.as_str()), (code, path, message), "{}", e.to_json());
}

pub fn req(ty: &str, args: Value) -> Value {
    json!({"type": ty, "args": args})
}

/// Metadata with these public tables tracked.
pub fn tracked(tables: &[&str]) -> Metadata {
    let mut md = Metadata::default();
    for t in tables {
        ok(&mut md, req("pg_track_table", json!({"table": t})));
    }
    md
}

/// `tracked(["author", "article"])` with `article.author` and `author.articles`.
pub fn blog() -> Metadata {
    let mut md = tracked(&["author", "article"]);
    ok(
        &mut md,
        req(
            "pg_create_object_relationship",
            json!({"table": "article", "name": "author", "using": {"foreign_key_constraint_on": "author_id"}}),
        ),
    );
    ok(
        &mut md,
        req(
            "pg_create_array_relationship",
            json!({"table": "author", "name": "articles", "using": {"foreign_key_constraint_on": {"table": "article", "column": "author_id"}}}),
        ),
    );
    md
}

pub fn table<'m>(md: &'m Metadata, name: &str) -> &'m crate::metadata::model::TableEntry {
    md.default_source().unwrap().table(&crate::dbcatalog::QualifiedName::new("public", name)).expect("tracked")
}
