//! Mutations (issue 12 items 8–10): writes through views and into partitioned tables read back
//! the written rows themselves (no ctid); upserts on unique indexes that back no constraint;
//! nested inserts whose child check goes through the parent.
//!
//! `GRAFT_MUT_SQL=<dir> cargo test -p graft-compiler mutation_tests::dump -- --ignored` writes
//! the compiled requests of pg_test/sql/12_mutations_more.sql as a psql script for a plain
//! PostgreSQL (same tables, the metadata of [`fixture`]), running each mutation plan as the
//! extension does (write, then read with `$1`/`$2` from the write).

use serde_json::json;

use crate::dbcatalog::DbCatalog;
use crate::metadata::model::Metadata;
use crate::request::{compile, Compiled, Limits, MutationPlan, MutationStep, Session, Stmt};
use crate::schema::build::build_schema;
use crate::Schema;

fn col(name: &str, ty: &str, nullable: bool) -> serde_json::Value {
    json!({"name": name, "type_name": ty, "nullable": nullable})
}

fn table(name: &str, kind: &str, columns: Vec<serde_json::Value>, pk: Option<&str>) -> serde_json::Value {
    json!({"schema": "public", "name": name, "kind": kind, "columns": columns,
           "primary_key": pk.map(|c| json!({"name": format!("{name}_pkey"), "columns": [c]})),
           "is_insertable": true, "is_updatable": true, "is_deletable": true})
}

fn perm(role: &str, p: serde_json::Value) -> serde_json::Value {
    json!({"role": role, "permission": p})
}

/// The tables and metadata of pg_test/sql/12_mutations_more.sql.
pub(crate) fn fixture() -> (Metadata, DbCatalog) {
    let mut a = table(
        "a",
        "table",
        vec![col("id", "int4", false), col("email", "text", true), col("name", "text", true), col("code", "text", true), col("deleted", "bool", false)],
        Some("id"),
    );
    a["unique_constraints"] = json!([
        {"name": "a_code_lower_idx", "columns": [], "index_keys": ["(lower(code))"]},
        {"name": "a_email_idx", "columns": ["email"], "index_keys": ["email"]},
        {"name": "a_name_live_idx", "columns": ["name"], "index_keys": ["name"], "index_predicate": "NOT deleted"}
    ]);
    let mut c = table("c", "table", vec![col("id", "int4", false), col("p_id", "int4", false), col("note", "text", true)], Some("id"));
    c["foreign_keys"] = json!([{"name": "c_p_id_fkey", "columns": ["p_id"], "ref_schema": "public", "ref_table": "p", "ref_columns": ["id"]}]);
    let db: DbCatalog = serde_json::from_value(json!({"tables": [
        table("p", "table", vec![col("id", "int4", false), col("owner", "int4", false), col("name", "text", true)], Some("id")),
        c,
        table("pv", "view", vec![col("id", "int4", true), col("owner", "int4", true), col("name", "text", true)], None),
        table("pt", "partitioned_table", vec![col("id", "int4", false), col("part", "int4", false), col("label", "text", true), col("p_id", "int4", true)], None),
        a,
        table("ih", "table", vec![col("id", "int4", false), col("label", "text", true)], Some("id")),
    ]}))
    .unwrap();
    let owner_is_me = json!({"owner": {"_eq": "X-Hasura-User-Id"}});
    let parent_is_mine = json!({"p": {"owner": {"_eq": "X-Hasura-User-Id"}}});
    let md: Metadata = serde_json::from_value(json!({
        "version": 3,
        "sources": [{"name": "default", "kind": "postgres", "tables": [
            {"table": {"schema": "public", "name": "p"},
             "array_relationships": [{"name": "children", "using": {"foreign_key_constraint_on": {"table": "c", "column": "p_id"}}}],
             "select_permissions": [
                perm("u", json!({"columns": ["id", "owner", "name"], "filter": owner_is_me})),
                perm("v", json!({"columns": ["id", "owner", "name"], "filter": {}}))],
             "insert_permissions": [
                perm("u", json!({"columns": ["id", "name"], "check": owner_is_me, "set": {"owner": "X-Hasura-User-Id"}})),
                perm("v", json!({"columns": ["id", "owner", "name"], "check": {}}))]},
            {"table": {"schema": "public", "name": "c"},
             "object_relationships": [{"name": "p", "using": {"foreign_key_constraint_on": "p_id"}}],
             "select_permissions": [
                perm("u", json!({"columns": ["id", "p_id", "note"], "filter": parent_is_mine})),
                perm("v", json!({"columns": ["id", "p_id", "note"], "filter": {}}))],
             "insert_permissions": [
                perm("u", json!({"columns": ["id", "p_id", "note"], "check": parent_is_mine})),
                perm("v", json!({"columns": ["id", "p_id", "note"], "check": parent_is_mine}))]},
            {"table": {"schema": "public", "name": "pv"},
             "array_relationships": [{"name": "children", "using": {"manual_configuration": {
                "remote_table": {"schema": "public", "name": "c"}, "column_mapping": {"id": "p_id"}}}}],
             "select_permissions": [
                perm("u", json!({"columns": ["id", "owner", "name"], "filter": {"owner": {"_eq": "X-Hasura-User-Id"}, "name": {"_nlike": "hidden%"}}})),
                perm("w", json!({"columns": ["id"], "filter": {}}))],
             "insert_permissions": [
                perm("u", json!({"columns": ["id", "name"], "check": owner_is_me, "set": {"owner": "X-Hasura-User-Id"}})),
                perm("w", json!({"columns": ["id", "owner", "name"], "check": owner_is_me}))],
             "update_permissions": [
                perm("u", json!({"columns": ["name", "owner"], "filter": owner_is_me, "check": {"name": {"_nlike": "%bad%"}}}))],
             "delete_permissions": [perm("u", json!({"filter": owner_is_me}))]},
            {"table": {"schema": "public", "name": "pt"},
             "object_relationships": [{"name": "p", "using": {"manual_configuration": {
                "remote_table": {"schema": "public", "name": "p"}, "column_mapping": {"p_id": "id"}}}}]},
            {"table": {"schema": "public", "name": "a"}},
            {"table": {"schema": "public", "name": "ih"}}
        ]}]
    }))
    .unwrap();
    (md, db)
}

fn schema_for(role: &str) -> Schema {
    let (md, db) = fixture();
    crate::testing::consistent_schema(&md, &db, role)
}

fn session(role: &str) -> Session {
    crate::testing::user_session(role)
}

fn plan(role: &str, q: &str) -> MutationPlan {
    match compile(&schema_for(role), q, None, None, &session(role), &Limits::default()) {
        Ok(Compiled::Mutation(plan)) => plan,
        other => panic!("expected a mutation for {q}, got {other:?}"),
    }
}

fn write_read(role: &str, q: &str) -> (Stmt, Stmt) {
    match plan(role, q).fields.remove(0).steps.remove(0) {
        MutationStep::WriteRead { write, read } => (write, read),
        other => panic!("expected a write and a read-back for {q}, got {other:?}"),
    }
}

fn only_stmt(role: &str, q: &str) -> Stmt {
    match plan(role, q).fields.remove(0).steps.remove(0) {
        MutationStep::WriteRead { write, .. } => write,
        MutationStep::Query(s) => s,
        other => panic!("{other:?}"),
    }
}

#[test]
fn view_inserts_read_the_written_rows_back_without_ctid() {
    let (w, r) = write_read("u", "mutation { insert_pv(objects: [{id: 10, name: \"v\"}]) { affected_rows returning { id children { id } } } }");
    assert!(!w.sql.contains("ctid") && !r.sql.contains("ctid"), "{}\n{}", w.sql, r.sql);
    assert!(w.sql.contains("json_agg(row_to_json("), "the write hands the rows over: {}", w.sql);
    assert!(r.sql.contains("json_populate_record(NULL::\"public\".\"pv\""), "{}", r.sql);
    assert!(r.sql.contains("ORDER BY _e"), "written order kept: {}", r.sql);
    // The view's insert check and the select filter on returning apply.
    assert!(w.sql.contains("\"owner\" = "), "insert check: {}", w.sql);
    assert!(r.sql.contains("NOT LIKE"), "select filter on returning: {}", r.sql);
    // insert_one too.
    let (w, r) = write_read("u", "mutation { insert_pv_one(object: {id: 10, name: \"v\"}) { id } }");
    assert!(!w.sql.contains("ctid") && r.sql.contains("json_populate_record") && r.sql.contains("LIMIT 1"), "{}", r.sql);
}

#[test]
fn view_updates_are_checked_and_filtered() {
    let (w, r) = write_read("u", "mutation { update_pv(where: {id: {_eq: 1}}, _set: {name: \"n\"}) { affected_rows returning { id } } }");
    assert!(!w.sql.contains("ctid"), "{}", w.sql);
    assert!(w.sql.contains("bool_and(") && w.sql.contains("NOT LIKE"), "update check: {}", w.sql);
    assert!(r.sql.contains("json_populate_record(NULL::\"public\".\"pv\"") && r.sql.contains("NOT LIKE"), "select filter: {}", r.sql);
    // Deletes return the deleted rows in one statement, filtered.
    let d = only_stmt("u", "mutation { delete_pv(where: {id: {_eq: 10}}) { affected_rows returning { id children { id } } } }");
    assert!(d.sql.contains("NOT LIKE") && !d.sql.contains("ctid"), "{}", d.sql);
}

#[test]
fn partitioned_tables_read_back_the_written_rows() {
    let (w, r) = write_read("admin", "mutation { insert_pt(objects: [{id: 1, part: 1}, {id: 2, part: 2}]) { returning { id p { id } } } }");
    assert!(!w.sql.contains("ctid") && !r.sql.contains("ctid"), "{}\n{}", w.sql, r.sql);
    assert!(r.sql.contains("json_populate_record(NULL::\"public\".\"pt\""), "{}", r.sql);
    let (w, r) = write_read("admin", "mutation { update_pt(where: {id: {_eq: 1}}, _set: {label: \"x\"}) { returning { id p { id } } } }");
    assert!(!w.sql.contains("ctid") && r.sql.contains("json_populate_record(NULL::\"public\".\"pt\""), "{}", r.sql);
}

#[test]
fn upserts_on_unique_indexes_infer_the_index() {
    let sql = |c: &str| only_stmt("admin", &format!("mutation {{ insert_a(objects: [{{id: 2, email: \"e\"}}], on_conflict: {{constraint: {c}, update_columns: [name]}}) {{ affected_rows }} }}")).sql;
    let s = sql("a_email_idx");
    assert!(s.contains("ON CONFLICT (email) DO UPDATE"), "{s}");
    assert!(!s.contains("ON CONSTRAINT"), "{s}");
    let s = sql("a_name_live_idx");
    assert!(s.contains("ON CONFLICT (name) WHERE NOT deleted DO UPDATE"), "the predicate goes into the target: {s}");
    let s = sql("a_code_lower_idx");
    assert!(s.contains("ON CONFLICT ((lower(code))) DO UPDATE"), "{s}");
    // Constraints are still named.
    let s = sql("a_pkey");
    assert!(s.contains("ON CONFLICT ON CONSTRAINT \"a_pkey\" DO UPDATE"), "{s}");
    // DO NOTHING too.
    let s = only_stmt("admin", "mutation { insert_a(objects: [{id: 2}], on_conflict: {constraint: a_email_idx, update_columns: []}) { affected_rows } }").sql;
    assert!(s.contains("ON CONFLICT (email) DO NOTHING"), "{s}");
}

#[test]
fn every_unique_index_is_a_constraint_value() {
    let s = schema_for("admin");
    let e = s.get("a_constraint").expect("a_constraint");
    let crate::schema::model::TypeKind::Enum { values } = &e.kind else { panic!() };
    let names: Vec<&str> = values.keys().map(|k| k.as_str()).collect();
    assert_eq!(names, ["a_pkey", "a_code_lower_idx", "a_email_idx", "a_name_live_idx"]);
}

#[test]
fn a_childs_check_through_the_parent_sees_the_parent_written_with_it() {
    // Parent first (array relationship): the child's check reads p through an overlay with the
    // parent's CTE; the parent's own check does not see the child.
    let (w, _) = write_read("u", "mutation { insert_p(objects: [{id: 20, name: \"p\", children: {data: [{id: 20}]}}]) { affected_rows } }");
    let first_check = w.sql.find("bool_and(").expect("checks");
    let checks = &w.sql[first_check..];
    assert!(checks.contains("FROM (SELECT \"id\", \"owner\", \"name\" FROM \"public\".\"p\" UNION ALL SELECT \"id\", \"owner\", \"name\" FROM _m"), "{}", w.sql);
    // Child first (object relationship): the parent is inserted before the child, as Hasura does.
    let (w, _) = write_read("u", "mutation { insert_c(objects: [{id: 22, p: {data: {id: 22, name: \"p\"}}}]) { affected_rows } }");
    assert!(w.sql.contains("UNION ALL SELECT \"id\", \"owner\", \"name\" FROM _m"), "{}", w.sql);
    // A flat insert has nothing to overlay.
    let (w, _) = write_read("u", "mutation { insert_c(objects: [{id: 24, p_id: 20}]) { affected_rows } }");
    assert!(!w.sql.contains("UNION ALL"), "{}", w.sql);
}

/// Compiles every `graphql.resolve` of pg_test/sql/12_mutations_more.sql into one psql script
/// for a plain PostgreSQL: `$GRAFT_MUT_SQL/mutations.sql`. Each request prints what the
/// extension would answer (`{"data":{"<alias>":…}}`), running the plan's write, then (when it
/// reports `ok`) its read with `$1`/`$2` from the write, in a savepoint rolled back on
/// permission-error. Lines are labelled `@@L<n>` after the file's line numbers.
#[test]
#[ignore]
fn dump() {
    let Ok(dir) = std::env::var("GRAFT_MUT_SQL") else { return };
    std::fs::create_dir_all(&dir).unwrap();
    let src = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../pg_test/sql/12_mutations_more.sql")).unwrap();
    let lit = |ps: &[Option<String>]| -> String {
        ps.iter().map(|p| p.as_ref().map(|v| crate::schema::names::quote_literal(v)).unwrap_or("NULL".into())).collect::<Vec<_>>().join(",")
    };
    let types = |n: usize| if n == 0 { String::new() } else { format!("({})", vec!["text"; n].join(",")) };
    let args = |ps: &[Option<String>]| if ps.is_empty() { String::new() } else { format!("({})", lit(ps)) };
    let mut vars = std::collections::HashMap::new();
    let mut out = String::from("\\pset format unaligned\n\\pset tuples_only on\n\\set ON_ERROR_ROLLBACK on\nSET timezone TO 'UTC';\n");
    let (md, db) = fixture();
    let mut in_metadata = false;
    for (i, line) in src.lines().enumerate() {
        let n = i + 1;
        if in_metadata {
            in_metadata = !line.ends_with("]}');");
            continue;
        }
        if line.starts_with("SELECT graphql.metadata(") {
            in_metadata = true;
            continue;
        }
        if let Some(rest) = line.strip_prefix("\\set ") {
            let (name, v) = rest.split_once(' ').unwrap();
            vars.insert(format!(":'{name}'"), v.trim_matches('\'').to_string());
            continue;
        }
        if line.starts_with("\\") || line.starts_with("--") || line.is_empty() {
            continue;
        }
        let Some(rest) = line.strip_prefix("SELECT graphql.resolve('") else {
            out.push_str(&format!("\\echo @@L{n}\n{line}\n"));
            continue;
        };
        let (q, session) = match rest.split_once("', NULL, ") {
            Some((q, sess)) => {
                let sess = sess.trim_end_matches(");");
                let sess = vars.get(sess).cloned().unwrap_or_else(|| sess.trim_matches('\'').to_string());
                (q, Session::from_json(Some(&serde_json::from_str(&sess).unwrap())).unwrap())
            }
            None => (rest.trim_end_matches("');"), Session::admin()),
        };
        let schema = build_schema(&md, &db, &session.role).0;
        out.push_str(&format!("\\echo @@L{n}\n"));
        match compile(&schema, q, None, None, &session, &Limits::default()).unwrap_or_else(|e| Compiled::Json(e.response())) {
            Compiled::Sql(c) => out.push_str(&format!(
                "PREPARE q{n}{} AS {};\nEXECUTE q{n}{};\n",
                types(c.params.len()),
                c.sql,
                args(&c.params)
            )),
            Compiled::Mutation(plan) => {
                assert_eq!(plan.fields.len(), 1, "one field a request here");
                let field = &plan.fields[0];
                assert_eq!(field.steps.len(), 1);
                // The response as the extension assembles it around the field's JSON text.
                let show = format!(
                    "SELECT '{{\"data\":{{' || {} || ':' || :'h_text' || '}}}}';\n",
                    crate::schema::names::quote_literal(&serde_json::Value::String(field.alias.clone()).to_string())
                );
                out.push_str(&format!("SAVEPOINT s{n};\n\\set h_text null\n"));
                match &field.steps[0] {
                    MutationStep::Query(s) => {
                        assert!(s.sql.ends_with("::text"), "{}", s.sql);
                        out.push_str(&format!("PREPARE q{n}{} AS {} AS text;\nEXECUTE q{n}{} \\gset h_\n{show}", types(s.params.len()), s.sql, args(&s.params)))
                    }
                    MutationStep::WriteRead { write, read } => {
                        assert!(read.sql.ends_with("::text"), "{}", read.sql);
                        let rest = &read.params[2..];
                        let mut read_args = vec![":'g_affected'".to_string(), ":'g_tids'".to_string()];
                        read_args.extend(rest.iter().map(|p| p.as_ref().map(|v| crate::schema::names::quote_literal(v)).unwrap_or("NULL".into())));
                        out.push_str(&format!(
                            "PREPARE w{n}{} AS {};\nEXECUTE w{n}{} \\gset g_\n\\if :g_ok\nPREPARE r{n}{} AS {} AS text;\nEXECUTE r{n}({}) \\gset h_\n{show}\\else\nROLLBACK TO SAVEPOINT s{n};\n\\echo '{}'\n\\endif\n",
                            types(write.params.len()),
                            write.sql,
                            args(&write.params),
                            types(read.params.len()),
                            read.sql,
                            read_args.join(", "),
                            r#"{"errors":[{"message":"check constraint of an insert/update permission has failed","extensions":{"path":"$","code":"permission-error"}}]}"#
                        ));
                    }
                    other => panic!("{other:?}"),
                }
                out.push_str(&format!("RELEASE SAVEPOINT s{n};\n"));
            }
            Compiled::Json(v) => out.push_str(&format!("SELECT $j${v}$j$;\n")),
        }
    }
    std::fs::write(format!("{dir}/mutations.sql"), out).unwrap();
}
