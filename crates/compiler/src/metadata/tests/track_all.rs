use serde_json::json;

use super::*;
use crate::metadata::consistency;
use crate::metadata::ops::{apply, track_all_request};

fn t(name: &str) -> serde_json::Value {
    json!({"name": name, "schema": "public"})
}

fn track(name: &str) -> serde_json::Value {
    json!({"type": "pg_track_table", "args": {"source": "default", "table": t(name)}})
}

fn obj(table: &str, name: &str, col: &str) -> serde_json::Value {
    json!({"type": "pg_create_object_relationship", "args": {"source": "default", "table": t(table), "name": name, "using": {"foreign_key_constraint_on": col}}})
}

fn arr(table: &str, name: &str, from: &str, col: &str) -> serde_json::Value {
    json!({"type": "pg_create_array_relationship", "args": {"source": "default", "table": t(table), "name": name, "using": {"foreign_key_constraint_on": {"table": t(from), "column": col}}}})
}

#[test]
fn tracks_everything_with_default_names() {
    let md = Metadata::default();
    let bulk = track_all_request(&md, &db(), "public");
    let expected = json!({"type": "bulk", "args": [
        track("article"), track("author"), track("author_view"), track("colors"), track("comment"), track("employee"),
        obj("article", "author", "author_id"), arr("author", "articles", "article", "author_id"),
        obj("comment", "article", "article_id"), arr("article", "comments", "comment", "article_id"),
        obj("comment", "author", "author_id"), arr("author", "comments", "comment", "author_id"),
    ]});
    assert_eq!(serde_json::to_string_pretty(&bulk).unwrap(), serde_json::to_string_pretty(&expected).unwrap());
    // The request applies cleanly, and afterwards there is nothing left to do.
    let mut md = md;
    apply(&mut md, &db(), &bulk, 1).unwrap();
    assert!(consistency::check(&md, &db()).is_empty());
    assert_eq!(track_all_request(&md, &db(), "public"), json!({"type": "bulk", "args": []}));
}

#[test]
fn skips_what_exists() {
    let md = blog();
    let bulk = track_all_request(&md, &db(), "public");
    let expected = json!({"type": "bulk", "args": [
        track("author_view"), track("colors"), track("comment"), track("employee"),
        obj("comment", "article", "article_id"), arr("article", "comments", "comment", "article_id"),
        obj("comment", "author", "author_id"), arr("author", "comments", "comment", "author_id"),
    ]});
    assert_eq!(bulk, expected);
}

#[test]
fn other_schemas_are_separate() {
    let md = Metadata::default();
    let bulk = track_all_request(&md, &db(), "other");
    assert_eq!(
        bulk,
        json!({"type": "bulk", "args": [
        {"type": "pg_track_table", "args": {"source": "default", "table": {"name": "thing", "schema": "other"}}}]})
    );
}

/// `person` ← `post` through `writer_id` (clashing with a `writer` column), `editor_id` and
/// `reviewer_id`, and a two-column key to `slot`.
fn clashing_db(reverse: bool) -> crate::dbcatalog::DbCatalog {
    let col = |n: &str| json!({"name": n, "type_name": "int4", "nullable": false});
    let fk = |name: &str, cols: &[&str], table: &str, refs: &[&str]| json!({"name": name, "columns": cols, "ref_schema": "public", "ref_table": table, "ref_columns": refs});
    let mut fks = vec![
        fk("post_editor_fkey", &["editor_id"], "person", &["id"]),
        fk("post_reviewer_fkey", &["reviewer_id"], "person", &["id"]),
        fk("post_slot_fkey", &["slot_a", "slot_b"], "slot", &["a", "b"]),
        fk("post_writer_fkey", &["writer_id"], "person", &["id"]),
    ];
    let mut tables = vec![
        json!({"schema": "public", "name": "person", "kind": "table", "columns": [col("id"), col("post")]}),
        json!({"schema": "public", "name": "post", "kind": "table",
               "columns": [col("id"), col("writer"), col("writer_id"), col("editor_id"), col("reviewer_id"), col("slot_a"), col("slot_b")],
               "foreign_keys": []}),
        json!({"schema": "public", "name": "slot", "kind": "table", "columns": [col("a"), col("b")]}),
    ];
    if reverse {
        fks.reverse();
        tables.reverse();
    }
    let post = tables.iter_mut().find(|t| t["name"] == "post").unwrap();
    post["foreign_keys"] = json!(fks);
    serde_json::from_value(json!({"tables": tables})).unwrap()
}

#[test]
fn clashing_names_get_by_suffixes() {
    let md = Metadata::default();
    let bulk = track_all_request(&md, &clashing_db(false), "public");
    let names: Vec<(String, String)> = bulk["args"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|op| {
            Some((op["args"]["table"]["name"].as_str()?.to_string(), op["args"]["name"].as_str()?.to_string()))
        })
        .collect();
    let expected = [
        ("post", "editor"),
        ("person", "posts"),
        ("post", "reviewer"),
        ("person", "posts_by_reviewer_id"),
        ("post", "slot"),
        ("slot", "posts"),
        ("post", "person_by_writer_id"),
        ("person", "posts_by_writer_id"),
    ];
    let expected: Vec<(String, String)> = expected.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
    assert_eq!(names, expected);
    let two_columns = &bulk["args"][7];
    assert_eq!(two_columns["args"]["using"], json!({"foreign_key_constraint_on": ["slot_a", "slot_b"]}));
    assert_eq!(bulk["args"][8]["args"]["using"]["foreign_key_constraint_on"]["columns"], json!(["slot_a", "slot_b"]));
    // The same whatever order the catalog lists things in.
    assert_eq!(track_all_request(&md, &clashing_db(true), "public"), bulk);
    // And it applies.
    let mut md = md;
    apply(&mut md, &clashing_db(false), &bulk, 1).unwrap();
    assert!(consistency::check(&md, &clashing_db(false)).is_empty());
}

/// A chain of `n` tables, each referencing the previous one.
fn chain_db(n: usize) -> crate::dbcatalog::DbCatalog {
    let tables: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            let fks = if i == 0 {
                json!([])
            } else {
                json!([{"name": format!("t{i:04}_parent_id_fkey"), "columns": ["parent_id"], "ref_schema": "public", "ref_table": format!("t{:04}", i - 1), "ref_columns": ["id"]}])
            };
            json!({"schema": "public", "name": format!("t{i:04}"), "kind": "table",
                   "columns": [{"name": "id", "type_name": "int4", "nullable": false}, {"name": "parent_id", "type_name": "int4", "nullable": true}],
                   "primary_key": {"name": format!("t{i:04}_pkey"), "columns": ["id"]}, "foreign_keys": fks})
        })
        .collect();
    serde_json::from_value(json!({"tables": tables})).unwrap()
}

#[test]
fn track_all_on_a_few_hundred_tables() {
    let db = chain_db(150);
    let mut md = Metadata::default();
    let bulk = track_all_request(&md, &db, "public");
    assert_eq!(bulk["args"].as_array().unwrap().len(), 150 + 2 * 149);
    let started = std::time::Instant::now();
    apply(&mut md, &db, &bulk, 1).unwrap();
    let elapsed = started.elapsed();
    assert!(elapsed.as_secs() < 20, "track all took {elapsed:?}");
    assert_eq!(md.default_source().unwrap().tables.len(), 150);
}

/// Tables that need custom names are left out (tracking them would fail the whole bulk).
#[test]
fn skips_tables_that_need_custom_names() {
    let mut db = db();
    let extra: Vec<crate::dbcatalog::DbTable> = serde_json::from_value(json!([
        {"schema": "public", "name": "bad-name", "kind": "table", "columns": [{"name": "id", "type_name": "int4", "nullable": false}]},
        {"schema": "public", "name": "odd", "kind": "table", "columns": [{"name": "a b", "type_name": "int4", "nullable": false}]},
    ]))
    .unwrap();
    db.tables.extend(extra);
    let mut md = Metadata::default();
    let bulk = track_all_request(&md, &db, "public");
    let tracked: Vec<&str> = bulk["args"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|op| op["type"] == "pg_track_table")
        .map(|op| op["args"]["table"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(tracked, ["article", "author", "author_view", "colors", "comment", "employee"]);
    apply(&mut md, &db, &bulk, 1).unwrap();
    assert!(consistency::check(&md, &db).is_empty());
}
