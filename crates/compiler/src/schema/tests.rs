//! Every schema Graft publishes is a valid GraphQL schema, whatever the database names: objects
//! whose names are not GraphQL names are inconsistent (Hasura's messages) and left out, custom
//! names bring them back, derived enum values are names, and introspection lists only types a
//! root reaches.

use std::collections::HashSet;

use serde_json::{json, Value};

use crate::dbcatalog::DbCatalog;
use crate::metadata::consistency;
use crate::metadata::model::Metadata;
use crate::request::{compile, Compiled, Limits, MutationStep, Session};
use crate::schema::build::{build_schema, tests::fixture};
use crate::schema::model::{reachable_types, Schema, TypeKind, TypeRef};
use crate::schema::names::is_valid_graphql_name;

/// What graphql-js would reject in `s`: names outside `^[_A-Za-z][_0-9A-Za-z]*$` (types,
/// fields, arguments, input fields, enum values), `__` names outside the introspection types,
/// references to missing types, empty objects, input objects and enums, and types no root
/// reaches.
pub fn schema_errors(s: &Schema) -> Vec<String> {
    let mut errs = vec![];
    let meta = |n: &str| n.starts_with("__");
    let name = |what: &str, n: &str, errs: &mut Vec<String>| {
        if !is_valid_graphql_name(n) {
            errs.push(format!("{what} {n:?} is not a GraphQL name"));
        }
    };
    let exists = |at: &str, t: &TypeRef, errs: &mut Vec<String>| {
        if s.get(t.base_name()).is_none() {
            errs.push(format!("{at} refers to missing type {}", t.base_name()));
        }
    };
    for (key, def) in &s.types {
        if key != &def.name {
            errs.push(format!("type {key:?} is registered as {:?}", def.name));
        }
        name("type", key, &mut errs);
        let builtin = meta(key);
        match &def.kind {
            TypeKind::Scalar => {}
            TypeKind::Object { fields } => {
                let listed: Vec<_> = fields.values().filter(|f| !meta(&f.name)).collect();
                if listed.is_empty() {
                    errs.push(format!("object {key} has no fields"));
                }
                for f in fields.values() {
                    name(&format!("field of {key}"), &f.name, &mut errs);
                    if meta(&f.name) && !(builtin || key == &s.query_type) {
                        errs.push(format!("field {key}.{} uses the reserved __ prefix", f.name));
                    }
                    exists(&format!("{key}.{}", f.name), &f.ty, &mut errs);
                    for a in f.args.values() {
                        name(&format!("argument of {key}.{}", f.name), &a.name, &mut errs);
                        exists(&format!("{key}.{}({})", f.name, a.name), &a.ty, &mut errs);
                    }
                }
            }
            TypeKind::InputObject { fields } => {
                if fields.is_empty() {
                    errs.push(format!("input object {key} has no fields"));
                }
                for f in fields.values() {
                    name(&format!("input field of {key}"), &f.name, &mut errs);
                    exists(&format!("{key}.{}", f.name), &f.ty, &mut errs);
                }
            }
            TypeKind::Enum { values } => {
                if values.is_empty() {
                    errs.push(format!("enum {key} has no values"));
                }
                for v in values.values() {
                    name(&format!("value of enum {key}"), &v.name, &mut errs);
                    if ["true", "false", "null"].contains(&v.name.as_str()) {
                        errs.push(format!("enum {key} has the value {}", v.name));
                    }
                }
            }
        }
    }
    let roots: Vec<&str> =
        [Some(s.query_type.as_str()), s.mutation_type.as_deref(), s.subscription_type.as_deref()].into_iter().flatten().collect();
    let reachable = reachable_types(&s.types, &roots);
    for key in s.types.keys() {
        if !reachable.contains(key.as_str()) {
            errs.push(format!("type {key} is listed but nothing reaches it"));
        }
    }
    errs
}

fn col(name: &str, ty: &str) -> Value {
    json!({"name": name, "type_name": ty, "nullable": true})
}

/// `weird` (columns `a"b`, `x'y`, `ünï`; unique constraint `we"ird_pkey`), `bad-name` (a table
/// name that is not a GraphQL name), `ok` (fine, with an array relationship `bad rel` and an
/// object relationship `good`), an enum table `mood` (a value `so-so`), a function `get-ok`.
fn bad_names_db() -> DbCatalog {
    serde_json::from_value(json!({
        "tables": [
            {"schema": "public", "name": "weird", "kind": "table",
             "columns": [{"name": "id", "type_name": "int4", "nullable": false}, col("a\"b", "text"), col("x'y", "int4"), col("ünï", "text"), col("mood", "text")],
             "primary_key": {"name": "we\"ird_pkey", "columns": ["id"]},
             "unique_constraints": [{"name": "weird x-y key", "columns": ["x'y"]}],
             "foreign_keys": [{"name": "weird_mood_fkey", "columns": ["mood"], "ref_schema": "public", "ref_table": "mood", "ref_columns": ["value"]}]},
            {"schema": "public", "name": "bad-name", "kind": "table",
             "columns": [{"name": "id", "type_name": "int4", "nullable": false}],
             "primary_key": {"name": "bad-name_pkey", "columns": ["id"]}},
            {"schema": "public", "name": "ok", "kind": "table",
             "columns": [{"name": "id", "type_name": "int4", "nullable": false}, col("weird_id", "int4"), col("n", "int4")],
             "primary_key": {"name": "ok_pkey", "columns": ["id"]},
             "foreign_keys": [{"name": "ok_weird_fkey", "columns": ["weird_id"], "ref_schema": "public", "ref_table": "ok", "ref_columns": ["id"]}]},
            {"schema": "public", "name": "mood", "kind": "table",
             "columns": [{"name": "value", "type_name": "text", "nullable": false}],
             "primary_key": {"name": "mood_pkey", "columns": ["value"]}},
        ],
        "functions": [
            {"schema": "public", "name": "get-ok", "arg_names": [], "arg_types": [], "arg_type_schemas": [],
             "return_type_schema": "public", "return_type": "ok", "returns_set": true, "volatility": "s"},
            {"schema": "public", "name": "find_ok", "arg_names": ["min n"], "arg_types": ["int4"], "arg_type_schemas": ["pg_catalog"],
             "return_type_schema": "public", "return_type": "ok", "returns_set": true, "volatility": "s"},
        ],
        "enum_values": {"public.mood": [{"value": "happy"}, {"value": "so-so"}]},
    }))
    .unwrap()
}

fn perm(role: &str, body: Value) -> Value {
    json!({"role": role, "permission": body})
}

/// Every table tracked as it is; `user` may read (no aggregations), insert and update `weird`
/// and `ok`; `agg` may read `ok` with aggregations.
fn bad_names_md(weird_config: Value, bad_config: Value) -> Metadata {
    let all = json!({"columns": "*", "filter": {}});
    let write = json!({"columns": "*", "check": {}});
    let update = json!({"columns": "*", "filter": {}, "check": {}});
    serde_json::from_value(json!({"version": 3, "sources": [{"name": "default", "kind": "postgres", "tables": [
        {"table": {"schema": "public", "name": "weird"}, "configuration": weird_config,
         "select_permissions": [perm("user", all.clone())], "insert_permissions": [perm("user", write.clone())],
         "update_permissions": [perm("user", update.clone())]},
        {"table": {"schema": "public", "name": "bad-name"}, "configuration": bad_config,
         "select_permissions": [perm("user", all.clone())]},
        {"table": {"schema": "public", "name": "ok"},
         "object_relationships": [{"name": "good", "using": {"foreign_key_constraint_on": "weird_id"}}],
         "array_relationships": [{"name": "bad rel", "using": {"manual_configuration": {"remote_table": "ok", "column_mapping": {"id": "weird_id"}}}}],
         "select_permissions": [perm("user", all.clone()),
                                perm("agg", json!({"columns": "*", "filter": {}, "allow_aggregations": true}))],
         "insert_permissions": [perm("user", write)], "update_permissions": [perm("user", update)]},
        {"table": {"schema": "public", "name": "mood"}, "is_enum": true},
    ], "functions": [{"function": {"schema": "public", "name": "get-ok"}}, {"function": {"schema": "public", "name": "find_ok"}}]}]}))
    .unwrap()
}

const ROLES: [&str; 4] = ["admin", "user", "agg", "nobody"];

fn assert_valid(md: &Metadata, db: &DbCatalog) {
    for role in ROLES {
        let (s, _) = build_schema(md, db, role);
        let errs = schema_errors(&s);
        assert!(errs.is_empty(), "role {role}: {errs:#?}");
    }
}

#[test]
fn names_that_are_not_graphql_names_are_inconsistent_not_published() {
    let md = bad_names_md(json!({}), json!({}));
    let db = bad_names_db();
    let found = consistency::check(&md, &db);
    let got: Vec<(&str, &str, &str)> =
        found.iter().map(|i| (i.kind.as_str(), i.name.as_str(), i.reason.as_str())).collect();
    assert_eq!(
        got,
        [
            ("table", "table weird in source default",
             "Inconsistent object: cannot include \"a\"b\" in the GraphQL schema because  it is not a valid GraphQL identifier"),
            ("table", "table bad-name in source default",
             "Inconsistent object: cannot include \"bad-name\" in the GraphQL schema because \"bad-name\" is not a valid GraphQL identifier"),
            ("table", "table mood in source default",
             "Inconsistent object: the table \"mood\" cannot be used as an enum because the value \"so-so\" is not a valid GraphQL enum value name"),
            ("array_relation", "array_relation bad rel in table ok in source default",
             "Inconsistent object: cannot include \"bad rel\" in the GraphQL schema because  it is not a valid GraphQL identifier"),
            ("function", "function get-ok in source default",
             "Inconsistent object: in function \"get-ok\": the function \"get-ok\" cannot be tracked because function name is not a legal GraphQL identifier"),
            ("function", "function find_ok in source default",
             "Inconsistent object: in function \"find_ok\": the function \"find_ok\" cannot be tracked because the function arguments min n are not in compliance with GraphQL spec"),
        ]
    );
    // The rest of the API stays up, and valid, for every role.
    assert_valid(&md, &db);
    let (s, problems) = build_schema(&md, &db, "admin");
    assert_eq!(problems.len(), found.len(), "the schema reports what consistency reports: {problems:#?}");
    for gone in ["weird", "bad_name", "bad-name", "get_ok", "find_ok", "mood_enum"] {
        assert!(s.get(gone).is_none() && s.object_field("query_root", gone).is_none(), "{gone} published");
    }
    assert!(s.object_field("query_root", "ok").is_some());
    assert!(s.object_field("ok", "good").is_some());
    assert!(s.object_field("ok", "bad rel").is_none());
    // A column referencing the inconsistent enum table is a plain column.
    let (md2, db2) = (bad_names_md(json!({"column_config": {"a\"b": {"custom_name": "a_b"}, "x'y": {"custom_name": "x_y"}, "ünï": {"custom_name": "uni"}}}), json!({})), bad_names_db());
    let (s2, _) = build_schema(&md2, &db2, "admin");
    assert_eq!(s2.object_field("weird", "mood").unwrap().ty.to_string(), "String");
}

#[test]
fn custom_names_make_them_consistent_and_upserts_work() {
    let mut md = bad_names_md(
        json!({"custom_column_names": {"a\"b": "a_b", "x'y": "x_y"}, "column_config": {"ünï": {"custom_name": "uni"}}}),
        json!({"custom_name": "bad_name"}),
    );
    let src = &mut md.sources[0];
    src.tables.iter_mut().find(|t| t.table.name == "ok").unwrap().array_relationships[0].name = "bad_rel".into();
    src.functions[0].configuration.custom_name = Some("get_ok".into());
    src.functions.retain(|f| f.function.name != "find_ok");
    let mut db = bad_names_db();
    db.enum_values.insert("public.mood".into(), vec![serde_json::from_value(json!({"value": "happy"})).unwrap()]);
    let found = consistency::check(&md, &db);
    assert!(found.is_empty(), "{found:#?}");
    assert_valid(&md, &db);
    let (s, _) = build_schema(&md, &db, "admin");
    for f in ["weird", "bad_name", "get_ok", "insert_weird_one", "update_weird_by_pk"] {
        assert!(s.object_field("query_root", f).is_some() || s.object_field("mutation_root", f).is_some(), "missing {f}");
    }
    assert!(s.object_field("weird", "a_b").is_some() && s.object_field("weird", "uni").is_some());
    assert_eq!(s.object_field("weird", "mood").unwrap().ty.to_string(), "mood_enum");
    let TypeKind::Enum { values } = &s.get("weird_constraint").unwrap().kind else { panic!("weird_constraint is an enum") };
    assert_eq!(values.keys().collect::<Vec<_>>(), ["we_ird_pkey", "weird_x_y_key"]);
    let TypeKind::Enum { values } = &s.get("weird_update_column").unwrap().kind else { panic!() };
    assert!(values.contains_key("x_y") && values.keys().all(|v| is_valid_graphql_name(v)));
    // on_conflict with the derived value upserts on the SQL constraint.
    let q = "mutation { insert_weird_one(object: {id: 1, a_b: \"v\"}, on_conflict: {constraint: we_ird_pkey, update_columns: [a_b]}) { id } }";
    for role in ["admin", "user"] {
        let (s, _) = build_schema(&md, &db, role);
        let session = Session::from_json(Some(&json!({"x-hasura-role": role}))).unwrap();
        let Compiled::Mutation(plan) = compile(&s, q, None, None, &session, &Limits::default()).unwrap() else { panic!() };
        let sql = match &plan.fields[0].steps[0] {
            MutationStep::WriteRead { write, .. } => write.sql.clone(),
            MutationStep::Query(q) => q.sql.clone(),
            other => panic!("{other:?}"),
        };
        assert!(sql.contains("ON CONFLICT ON CONSTRAINT \"we\"\"ird_pkey\" DO UPDATE SET \"a\"\"b\""), "{role}: {sql}");
    }
}

#[test]
fn fixture_schemas_are_valid_for_every_role() {
    let (mut md, db) = fixture();
    let tables = &mut md.sources[0].tables;
    let author = tables.iter_mut().find(|t| t.table.name == "author").unwrap();
    author.select_permissions = vec![serde_json::from_value(perm("user", json!({"columns": ["id", "name"], "filter": {}}))).unwrap()];
    let article = tables.iter_mut().find(|t| t.table.name == "article").unwrap();
    article.select_permissions = vec![serde_json::from_value(perm("user", json!({"columns": "*", "filter": {}, "allow_aggregations": true}))).unwrap()];
    article.insert_permissions = vec![serde_json::from_value(perm("user", json!({"columns": ["title"], "check": {}}))).unwrap()];
    // `agg` may select rows of `author` but no column.
    let author = tables.iter_mut().find(|t| t.table.name == "author").unwrap();
    author.select_permissions.push(serde_json::from_value(perm("agg", json!({"columns": [], "filter": {}, "allow_aggregations": true}))).unwrap());
    for role in ROLES {
        let (s, _) = build_schema(&md, &db, role);
        let errs = schema_errors(&s);
        assert!(errs.is_empty(), "role {role}: {errs:#?}");
    }
}

/// A role without `allow_aggregations` sees no aggregate types at all; the admin does.
#[test]
fn introspection_lists_only_reachable_types() {
    let md = bad_names_md(json!({"column_config": {"a\"b": {"custom_name": "a_b"}, "x'y": {"custom_name": "x_y"}, "ünï": {"custom_name": "uni"}}}), json!({"custom_name": "bad_name"}));
    let db = bad_names_db();
    let listed = |role: &str| -> HashSet<String> {
        let (s, _) = build_schema(&md, &db, role);
        let session = Session::from_json(Some(&json!({"x-hasura-role": role}))).unwrap();
        let Compiled::Json(v) = compile(&s, "{ __schema { types { name } } }", None, None, &session, &Limits::default()).unwrap() else {
            panic!("introspection needs no SQL")
        };
        let names: HashSet<String> =
            v["data"]["__schema"]["types"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap().to_string()).collect();
        // Every listed type is reachable from a root, and the type map holds nothing else.
        let roots: Vec<&str> =
            [Some(s.query_type.as_str()), s.mutation_type.as_deref(), s.subscription_type.as_deref()].into_iter().flatten().collect();
        let reachable: HashSet<String> = reachable_types(&s.types, &roots).into_iter().map(str::to_string).collect();
        assert_eq!(names, reachable, "role {role}");
        names
    };
    let user = listed("user");
    assert!(user.contains("weird") && user.contains("ok_bool_exp"));
    let aggregates: Vec<&String> = user.iter().filter(|n| n.contains("_aggregate") || n.ends_with("_fields")).collect();
    assert!(aggregates.is_empty(), "user has no aggregations: {aggregates:?}");
    let agg = listed("agg");
    assert!(agg.contains("ok_aggregate") && agg.contains("ok_aggregate_fields"));
    assert!(!agg.contains("weird_aggregate") && !agg.contains("ok_insert_input"));
    let admin = listed("admin");
    assert!(admin.contains("weird_aggregate") && admin.contains("weird_sum_fields") && admin.contains("ok_on_conflict"));
    assert!(!listed("nobody").iter().any(|n| n.starts_with("ok")));
}
