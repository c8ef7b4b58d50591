//! Every request is bounded: node limit, nesting of every kind, deep variables, linear cost,
//! cancellation.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::{compile, Compiled, Limits, Session, MAX_VARIABLE_DEPTH};
use crate::error::GqlError;
use crate::schema::build::{build_schema, tests::fixture};
use crate::Schema;

fn admin() -> Schema {
    let (md, db) = fixture();
    build_schema(&md, &db, "admin").0
}

fn run(s: &Schema, q: &str, vars: Option<&Value>, limits: &Limits) -> Result<Compiled, GqlError> {
    compile(s, q, vars, None, &Session::admin(), limits)
}

fn aliases(n: usize) -> String {
    format!("{{ {} }}", (0..n).map(|i| format!("a{i}: author(limit: 1) {{ id }}")).collect::<Vec<_>>().join(" "))
}

#[test]
fn node_limit_is_validation_failed() {
    let s = admin();
    let limits = Limits { node_limit: 10, ..Limits::default() };
    // Nodes are fields with a selection set: 10 here (5 authors, 5 articles).
    let ok = format!("{{ {} }}", (0..5).map(|i| format!("a{i}: author {{ id articles {{ id }} }}")).collect::<Vec<_>>().join(" "));
    assert!(run(&s, &ok, None, &limits).is_ok());
    let e = run(&s, &aliases(11), None, &limits).unwrap_err();
    assert_eq!(e.code, "validation-failed");
    assert_eq!(e.message, "the query exceeds the node limit of 10");
    // Fragments count once per use.
    let frag = format!("query {{ {} }} fragment F on author {{ id articles {{ id }} }}", (0..6).map(|i| format!("a{i}: author {{ ...F }}")).collect::<Vec<_>>().join(" "));
    assert_eq!(run(&s, &frag, None, &limits).unwrap_err().code, "validation-failed");
    // The default bounds the attack; 0 means no limit.
    assert!(Limits::default().node_limit > 0);
    assert_eq!(run(&s, &aliases(8_000), None, &Limits::default()).unwrap_err().message, format!("the query exceeds the node limit of {}", Limits::default().node_limit));
    assert!(run(&s, &aliases(1_500), None, &Limits { node_limit: 0, ..Limits::default() }).is_ok());
}

/// Each kind of nest, 1 MiB of it: an error, quickly, never a stack overflow.
#[test]
fn a_mebibyte_of_nesting_is_an_error() {
    let s = admin();
    let n = 1 << 20;
    let open_close = |open: &str, close: &str, reps: usize| format!("{}{}", open.repeat(reps), close.repeat(reps));
    let kinds: Vec<(&str, String)> = vec![
        ("selections", format!("{{{}", open_close("a {", "}", n / 4))),
        ("braces", "{".repeat(n)),
        ("lists", format!("{{ author(where: {{id: {{_in: {}}}}}) {{ id }} }}", open_close("[", "]", n / 2))),
        ("objects", format!("{{ author(where: {}) {{ id }} }}", open_close("{a: ", "}", n / 5))),
        ("_and", format!("{{ author(where: {}) {{ id }} }}", open_close("{_and: [", "]}", n / 9))),
        ("_not", format!("{{ author(where: {}) {{ id }} }}", open_close("{_not: ", "}", n / 8))),
        ("parens", format!("{{ author{} }}", "(".repeat(n))),
        ("variable default", format!("query ($w: author_bool_exp = {}) {{ author(where: $w) {{ id }} }}", open_close("{_not: ", "}", n / 8))),
        // The old pre-check took `"\\"` for an open string and skipped everything after it.
        ("after \"\\\\\"", format!("{{ author(where: {{name: {{_eq: \"\\\\\"}}}}) {}", open_close("{ a ", "}", n / 4))),
        ("after a comment", format!("# \"\n{{ {}", open_close("a { ", "}", n / 4))),
        ("after a block string", format!("{{ author(where: {{name: {{_eq: \"\"\" \\\"\"\" \"\"\"}}}}) {}", open_close("{ a ", "}", n / 4))),
    ];
    let limits = Limits { max_query_bytes: 2 << 20, ..Limits::default() };
    for (kind, q) in kinds {
        let t = Instant::now();
        let e = run(&s, &q, None, &limits).expect_err(kind);
        assert_eq!(e.code, "validation-failed", "{kind}: {e:?}");
        assert!(t.elapsed() < Duration::from_secs(1), "{kind} took {:?}", t.elapsed());
    }
}

/// Just inside the pre-check's bounds, the parser and the compiler still answer (an error or
/// SQL), without overflowing the stack of a test thread (2 MiB).
#[test]
fn nesting_just_inside_the_bounds_does_not_crash() {
    let s = admin();
    let limits = Limits::default();
    for reps in [60, 120, 250] {
        let q = format!("{{ author(where: {}{}) {{ id }} }}", "{_not: ".repeat(reps), "}".repeat(reps));
        let _ = run(&s, &q, None, &limits);
        let q = format!("{{ author(where: {}{}) {{ id }} }}", "{_and: [".repeat(reps / 2), "]}".repeat(reps / 2));
        let _ = run(&s, &q, None, &limits);
    }
    let q = format!("{{ {} id {} }}", "author { articles { ".repeat(31), "} } ".repeat(31));
    assert!(run(&s, &q, None, &limits).is_ok());
}

fn nested_not(levels: usize) -> Value {
    let mut v = json!({"id": {"_eq": 1}});
    for _ in 0..levels {
        v = json!({ "_not": v });
    }
    v
}

#[test]
fn deep_variables_are_bounded() {
    // Debug builds' frames are several times larger than release ones: give this thread a
    // stack and budget to match (the extension checks against PostgreSQL's max_stack_depth).
    std::thread::Builder::new()
        .stack_size(32 << 20)
        .spawn(|| {
            crate::stack::set_budget(16 << 20);
            let s = admin();
            let q = "query ($w: author_bool_exp) { author(where: $w) { id } }";
            let defs = {
                let doc = super::validate::parse(q, &Limits::default()).unwrap();
                super::validate::variable_definitions(&super::validate::select_operation(&doc, None).unwrap().node)
            };
            // Hasura accepts 1,000 levels of `_not` in variables: coercion does too.
            let ok = json!({ "w": nested_not(1_000) });
            assert!(super::validate::coerce_variables(&s, &defs, Some(&ok)).is_ok());
            let _ = run(&s, q, Some(&ok), &Limits::default());
            // Beyond the bound: a clean error, before any recursion.
            let deep = json!({ "w": nested_not(MAX_VARIABLE_DEPTH + 10) });
            let e = run(&s, q, Some(&deep), &Limits::default()).unwrap_err();
            assert_eq!(e.code, "validation-failed");
            assert!(e.message.contains("nested deeper"), "{}", e.message);
            let e = super::validate::coerce_variables(&s, &defs, Some(&deep)).unwrap_err();
            assert!(e.message.contains("nested deeper"), "{}", e.message);
            // Lists count too.
            let mut list = json!(1);
            for _ in 0..MAX_VARIABLE_DEPTH + 10 {
                list = json!([list]);
            }
            assert!(super::check_variables_depth(Some(&json!({ "l": list }))).is_err());
        })
        .unwrap()
        .join()
        .unwrap();
}

fn time(f: impl Fn()) -> Duration {
    // The best of three, so a busy machine does not fail the test.
    (0..3)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap()
}

/// Compile cost grows linearly with the number of fields (it was quadratic: merging each field
/// scanned every earlier one). Linear is a ratio of 4; quadratic, 16.
#[test]
fn compile_time_is_linear_in_fields() {
    let s = admin();
    let limits = Limits { node_limit: 0, max_query_bytes: 64 << 20, ..Limits::default() };
    let fields = |n: usize| format!("{{ author {{ {} }} }}", (0..n).map(|i| format!("f{i}: id")).collect::<Vec<_>>().join(" "));
    let (small, big) = (fields(5_000), fields(20_000));
    let t_small = time(|| assert!(run(&s, &small, None, &limits).is_ok()));
    let t_big = time(|| assert!(run(&s, &big, None, &limits).is_ok()));
    let ratio = t_big.as_secs_f64() / t_small.as_secs_f64();
    assert!(ratio < 8.0, "5,000 fields: {t_small:?}, 20,000: {t_big:?} (ratio {ratio:.1})");
    let (small, big) = (aliases(5_000), aliases(20_000));
    let t_small = time(|| assert!(run(&s, &small, None, &limits).is_ok()));
    let t_big = time(|| assert!(run(&s, &big, None, &limits).is_ok()));
    let ratio = t_big.as_secs_f64() / t_small.as_secs_f64();
    assert!(ratio < 8.0, "5,000 aliases: {t_small:?}, 20,000: {t_big:?} (ratio {ratio:.1})");
}

/// Root fields are planned in chunks of subqueries (see `sql::json_object_root`).
#[test]
fn many_root_fields_are_chunked_into_subqueries() {
    let s = admin();
    let Compiled::Sql(c) = run(&s, &aliases(120), None, &Limits::default()).unwrap() else { panic!() };
    assert_eq!(c.sql.matches("(SELECT json_build_object(").count(), 3, "{}", &c.sql[..300]);
    let Compiled::Sql(c) = run(&s, &aliases(3), None, &Limits::default()).unwrap() else { panic!() };
    assert!(!c.sql.contains("(SELECT json_build_object("), "{}", c.sql);
}

fn cancelled() -> Result<(), GqlError> {
    Err(crate::interrupt::interrupted())
}

#[test]
fn a_cancelled_compile_stops() {
    let s = admin();
    crate::interrupt::set_check(cancelled);
    let r = run(&s, &aliases(2_000), None, &Limits { node_limit: 0, ..Limits::default() });
    crate::interrupt::clear_check();
    assert_eq!(r.unwrap_err(), crate::interrupt::interrupted());
    assert!(run(&s, &aliases(2_000), None, &Limits { node_limit: 0, ..Limits::default() }).is_ok());
}

