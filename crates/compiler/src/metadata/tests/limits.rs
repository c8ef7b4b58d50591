//! Metadata requests stay linear in their size and stop when cancelled.

use std::time::{Duration, Instant};

use serde_json::json;

use super::*;

fn chain(n: usize) -> Value {
    let items: Vec<Value> = (0..n)
        .map(|i| {
            let parent = if i == 0 { "user".to_string() } else { format!("r{}", i - 1) };
            req("add_inherited_role", json!({"role_name": format!("r{i}"), "role_set": [parent]}))
        })
        .collect();
    json!({"type": "bulk", "args": items})
}

/// Each add walks its ancestors to reject cycles: with a scan per ancestor a chain of n roles
/// cost O(n³) per bulk.
#[test]
fn a_bulk_of_chained_inherited_roles_is_fast() {
    let mut md = blog();
    let t = Instant::now();
    ok(&mut md, chain(300));
    // About 1.3 s in a debug build on a busy 2-core machine (each add also checks the whole
    // metadata for cycles and conflicting root fields); a cubic walk takes far longer.
    assert!(t.elapsed() < Duration::from_secs(6), "300 chained inherited roles took {:?}", t.elapsed());
    assert_eq!(crate::metadata::inherited_roles::parents(&md, "r299"), vec!["r298".to_string()]);
    // Still a cycle check: r0 may not inherit from its descendant.
    let e = err(&mut md, req("add_inherited_role", json!({"role_name": "r299", "role_set": ["r0"]})));
    assert_eq!(e.code, "already-exists");
    let e = err(&mut md, json!({"type": "bulk", "args": [
        req("drop_inherited_role", json!({"role_name": "r0"})),
        req("add_inherited_role", json!({"role_name": "r0", "role_set": ["r299"]})),
    ]}));
    assert_eq!(e.code, "cyclic-dependency");
    // The schema of the deepest role builds quickly too.
    let t = Instant::now();
    let _ = crate::schema::build::build_schema(&md, &db(), "r299");
    assert!(t.elapsed() < Duration::from_secs(2), "schema of r299 took {:?}", t.elapsed());
}

fn cancelled() -> Result<(), crate::GqlError> {
    Err(crate::interrupt::interrupted())
}

#[test]
fn a_cancelled_bulk_stops() {
    let mut md = blog();
    crate::interrupt::set_check(cancelled);
    let r = apply(&mut md, &db(), &chain(3), 0);
    crate::interrupt::clear_check();
    let e = r.unwrap_err();
    assert_eq!(e.error, "the request was cancelled");
    assert!(crate::metadata::inherited_roles::parents(&md, "r0").is_empty(), "nothing applied");
}

/// Roles inheriting through shared parents (each level's three roles inherit from all three of
/// the level below): resolved once per role, not once per path (3¹² paths).
#[test]
fn diamond_inherited_roles_resolve_once() {
    let mut md = blog();
    ok(&mut md, req("pg_create_select_permission", json!({"table": "author", "role": "user",
        "permission": {"columns": ["id"], "filter": {"id": {"_eq": "X-Hasura-User-Id"}}}})));
    ok(&mut md, req("pg_create_select_permission", json!({"table": "article", "role": "user",
        "permission": {"columns": ["id"], "filter": {"author_id": {"_eq": "X-Hasura-User-Id"}}}})));
    let mut items = vec![];
    for level in 0..12 {
        for k in 0..3 {
            let set: Vec<String> = if level == 0 { vec!["user".into()] } else { (0..3).map(|j| format!("l{}_{j}", level - 1)).collect() };
            items.push(req("add_inherited_role", json!({"role_name": format!("l{level}_{k}"), "role_set": set})));
        }
    }
    ok(&mut md, json!({"type": "bulk", "args": items}));
    let t = Instant::now();
    let (top, _) = crate::schema::build::build_schema(&md, &db(), "l11_0");
    assert!(t.elapsed() < Duration::from_secs(2), "schema took {:?}", t.elapsed());
    let (user, _) = crate::schema::build::build_schema(&md, &db(), "user");
    assert!(top.object_field("query_root", "author").is_some());
    // The same rows as the role everything comes from: one filter, not 3¹² copies of it.
    let filter = |s: &crate::Schema, table: &str| {
        let t = s.tables.iter().find(|t| t.name.name == table).unwrap();
        t.perms.as_ref().and_then(|p| p.select.as_ref()).map(|s| s.filter.clone())
    };
    assert_eq!(filter(&top, "author"), filter(&user, "author"));
}
