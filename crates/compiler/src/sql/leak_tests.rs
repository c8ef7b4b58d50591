//! Permission leaks (issue 11 items 4–6): inherited roles' hidden cells in every position a
//! column value is used, upserts checked against the update permission, and `where` through a
//! set-returning computed field filtered by the returned table's permission.
//!
//! `GRAFT_LEAK_SQL=<dir> cargo test -p graft-compiler leak_tests::dump -- --ignored` writes the
//! compiled statements as psql scripts, to run against plain tables (pg_test/sql/10_permission_leaks.sql
//! has the same setup through the extension).

use serde_json::json;

use crate::dbcatalog::{DbCatalog, DbFunction};
use crate::metadata::model::Metadata;
use crate::request::{compile, Compiled, Limits, MutationStep, Session, Stmt};
use crate::schema::build::{build_schema, tests::fixture};
use crate::Schema;

fn perm(role: &str, p: serde_json::Value) -> crate::metadata::model::Permission {
    serde_json::from_value(json!({"role": role, "permission": p})).unwrap()
}

/// The shared fixture (author ← article) with:
/// * `reader`: every article, column `id` only; every author (id, name);
/// * `owner`: its own articles (`author_id = X-Hasura-User-Id`), all their columns and the
///   scalar computed field `score`;
/// * `both`: inherits reader and owner, so title/rating/author_id/published are cells shown
///   only on the user's own rows;
/// * `both2`: inherits both and reader: the same cells as `both`, one level further;
/// * `user`: published articles (id, title, published); authors with the set-returning computed
///   field `get_articles`; inserts/upserts articles as itself, updates its own (check: title
///   not like `%forbidden%`, preset rating = 5);
/// * `tagged`: authors whose `meta` has one of the keys in `X-Hasura-Keys` (an array);
/// * `keyed`: inherits `ownid` (id and title of its own articles) and `titles` (every title):
///   the key `id` itself is a cell;
/// * `capped`: every article (id), at most 1 row a request, with aggregations; every author;
/// * `pubreader`: authors other than the user that have a published article, through
///   `get_articles` (a bare value means `_eq`; `$ne` is `_neq`; session variables resolve).
pub(crate) fn leak_fixture() -> (Metadata, DbCatalog) {
    let (mut md, mut db) = fixture();
    db.functions.push(DbFunction {
        schema: "public".into(),
        name: "author_articles".into(),
        comment: None,
        arg_names: vec!["a".into()],
        arg_types: vec!["author".into()],
        arg_type_schemas: vec!["public".into()],
        num_defaults: 0,
        return_type_schema: "public".into(),
        return_type: "article".into(),
        returns_set: true,
        volatility: "s".into(),
    });
    db.functions.push(DbFunction {
        schema: "public".into(),
        name: "article_score".into(),
        comment: None,
        arg_names: vec!["a".into()],
        arg_types: vec!["article".into()],
        arg_type_schemas: vec!["public".into()],
        num_defaults: 0,
        return_type_schema: "pg_catalog".into(),
        return_type: "numeric".into(),
        returns_set: false,
        volatility: "s".into(),
    });
    md.other.insert(
        "inherited_roles".into(),
        json!([{"role_name": "both", "role_set": ["reader", "owner"]}, {"role_name": "both2", "role_set": ["both", "reader"]},
               {"role_name": "keyed", "role_set": ["ownid", "titles"]}]),
    );
    let tables = &mut md.sources[0].tables;
    let author = tables.iter_mut().find(|t| t.table.name == "author").unwrap();
    author.computed_fields =
        vec![serde_json::from_value(json!({"name": "get_articles", "definition": {"function": {"schema": "public", "name": "author_articles"}}})).unwrap()];
    let all_authors = json!({"columns": ["id", "name"], "filter": {}, "allow_aggregations": true});
    author.select_permissions = vec![
        perm("reader", all_authors.clone()),
        perm("owner", all_authors.clone()),
        perm("user", all_authors),
        perm("pubreader", json!({"columns": ["id", "name"], "filter": {"get_articles": {"published": true, "author_id": {"$ne": "X-Hasura-User-Id"}}}})),
        perm("tagged", json!({"columns": ["id"], "filter": {"meta": {"_has_keys_any": "X-Hasura-Keys"}}})),
        perm("capped", json!({"columns": ["id"], "filter": {}})),
    ];
    let article = tables.iter_mut().find(|t| t.table.name == "article").unwrap();
    article.computed_fields =
        vec![serde_json::from_value(json!({"name": "score", "definition": {"function": {"schema": "public", "name": "article_score"}}})).unwrap()];
    article.select_permissions = vec![
        perm("reader", json!({"columns": ["id"], "filter": {}, "allow_aggregations": true})),
        perm("owner", json!({"columns": ["id", "author_id", "title", "rating", "published"], "computed_fields": ["score"],
                             "filter": {"author_id": {"_eq": "X-Hasura-User-Id"}}, "allow_aggregations": true})),
        perm("user", json!({"columns": ["id", "title", "published", "rating"], "filter": {"published": {"_eq": true}}})),
        perm("pubreader", json!({"columns": ["id"], "filter": {}})),
        perm("capped", json!({"columns": ["id"], "filter": {}, "limit": 1, "allow_aggregations": true})),
        perm("ownid", json!({"columns": ["id", "title"], "filter": {"author_id": {"_eq": "X-Hasura-User-Id"}}})),
        perm("titles", json!({"columns": ["title"], "filter": {}})),
    ];
    article.insert_permissions = vec![perm(
        "user",
        json!({"columns": ["id", "title", "published"], "check": {"author_id": {"_eq": "X-Hasura-User-Id"}}, "set": {"author_id": "x-hasura-user-id"}}),
    )];
    article.update_permissions = vec![perm(
        "user",
        json!({"columns": ["title", "published"], "filter": {"author_id": {"_eq": "X-Hasura-User-Id"}},
               "check": {"title": {"_nlike": "%forbidden%"}}, "set": {"rating": "5"}}),
    )];
    (md, db)
}

fn schema_for(role: &str) -> Schema {
    let (md, db) = leak_fixture();
    crate::testing::consistent_schema(&md, &db, role)
}

fn session(role: &str) -> Session {
    crate::testing::user_session(role)
}

fn query_sql(role: &str, q: &str) -> String {
    match compile(&schema_for(role), q, None, None, &session(role), &Limits::default()) {
        Ok(Compiled::Sql(c)) => c.sql,
        other => panic!("expected SQL for {q}, got {other:?}"),
    }
}

fn mutation_write(role: &str, q: &str) -> Stmt {
    match compile(&schema_for(role), q, None, None, &session(role), &Limits::default()) {
        Ok(Compiled::Mutation(plan)) => match &plan.fields[0].steps[0] {
            MutationStep::WriteRead { write, .. } => write.clone(),
            MutationStep::Query(q) => q.clone(),
            other => panic!("{other:?}"),
        },
        other => panic!("expected a mutation for {q}, got {other:?}"),
    }
}

/// Every reference to column `col` in `sql` is the redacted cell `CASE WHEN … THEN a."col" END`
/// (and there is at least one).
fn assert_redacted(sql: &str, col: &str) {
    let needle = format!(".\"{col}\"");
    let mut n = 0;
    for (at, _) in sql.match_indices(&needle) {
        let start = sql[..at].rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).map(|i| i + 1).unwrap_or(0);
        assert!(
            sql[..start].ends_with("THEN ") && sql[at + needle.len()..].starts_with(" END"),
            "raw {col} at {at}: …{}…\n{sql}",
            &sql[start.saturating_sub(80)..(at + needle.len() + 20).min(sql.len())]
        );
        n += 1;
    }
    assert!(n > 0, "{col} not used at all: {sql}");
}

#[test]
fn where_on_a_hidden_cell_uses_the_redacted_cell() {
    for q in [
        r#"{ article(where: {title: {_eq: "secret-of-2"}}) { id } }"#,
        r#"{ article(where: {title: {_like: "s%"}}) { id } }"#,
        r#"{ article(where: {_or: [{rating: {_gt: 1}}, {_not: {title: {_is_null: true}}}]}) { id } }"#,
        r#"{ author(where: {articles: {title: {_eq: "x"}}}) { id } }"#,
    ] {
        let sql = query_sql("both", q);
        assert_redacted(&sql, "title");
    }
}

#[test]
fn order_by_and_distinct_on_use_the_redacted_cell() {
    for q in [
        "{ article(order_by: {title: asc}) { id } }",
        "{ article(order_by: [{rating: desc}, {id: asc}], limit: 2) { id } }",
        "{ author(order_by: {articles_aggregate: {max: {title: asc}}}) { id } }",
        "{ article(distinct_on: [title], order_by: {title: asc}) { id } }",
        "{ article(distinct_on: [title]) { id } }",
    ] {
        let sql = query_sql("both", q);
        let col = if q.contains("rating") { "rating" } else { "title" };
        assert_redacted(&sql, col);
    }
    let sql = query_sql("both", "{ article(distinct_on: [title], order_by: {title: asc}) { id } }");
    assert!(sql.contains("DISTINCT ON (CASE WHEN"), "{sql}");
}

#[test]
fn aggregates_use_the_redacted_cell() {
    for q in [
        "{ article_aggregate { aggregate { sum { rating } } } }",
        "{ article_aggregate { aggregate { avg { rating } max { rating } } } }",
        "{ article_aggregate { aggregate { count(columns: [rating]) } } }",
        "{ article_aggregate { aggregate { count(columns: [rating], distinct: true) } } }",
        "{ author { articles_aggregate { aggregate { min { rating } } } } }",
        "{ author(where: {articles_aggregate: {count: {arguments: [rating], predicate: {_gt: 0}}}}) { id } }",
        "{ author(where: {articles_aggregate: {count: {arguments: [rating], distinct: true, predicate: {_gt: 0}}}}) { id } }",
        "{ author(where: {articles_aggregate: {count: {filter: {rating: {_gt: 2}}, predicate: {_gt: 0}}}}) { id } }",
    ] {
        let sql = query_sql("both", q);
        assert_redacted(&sql, "rating");
    }
}

#[test]
fn joins_use_the_redacted_cell() {
    // article.author_id is a cell `both` sees only on its own rows: the join reads it redacted
    // on the article side (the permission filter itself reads the raw column).
    for q in ["{ article { id author { name } } }", "{ article(where: {author: {name: {_eq: \"a\"}}}) { id } }", "{ article(order_by: {author: {name: asc}}) { id } }"] {
        let sql = query_sql("both", q);
        assert!(sql.contains("\"author_id\" END"), "join through the redacted cell: {sql}");
        assert!(!sql.contains("\"id\" = _i"), "{sql}");
    }
    // author.articles: the link on the article side is redacted too.
    let sql = query_sql("both", "{ author { id articles { id } } }");
    assert!(sql.contains("\"author_id\" END = "), "{sql}");
}

#[test]
fn by_pk_looks_up_the_redacted_key() {
    let sql = query_sql("keyed", "{ article_by_pk(id: 2) { id } }");
    assert_redacted(&sql, "id");
}

#[test]
fn selection_still_redacts_and_unrestricted_roles_read_raw_columns() {
    let sql = query_sql("both", "{ article { id title } }");
    assert_redacted(&sql, "title");
    let sql = query_sql("owner", r#"{ article(where: {title: {_eq: "x"}}, order_by: {title: asc}) { title } }"#);
    assert!(!sql.contains("CASE WHEN"), "{sql}");
}

#[test]
fn scalar_computed_fields_are_redacted_cells_too() {
    let sql = query_sql("both", "{ article(where: {score: {_gt: 1}}, order_by: {score: asc}) { id score } }");
    let calls = sql.matches("\"article_score\"(").count();
    assert_eq!(calls, 3, "{sql}");
    assert_eq!(sql.matches("THEN \"public\".\"article_score\"(").count(), calls, "{sql}");
}

#[test]
fn inherited_twice_keeps_the_cell_filter() {
    let sql = query_sql("both2", r#"{ article(where: {title: {_eq: "x"}}) { id title } }"#);
    assert_redacted(&sql, "title");
    assert!(!sql.contains("CASE WHEN (true OR"), "the parent's cell filter, not its row filter: {sql}");
}

#[test]
fn count_of_columns_counts_like_hasura() {
    // Hasura counts a row tuple, which is never null: every row, whatever its cells.
    let sql = query_sql("owner", "{ article_aggregate { aggregate { count(columns: [title, rating]) } } }");
    assert!(!sql.contains("IS NOT NULL"), "{sql}");
    assert!(sql.contains("count((_o"), "{sql}");
}

#[test]
fn aggregates_ignore_the_role_limit_nodes_do_not() {
    let sql = query_sql("capped", "{ article_aggregate { aggregate { count } nodes { id } } }");
    assert!(!sql.contains("LIMIT 1"), "the count covers every row: {sql}");
    assert!(sql.contains("[1:1]"), "nodes keep the role's limit: {sql}");
    let sql = query_sql("capped", "{ article_aggregate(limit: 1) { aggregate { count } nodes { id } } }");
    assert!(sql.contains("LIMIT 1") && !sql.contains("[1:"), "a smaller request limit applies to both: {sql}");
}

#[test]
fn upsert_checks_updated_rows_against_the_update_permission() {
    let q = r#"mutation { insert_article(objects: [{id: 1, title: "t"}], on_conflict: {constraint: article_pkey, update_columns: [title]}) { affected_rows } }"#;
    let w = mutation_write("user", q);
    assert!(w.sql.contains("xmax"), "updated rows told apart: {}", w.sql);
    assert!(w.sql.contains("\"graft.updated\""), "{}", w.sql);
    assert!(w.sql.contains("NOT LIKE"), "update check applied: {}", w.sql);
    assert!(w.sql.contains("DO UPDATE SET \"title\" = EXCLUDED.\"title\", \"rating\" = "), "update preset applied: {}", w.sql);
    assert!(w.params.iter().any(|p| p.as_deref() == Some("5")), "{:?}", w.params);
    // The update filter applies to the conflicting row.
    let conflict_where = &w.sql[w.sql.find("DO UPDATE").unwrap()..];
    assert!(conflict_where.contains(" WHERE ") && conflict_where.contains("\"author_id\""), "{}", w.sql);
    // DO NOTHING: no update, no update check.
    let q = r#"mutation { insert_article(objects: [{id: 1, title: "t"}], on_conflict: {constraint: article_pkey, update_columns: []}) { affected_rows } }"#;
    let w = mutation_write("user", q);
    assert!(!w.sql.contains("xmax") && !w.sql.contains("NOT LIKE"), "{}", w.sql);
    // Nested and one-row inserts too.
    let q = r#"mutation { insert_article_one(object: {id: 1, title: "t"}, on_conflict: {constraint: article_pkey, update_columns: [title]}) { id } }"#;
    let w = mutation_write("user", q);
    assert!(w.sql.contains("xmax") && w.sql.contains("NOT LIKE"), "{}", w.sql);
}

#[test]
fn nested_inserts_reject_columns_the_parent_decides() {
    let (md, db) = fixture();
    let s = build_schema(&md, &db, "admin").0;
    let err = |q: &str| compile(&s, q, None, None, &Session::admin(), &Limits::default()).unwrap_err();
    let e = err(r#"mutation { insert_author(objects: [{id: 1, name: "n", articles: {data: [{id: 5, title: "t", published: true, author_id: 3}]}}]) { affected_rows } }"#);
    assert_eq!(e.code, "validation-failed");
    assert_eq!(e.message, "cannot insert \"author_id\" columns as their values are already being determined by parent insert");
    assert_eq!(e.path, "$.selectionSet.insert_author.args.objects[0].articles.data[0]");
    let e = err(r#"mutation { insert_article_one(object: {id: 1, title: "t", published: true, author_id: 3, author: {data: {id: 2, name: "n"}}}) { id } }"#);
    assert_eq!(e.message, "cannot insert object relationship \"author\" as \"author_id\" column values are already determined");
    assert_eq!(e.path, "$.selectionSet.insert_article_one.args.object.author");
}

#[test]
fn where_through_a_set_returning_computed_field_is_filtered() {
    let sql = query_sql("user", r#"{ author(where: {get_articles: {title: {_eq: "draft"}}}) { id } }"#);
    let at = sql.find("\"author_articles\"(").expect("the computed field is called");
    let exists = &sql[at..];
    assert!(exists.contains("\"published\""), "the returned table's select filter applies: {sql}");
}

#[test]
fn permission_filter_through_a_set_returning_computed_field() {
    let sql = query_sql("pubreader", "{ author { id } }");
    let at = sql.find("\"author_articles\"(").expect("the permission filter calls the computed field");
    assert!(sql[at..].contains("\"published\" = "), "the inner condition is compiled: {sql}");
    assert!(sql[at..].contains("\"author_id\" <> "), "{sql}");
    let (md, db) = leak_fixture();
    let s = build_schema(&md, &db, "pubreader").0;
    let Compiled::Sql(c) = compile(&s, "{ author { id } }", None, None, &session("pubreader"), &Limits::default()).unwrap() else { panic!() };
    assert!(c.params.iter().any(|p| p.as_deref() == Some("1")), "the session variable is resolved: {:?}", c.params);
    assert!(!c.params.iter().any(|p| p.as_deref() == Some("X-Hasura-User-Id")), "{:?}", c.params);
}

#[test]
fn has_keys_any_with_an_array_session_variable() {
    let s = schema_for("tagged");
    let sess = Session::from_json(Some(&json!({"x-hasura-role": "tagged", "x-hasura-keys": "{a,b}"}))).unwrap();
    let Compiled::Sql(c) = compile(&s, "{ author { id } }", None, None, &sess, &Limits::default()).unwrap() else { panic!() };
    assert!(c.params.iter().any(|p| p.as_deref() == Some("{a,b}")), "{:?} {}", c.params, c.sql);
}

/// Compiles every `graphql.resolve` of pg_test/sql/10_permission_leaks.sql (same tables,
/// same metadata as [`leak_fixture`]) into one psql script for a plain PostgreSQL without the
/// extension: `$GRAFT_LEAK_SQL/leaks.sql`. A mutation whose check fails is rolled back to a
/// savepoint and prints `permission-error`, as the extension would answer.
#[test]
#[ignore]
fn dump() {
    let Ok(dir) = std::env::var("GRAFT_LEAK_SQL") else { return };
    std::fs::create_dir_all(&dir).unwrap();
    let src = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../pg_test/sql/10_permission_leaks.sql")).unwrap();
    let lit = |ps: &[Option<String>]| -> String {
        ps.iter().map(|p| p.as_ref().map(|v| crate::schema::names::quote_literal(v)).unwrap_or("NULL".into())).collect::<Vec<_>>().join(",")
    };
    let types = |n: usize| if n == 0 { String::new() } else { format!("({})", vec!["text"; n].join(",")) };
    let mut vars = std::collections::HashMap::new();
    let mut out = String::from("\\pset format unaligned\n\\pset tuples_only on\nBEGIN;\n");
    let (md, db) = leak_fixture();
    for (i, line) in src.lines().enumerate() {
        if let Some(rest) = line.strip_prefix("\\set ") {
            let (name, v) = rest.split_once(' ').unwrap();
            vars.insert(format!(":'{name}'"), v.trim_matches('\'').to_string());
            continue;
        }
        if line.starts_with("SELECT id,") {
            out.push_str(&format!("\\echo L{}:\n{line}", i + 1));
            out.push('\n');
            continue;
        }
        let Some(rest) = line.strip_prefix("SELECT graphql.resolve('") else { continue };
        let (q, session) = match rest.split_once("', NULL, ") {
            Some((q, sess)) => {
                let sess = sess.trim_end_matches(");");
                let sess = vars.get(sess).cloned().unwrap_or_else(|| sess.trim_matches('\'').to_string());
                (q, Session::from_json(Some(&serde_json::from_str(&sess).unwrap())).unwrap())
            }
            None => (rest.trim_end_matches("');"), Session::admin()),
        };
        let role = session.role.clone();
        let schema = build_schema(&md, &db, &role).0;
        out.push_str(&format!("\\echo L{}: {q}\n", i + 1));
        match compile(&schema, q, None, None, &session, &Limits::default()).unwrap_or_else(|e| Compiled::Json(e.response())) {
            Compiled::Sql(c) => out.push_str(&format!(
                "PREPARE q{i}{} AS {};\nEXECUTE q{i}{};\n",
                types(c.params.len()),
                c.sql,
                if c.params.is_empty() { String::new() } else { format!("({})", lit(&c.params)) }
            )),
            Compiled::Mutation(plan) => {
                let MutationStep::WriteRead { write, .. } = &plan.fields[0].steps[0] else { panic!() };
                out.push_str(&format!(
                    "SAVEPOINT s{i};\nPREPARE w{i}{} AS {};\nEXECUTE w{i}({}) \\gset\n\\if :ok\n\\echo affected_rows :affected\n\\else\nROLLBACK TO SAVEPOINT s{i};\n\\echo permission-error\n\\endif\n",
                    types(write.params.len()),
                    write.sql,
                    lit(&write.params)
                ));
            }
            Compiled::Json(v) => out.push_str(&format!("SELECT $j${v}$j$;\n")),
        }
    }
    out.push_str("ROLLBACK;\n");
    std::fs::write(format!("{dir}/leaks.sql"), out).unwrap();
}

/// Merge of h1 (parameter sources) with h2 (permissions): values h2 binds record where they
/// come from, so templates stay correct.
mod sources {
    use serde_json::json;

    use super::{schema_for, session};
    use crate::request::input::{Rule, Source, VarPath};
    use crate::request::template::compile;
    use crate::request::{Limits, Session};

    fn var(name: &str) -> Source {
        Source::Var { path: VarPath { name: name.into(), steps: vec![] }, rule: Rule::Scalar }
    }

    #[test]
    fn has_keys_any_session_array_is_the_session_variable() {
        let s = schema_for("tagged");
        let sess = Session::from_json(Some(&json!({"x-hasura-role": "tagged", "x-hasura-keys": "{a,b}"}))).unwrap();
        let (_, _, t) = compile(&s, "{ author { id } }", None, None, &sess, &Limits::default()).unwrap();
        let t = t.expect("a template");
        assert!(t.sources().iter().flatten().any(|s| *s == Source::Session("x-hasura-keys".into())), "{:?}", t.sources());
    }

    #[test]
    fn upsert_presets_and_values_keep_their_sources() {
        let s = schema_for("user");
        let q = "mutation ($t: String!, $c: article_constraint!) { insert_article(objects: [{id: 1, title: $t}], \
                 on_conflict: {constraint: $c, update_columns: [title]}) { affected_rows } }";
        let v = json!({"t": "hello", "c": "article_pkey"});
        let (_, _, t) = compile(&s, q, Some(&v), None, &session("user"), &Limits::default()).unwrap();
        let t = t.expect("a template: the constraint is an enum value, the title is bound");
        let all: Vec<&Source> = t.sources().iter().flatten().collect();
        assert!(all.contains(&&var("t")), "{all:?}");
        assert!(all.contains(&&Source::Session("x-hasura-user-id".into())), "insert preset and permission values: {all:?}");
        assert!(!all.iter().any(|s| matches!(s, Source::Derived)), "{all:?}");
        // The update preset is a constant of the permission.
        let Some(crate::request::Compiled::Mutation(plan)) = t.fill(&[("t".to_string(), json!("x")), ("c".to_string(), json!("article_pkey"))].into_iter().collect())
        else {
            panic!()
        };
        let crate::request::MutationStep::WriteRead { write, .. } = &plan.fields[0].steps[0] else { panic!() };
        assert!(write.params.iter().any(|p| p.as_deref() == Some("x")), "{:?}", write.params);
        assert!(write.params.iter().any(|p| p.as_deref() == Some("5")), "{:?}", write.params);
    }

    #[test]
    fn redacted_cells_bind_session_values_as_sessions() {
        // An inherited role's cell filter binds the session variable, not a constant.
        let s = schema_for("both");
        let sess = Session::from_json(Some(&json!({"x-hasura-role": "both", "x-hasura-user-id": "1"}))).unwrap();
        let q = "query ($id: Int!) { article(where: {title: {_eq: \"t\"}, id: {_eq: $id}}) { id title } }";
        let (_, _, t) = compile(&s, q, Some(&json!({"id": 4})), None, &sess, &Limits::default()).unwrap();
        let t = t.expect("a template");
        let all: Vec<&Source> = t.sources().iter().flatten().collect();
        assert!(all.contains(&&var("id")), "{all:?}");
        assert!(all.contains(&&Source::Session("x-hasura-user-id".into())), "{all:?}");
    }
}

/// `_ceq: ["$", col]` compares with the permission's own table (Hasura's root reference), however
/// deep in relationships and `_exists`; a bare column name is the current table's.
#[test]
fn column_comparison_with_the_root_table() {
    let (mut md, db) = leak_fixture();
    let article = md.sources[0].tables.iter_mut().find(|t| t.table.name == "article").unwrap();
    article.select_permissions.push(perm(
        "rootcmp",
        json!({"columns": ["id"], "filter": {"author": {"id": {"_ceq": ["$", "author_id"]}, "name": {"_cneq": "name"},
               "_exists": {"_table": "article", "_where": {"id": {"_clt": ["$", "id"]}}}}}}),
    ));
    let (s, problems) = build_schema(&md, &db, "rootcmp");
    assert!(problems.is_empty(), "{problems:?}");
    let Ok(Compiled::Sql(c)) = compile(&s, "{ article { id } }", None, None, &session("rootcmp"), &Limits::default()) else { panic!() };
    // The article rows are `_iN`; the author is `_xN`, the `_exists` article `_xM`.
    let root = c.sql.split("FROM \"public\".\"article\" AS ").nth(1).unwrap().split(' ').next().unwrap().to_string();
    assert!(c.sql.contains(&format!(".\"id\" = {root}.\"author_id\")")), "{}", c.sql);
    assert!(c.sql.contains(&format!(".\"id\" < {root}.\"id\")")), "the root, not the _exists row: {}", c.sql);
    assert!(regex_like(&c.sql, "\"name\" <> _x", ".\"name\")"), "a bare name stays the current table's: {}", c.sql);
}

/// `a` followed, later in the same parenthesised comparison, by `b`.
fn regex_like(sql: &str, a: &str, b: &str) -> bool {
    sql.match_indices(a).any(|(i, _)| sql[i..].find(')').is_some_and(|j| sql[i..i + j + 1].ends_with(b)))
}

/// A scalar computed field a role's select permission lists is in the role's object type, its
/// `T_order_by` and `T_bool_exp`; a role that does not list it sees none of them.
#[test]
fn scalar_computed_fields_follow_the_role() {
    let owner = schema_for("owner");
    assert!(owner.object_field("article", "score").is_some());
    for input in ["article_order_by", "article_bool_exp"] {
        let Some(crate::schema::model::TypeKind::InputObject { fields }) = owner.get(input).map(|t| &t.kind) else { panic!("{input}") };
        assert!(fields.contains_key("score"), "{input}");
    }
    let reader = schema_for("reader");
    assert!(reader.object_field("article", "score").is_none());
    let e = compile(&reader, "{ article { score } }", None, None, &session("reader"), &Limits::default()).unwrap_err();
    assert_eq!(e.response()["errors"][0]["message"], "field 'score' not found in type: 'article'");
    let e = compile(&reader, "{ article(order_by: {score: asc}) { id } }", None, None, &session("reader"), &Limits::default()).unwrap_err();
    assert_eq!(e.response()["errors"][0]["message"], "field 'score' not found in type: 'article_order_by'");
    // The inherited role sees it where `owner` does: the same CASE as a column's cell.
    let sql = query_sql("both", "{ article(order_by: {score: desc}) { score } }");
    assert_eq!(sql.matches("THEN \"public\".\"article_score\"(").count(), 2, "{sql}");
}
