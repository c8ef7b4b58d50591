use serde_json::json;
use crate::metadata::model::PermKind;

use super::*;

/// The smallest body of each kind Hasura's parser accepts.
fn perm(ty: &str, role: &str) -> serde_json::Value {
    let body = match kind_of(ty) {
        PermKind::Insert => json!({"check": {}}),
        PermKind::Select | PermKind::Update => json!({"columns": "*", "filter": {}}),
        PermKind::Delete => json!({"filter": {}}),
    };
    req(ty, json!({"table": "author", "role": role, "permission": body}))
}

#[test]
fn create_every_kind() {
    let mut md = tracked(&["author"]);
    ok(&mut md, perm("pg_create_insert_permission", "user"));
    ok(&mut md, perm("pg_create_select_permission", "user"));
    ok(&mut md, perm("create_update_permission", "user"));
    ok(
        &mut md,
        req(
            "create_delete_permission",
            json!({"table": "author", "role": "user", "permission": {"filter": {}}, "comment": "own rows"}),
        ),
    );
    let t = table(&md, "author");
    assert_eq!(
        (
            t.insert_permissions.len(),
            t.select_permissions.len(),
            t.update_permissions.len(),
            t.delete_permissions.len()
        ),
        (1, 1, 1, 1)
    );
    assert_eq!(t.delete_permissions[0].comment.as_deref(), Some("own rows"));
    assert_eq!(t.select_permissions[0].permission, json!({"columns": "*", "filter": {}}));
}

#[test]
fn create_errors() {
    let mut md = tracked(&["author"]);
    ok(&mut md, perm("pg_create_select_permission", "user"));
    let e = err(&mut md, perm("pg_create_select_permission", "user"));
    assert_err(
        &e,
        "already-exists",
        "$.args",
        "select permission already defined on table \"author\" with role \"user\"",
    );
    let e = err(&mut md, perm("pg_create_select_permission", "admin"));
    assert_err(&e, "invalid-configuration", "$.args", "Inconsistent object: in table \"author\": in permission for role \"admin\": cannot define permission for admin role");
    let e =
        err(&mut md, req("pg_create_select_permission", json!({"table": "article", "role": "user", "permission": {"columns": [], "filter": {}}})));
    assert_err(&e, "not-exists", "$.args.table", "table \"article\" does not exist");
    // The request is parsed whole first: a malformed body fails before the table is looked up.
    let e =
        err(&mut md, req("pg_create_select_permission", json!({"table": "article", "role": "user", "permission": {}})));
    assert_err(&e, "parse-failed", "$.args.permission", "key \"columns\" not found");
    let e = err(
        &mut md,
        req("pg_create_select_permission", json!({"table": "author", "role": "editor", "permission": []})),
    );
    assert_err(
        &e,
        "parse-failed",
        "$.args.permission",
        "parsing PermDef failed, expected Object, but encountered Array",
    );
    let e = err(&mut md, req("pg_create_select_permission", json!({"table": "author", "permission": {}})));
    assert_err(&e, "parse-failed", "$.args", "key \"role\" not found");
}

#[test]
fn drop_permission() {
    let mut md = tracked(&["author"]);
    ok(&mut md, perm("pg_create_update_permission", "user"));
    let e = err(&mut md, req("pg_drop_select_permission", json!({"table": "author", "role": "user"})));
    assert_err(&e, "permission-denied", "$.args", "select permission on \"author\" for role \"user\" does not exist");
    ok(&mut md, req("pg_drop_update_permission", json!({"table": "author", "role": "user"})));
    assert!(table(&md, "author").update_permissions.is_empty());
    ok(&mut md, perm("pg_create_insert_permission", "user"));
    ok(&mut md, req("drop_insert_permission", json!({"table": "author", "role": "user"})));
}

#[test]
fn permission_comment() {
    let mut md = tracked(&["author"]);
    ok(&mut md, perm("pg_create_select_permission", "user"));
    ok(
        &mut md,
        req(
            "pg_set_permission_comment",
            json!({"table": "author", "role": "user", "type": "select", "comment": "readers"}),
        ),
    );
    assert_eq!(table(&md, "author").select_permissions[0].comment.as_deref(), Some("readers"));
    let e = err(
        &mut md,
        req("set_permission_comment", json!({"table": "author", "role": "user", "type": "insert", "comment": "x"})),
    );
    assert_err(&e, "permission-denied", "$.args", "insert permission on \"author\" for role \"user\" does not exist");
    let e =
        err(&mut md, req("pg_set_permission_comment", json!({"table": "author", "role": "user", "type": "upsert"})));
    assert_err(&e, "parse-failed", "$.args.type", "expected one of insert, select, update, delete, got \"upsert\"");
}

fn create(md: &mut Metadata, ty: &str, table: &str, permission: serde_json::Value) -> Result<serde_json::Value, crate::error::MetadataError> {
    let r = req(ty, json!({"table": table, "role": "user", "permission": permission}));
    crate::metadata::ops::apply(md, &db(), &r, 1).map(|o| o.response)
}

/// A body Hasura's parser refuses is `parse-failed` at its path; one that names what the table
/// does not have is `invalid-configuration` with the inconsistency's reason.
#[test]
fn malformed_bodies_are_refused() {
    let parse = |ty: &str, body: serde_json::Value, path: &str, msg: &str| {
        let mut md = tracked(&["author"]);
        let e = create(&mut md, ty, "author", body.clone()).expect_err(&format!("{ty} {body} should fail"));
        assert_err(&e, "parse-failed", path, msg);
        assert!(table(&md, "author").permissions(kind_of(ty)).is_empty());
    };
    let p = "$.args.permission";
    let enc = |what: &str, exp: &str, got: &str| format!("parsing {what} failed, expected {exp}, but encountered {got}");
    parse("pg_create_select_permission", json!({"columns": "*", "filter": "x"}), &format!("{p}.filter"), &enc("boolean expression", "Object", "String"));
    parse("pg_create_select_permission", json!({"columns": "*", "filter": []}), &format!("{p}.filter"), &enc("boolean expression", "Object", "Array"));
    parse("pg_create_delete_permission", json!({"filter": true}), &format!("{p}.filter"), &enc("boolean expression", "Object", "Boolean"));
    parse("pg_create_insert_permission", json!({"columns": "*", "check": 1}), &format!("{p}.check"), &enc("boolean expression", "Object", "Number"));
    parse("pg_create_update_permission", json!({"columns": "*", "filter": {}, "check": "x"}), &format!("{p}.check"), &enc("boolean expression", "Object", "String"));
    parse("pg_create_select_permission", json!({"columns": "*", "filter": {}, "limit": -1}), &format!("{p}.limit"), "unexpected negative value for limit: -1");
    parse("pg_create_select_permission", json!({"columns": "*", "filter": {}, "limit": "10"}), &format!("{p}.limit"), &enc("Int", "Number", "String"));
    parse("pg_create_select_permission", json!({"columns": "all", "filter": {}}), &format!("{p}.columns"), "expected \"*\" or a list of columns, but encountered \"all\"");
    parse("pg_create_select_permission", json!({"columns": ["id", 3], "filter": {}}), &format!("{p}.columns"), &enc("PermColSpec", "Array", "Array"));
    parse("pg_create_insert_permission", json!({"columns": "*", "check": {}, "set": []}), &format!("{p}.set"), &enc("ColumnValues", "Object", "Array"));
    parse("pg_create_insert_permission", json!({"columns": "*", "check": {}, "backend_only": "yes"}), &format!("{p}.backend_only"), &enc("Bool", "Boolean", "String"));
    parse("pg_create_select_permission", json!({"columns": "*", "filter": {}, "allow_aggregations": 1}), &format!("{p}.allow_aggregations"), &enc("Bool", "Boolean", "Number"));

    let invalid = |ty: &str, table_name: &str, body: serde_json::Value, msg: &str| {
        let mut md = blog();
        ok(&mut md, req("pg_track_table", json!({"table": "employee"})));
        let e = create(&mut md, ty, table_name, body.clone()).expect_err(&format!("{ty} {body} should fail"));
        let reason = format!("Inconsistent object: in table \"{table_name}\": in permission for role \"user\": {msg}");
        assert_err(&e, "invalid-configuration", "$.args", &reason);
    };
    let sel = "pg_create_select_permission";
    invalid(sel, "author", json!({"columns": ["id", "nope"], "filter": {}}), "column \"nope\" does not exist");
    invalid(sel, "author", json!({"columns": "*", "filter": {"nope": {"_eq": 1}}}), "\"nope\" does not exist");
    invalid(sel, "author", json!({"columns": "*", "filter": {"id": {"_foo": 1}}}), "Unknown operator: _foo");
    invalid(sel, "author", json!({"columns": "*", "filter": {"id": {"$st_within": 1}}}), "\"id\" is of type \"int4\"; this operator works only on columns of type \"geometry\"");
    invalid(sel, "author", json!({"columns": "*", "filter": {"_or": [{"id": {"_eq": 1}}, {"nope": {"_eq": 2}}]}}), "\"nope\" does not exist");
    invalid(sel, "author", json!({"columns": "*", "filter": {"_not": {"articles": {"nope": {"_eq": 1}}}}}), "\"nope\" does not exist");
    invalid(sel, "article", json!({"columns": "*", "filter": {"writer": {"id": {"_eq": 1}}}}), "\"writer\" does not exist");
    invalid(sel, "article", json!({"columns": "*", "filter": {"author": {"age": {"_gt": "x"}, "nope": {}}}}), "\"nope\" does not exist");
    invalid(sel, "author", json!({"columns": "*", "filter": {"_and": {"id": {"_eq": 1}}}}), "_and: expected an array of boolean expressions, but encountered Object");
    invalid(sel, "author", json!({"columns": "*", "filter": {"_and": ["x"]}}), "expected a boolean expression object, but encountered String");
    invalid(sel, "author", json!({"columns": "*", "filter": {"_exists": {"_table": "comment", "_where": {}}}}), "table \"comment\" does not exist");
    invalid(sel, "author", json!({"columns": "*", "filter": {"_exists": {"_table": "employee", "_where": {"nope": {"_eq": 1}}}}}), "\"nope\" does not exist");
    invalid(sel, "author", json!({"columns": "*", "filter": {"id": {"_ceq": "nope"}}}), "column \"nope\" does not exist");
    // `["$", column]` names a column of the permission's own (root) table, also through a
    // relationship: `title` is article's, not author's.
    invalid(sel, "article", json!({"columns": "*", "filter": {"author": {"id": {"_ceq": ["$", "nope"]}}}}), "column \"nope\" does not exist");
    invalid(sel, "author", json!({"columns": "*", "filter": {"articles": {"id": {"_ceq": ["$", "title"]}}}}), "column \"title\" does not exist");
    invalid(sel, "author", json!({"columns": "*", "filter": {"id": {"_ceq": ["#", "id"]}}}), "_ceq: expected a column name or [\"$\", column name], but encountered Array");
    invalid(sel, "author", json!({"columns": "*", "filter": {}, "computed_fields": ["full_name"]}), "computed field \"full_name\" does not exist");
    invalid("pg_create_insert_permission", "author", json!({"columns": "*", "check": {}, "set": {"nope": "x-hasura-user-id"}}), "column \"nope\" does not exist");
    invalid("pg_create_update_permission", "author", json!({"columns": ["name"], "filter": {}, "check": {"nope": {"_eq": 1}}}), "\"nope\" does not exist");
    invalid("pg_create_delete_permission", "article", json!({"filter": {"author": {"nope": {"_eq": 1}}}}), "\"nope\" does not exist");
    // An input validation webhook Graft would not call: refused rather than ignored.
    invalid("pg_create_insert_permission", "author", json!({"columns": "*", "check": {}, "validate_input": {"type": "http", "definition": {"url": "http://x"}}}), "Graft does not support validate_input yet");
}

fn kind_of(ty: &str) -> crate::metadata::model::PermKind {
    use crate::metadata::model::PermKind::*;
    [Insert, Select, Update, Delete].into_iter().find(|k| ty.contains(&format!("_{}_", k.code()))).unwrap()
}

#[test]
fn well_formed_bodies_are_accepted() {
    let mut md = blog();
    ok(&mut md, req("pg_track_table", json!({"table": "employee"})));
    let bodies = [
        ("pg_create_select_permission", "author", json!({"columns": "*", "filter": {"$or": [{"id": {"$eq": "X-Hasura-User-Id"}}, {"name": {"_ne": "x", "_ilike": "%a%"}}]}, "limit": 0})),
        ("pg_create_select_permission", "article", json!({"columns": ["id", "title"], "filter": {"author": {"id": "X-Hasura-User-Id"}, "_exists": {"_table": "employee", "_where": {"id": {"_eq": 1}}}, "id": {"_cneq": "author_id"}}})),
        ("pg_create_insert_permission", "article", json!({"columns": ["title"], "check": {"author_id": {"_eq": "X-Hasura-User-Id"}}, "set": {"author_id": "x-hasura-user-id"}, "backend_only": true})),
        ("pg_create_update_permission", "article", json!({"columns": ["title"], "filter": {}, "check": null, "set": {}})),
        ("pg_create_delete_permission", "author", json!({"filter": {"articles": {"_not": {"title": {"_is_null": true}}}}})),
        ("pg_create_delete_permission", "article", json!({"filter": {"author": {"id": {"_ceq": ["$", "author_id"]}}, "id": {"$cgt": ["$", "author_id"]}}})),
    ];
    for (ty, t, body) in bodies {
        create(&mut md, ty, t, body.clone()).unwrap_or_else(|e| panic!("{ty} {body}: {}", e.to_json()));
    }
}

/// A stored body that would not be accepted today (written before these checks, or by hand) is
/// an inconsistent object and grants nothing: never "everything".
#[test]
fn stored_malformed_bodies_deny() {
    use crate::metadata::model::Permission;
    use crate::schema::build::build_schema_for;
    let cases = [
        json!({"columns": "*", "filter": "oops"}),
        json!({"columns": "*", "filter": {"nope": {"_eq": 1}}}),
        json!({"columns": "*", "filter": {"id": {"_foo": 1}}}),
        json!({"columns": "*", "filter": {}, "limit": -5}),
        json!({"columns": ["id", "nope"], "filter": {}}),
    ];
    for body in cases {
        let mut md = tracked(&["author"]);
        md.sources[0].tables[0].select_permissions.push(Permission { role: "user".into(), permission: body.clone(), comment: None });
        let report = ok(&mut md, req("get_inconsistent_metadata", json!({})));
        assert_eq!(report["is_consistent"], json!(false), "{body}");
        assert_eq!(report["inconsistent_objects"][0]["type"], json!("select_permission"), "{body}");
        assert_eq!(report["inconsistent_objects"][0]["name"], json!("select_permission user in table author in source default"));
        let (schema, _) = build_schema_for(&md, &db(), "user", false);
        let author = schema.tables.iter().find(|t| t.name.name == "author").unwrap();
        assert!(author.perms.as_ref().is_none_or(|p| p.select.is_none()), "{body}: {:?}", author.perms);
        // replace_metadata refuses it, or stores it as inconsistent when allowed.
        let doc = ok(&mut md, req("export_metadata", json!({})));
        let mut fresh = tracked(&["author"]);
        let e = crate::metadata::ops::apply(&mut fresh, &db(), &req("replace_metadata", doc.clone()), 1).unwrap_err();
        assert!(e.code == "parse-failed" || e.error == "cannot continue due to inconsistent metadata", "{body}: {}", e.to_json());
    }
}

/// The permission reader itself fails closed on bodies that slipped past every check.
#[test]
fn permission_reader_fails_closed() {
    use crate::metadata::model::{Permission, TableEntry};
    use crate::schema::permissions::table_perms;
    let db = db();
    let dbt = db.table("public", "author").unwrap();
    let mut entry = TableEntry::new(crate::dbcatalog::QualifiedName::new("public", "author"));
    let p = |body: serde_json::Value| Permission { role: "user".into(), permission: body, comment: None };
    entry.select_permissions.push(p(json!({"columns": "*", "filter": "oops", "limit": -1})));
    entry.update_permissions.push(p(json!({"columns": "*", "filter": 3, "check": "oops"})));
    entry.delete_permissions.push(p(json!({"filter": []})));
    let perms = table_perms(&entry, dbt, "user", false);
    let deny = json!({"_or": []});
    let select = perms.select.unwrap();
    assert_eq!((select.filter, select.limit), (deny.clone(), Some(0)));
    let update = perms.update.unwrap();
    assert_eq!((update.filter, update.check), (deny.clone(), Some(deny.clone())));
    assert_eq!(perms.delete.unwrap().filter, deny);
}

/// The keys Hasura's permission parsers require (`InsPerm`: `check`; `SelPerm`: `columns`,
/// `filter`; `UpdPerm`: `columns`, `filter`; `DelPerm`: `filter`), read in Hasura's order.
#[test]
fn required_keys_are_required() {
    let p = "$.args.permission";
    let cases = [
        ("pg_create_insert_permission", json!({"columns": "*"}), p.to_string(), "key \"check\" not found".to_string()),
        ("pg_create_select_permission", json!({"filter": {}}), p.to_string(), "key \"columns\" not found".to_string()),
        ("pg_create_select_permission", json!({"columns": "*"}), p.to_string(), "key \"filter\" not found".to_string()),
        ("pg_create_update_permission", json!({"filter": {}}), p.to_string(), "key \"columns\" not found".to_string()),
        ("pg_create_update_permission", json!({"columns": "*", "check": {}}), p.to_string(), "key \"filter\" not found".to_string()),
        ("pg_create_delete_permission", json!({}), p.to_string(), "key \"filter\" not found".to_string()),
        // A required key given as null is not absent: its value fails to parse.
        (
            "pg_create_select_permission",
            json!({"columns": "*", "filter": null}),
            format!("{p}.filter"),
            "parsing boolean expression failed, expected Object, but encountered Null".to_string(),
        ),
        (
            "pg_create_update_permission",
            json!({"columns": null, "filter": {}}),
            format!("{p}.columns"),
            "parsing PermColSpec failed, expected Array, but encountered Null".to_string(),
        ),
        // Hasura reads `columns` before `filter`: with both wrong, `columns` is reported.
        (
            "pg_create_select_permission",
            json!({"filter": 1, "columns": 2}),
            format!("{p}.columns"),
            "parsing PermColSpec failed, expected Array, but encountered Number".to_string(),
        ),
    ];
    for (ty, body, path, msg) in cases {
        let mut md = tracked(&["author"]);
        let e = create(&mut md, ty, "author", body.clone()).expect_err(&format!("{ty} {body} should fail"));
        assert_err(&e, "parse-failed", &path, &msg);
    }
}

/// `query_root_fields` / `subscription_root_fields` hold Hasura's root field kinds; anything
/// else is refused as aeson refuses an unknown tag of the enum.
#[test]
fn root_field_lists_hold_known_kinds() {
    let mut md = tracked(&["author"]);
    let body = json!({"columns": "*", "filter": {}, "query_root_fields": ["select_by_pk", "select"], "subscription_root_fields": ["select_stream"]});
    create(&mut md, "pg_create_select_permission", "author", body).unwrap();
    let mut md = tracked(&["author"]);
    let e = create(&mut md, "pg_create_select_permission", "author", json!({"columns": "*", "filter": {}, "query_root_fields": ["select", "select_stream"]})).unwrap_err();
    assert_err(
        &e,
        "parse-failed",
        "$.args.permission.query_root_fields[1]",
        "parsing Hasura.RQL.Types.Permission.QueryRootFieldType failed, expected one of the tags [\"select\",\"select_by_pk\",\"select_aggregate\"], but found tag \"select_stream\"",
    );
    let e = create(&mut md, "pg_create_select_permission", "author", json!({"columns": "*", "filter": {}, "subscription_root_fields": [1]})).unwrap_err();
    assert_err(
        &e,
        "parse-failed",
        "$.args.permission.subscription_root_fields[0]",
        "parsing Hasura.RQL.Types.Permission.SubscriptionRootFieldType failed, expected String, but encountered Number",
    );
}

/// Hasura's default for an insert permission without `columns` is every column (less the
/// preset ones): the role gets `insert_author`/`insert_author_one` with every column in
/// `author_insert_input`.
#[test]
fn insert_permission_without_columns_allows_every_column() {
    use crate::schema::build::build_schema_for;
    let mut md = tracked(&["author"]);
    create(&mut md, "pg_create_select_permission", "author", json!({"columns": ["id"], "filter": {}})).unwrap();
    create(&mut md, "pg_create_insert_permission", "author", json!({"check": {}, "set": {"age": "x-hasura-age"}})).unwrap();
    let (schema, _) = build_schema_for(&md, &db(), "user", false);
    let author = schema.tables.iter().find(|t| t.name.name == "author").unwrap();
    let insertable: Vec<&str> = author.columns.iter().filter(|c| c.insert).map(|c| c.name.as_str()).collect();
    assert_eq!(insertable, ["id", "name"]);
    let gql = crate::schema::build::build_schema(&md, &db(), "user").0;
    assert!(gql.object_field("mutation_root", "insert_author").is_some());
    assert!(gql.object_field("mutation_root", "insert_author_one").is_some());
    // An explicit empty list still grants no column.
    let mut md = tracked(&["author"]);
    create(&mut md, "pg_create_insert_permission", "author", json!({"check": {}, "columns": []})).unwrap();
    let (schema, _) = build_schema_for(&md, &db(), "user", false);
    let author = schema.tables.iter().find(|t| t.name.name == "author").unwrap();
    assert!(author.columns.iter().all(|c| !c.insert));
}

/// A select permission's `computed_fields` lists scalar computed fields of the table (Hasura's
/// `buildSelPermInfo` / `askComputedFieldInfo`); one returning a table's rows takes that
/// table's permissions.
#[test]
fn computed_fields_of_a_select_permission() {
    let mut md = blog();
    ok(&mut md, req("pg_add_computed_field", json!({"table": "author", "name": "full_name", "definition": {"function": "full_name"}})));
    ok(&mut md, req("pg_add_computed_field", json!({"table": "author", "name": "all_articles", "definition": {"function": "author_articles"}})));
    let reason = |msg: &str| format!("Inconsistent object: in table \"author\": in permission for role \"user\": {msg}");
    let cases = [
        ("all_articles", "select permissions on computed field \"all_articles\" are auto-derived from the permissions on its returning table \"article\" and cannot be specified manually"),
        ("name", "expecting a computed field; but, \"name\" is a column"),
        ("articles", "expecting a computed field; but, \"articles\" is a relationship"),
        ("nope", "computed field \"nope\" does not exist"),
    ];
    for (cf, msg) in cases {
        let body = json!({"columns": ["id"], "filter": {}, "computed_fields": [cf]});
        let e = create(&mut md, "pg_create_select_permission", "author", body).unwrap_err();
        assert_err(&e, "invalid-configuration", "$.args", &reason(msg));
    }
    create(&mut md, "pg_create_select_permission", "author", json!({"columns": ["id"], "filter": {}, "computed_fields": ["full_name"]})).unwrap();
    // Other kinds have no computed fields: the key is ignored, as Hasura's parsers ignore it.
    create(&mut md, "pg_create_insert_permission", "author", json!({"check": {}, "computed_fields": ["nope"]})).unwrap();
}

/// With several problems, the one Hasura's `build*PermInfo` meets first is reported: the row
/// filter or check before the presets and the columns.
#[test]
fn the_first_problem_in_hasuras_order_is_reported() {
    let reason = |msg: &str| format!("Inconsistent object: in table \"author\": in permission for role \"user\": {msg}");
    let cases = [
        ("pg_create_select_permission", json!({"columns": ["nope_col"], "filter": {"nope_field": {"_eq": 1}}}), "\"nope_field\" does not exist"),
        ("pg_create_insert_permission", json!({"columns": ["nope_col"], "set": {"nope_set": 1}, "check": {"nope_field": {}}}), "\"nope_field\" does not exist"),
        ("pg_create_insert_permission", json!({"columns": ["nope_col"], "set": {"nope_set": 1}, "check": {}}), "column \"nope_set\" does not exist"),
        ("pg_create_update_permission", json!({"columns": ["nope_col"], "set": {"nope_set": 1}, "filter": {}, "check": {"nope_check": {}}}), "\"nope_check\" does not exist"),
    ];
    for (ty, body, msg) in cases {
        let mut md = tracked(&["author"]);
        let e = create(&mut md, ty, "author", body).unwrap_err();
        assert_err(&e, "invalid-configuration", "$.args", &reason(msg));
    }
}

/// `export_metadata` prints a permission as Hasura prints the parsed one (`metadataToOrdJSON`).
#[test]
fn permissions_export_in_hasuras_canonical_form() {
    let mut md = tracked(&["author"]);
    let bodies = [
        ("pg_create_select_permission", json!({"filter": {"name": {"_eq": "x"}, "id": {"_gt": 1}}, "allow_aggregations": false, "computed_fields": [], "columns": "*", "ignored": 1})),
        ("pg_create_insert_permission", json!({"columns": ["id"], "backend_only": false, "set": {}, "check": {}})),
        ("pg_create_update_permission", json!({"filter": {}, "columns": ["name"], "set": {"age": "x-hasura-age"}, "backend_only": true})),
        ("pg_create_delete_permission", json!({"filter": {}, "backend_only": false})),
    ];
    for (ty, body) in bodies {
        create(&mut md, ty, "author", body).unwrap();
    }
    let out = ok(&mut md, req("export_metadata", json!({})));
    let t = &out["sources"][0]["tables"][0];
    let text = |k: &str| serde_json::to_string(&t[k][0]["permission"]).unwrap();
    assert_eq!(text("select_permissions"), r#"{"columns":"*","filter":{"id":{"_gt":1},"name":{"_eq":"x"}}}"#);
    assert_eq!(text("insert_permissions"), r#"{"check":{},"columns":["id"]}"#);
    assert_eq!(text("update_permissions"), r#"{"columns":["name"],"filter":{},"check":null,"set":{"age":"x-hasura-age"},"backend_only":true}"#);
    assert_eq!(text("delete_permissions"), r#"{"filter":{}}"#);
    // The export reads back to the same export.
    let mut again = tracked(&["author"]);
    ok(&mut again, req("replace_metadata", out.clone()));
    assert_eq!(ok(&mut again, req("export_metadata", json!({}))), out);
}

/// A computed field in a permission filter: a set-returning one is a path to the rows of the
/// table it returns (their fields are checked), a scalar one takes comparison operators.
#[test]
fn computed_fields_in_filters_are_checked_through() {
    let mut md = blog();
    ok(&mut md, req("pg_add_computed_field", json!({"table": "author", "name": "full_name", "definition": {"function": "full_name"}})));
    ok(&mut md, req("pg_add_computed_field", json!({"table": "author", "name": "all_articles", "definition": {"function": "author_articles"}})));
    let reason = |msg: &str| format!("Inconsistent object: in table \"author\": in permission for role \"user\": {msg}");
    let e = create(&mut md, "pg_create_select_permission", "author", json!({"columns": ["id"], "filter": {"all_articles": {"nope": {"_eq": 1}}}})).unwrap_err();
    assert_err(&e, "invalid-configuration", "$.args", &reason("\"nope\" does not exist"));
    let e = create(&mut md, "pg_create_select_permission", "author", json!({"columns": ["id"], "filter": {"full_name": {"_bogus": "x"}}})).unwrap_err();
    assert_err(&e, "invalid-configuration", "$.args", &reason("Unknown operator: _bogus"));
    create(
        &mut md,
        "pg_create_select_permission",
        "author",
        json!({"columns": ["id"], "filter": {"all_articles": {"title": {"_eq": "x"}}, "full_name": {"_ilike": "%a%"}}}),
    )
    .unwrap();
}
