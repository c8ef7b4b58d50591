use serde_json::json;

use super::*;

fn perm(ty: &str, role: &str) -> serde_json::Value {
    req(ty, json!({"table": "author", "role": role, "permission": {"columns": "*", "filter": {}}}))
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
        err(&mut md, req("pg_create_select_permission", json!({"table": "article", "role": "user", "permission": {}})));
    assert_err(&e, "not-exists", "$.args.table", "table \"article\" does not exist");
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
