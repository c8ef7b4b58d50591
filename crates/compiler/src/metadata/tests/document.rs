use serde_json::json;

use super::*;
use crate::metadata::consistency;
use crate::metadata::ops::apply;

/// A metadata touching every exported part of a table and function.
fn rich() -> Metadata {
    let mut md = Metadata::default();
    ok(
        &mut md,
        json!({"type": "bulk", "args": [
            req("pg_track_table", json!({"table": "colors", "is_enum": true})),
            req("pg_track_table", json!({"table": "article"})),
            req("pg_track_table", json!({"table": "author", "configuration": {
                "custom_root_fields": {"select_by_pk": {"name": "writer", "comment": "one"}, "select": "writers"},
                "column_config": {"name": {"custom_name": "fullName"}, "age": {"comment": "years"}},
                "custom_name": "writer_t",
            }})),
            req("pg_create_array_relationship", json!({"table": "author", "name": "articles", "comment": "all", "using": {"foreign_key_constraint_on": {"table": "article", "columns": ["author_id"]}}})),
            req("pg_create_object_relationship", json!({"table": "article", "name": "author", "using": {"foreign_key_constraint_on": ["author_id"]}})),
            req("pg_create_object_relationship", json!({"table": "article", "name": "another_author", "using": {"manual_configuration": {"remote_table": "author", "column_mapping": {"author_id": "id"}}}})),
            req("pg_add_computed_field", json!({"table": "author", "name": "full_name", "definition": {"function": "full_name", "table_argument": "author_row"}})),
            req("pg_create_select_permission", json!({"table": "author", "role": "user", "permission": {"columns": ["id"], "filter": {}}})),
            req("pg_create_select_permission", json!({"table": "author", "role": "anonymous", "permission": {"columns": ["id"], "filter": {}}, "comment": "public"})),
            req("pg_track_function", json!({"function": "search_articles", "configuration": {"exposed_as": "query"}})),
        ]}),
    );
    md
}

#[test]
fn export_metadata_is_hasuras_json() {
    let md = rich();
    let out = ok(&mut md.clone(), req("export_metadata", json!({})));
    let expected = json!({
        "version": 3,
        "sources": [{
            "name": "default",
            "kind": "postgres",
            "tables": [
                {"table": {"name": "article", "schema": "public"},
                 "object_relationships": [
                     {"name": "another_author", "using": {"manual_configuration": {"column_mapping": {"author_id": "id"}, "insertion_order": null, "remote_table": {"name": "author", "schema": "public"}}}},
                     {"name": "author", "using": {"foreign_key_constraint_on": "author_id"}},
                 ]},
                {"table": {"name": "author", "schema": "public"},
                 "configuration": {
                     "column_config": {"age": {"comment": "years"}, "name": {"custom_name": "fullName"}},
                     "custom_column_names": {"name": "fullName"},
                     "custom_name": "writer_t",
                     "custom_root_fields": {"select": "writers", "select_by_pk": {"comment": "one", "name": "writer"}},
                 },
                 "array_relationships": [
                     {"name": "articles", "using": {"foreign_key_constraint_on": {"column": "author_id", "table": {"name": "article", "schema": "public"}}}, "comment": "all"},
                 ],
                 "computed_fields": [
                     {"name": "full_name", "definition": {"function": {"name": "full_name", "schema": "public"}, "table_argument": "author_row"}},
                 ],
                 "select_permissions": [
                     {"role": "anonymous", "permission": {"columns": ["id"], "filter": {}}, "comment": "public"},
                     {"role": "user", "permission": {"columns": ["id"], "filter": {}}},
                 ]},
                {"table": {"name": "colors", "schema": "public"}, "is_enum": true},
            ],
            "functions": [
                {"function": {"name": "search_articles", "schema": "public"}, "configuration": {"custom_root_fields": {}, "exposed_as": "query"}},
            ],
            "configuration": {"connection_info": {"database_url": {"from_env": "HASURA_GRAPHQL_DATABASE_URL"}, "isolation_level": "read-committed", "use_prepared_statements": true}},
        }],
    });
    // Key order matters: compare the printed text.
    assert_eq!(serde_json::to_string_pretty(&out).unwrap(), serde_json::to_string_pretty(&expected).unwrap());
}

#[test]
fn export_metadata_v2_wraps_with_resource_version() {
    let mut md = tracked(&["author"]);
    let out =
        apply(&mut md, &db(), &json!({"type": "export_metadata", "version": 2, "args": {}}), 42).unwrap().response;
    assert_eq!(out["resource_version"], json!(42));
    assert_eq!(out["metadata"]["sources"][0]["tables"], json!([{"table": {"name": "author", "schema": "public"}}]));
    assert_eq!(serde_json::to_string(&out).unwrap().find("resource_version"), Some(2));
}

#[test]
fn replace_then_export_round_trips() {
    let exported = ok(&mut rich(), req("export_metadata", json!({})));
    let mut md = Metadata::default();
    assert_eq!(ok(&mut md, req("replace_metadata", exported.clone())), json!({"message": "success"}));
    assert_eq!(ok(&mut md, req("export_metadata", json!({}))), exported);
    // Export → serde → export is stable too.
    let stored: Metadata = serde_json::from_value(serde_json::to_value(&md).unwrap()).unwrap();
    assert_eq!(ok(&mut stored.clone(), req("export_metadata", json!({}))), exported);
}

#[test]
fn replace_keeps_other_sections_in_hasura_order() {
    let mut md = Metadata::default();
    let doc = json!({"version": 3, "sources": [], "metrics_config": {"analyze_query_variables": true},
        "remote_schemas": [{"name": "rs", "definition": {"url": "http://x"}}], "actions": [], "inherited_roles": []});
    // Kept although Graft enforces neither (they are reported as inconsistent objects).
    ok(&mut md, json!({"type": "replace_metadata", "version": 2, "args": {"allow_inconsistent_metadata": true, "metadata": doc}}));
    let out = ok(&mut md, req("export_metadata", json!({})));
    let keys: Vec<&String> = out.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["version", "sources", "remote_schemas", "metrics_config"]);
}

#[test]
fn replace_accepts_single_source_documents() {
    let mut md = Metadata::default();
    let doc = json!({
        "version": 2,
        "tables": [
            {"table": "author", "object_relationships": [], "array_relationships": [
                {"using": {"foreign_key_constraint_on": {"column": "author_id", "table": "article"}}, "name": "articles", "comment": null}],
             "insert_permissions": [], "select_permissions": [], "update_permissions": [], "delete_permissions": [], "event_triggers": []},
            {"table": {"schema": "public", "name": "article"}, "object_relationships": [
                {"using": {"foreign_key_constraint_on": "author_id"}, "name": "author", "comment": null}]},
        ],
        "functions": ["search_articles", {"function": {"schema": "public", "name": "session_articles"}, "configuration": {"session_argument": "hasura_session"}}],
        "remote_schemas": [],
    });
    ok(&mut md, req("replace_metadata", doc));
    let src = md.default_source().unwrap();
    assert_eq!(src.tables.len(), 2);
    assert_eq!(src.functions.len(), 2);
    assert_eq!(src.functions[1].configuration.session_argument.as_deref(), Some("hasura_session"));
    assert!(consistency::check(&md, &db()).is_empty());
}

#[test]
fn replace_refuses_inconsistent_documents_unless_allowed() {
    let doc = json!({"version": 3, "sources": [{"name": "default", "kind": "postgres", "tables": [
        {"table": {"schema": "public", "name": "foobar"},
         "array_relationships": [{"name": "articles", "using": {"foreign_key_constraint_on": {"column": "author_id", "table": "article"}}}]},
        {"table": "article", "object_relationships": [{"name": "author", "using": {"foreign_key_constraint_on": "author_id"}}]},
    ], "configuration": {}}]});
    let mut md = tracked(&["author"]);
    let e = err(&mut md, req("replace_metadata", doc.clone()));
    assert_err(&e, "unexpected", "$.args", "cannot continue due to inconsistent metadata");
    let e = err(&mut md, json!({"type": "replace_metadata", "version": 2, "args": {"metadata": doc.clone()}}));
    assert_eq!(e.error, "cannot continue due to inconsistent metadata");
    let out = ok(
        &mut md,
        json!({"type": "replace_metadata", "version": 2, "args": {"allow_inconsistent_metadata": true, "metadata": doc}}),
    );
    assert_eq!(
        out,
        json!({"is_consistent": false, "inconsistent_objects": [
            {"definition": {"name": "foobar", "schema": "public"},
             "name": "table foobar in source default",
             "reason": "Inconsistent object: no such table/view exists in source: \"foobar\"",
             "type": "table"},
            {"definition": {"comment": null, "name": "author", "source": "default", "table": {"name": "article", "schema": "public"}, "using": {"foreign_key_constraint_on": "author_id"}},
             "name": "object_relation author in table article in source default",
             "reason": "Inconsistent object: table \"author\" is not tracked",
             "type": "object_relation"},
        ]})
    );
    assert_eq!(md.default_source().unwrap().tables.len(), 2);
    // get_inconsistent_metadata reports the same; drop_inconsistent_metadata removes them.
    let report = ok(&mut md, req("get_inconsistent_metadata", json!({})));
    assert_eq!(report["is_consistent"], json!(false));
    assert_eq!(report["inconsistent_objects"].as_array().unwrap().len(), 2);
    assert_eq!(ok(&mut md, req("reload_metadata", json!({})))["is_consistent"], json!(false));
    ok(&mut md, req("drop_inconsistent_metadata", json!({})));
    assert_eq!(
        ok(&mut md, req("get_inconsistent_metadata", json!({}))),
        json!({"is_consistent": true, "inconsistent_objects": []})
    );
    let article = table(&md, "article");
    assert!(article.object_relationships.is_empty());
}

#[test]
fn replace_v2_consistent_reports_consistency() {
    let mut md = Metadata::default();
    let exported = ok(&mut rich(), req("export_metadata", json!({})));
    let out = ok(&mut md, json!({"type": "replace_metadata", "version": 2, "args": {"metadata": exported}}));
    assert_eq!(out, json!({"is_consistent": true, "inconsistent_objects": []}));
}

#[test]
fn replace_parse_errors() {
    let mut md = Metadata::default();
    let dup = json!({"version": 3, "sources": [{"name": "default", "kind": "postgres", "tables": [{"table": "author"}, {"table": "author"}]}]});
    let e = err(&mut md, req("replace_metadata", dup));
    assert_err(&e, "parse-failed", "$.args.sources[0]", "multiple declarations exist for the following tables: author");
    let roots = json!({"version": 3, "sources": [{"name": "default", "kind": "postgres", "tables": [
        {"table": "author", "configuration": {"custom_root_fields": {"select": "a", "insert": "a"}}}]}]});
    let e = err(&mut md, req("replace_metadata", roots));
    assert_err(
        &e,
        "parse-failed",
        "$.args.sources[0].tables[0].configuration.custom_root_fields",
        "the following custom root field names are duplicated: a",
    );
    let rels = json!({"version": 3, "sources": [{"name": "default", "kind": "postgres", "tables": [
        {"table": "author", "array_relationships": [
            {"name": "a", "using": {"foreign_key_constraint_on": {"table": "article", "column": "author_id"}}},
            {"name": "a", "using": {"foreign_key_constraint_on": {"table": "article", "column": "author_id"}}}]}]}]});
    let e = err(&mut md, req("replace_metadata", rels));
    assert_err(
        &e,
        "parse-failed",
        "$.args.sources[0].tables[0]",
        "multiple declarations exist for the following array relationships: a",
    );
    let e = err(&mut md, req("replace_metadata", json!({"version": 3, "sources": [{"kind": "postgres"}]})));
    assert_eq!((e.code, e.path.as_str()), ("parse-failed", "$.args"));
}

#[test]
fn clear_metadata_keeps_the_default_source() {
    let mut md = rich();
    md.other.insert("remote_schemas".into(), json!([{"name": "x"}]));
    md.sources[0].configuration = json!({"connection_info": {"database_url": "postgres://x"}});
    ok(&mut md, req("clear_metadata", json!({})));
    assert!(md.other.is_empty());
    let src = md.default_source().unwrap();
    assert!(src.tables.is_empty() && src.functions.is_empty());
    assert_eq!(src.configuration, json!({"connection_info": {"database_url": "postgres://x"}}));
}

#[test]
fn reload_metadata_reports_consistency() {
    let mut md = rich();
    assert_eq!(
        ok(&mut md, req("reload_metadata", json!({"reload_remote_schemas": true}))),
        json!({"message": "success", "is_consistent": true})
    );
}

#[test]
fn consistency_follows_the_database() {
    let md = rich();
    let mut db = db();
    // The article table and the full_name function are dropped behind Graft's back.
    db.tables.retain(|t| t.name != "article");
    db.functions.retain(|f| f.name != "full_name");
    let found = consistency::check(&md, &db);
    let summary: Vec<(&str, &str)> = found.iter().map(|i| (i.kind.as_str(), i.name.as_str())).collect();
    assert_eq!(
        summary,
        [
            ("table", "table article in source default"),
            ("array_relation", "array_relation articles in table author in source default"),
            ("computed_field", "computed_field full_name in table author in source default"),
            ("function", "function search_articles in source default"),
        ]
    );
    assert_eq!(found[1].reason, "Inconsistent object: table \"article\" is not tracked");
    assert_eq!(found[2].reason, "Inconsistent object: in table \"author\": in computed field \"full_name\": no such function exists: \"full_name\"");
    assert_eq!(
        found[2].definition,
        json!({"comment": null, "definition": {"function": {"name": "full_name", "schema": "public"}, "session_argument": null, "table_argument": "author_row"}, "name": "full_name", "source": "default", "table": {"name": "author", "schema": "public"}})
    );
    // (Postgres drops a function with the table it returns; if the type is gone, it isn't a row type.)
    assert_eq!(found[3].reason, "Inconsistent object: in function \"search_articles\": the function \"search_articles\" cannot be tracked because the function does not return a \"COMPOSITE\" type");
}

/// A Hasura export's features Graft does not enforce (allow list, API limits, actions …) are kept
/// but reported: `replace_metadata` refuses them unless inconsistencies are allowed (Hasura's
/// error, the objects in `internal`), `get_inconsistent_metadata` lists each one, and
/// `drop_inconsistent_metadata` removes them.
#[test]
fn unsupported_sections_are_reported() {
    let collection = json!({"name": "allowed-queries", "definition": {"queries": [{"name": "q", "query": "query { author { id } }"}]}});
    let doc = json!({"version": 3, "sources": [{"name": "default", "kind": "postgres", "configuration": {},
            "customization": {"root_fields": {"namespace": "db"}},
            "tables": [{"table": "author",
                "event_triggers": [{"name": "on_author", "definition": {"insert": {"columns": "*"}}, "webhook": "http://x",
                                    "retry_conf": {"num_retries": 0, "interval_sec": 10, "timeout_sec": 60},
                                    "request_transform": {"version": 2, "template_engine": "Kriti", "body": {"action": "transform", "template": "{}"}}}],
                "remote_relationships": [
                {"name": "profile", "definition": {"to_remote_schema": {"remote_schema": "auth", "lhs_fields": ["id"], "remote_field": {"user": {"arguments": {"id": "$id"}}}}}}]}]}],
        "remote_schemas": [{"name": "auth", "definition": {"url": "http://auth"}}],
        "query_collections": [collection],
        "allowlist": [{"collection": "allowed-queries", "scope": {"global": true}}],
        "actions": [{"name": "login", "definition": {"handler": "http://x", "kind": "synchronous", "type": "mutation"}}],
        "custom_types": {"objects": [{"name": "LoginOutput", "fields": [{"name": "token", "type": "String!"}]}], "input_objects": [], "scalars": [], "enums": []},
        "rest_endpoints": [{"name": "authors", "url": "authors", "methods": ["GET"], "definition": {"query": {"collection_name": "allowed-queries", "query_name": "q"}}}],
        "api_limits": {"disabled": false, "node_limit": {"global": 100}},
        "graphql_schema_introspection": {"disabled_for_roles": ["user"]},
        "network": {"tls_allowlist": [{"host": "x"}]},
        "backend_configs": {"dataconnector": {"sqlite": {"uri": "http://x"}}},
        "opentelemetry": {"status": "enabled", "data_types": ["traces"]},
        "metrics_config": {"analyze_query_variables": true},
        "inherited_roles": [],
        "cron_triggers": [
            {"name": "nightly", "webhook": "http://x", "schedule": "0 2 * * *", "include_in_metadata": true},
            {"name": "hourly", "webhook": "http://x", "schedule": "0 * * * *", "include_in_metadata": true,
             "response_transform": {"version": 2, "body": {"action": "remove"}}}]});
    let expected = [
        ("source", "source default", "source customization"),
        ("event_trigger", "event_trigger on_author in table author in source default", "request_transform"),
        ("remote_relationship", "remote_relationship profile in table author in source default", "remote relationships"),
        ("cron_trigger", "cron_trigger hourly", "response_transform"),
        ("remote_schema", "remote_schema auth", "remote_schemas"),
        ("query_collections", "query_collections allowed-queries", "query_collections"),
        ("allowlist", "allowlist allowed-queries", "allowlist"),
        ("action", "action login", "actions"),
        ("custom_types", "custom_types", "custom_types"),
        ("rest_endpoint", "rest_endpoint authors", "rest_endpoints"),
        ("api_limits", "api_limits", "api_limits"),
        ("graphql_schema_introspection", "graphql_schema_introspection", "graphql_schema_introspection"),
        ("network", "network", "network"),
        ("backend_configs", "backend_configs", "backend_configs"),
        ("open_telemetry", "opentelemetry", "opentelemetry"),
        ("metrics_config", "metrics_config", "metrics_config"),
    ];
    let check = |objects: &Value| {
        let got: Vec<(String, String, String)> = objects
            .as_array()
            .unwrap()
            .iter()
            .map(|o| (o["type"].as_str().unwrap().into(), o["name"].as_str().unwrap().into(), o["reason"].as_str().unwrap().into()))
            .collect();
        let want: Vec<(String, String, String)> = expected
            .iter()
            .map(|(t, n, what)| (t.to_string(), n.to_string(), format!("Inconsistent object: Graft does not support {what} yet")))
            .collect();
        assert_eq!(got, want);
    };
    let mut md = tracked(&["author"]);
    // v1 and v2 without allow_inconsistent_metadata: refused, with the objects.
    let e = err(&mut md, req("replace_metadata", doc.clone()));
    assert_err(&e, "unexpected", "$.args", "cannot continue due to inconsistent metadata");
    assert_eq!(e.status, 400);
    check(e.internal.as_ref().unwrap());
    assert_eq!(e.to_json()["internal"][6]["definition"], json!({"collection": "allowed-queries", "scope": {"global": true}}));
    let e = err(&mut md, json!({"type": "replace_metadata", "version": 2, "args": {"metadata": doc.clone()}}));
    check(e.internal.as_ref().unwrap());
    // Allowed: stored (an export gives them back) and reported.
    let out = ok(&mut md, json!({"type": "replace_metadata", "version": 2, "args": {"allow_inconsistent_metadata": true, "metadata": doc}}));
    assert_eq!(out["is_consistent"], json!(false));
    check(&out["inconsistent_objects"]);
    let exported = ok(&mut md, req("export_metadata", json!({})));
    assert_eq!(exported["allowlist"], json!([{"collection": "allowed-queries", "scope": {"global": true}}]));
    let report = ok(&mut md, req("get_inconsistent_metadata", json!({})));
    check(&report["inconsistent_objects"]);
    assert_eq!(ok(&mut md, req("reload_metadata", json!({})))["is_consistent"], json!(false));
    // Other changes go on (the unsupported objects are not new inconsistencies).
    ok(&mut md, req("pg_track_table", json!({"table": "article"})));
    ok(&mut md, req("drop_inconsistent_metadata", json!({})));
    assert_eq!(ok(&mut md, req("get_inconsistent_metadata", json!({}))), json!({"is_consistent": true, "inconsistent_objects": []}));
    assert!(md.other.get("allowlist").is_none() && md.default_source().unwrap().customization.is_none());
    assert!(table(&md, "author").remote_relationships.is_empty() && table(&md, "author").event_triggers.is_empty());
    // Only the cron trigger with a transform goes.
    let crons: Vec<&str> = md.other["cron_triggers"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(crons, ["nightly"]);
    // Empty sections, as exports print them, configure nothing and are not reported.
    let quiet = json!({"version": 3, "sources": [], "actions": [], "custom_types": {"objects": [], "scalars": []},
        "metrics_config": {"analyze_query_variables": false, "analyze_response_body": false}, "api_limits": {}});
    let mut md = Metadata::default();
    assert_eq!(ok(&mut md, req("replace_metadata", quiet)), json!({"message": "success"}));
}

#[test]
fn request_versions_other_than_1_and_2_are_refused() {
    for (version, ok) in [(json!(1), true), (json!(2), true), (json!(3), false), (json!(0), false)] {
        let req = json!({"type": "export_metadata", "version": version, "args": {}});
        let r = crate::metadata::ops::Request::parse(&req, "$");
        match r {
            Ok(_) => assert!(ok, "{version} accepted"),
            Err(e) => {
                assert!(!ok, "{version} refused: {e:?}");
                assert_eq!((e.code, e.path.as_str(), e.error.as_str()), ("parse-failed", "$.version", format!("expected 1 or 2, encountered {version}").as_str()));
            }
        }
    }
}
