//! PostGIS and ltree (issue 13 item 4): operators, GeoJSON values and GeoJSON output, on the
//! tables of Hasura's own tests (`schema::extension_ops::tests::fixture`).
//!
//! `GRAFT_EXT_SQL=<dir> cargo test -p graft-compiler extension_tests::dump -- --ignored` writes
//! pg_test/sql/15_postgis_ltree.sql as a psql script (`extensions.sql`) for a plain PostgreSQL
//! with PostGIS and ltree available: what the extension would run, and answer.

use serde_json::{json, Value};

use crate::request::input::{Rule, Source, VarPath};
use crate::request::template;
use crate::request::{compile, Compiled, Limits, MutationStep, Session};
use crate::schema::extension_ops::tests::schema;

fn sql(q: &str, vars: Value) -> (String, Vec<Option<String>>) {
    match compile(&schema(), q, Some(&vars), None, &Session::admin(), &Limits::default()).unwrap() {
        Compiled::Sql(c) => (c.sql, c.params),
        other => panic!("expected SQL, got {other:?}"),
    }
}

fn error(q: &str, vars: Value) -> Value {
    compile(&schema(), q, Some(&vars), None, &Session::admin(), &Limits::default()).unwrap_err().to_json()
}

const GEOM: &str = "\"public\".\"geometry\"";
const FROM_JSON: &str = "\"public\".\"st_geomfromgeojson\"";

#[test]
fn spatial_predicates_call_postgis_with_geojson() {
    let (s, p) = sql(
        "query ($point: geometry) { geom_table(where: {geom_col: {_st_contains: $point}}) { id geom_col } }",
        json!({"point": {"type": "Point", "coordinates": [1, 2]}}),
    );
    let value = format!("{FROM_JSON}(($1)::\"pg_catalog\".\"text\")::{GEOM}");
    assert!(s.contains("\"public\".\"st_contains\"("), "{s}");
    assert!(s.contains(&format!(".\"geom_col\", {value})")), "{s}");
    assert!(s.contains("\"public\".\"st_asgeojson\"("), "{s}");
    assert!(s.contains(".\"geom_col\", 15, 4)::json"), "{s}");
    assert_eq!(p, vec![Some(r#"{"type":"Point","coordinates":[1,2]}"#.into())]);
    for (op, f) in [
        ("_st_crosses", "st_crosses"),
        ("_st_equals", "st_equals"),
        ("_st_intersects", "st_intersects"),
        ("_st_overlaps", "st_overlaps"),
        ("_st_touches", "st_touches"),
        ("_st_within", "st_within"),
        ("_st_3d_intersects", "st_3dintersects"),
    ] {
        let q = format!("{{ geom_table(where: {{geom_col: {{{op}: {{type: \"Point\", coordinates: [1, 2]}}}}}}) {{ id }} }}");
        let (s, p) = sql(&q, json!({}));
        assert!(s.contains(&format!("\"public\".\"{f}\"(")), "{op}: {s}");
        assert_eq!(p, vec![Some(r#"{"type":"Point","coordinates":[1,2]}"#.into())], "{op}");
    }
}

#[test]
fn distance_operators() {
    let (s, p) = sql("{ geom_table(where: {geom_col: {_st_d_within: {distance: 2, from: {type: \"Point\", coordinates: [2, 0]}}}}) { id } }", json!({}));
    assert!(s.contains("\"public\".\"st_dwithin\"("), "{s}");
    assert!(s.contains(&format!(", {FROM_JSON}(($2)::\"pg_catalog\".\"text\")::{GEOM}, ($1)::\"pg_catalog\".\"float4\")")), "{s}");
    assert_eq!(p[0].as_deref(), Some("2"));
    let (s, _) = sql("{ geom_table(where: {geom_col: {_st_3d_d_within: {distance: 5, from: {type: \"Point\", coordinates: [1, 1, 13]}}}}) { id } }", json!({}));
    assert!(s.contains("\"public\".\"st_3ddwithin\"("), "{s}");
    // Geography: use_spheroid is true unless given.
    let q = "query ($p: geography!) { a: geog_table(where: {geog_col: {_st_d_within: {distance: 1000000, from: $p}}}) { name }
        b: geog_table(where: {geog_col: {_st_d_within: {distance: 1000000, from: $p, use_spheroid: false}}}) { name } }";
    let (s, p) = sql(q, json!({"p": {"type": "Point", "coordinates": [1, 50]}}));
    let geog = "\"public\".\"geography\"";
    assert!(s.contains(&format!("{FROM_JSON}(($2)::\"pg_catalog\".\"text\")::{geog}, ($1)::\"pg_catalog\".\"float4\", true)")), "{s}");
    assert!(s.contains(", ($5)::\"pg_catalog\".\"bool\")"), "{s}");
    assert_eq!(p[4].as_deref(), Some("false"));
}

#[test]
fn casts_between_geometry_and_geography() {
    let q = "{ geom_table(where: {geom_col: {_cast: {geography: {_st_d_within: {distance: 1000000, from: {type: \"Point\", coordinates: [1, 50]}}}}}}) { id } }";
    let (s, _) = sql(q, json!({}));
    assert!(s.contains("\"public\".\"st_dwithin\"((") && s.contains(".\"geom_col\")::\"public\".\"geography\", "), "{s}");
    let q = "{ geog_table(where: {geog_col: {_cast: {geometry: {_st_within: {type: \"Polygon\", coordinates: [[[-75, 40], [-74, 40], [-74, 41], [-75, 41], [-75, 40]]], crs: {type: \"name\", properties: {name: \"EPSG:4326\"}}}}}}}) { name } }";
    let (s, p) = sql(q, json!({}));
    assert!(s.contains(".\"geog_col\")::\"public\".\"geometry\", "), "{s}");
    assert!(p[0].as_deref().unwrap().ends_with(r#""crs":{"type":"name","properties":{"name":"EPSG:4326"}}}"#));
    // Hasura: the cast type has no other field.
    let e = error("{ geog_table(where: {geog_col: {_cast: {integer: {_eq: 0}}}}) { name } }", json!({}));
    assert_eq!(
        e,
        json!({"message": "field 'integer' not found in type: 'geography_cast_exp'",
               "extensions": {"path": "$.selectionSet.geog_table.args.where.geog_col._cast.integer", "code": "validation-failed"}})
    );
}

#[test]
fn raster_operators() {
    let (s, p) = sql("{ rast_table(where: {rast: {_st_intersects_rast: \"0100\"}}) { id } }", json!({}));
    assert!(s.contains("\"public\".\"st_intersects\"(") && s.contains("\"public\".\"st_rastfromhexwkb\"(($1)::\"pg_catalog\".\"text\")::\"public\".\"raster\")"), "{s}");
    assert_eq!(p, vec![Some("0100".into())]);
    let (s, _) = sql("{ rast_table(where: {rast: {_st_intersects_nband_geom: {nband: 5, geommin: {type: \"Point\", coordinates: [1, 2]}}}}) { id } }", json!({}));
    assert!(s.contains(&format!(".\"rast\", ($2)::\"pg_catalog\".\"int4\", {FROM_JSON}(($1)::\"pg_catalog\".\"text\")::{GEOM})")), "{s}");
    let (s, _) = sql("{ rast_table(where: {rast: {_st_intersects_geom_nband: {geommin: {type: \"Point\", coordinates: [1, 2]}}}}) { id } }", json!({}));
    assert!(s.contains(&format!(".\"rast\", {FROM_JSON}(($1)::\"pg_catalog\".\"text\")::{GEOM}, NULL::\"pg_catalog\".\"int4\")")), "{s}");
}

#[test]
fn ltree_operators_in_the_extensions_schema() {
    for (op, arg, sym, ty) in [
        ("_ancestor", "\"Tree.Science\"", "@>", "\"ext\".\"ltree\""),
        ("_ancestor_any", "[\"Tree.Science\", \"Tree.Hobbies\"]", "@>", "\"ext\".\"ltree\"[]"),
        ("_descendant", "\"Tree.Science\"", "<@", "\"ext\".\"ltree\""),
        ("_descendant_any", "[\"Tree.Science\"]", "<@", "\"ext\".\"ltree\"[]"),
        ("_matches", "\"*.Astronomy.*\"", "~", "\"ext\".\"lquery\""),
        ("_matches_any", "[\"*.Pictures.*\", \"*.Hobbies.*\"]", "?", "\"ext\".\"lquery\"[]"),
        ("_matches_fulltext", "\"Astro*% & !pictures@\"", "@", "\"ext\".\"ltxtquery\""),
    ] {
        let (s, _) = sql(&format!("{{ tree(where: {{path: {{{op}: {arg}}}}}) {{ path }} }}"), json!({}));
        assert!(s.contains(&format!(".\"path\" OPERATOR(\"ext\".{sym}) ($1)::{ty})")), "{op}: {s}");
    }
}

#[test]
fn bad_values_get_hasuras_errors() {
    let label = "Expecting label path: a sequence of zero or more labels separated by dots, for example L1.L2.L3";
    let e = error("{ tree(where: {path: {_ancestor_any: [\"Tree.Collections.Pictures.\"]}}) { path } }", json!({}));
    assert_eq!(e, json!({"message": label, "extensions": {"path": "$.selectionSet.tree.args.where.path._ancestor_any[0]", "code": "parse-failed"}}));
    let e = error("{ tree(where: {path: {_ancestor: \"Tree.\"}}) { path } }", json!({}));
    assert_eq!(e["extensions"]["path"], "$.selectionSet.tree.args.where.path._ancestor");
    let e = error("{ geom_table(where: {geom_col: {_st_contains: {type: \"Pointy\", coordinates: [1, 2]}}}) { id } }", json!({}));
    assert_eq!(
        e,
        json!({"message": "unexpected geometry type: Pointy",
               "extensions": {"path": "$.selectionSet.geom_table.args.where.geom_col._st_contains", "code": "parse-failed"}})
    );
}

#[test]
fn inserts_and_updates_take_geojson_and_return_it() {
    let q = "mutation { insert_geom_table_one(object: {type: \"point\", geom_col: {type: \"Point\", coordinates: [1, 2]}}) { id geom_col }
        update_geom_table(where: {id: {_eq: 1}}, _set: {geom_col: {type: \"Point\", coordinates: [3, 4]}}) { returning { geom_col } } }";
    let Compiled::Mutation(plan) = compile(&schema(), q, None, None, &Session::admin(), &Limits::default()).unwrap() else { panic!() };
    let mut all = String::new();
    let mut params = vec![];
    for step in plan.fields.iter().flat_map(|f| &f.steps) {
        let stmts = match step {
            MutationStep::WriteRead { write, read } => vec![write, read],
            MutationStep::Query(s) => vec![s],
            MutationStep::Static(_) => vec![],
        };
        for s in stmts {
            all.push_str(&s.sql);
            params.extend(s.params.iter().flatten().cloned());
        }
    }
    assert_eq!(all.matches(&format!("{FROM_JSON}(")).count(), 2, "{all}");
    assert_eq!(all.matches("\"public\".\"st_asgeojson\"(").count(), 2, "{all}");
    assert!(params.contains(&r#"{"type":"Point","coordinates":[1,2]}"#.to_string()), "{params:?}");
    assert!(params.contains(&r#"{"type":"Point","coordinates":[3,4]}"#.to_string()), "{params:?}");
}

/// A GeoJSON variable is a parameter of the cached template: another point fills it in.
#[test]
fn geojson_variables_are_template_parameters() {
    let q = "query ($p: geometry!) { geom_table(where: {geom_col: {_st_intersects: $p}}) { id } }";
    let vars = json!({"p": {"type": "Point", "coordinates": [1, 2], "bbox": [1, 2, 1, 2]}});
    let (compiled, _, t) = template::compile(&schema(), q, Some(&vars), None, &Session::admin(), &Limits::default()).unwrap();
    let t = t.expect("a template");
    assert_eq!(t.sources(), &[vec![Source::Var { path: VarPath { name: "p".into(), steps: vec![] }, rule: Rule::Scalar }]]);
    let Compiled::Sql(c) = compiled else { panic!() };
    assert_eq!(c.params, vec![Some(r#"{"type":"Point","coordinates":[1,2]}"#.into())]);
    let other = [("p".to_string(), json!({"type": "Point", "coordinates": [5, 6]}))].into_iter().collect();
    let Some(Compiled::Sql(filled)) = t.fill(&other) else { panic!() };
    assert_eq!(filled.params, vec![Some(r#"{"type":"Point","coordinates":[5,6]}"#.into())]);
    assert_eq!(filled.sql, c.sql);
}

/// `pg_test/sql/15_postgis_ltree.sql` as the extension would run it, as a psql script for a
/// plain PostgreSQL: its SQL lines as they are, each `graphql.resolve` call compiled (with
/// [`fixture`](crate::schema::extension_ops::tests::fixture), the same tables) and its answer
/// printed after `@@<line>`, as the extension assembles it.
#[test]
#[ignore]
fn dump() {
    let Ok(dir) = std::env::var("GRAFT_EXT_SQL") else { return };
    let src = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../pg_test/sql/15_postgis_ltree.sql")).unwrap();
    let lit = |ps: &[Option<String>]| -> Vec<String> {
        ps.iter().map(|p| p.as_ref().map(|v| crate::schema::names::quote_literal(v)).unwrap_or("NULL".into())).collect()
    };
    let prepare = |name: &str, sql: &str, n: usize| {
        let types = if n == 0 { String::new() } else { format!("({})", vec!["text"; n].join(",")) };
        format!("PREPARE {name}{types} AS {sql};\n")
    };
    let execute = |name: &str, args: Vec<String>| {
        if args.is_empty() { format!("EXECUTE {name}") } else { format!("EXECUTE {name}({})", args.join(", ")) }
    };
    let mut out = String::from("\\pset format unaligned\n\\pset tuples_only on\n");
    let mut in_metadata = false;
    for (i, line) in src.lines().enumerate() {
        let n = i + 1;
        if in_metadata || line.starts_with("SELECT graphql.metadata(") {
            in_metadata = !line.ends_with("]}');");
            continue;
        }
        if line.starts_with('\\') || line.starts_with("--") || line.is_empty() {
            continue;
        }
        let Some(rest) = line.strip_prefix("SELECT graphql.resolve('") else {
            out.push_str(line);
            out.push('\n');
            continue;
        };
        let (q, vars) = match rest.split_once("', '") {
            Some((q, v)) => (q, serde_json::from_str(v.trim_end_matches("');")).unwrap()),
            None => (rest.trim_end_matches("');"), json!({})),
        };
        out.push_str(&format!("\\echo @@{n}\n"));
        match compile(&schema(), q, Some(&vars), None, &Session::admin(), &Limits::default()) {
            Ok(Compiled::Sql(c)) => {
                out.push_str(&prepare(&format!("q{n}"), &c.sql, c.params.len()));
                out.push_str(&format!("{};\n", execute(&format!("q{n}"), lit(&c.params))));
            }
            Ok(Compiled::Mutation(plan)) => {
                let field = &plan.fields[0];
                let show = |h: &str| {
                    let key = crate::schema::names::quote_literal(&Value::String(field.alias.clone()).to_string());
                    format!("SELECT '{{\"data\":{{' || {key} || ':' || {h} || '}}}}';\n")
                };
                match &field.steps[0] {
                    MutationStep::Query(s) => {
                        out.push_str(&prepare(&format!("q{n}"), &format!("{} AS text", s.sql), s.params.len()));
                        out.push_str(&format!("{} \\gset h_\n{}", execute(&format!("q{n}"), lit(&s.params)), show(":'h_text'")));
                    }
                    MutationStep::WriteRead { write, read } => {
                        out.push_str(&prepare(&format!("w{n}"), &write.sql, write.params.len()));
                        out.push_str(&format!("{} \\gset g_\n", execute(&format!("w{n}"), lit(&write.params))));
                        out.push_str(&prepare(&format!("r{n}"), &format!("{} AS text", read.sql), read.params.len()));
                        let mut args = vec![":'g_affected'".to_string(), ":'g_tids'".to_string()];
                        args.extend(lit(&read.params[2..]));
                        out.push_str(&format!("{} \\gset h_\n{}", execute(&format!("r{n}"), args), show(":'h_text'")));
                    }
                    other => panic!("{other:?}"),
                }
            }
            Ok(Compiled::Json(v)) => out.push_str(&format!("SELECT $j${v}$j$;\n")),
            Err(e) => out.push_str(&format!("SELECT $j${}$j$;\n", e.response())),
        }
    }
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(format!("{dir}/extensions.sql"), out).unwrap();
}

/// Permission filters may use the operators too; session variables are values of the column's type.
#[test]
fn permission_filters_use_extension_operators() {
    let (mut md, db) = crate::schema::extension_ops::tests::fixture();
    let tables = &mut md.sources[0].tables;
    let near = json!({"geog_col": {"$st_d_within": {"distance": 1000000, "from": {"type": "Point", "coordinates": [1, 50]}}}});
    let tree = json!({"path": {"_descendant": "X-Hasura-Branch", "_ancestor_any": "X-Hasura-Leaves"}});
    for (name, filter) in [("geog_table", near), ("tree", tree)] {
        let t = tables.iter_mut().find(|t| t.table.name == name).unwrap();
        t.select_permissions = vec![serde_json::from_value(json!({"role": "user", "permission": {"columns": "*", "filter": filter}})).unwrap()];
    }
    let (s, problems) = crate::schema::build::build_schema(&md, &db, "user");
    assert!(problems.is_empty(), "{problems:?}");
    let session =
        Session::from_json(Some(&json!({"x-hasura-role": "user", "x-hasura-branch": "Tree.Science", "x-hasura-leaves": "{Tree.Science.Astronomy}"})))
            .unwrap();
    let q = "{ geog_table { name } tree { path } }";
    let Compiled::Sql(c) = compile(&s, q, None, None, &session, &Limits::default()).unwrap() else { panic!() };
    assert!(c.sql.contains("\"public\".\"st_dwithin\"(") && c.sql.contains(", true)"), "{}", c.sql);
    assert!(c.sql.contains(".\"path\" OPERATOR(\"ext\".<@) ($3)::\"ext\".\"ltree\")"), "{}", c.sql);
    assert_eq!(c.params[2].as_deref(), Some("Tree.Science"));
    assert!(c.sql.contains(".\"path\" OPERATOR(\"ext\".@>) ($4)::\"ext\".\"ltree\"[])"), "{}", c.sql);
    assert_eq!(c.params[3].as_deref(), Some("{Tree.Science.Astronomy}"));
}
