//! Measurements (run with `--release -- --ignored --nocapture`).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use graft_compiler::request::{compile, Limits, Session};
use graft_compiler::schema::build::build_schema;
use graft_compiler::{DbCatalog, Metadata};
use serde_json::json;

struct Counting;
static CUR: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = System.alloc(l);
        let c = CUR.fetch_add(l.size(), Ordering::Relaxed) + l.size();
        PEAK.fetch_max(c, Ordering::Relaxed);
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        CUR.fetch_sub(l.size(), Ordering::Relaxed);
        System.dealloc(p, l)
    }
}
#[global_allocator]
static A: Counting = Counting;

fn fixture() -> (Metadata, DbCatalog) {
    let db: DbCatalog = serde_json::from_value(json!({"tables": [{
        "schema": "public", "name": "tasks", "kind": "table",
        "columns": [{"name": "id", "type_name": "int4", "nullable": false}, {"name": "title", "type_name": "text", "nullable": true}],
        "primary_key": {"name": "tasks_pkey", "columns": ["id"]}, "is_insertable": true, "is_updatable": true, "is_deletable": true}]}))
    .unwrap();
    let md: Metadata = serde_json::from_value(json!({"version": 3, "sources": [{"name": "default", "kind": "postgres",
        "tables": [{"table": {"schema": "public", "name": "tasks"}}]}]}))
    .unwrap();
    (md, db)
}

fn measure(label: &str, q: &str) {
    let (md, db) = fixture();
    let schema = build_schema(&md, &db, "admin").0;
    let session = Session::from_json(Some(&json!({"x-hasura-role": "admin"}))).unwrap();
    let limits = Limits { max_query_bytes: 64 << 20, node_limit: 0, ..Limits::default() };
    let base = CUR.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let t = Instant::now();
    let r = compile(&schema, q, None, None, &session, &limits);
    let el = t.elapsed();
    let peak = PEAK.load(Ordering::Relaxed) - base;
    let size = match &r {
        Ok(graft_compiler::request::Compiled::Sql(s)) => s.sql.len(),
        Ok(_) => 0,
        Err(e) => { println!("  err: {}", e.message); 0 }
    };
    println!("{label}: query {} KB, {:?}, peak {} MB, sql {} KB", q.len() / 1024, el, peak >> 20, size / 1024);
}

#[test]
#[ignore]
fn bench_aliases() {
    for n in [1000, 4000, 8000, 16000] {
        let q = format!("{{ {} }}", (0..n).map(|i| format!("a{i}: tasks(limit: 1) {{ id }}")).collect::<Vec<_>>().join(" "));
        measure(&format!("aliases {n}"), &q);
    }
    for n in [1000, 4000, 8000] {
        let q = format!("{{ tasks(where: {{_or: [{}]}}) {{ id }} }}", (0..n).map(|i| format!("{{id: {{_eq: {i}}}}}")).collect::<Vec<_>>().join(", "));
        measure(&format!("_or {n}"), &q);
    }
    for n in [10000, 30000, 50000] {
        let q = format!("{{ tasks {{ {} }} }}", (0..n).map(|i| format!("f{i}: id")).collect::<Vec<_>>().join(" "));
        measure(&format!("fields {n}"), &q);
    }
}

#[test]
#[ignore]
fn show_sql() {
    let (md, db) = fixture();
    let schema = build_schema(&md, &db, "admin").0;
    let session = Session::from_json(Some(&json!({"x-hasura-role": "admin"}))).unwrap();
    for q in ["{ a0: tasks(limit: 1) { id } a1: tasks(limit: 1) { id } }", "{ tasks(where: {_or: [{id: {_eq: 1}}, {id: {_eq: 2}}]}) { id } }"] {
        println!("{:?}", compile(&schema, q, None, None, &session, &Limits::default()).unwrap());
    }
}

#[test]
#[ignore]
fn dump_sql() {
    let (md, db) = fixture();
    let schema = build_schema(&md, &db, "admin").0;
    let session = Session::from_json(Some(&json!({"x-hasura-role": "admin"}))).unwrap();
    let limits = Limits { max_query_bytes: 64 << 20, node_limit: 0, ..Limits::default() };
    for n in [1000, 2000, 4000] {
        let q = format!("{{ {} }}", (0..n).map(|i| format!("a{i}: tasks(limit: 1) {{ id }}")).collect::<Vec<_>>().join(" "));
        if let Ok(graft_compiler::request::Compiled::Sql(s)) = compile(&schema, &q, None, None, &session, &limits) {
            std::fs::write(format!("/tmp/h7sql_alias_{n}.sql"), s.sql + ";\n").unwrap();
        }
    }
}

#[test]
#[ignore]
fn bench_inherited_roles() {
    for n in [100, 200, 400] {
        let (mut md, db) = fixture();
        let items: Vec<serde_json::Value> = (0..n)
            .map(|i| {
                let parent = if i == 0 { "user".to_string() } else { format!("r{}", i - 1) };
                json!({"type": "add_inherited_role", "args": {"role_name": format!("r{i}"), "role_set": [parent]}})
            })
            .collect();
        let t = Instant::now();
        graft_compiler::metadata::ops::apply(&mut md, &db, &json!({"type": "bulk", "args": items}), 0).unwrap();
        let bulk = t.elapsed();
        let t = Instant::now();
        let _ = build_schema(&md, &db, &format!("r{}", n - 1));
        println!("inherited roles {n}: bulk {bulk:?}, schema of the deepest {:?}", t.elapsed());
    }
}
