//! The one source Graft serves, under any name: replace_metadata, pg_add_source,
//! pg_update_source, pg_drop_source, rename_source (Hasura's messages).

use serde_json::json;

use super::*;

fn named(name: &str, configuration: serde_json::Value) -> serde_json::Value {
    json!({"version": 3, "sources": [{"name": name, "kind": "postgres", "tables": [{"table": {"schema": "public", "name": "author"}}],
        "configuration": configuration}]})
}

#[test]
fn replace_with_one_source_under_any_name() {
    let conf = json!({"connection_info": {"database_url": "postgres://elsewhere:5432/app", "pool_settings": {"max_connections": 5}}});
    let mut md = Metadata::default();
    assert_eq!(ok(&mut md, req("replace_metadata", named("my_db", conf.clone()))), json!({"message": "success"}));
    let out = ok(&mut md, req("export_metadata", json!({})));
    assert_eq!(out["sources"].as_array().unwrap().len(), 1);
    assert_eq!(out["sources"][0]["name"], "my_db");
    assert_eq!(out["sources"][0]["configuration"], conf, "kept as given");
    // It is the source Graft serves, and requests naming it, or leaving `source` out, reach it.
    assert_eq!(md.default_source().unwrap().name, "my_db");
    ok(&mut md, req("pg_track_table", json!({"source": "my_db", "table": "article"})));
    ok(&mut md, req("pg_track_table", json!({"table": "comment"})));
    assert_eq!(md.default_source().unwrap().tables.len(), 3);
    let e = err(&mut md, req("pg_track_table", json!({"source": "other", "table": "comment"})));
    assert_err(&e, "not-exists", "$.args", "source with name \"other\" does not exist");
    // Declaring `default` itself, as an export from Hasura does, is fine too.
    let mut md = Metadata::default();
    ok(&mut md, req("replace_metadata", named("default", json!({"connection_info": {"database_url": {"from_env": "PG_URL"}}}))));
    assert_eq!(ok(&mut md, req("export_metadata", json!({})))["sources"][0]["configuration"]["connection_info"]["database_url"], json!({"from_env": "PG_URL"}));
}

#[test]
fn a_second_source_is_not_supported() {
    let mut md = Metadata::default();
    let two = json!({"version": 3, "sources": [
        {"name": "default", "kind": "postgres", "tables": []},
        {"name": "analytics", "kind": "postgres", "tables": [], "configuration": {"connection_info": {"database_url": "postgres://x/y"}}}]});
    let e = err(&mut md, req("replace_metadata", two.clone()));
    assert_err(
        &e,
        "not-supported",
        "$.args.sources[1]",
        "Graft serves one source, the database it is installed in (here named \"default\"): source \"analytics\" cannot be added",
    );
    let e = err(&mut md, json!({"type": "replace_metadata", "version": 2, "args": {"allow_inconsistent_metadata": true, "metadata": two}}));
    assert_eq!((e.code, e.path.as_str()), ("not-supported", "$.args.metadata.sources[1]"));
    let e = err(&mut md, req("pg_add_source", json!({"name": "analytics", "configuration": {"connection_info": {"database_url": "postgres://x/y"}}})));
    assert_err(
        &e,
        "not-supported",
        "$.args",
        "Graft serves one source, the database it is installed in (here named \"default\"): source \"analytics\" cannot be added",
    );
}

#[test]
fn add_update_drop_rename() {
    let conf = json!({"connection_info": {"database_url": {"from_env": "HASURA_GRAPHQL_DATABASE_URL"}}});
    let mut md = Metadata::default();
    let e = err(&mut md, req("pg_add_source", json!({"name": "default", "configuration": conf})));
    assert_err(&e, "already-exists", "$.args", "source with name \"default\" already exists");
    let other = json!({"connection_info": {"database_url": "postgres://a/b"}});
    ok(&mut md, req("pg_add_source", json!({"name": "default", "configuration": other, "replace_configuration": true})));
    assert_eq!(md.sources[0].configuration, other);
    let e = err(&mut md, req("pg_add_source", json!({"name": "x"})));
    assert_eq!((e.code, e.path.as_str()), ("parse-failed", "$.args"));

    let e = err(&mut md, req("rename_source", json!({"name": "nope", "new_name": "x"})));
    assert_err(&e, "not-exists", "$.args", "Could not find source with name \"nope\"");
    let e = err(&mut md, req("rename_source", json!({"name": "default", "new_name": "default"})));
    assert_err(&e, "already-exists", "$.args", "Source with name \"default\" already exists");
    ok(&mut md, req("pg_track_table", json!({"table": "author"})));
    ok(&mut md, req("rename_source", json!({"name": "default", "new_name": "main"})));
    assert_eq!(md.sources[0].name, "main");
    assert_eq!(md.default_source().unwrap().tables.len(), 1, "tracked tables follow the rename");

    let e = err(&mut md, req("pg_update_source", json!({"name": "default", "configuration": conf})));
    assert_err(&e, "not-exists", "$.args", "source with name \"default\" does not exist");
    ok(&mut md, req("pg_update_source", json!({"name": "main", "customization": {"root_fields": {"prefix": "m_"}}})));
    assert_eq!(md.sources[0].customization, Some(json!({"root_fields": {"prefix": "m_"}})));
    assert_eq!(md.sources[0].configuration, other, "configuration left as it was");

    let e = err(&mut md, req("pg_drop_source", json!({"name": "default"})));
    assert_err(&e, "not-exists", "$.args", "source with name \"default\" does not exist");
    ok(&mut md, req("pg_drop_source", json!({"name": "main", "cascade": true})));
    assert!(md.sources.is_empty() && md.default_source().is_none());
    assert_eq!(ok(&mut md, req("export_metadata", json!({})))["sources"], json!([]));
    // With no source, one may be added under any name, and it is Graft's.
    ok(&mut md, req("pg_add_source", json!({"name": "app", "configuration": conf})));
    assert_eq!(md.default_source().unwrap().name, "app");
}
