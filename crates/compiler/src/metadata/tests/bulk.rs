use serde_json::json;

use super::*;
use crate::metadata::ops::apply;

#[test]
fn bulk_runs_in_order() {
    let mut md = Metadata::default();
    let out = ok(
        &mut md,
        json!({"type": "bulk", "args": [
            req("pg_track_table", json!({"table": "author"})),
            req("pg_track_table", json!({"table": "article"})),
            req("pg_create_object_relationship", json!({"table": "article", "name": "author", "using": {"foreign_key_constraint_on": "author_id"}})),
            {"type": "bulk", "args": [req("pg_track_table", json!({"table": "comment"}))]},
        ]}),
    );
    assert_eq!(
        out,
        json!([{"message": "success"}, {"message": "success"}, {"message": "success"}, [{"message": "success"}]])
    );
    assert_eq!(md.default_source().unwrap().tables.len(), 3);
}

#[test]
fn bulk_is_all_or_nothing() {
    let mut md = tracked(&["author"]);
    let e = err(
        &mut md,
        json!({"type": "bulk", "args": [
            req("pg_track_table", json!({"table": "article"})),
            req("pg_create_object_relationship", json!({"table": "comment", "name": "author", "using": {"foreign_key_constraint_on": "author_id"}})),
        ]}),
    );
    assert_err(&e, "not-exists", "$.args[1].args.table", "table \"comment\" does not exist");
    assert_eq!(md.default_source().unwrap().tables.len(), 1);
    let e = err(
        &mut md,
        json!({"type": "bulk_atomic", "args": [req("pg_track_table", json!({"table": "article"})), {"args": {}}]}),
    );
    assert_err(&e, "parse-failed", "$.args[1]", "key \"type\" not found");
    let e = err(&mut md, json!({"type": "bulk", "args": {}}));
    assert_err(&e, "parse-failed", "$.args", "parsing [RQLMetadata] failed, expected Array, but encountered Object");
}

#[test]
fn bulk_keep_going_reports_each() {
    let mut md = tracked(&["author"]);
    let out = apply(
        &mut md,
        &db(),
        &json!({"type": "bulk_keep_going", "args": [
            req("pg_track_table", json!({"table": "article"})),
            req("pg_track_table", json!({"table": "author"})),
            req("pg_track_table", json!({"table": "comment"})),
        ]}),
        1,
    )
    .unwrap();
    assert!(out.changed);
    assert_eq!(
        out.response,
        json!([
            {"message": "success"},
            {"error": "view/table already tracked: \"author\"", "path": "$.args[1].args", "code": "already-tracked"},
            {"message": "success"},
        ])
    );
    assert_eq!(md.default_source().unwrap().tables.len(), 3);
}

#[test]
fn unknown_and_unsupported_commands() {
    let mut md = Metadata::default();
    let e = err(&mut md, req("frobnicate", json!({})));
    assert_err(&e, "parse-failed", "$", "unknown metadata command \"frobnicate\"");
    let e = err(&mut md, req("add_remote_schema", json!({})));
    assert_err(&e, "not-supported", "$", "metadata command \"add_remote_schema\" is not supported by Graft yet");
    let e = err(&mut md, json!({"args": {}}));
    assert_err(&e, "parse-failed", "$", "key \"type\" not found");
    let e = err(&mut md, json!("export_metadata"));
    assert_err(&e, "parse-failed", "$", "parsing RQLMetadata failed, expected Object, but encountered String");
}

#[test]
fn resource_version_must_match() {
    let mut md = Metadata::default();
    let r = json!({"type": "pg_track_table", "resource_version": 7, "args": {"table": "author"}});
    let e = apply(&mut md, &db(), &r, 8).unwrap_err();
    assert_err(&e, "conflict", "$", "metadata resource version referenced (7) did not match current version");
    assert_eq!(e.status, 409);
    assert!(apply(&mut md, &db(), &r, 7).unwrap().changed);
}

#[test]
fn changed_only_when_the_document_changed() {
    let mut md = tracked(&["author"]);
    for r in [
        req("export_metadata", json!({})),
        req("get_inconsistent_metadata", json!({})),
        req("reload_metadata", json!({})),
    ] {
        assert!(!apply(&mut md, &db(), &r, 1).unwrap().changed);
    }
    // Setting the same comment twice: the second is a no-op.
    let c = req("pg_set_table_customization", json!({"table": "author", "configuration": {"comment": "x"}}));
    assert!(apply(&mut md, &db(), &c, 1).unwrap().changed);
    assert!(!apply(&mut md, &db(), &c, 1).unwrap().changed);
}
