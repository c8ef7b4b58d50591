//! Live-query multiplexing and read sets, on the shared author ← article fixture extended with
//! functions, a view and roles whose permissions reach other tables.
//!
//! The central property (`batch_answers_are_single_answers`): for random subscribers, each
//! subscriber's row of the batch statement is its own single statement with its own values,
//! checked by instantiating both texts with the values as literals (an oracle that shares no
//! code with the rewrite), and subscribers share a cohort exactly when their single statements
//! and values are equal. `psql_check` (ignored) writes a script that checks the same on
//! PostgreSQL by running both.

use proptest::prelude::*;
use serde_json::{json, Value};

use super::multiplex::{plan, Multiplexed, Sharing};
use super::reads::{reads, Opaque, Reads};
use crate::dbcatalog::{DbCatalog, QualifiedName};
use crate::metadata::model::Metadata;
use crate::request::input::{Rule, Source, Step, VarPath};
use crate::request::template::{self, Template};
use crate::request::{Compiled, CompiledSql, Limits, Session};
use crate::schema::build::{build_schema, tests::fixture};
use crate::Schema;

fn perm(role: &str, p: Value) -> Value {
    json!({"role": role, "permission": p})
}

fn function(name: &str, args: &[(&str, &str, &str)], ret: (&str, &str), set: bool) -> Value {
    json!({"schema": "public", "name": name,
           "arg_names": args.iter().map(|a| a.0).collect::<Vec<_>>(),
           "arg_types": args.iter().map(|a| a.1).collect::<Vec<_>>(),
           "arg_type_schemas": args.iter().map(|a| a.2).collect::<Vec<_>>(),
           "return_type_schema": ret.0, "return_type": ret.1, "returns_set": set, "volatility": "s"})
}

/// The fixture (author ← article), plus:
/// * column `note$1` on author (a `$` inside a quoted identifier of the statement);
/// * computed fields `author.get_articles` (setof article), `article.score` (numeric) and
///   `article.mine` (bool, takes the session); tracked function `search_articles(q)`; a
///   tracked view `top_articles`;
/// * roles: `user` (published articles or its own, limit 10; every author), `fan` (articles
///   whose author's name is X-Hasura-User-Name), `exister` (every article while an author with
///   id X-Hasura-User-Id exists), `pubreader` (authors with a published article, through
///   `get_articles`), `pair` (articles of the user or its friend), `sess` (articles, with
///   `mine`), `both` (inherits `user` and `fan`: `author_id` and `published` are cells shown
///   only on rows `user` reaches).
fn rt_fixture() -> (Metadata, DbCatalog) {
    let (md, mut db) = fixture();
    let author = db.tables.iter_mut().find(|t| t.name == "author").unwrap();
    let mut note = author.columns[1].clone();
    note.name = "note$1".into();
    note.nullable = true;
    author.columns.push(note);
    db.tables.push(
        serde_json::from_value(json!({"oid": 3, "schema": "public", "name": "top_articles", "kind": "view",
            "columns": [{"name": "id", "type_name": "int4", "nullable": true}, {"name": "title", "type_name": "text", "nullable": true}]}))
        .unwrap(),
    );
    for f in [
        function("author_articles", &[("a", "author", "public")], ("public", "article"), true),
        function("article_score", &[("a", "article", "public")], ("pg_catalog", "numeric"), false),
        function("article_mine", &[("a", "article", "public"), ("s", "json", "pg_catalog")], ("pg_catalog", "bool"), false),
        function("search_articles", &[("q", "text", "pg_catalog")], ("public", "article"), true),
    ] {
        db.functions.push(serde_json::from_value(f).unwrap());
    }
    let mut md = serde_json::to_value(md).unwrap();
    let source = &mut md["sources"][0];
    let author_cols = json!(["id", "name", "note$1"]);
    let article_cols = json!(["id", "title", "author_id", "published"]);
    let all_authors = json!({"columns": author_cols, "filter": {}});
    let tables = source["tables"].as_array_mut().unwrap();
    for t in tables.iter_mut() {
        match t["table"]["name"].as_str().unwrap() {
            "author" => {
                t["configuration"] = json!({"column_config": {"note$1": {"custom_name": "note_1"}}});
                t["computed_fields"] = json!([{"name": "get_articles", "definition": {"function": "author_articles"}}]);
                t["select_permissions"] = json!([
                    perm("user", all_authors.clone()), perm("fan", all_authors.clone()), perm("exister", all_authors.clone()),
                    perm("pair", all_authors.clone()), perm("sess", all_authors.clone()),
                    perm("pubreader", json!({"columns": author_cols, "filter": {"get_articles": {"published": {"_eq": true}}}})),
                ]);
            }
            "article" => {
                t["computed_fields"] = json!([
                    {"name": "score", "definition": {"function": "article_score"}},
                    {"name": "mine", "definition": {"function": "article_mine", "session_argument": "s"}},
                ]);
                t["select_permissions"] = json!([
                    perm("user", json!({"columns": article_cols, "computed_fields": ["score"], "limit": 10,
                        "filter": {"_or": [{"published": {"_eq": true}}, {"author_id": {"_eq": "X-Hasura-User-Id"}}]}})),
                    perm("fan", json!({"columns": ["id", "title"], "filter": {"author": {"name": {"_eq": "X-Hasura-User-Name"}}}})),
                    perm("exister", json!({"columns": article_cols, "filter": {"_exists": {
                        "_table": {"schema": "public", "name": "author"}, "_where": {"id": {"_eq": "X-Hasura-User-Id"}}}}})),
                    perm("pair", json!({"columns": article_cols, "filter": {"author_id": {"_in": ["X-Hasura-User-Id", "X-Hasura-Friend-Id"]}}})),
                    perm("sess", json!({"columns": article_cols, "computed_fields": ["mine"], "filter": {}})),
                    perm("pubreader", json!({"columns": article_cols, "filter": {}})),
                ]);
            }
            _ => {}
        }
    }
    tables.push(json!({"table": {"schema": "public", "name": "top_articles"}}));
    source["functions"] = json!([{"function": {"schema": "public", "name": "search_articles"}}]);
    md["inherited_roles"] = json!([{"role_name": "both", "role_set": ["user", "fan"]}]);
    (serde_json::from_value(md).unwrap(), db)
}

fn schema(role: &str) -> Schema {
    let (md, db) = rt_fixture();
    let (s, problems) = build_schema(&md, &db, role);
    assert!(problems.is_empty(), "{problems:?}");
    s
}

fn session(v: Value) -> Session {
    Session::from_json(Some(&v)).unwrap()
}

fn user(id: &str) -> Session {
    session(json!({"x-hasura-role": "user", "x-hasura-user-id": id}))
}

/// A subscriber's compile: its statement and its shape's template.
fn compile(s: &Schema, q: &str, vars: Value, session: &Session) -> (Compiled, Option<Template>) {
    let vars = (!vars.is_null()).then_some(vars);
    let (c, _, t) = template::compile(s, q, vars.as_ref(), None, session, &Limits::default()).unwrap();
    (c, t)
}

fn sql(c: &Compiled) -> &CompiledSql {
    match c {
        Compiled::Sql(s) => s,
        other => panic!("expected SQL, got {other:?}"),
    }
}

/// The batch statement of the first subscriber, and every subscriber's cohort in it.
fn cohorts(s: &Schema, q: &str, subscribers: &[(Value, Session)]) -> (Multiplexed, Vec<Option<super::Cohort>>) {
    let (c, t) = compile(s, q, subscribers[0].0.clone(), &subscribers[0].1);
    let m = plan(&c, t.as_ref()).unwrap();
    let out = subscribers.iter().map(|(v, ses)| m.cohort(sql(&compile(s, q, v.clone(), ses).0))).collect();
    (m, out)
}

const ARTICLES: &str = "subscription { article { id title } }";

#[test]
fn user_id_splits_cohorts_only_where_the_filter_uses_it() {
    let s = schema("user");
    let org = |id: &str, org: &str| session(json!({"x-hasura-role": "user", "x-hasura-user-id": id, "x-hasura-org-id": org}));
    let subs = [(Value::Null, org("1", "5")), (Value::Null, org("1", "6")), (Value::Null, user("2"))];
    let (m, c) = cohorts(&s, ARTICLES, &subs);
    assert_eq!(m.sharing(), Sharing::Template);
    assert_eq!(m.slots().len(), 1);
    assert_eq!(m.slots()[0].source, Some(Source::Session("x-hasura-user-id".into())));
    assert_eq!(c[0], c[1], "a session variable the statement does not use does not split cohorts");
    assert_ne!(c[0], c[2]);
    assert_eq!(c[0].as_ref().unwrap().values, vec![Some("1".to_string())]);
    // The constant `true` of the filter stays a shared parameter.
    assert_eq!(m.shared(), &[Some("true".to_string())]);
    // Authors are not filtered by user: every subscriber is in one cohort.
    let (m, c) = cohorts(&s, "subscription { author { id name } }", &subs);
    assert!(m.slots().is_empty());
    assert!(c.iter().all(|x| x == &c[0] && x.is_some()));
}

#[test]
fn derived_and_whole_session_values_split_cohorts() {
    let pair = |u: &str, f: &str| session(json!({"x-hasura-role": "pair", "x-hasura-user-id": u, "x-hasura-friend-id": f}));
    let s = schema("pair");
    let subs = [(Value::Null, pair("1", "2")), (Value::Null, pair("1", "2")), (Value::Null, pair("1", "3"))];
    let (m, c) = cohorts(&s, ARTICLES, &subs);
    assert!(m.slots().iter().all(|sl| sl.source.is_some()), "{:?}", m.slots());
    assert_eq!(c[0], c[1]);
    assert_ne!(c[0], c[2], "the friend id is part of the filter's value: {:?}", m.slots());
    // A computed field that takes the session sees all of it: every session value counts.
    let sess = |extra: &str| session(json!({"x-hasura-role": "sess", "x-hasura-anything": extra}));
    let s = schema("sess");
    let subs = [(Value::Null, sess("a")), (Value::Null, sess("a")), (Value::Null, sess("b"))];
    let (m, c) = cohorts(&s, "subscription { article { id mine } }", &subs);
    assert_eq!(m.slots()[0].source, Some(Source::SessionJson));
    assert_eq!(c[0], c[1]);
    assert_ne!(c[0], c[2]);
}

#[test]
fn inherited_roles_redact_per_cohort() {
    let both = |id: &str, name: &str| session(json!({"x-hasura-role": "both", "x-hasura-user-id": id, "x-hasura-user-name": name}));
    let s = schema("both");
    let q = "subscription { article { id author_id } }";
    let subs = [(Value::Null, both("1", "ann")), (Value::Null, both("1", "ann")), (Value::Null, both("1", "bob")), (Value::Null, both("2", "ann"))];
    let (m, c) = cohorts(&s, q, &subs);
    assert!(m.id().sql().contains("CASE WHEN"), "{}", m.id().sql());
    let sources: Vec<_> = m.slots().iter().map(|sl| sl.source.clone()).collect();
    assert!(sources.contains(&Some(Source::Session("x-hasura-user-id".into()))) && sources.contains(&Some(Source::Session("x-hasura-user-name".into()))));
    assert_eq!(c[0], c[1]);
    assert!(c[0] != c[2] && c[0] != c[3] && c[2] != c[3]);
    let r = reads(&s, &compile(&s, q, Value::Null, &subs[0].1).0).unwrap();
    assert_eq!(names(&r), vec!["author", "article"], "fan's filter reads authors");
}

#[test]
fn variables_in_where_are_per_cohort_values() {
    let s = schema("admin");
    let q = "subscription ($id: Int!, $t: String) { article(where: {_or: [{id: {_eq: $id}}, {author_id: {_eq: $id}}], title: {_like: $t}}) { id } }";
    let subs = [
        (json!({"id": 1, "t": "a%"}), Session::admin()),
        (json!({"id": 1, "t": "a%"}), session(json!({"x-hasura-role": "admin", "x-hasura-user-id": "9"}))),
        (json!({"id": 2, "t": "a%"}), Session::admin()),
        (json!({"id": 1, "t": "it's $1"}), Session::admin()),
    ];
    let (m, c) = cohorts(&s, q, &subs);
    assert_eq!(m.sharing(), Sharing::Template);
    let var = |n: &str| Some(Source::Var { path: VarPath { name: n.into(), steps: vec![] }, rule: Rule::Scalar });
    let sources: Vec<_> = m.slots().iter().map(|sl| sl.source.clone()).collect();
    assert_eq!(sources, vec![var("id"), var("t")], "one value per variable, however often it is used");
    assert_eq!(m.slots()[0].positions.len(), 2);
    assert_eq!(c[0], c[1]);
    assert_ne!(c[0], c[2]);
    assert_eq!(c[3].as_ref().unwrap().values, vec![Some("1".to_string()), Some("it's $1".to_string())]);
    // Paths into input objects are sources too.
    let (m, _) = cohorts(&s, "subscription ($w: article_bool_exp!) { article(where: $w) { id } }", &[(json!({"w": {"id": {"_eq": 3}}}), Session::admin())]);
    let path = VarPath { name: "w".into(), steps: vec![Step::Key("id".into()), Step::Key("_eq".into())] };
    assert_eq!(m.slots()[0].source, Some(Source::Var { path, rule: Rule::Scalar }));
}

/// A default and a given value compile to the same text, one as a constant, one as a
/// variable: whichever subscriber made the statement, the other is served correctly.
#[test]
fn defaults_and_given_values_share_text_not_sources() {
    let s = schema("admin");
    let q = "subscription ($t: String = \"a%\") { article(where: {title: {_like: $t}}) { id } }";
    let given = |t: &str| json!({"t": t});
    for first in [Value::Null, given("b%")] {
        let (c, t) = compile(&s, q, first.clone(), &Session::admin());
        let m = plan(&c, t.as_ref()).unwrap();
        assert_eq!(m.shared().len(), usize::from(first.is_null()), "the default is a constant of the query text");
        for v in [Value::Null, given("a%"), given("b%")] {
            let own = sql(&compile(&s, q, v.clone(), &Session::admin()).0).clone();
            match m.cohort(&own) {
                Some(cohort) => assert_eq!(m.single(&cohort), Some(own)),
                None => {
                    assert!(first.is_null() && v == given("b%"), "only a value other than the shared constant needs its own statement");
                    assert_eq!(m.shared(), &[Some("a%".to_string())]);
                }
            }
        }
    }
}

#[test]
fn variables_in_limit_multiplex_only_with_equal_sql() {
    let s = schema("admin");
    let q = "subscription ($l: Int, $id: Int!) { article(where: {id: {_gt: $id}}, limit: $l) { id } }";
    let subs = [
        (json!({"l": 2, "id": 1}), Session::admin()),
        (json!({"l": 2, "id": 5}), Session::admin()),
        (json!({"l": 3, "id": 1}), Session::admin()),
    ];
    let (m, c) = cohorts(&s, q, &subs);
    assert_eq!(m.sharing(), Sharing::ExactSql, "the limit is SQL text: the shape has no template");
    assert!(m.slots().iter().all(|sl| sl.source.is_none()));
    assert!(m.id().sql().contains("LIMIT 2"));
    assert!(c[0].is_some() && c[1].is_some() && c[0] != c[1]);
    assert!(c[2].is_none(), "another limit is another statement");
    let (c3, t3) = compile(&s, q, subs[2].0.clone(), &Session::admin());
    let m3 = plan(&c3, t3.as_ref()).unwrap();
    assert_ne!(m3.id(), m.id());
    assert!(m3.cohort(sql(&c3)).is_some());
}

#[test]
fn multiplexed_statement_structure() {
    let s = schema("admin");
    let q = "subscription ($id: Int!) { author_by_pk(id: $id) { name note_1 } }";
    let (c, t) = compile(&s, q, json!({"id": 5}), &Session::admin());
    let single = sql(&c).sql.clone();
    assert!(single.contains("\"note$1\""), "{single}");
    let m = plan(&c, t.as_ref()).unwrap();
    let body = single.replace("($1)", "(\"graft.vals\".\"v0\")");
    assert_eq!(
        m.sql(),
        format!(
            "SELECT \"graft.subs\".\"cohort_id\", \"graft.resp\".\"result\" FROM unnest(($1)::\"pg_catalog\".\"int8\"[], ($2)::\"pg_catalog\".\"jsonb\"[]) \
             AS \"graft.subs\"(\"cohort_id\", \"vars\") CROSS JOIN LATERAL (SELECT \"graft.subs\".\"vars\" ->> 0 AS \"v0\" OFFSET 0) AS \"graft.vals\" \
             LEFT JOIN LATERAL ({body}) AS \"graft.resp\"(\"result\") ON true"
        )
    );
    assert!(m.sql().contains("\"note$1\""), "a `$` inside an identifier is not a parameter");
    let a = m.cohort(sql(&c)).unwrap();
    let b = m.cohort(sql(&compile(&s, q, json!({"id": 6}), &Session::admin()).0)).unwrap();
    assert_eq!(
        m.params([(10, &a), (11, &b)]).unwrap(),
        vec![Some(r#"{"10","11"}"#.to_string()), Some(r#"{"[\"5\"]","[\"6\"]"}"#.to_string())]
    );
    assert!(m.params([(1, &super::Cohort { values: vec![] })]).is_none(), "a cohort of another statement");
    // Shared parameters are renumbered after the two arrays.
    let s = schema("user");
    let (c, t) = compile(&s, ARTICLES, Value::Null, &user("1"));
    let m = plan(&c, t.as_ref()).unwrap();
    assert!(m.sql().contains("($3)::\"pg_catalog\".\"bool\""), "{}", m.sql());
    assert!(m.sql().contains("(\"graft.vals\".\"v0\")::\"pg_catalog\".\"int4\""), "{}", m.sql());
    // Without per-cohort values there is nothing to take out of the arrays.
    let s = schema("admin");
    let (c, t) = compile(&s, "subscription { author { id } }", Value::Null, &Session::admin());
    assert!(!plan(&c, t.as_ref()).unwrap().sql().contains("graft.vals"));
    assert!(!m.sql().contains("$4"));
}

#[test]
fn what_cannot_be_multiplexed() {
    let s = schema("admin");
    let (c, t) = compile(&s, "subscription { __typename }", Value::Null, &Session::admin());
    assert_eq!(plan(&c, t.as_ref()).unwrap_err(), super::NotMultiplexed::Static);
    assert_eq!(reads(&s, &c).unwrap(), Reads::default());
    let (c, _) = compile(&s, "mutation { delete_article(where: {}) { affected_rows } }", Value::Null, &Session::admin());
    assert_eq!(plan(&c, None).unwrap_err(), super::NotMultiplexed::Mutation);
    // A template of another statement is refused, not trusted.
    let (a, ta) = compile(&s, "subscription { author { id } }", Value::Null, &Session::admin());
    let (b, _) = compile(&s, "subscription { article { id } }", Value::Null, &Session::admin());
    assert!(plan(&a, ta.as_ref()).is_ok());
    assert_eq!(plan(&b, ta.as_ref()).unwrap_err(), super::NotMultiplexed::Mismatch);
    // A statement naming a parameter it does not have.
    let bad = CompiledSql { sql: "SELECT $2".into(), params: vec![None], is_mutation: false, guarded: false, stream: None };
    assert_eq!(Multiplexed::new(&bad, None).unwrap_err(), super::NotMultiplexed::Mismatch);
    let bad = CompiledSql { sql: "SELECT 'a".into(), params: vec![], is_mutation: false, guarded: false, stream: None };
    assert!(matches!(Multiplexed::new(&bad, None).unwrap_err(), super::NotMultiplexed::Lex(_)));
}

fn names(r: &Reads) -> Vec<&str> {
    r.names.iter().map(|n| n.name.as_str()).collect()
}

fn reads_of(role: &str, q: &str, ses: &Session) -> Reads {
    let s = schema(role);
    let (c, _) = compile(&s, q, Value::Null, ses);
    let r = reads(&s, &c).unwrap();
    assert_eq!(r.tables.iter().map(|&t| &s.tables[t].name).collect::<Vec<_>>(), r.names.iter().collect::<Vec<_>>());
    // A second opinion by plain text search: every table the statement selects from is read,
    // and without functions (whose return tables count too) nothing else is.
    let text = &sql(&c).sql;
    for (ti, t) in s.tables.iter().enumerate() {
        let from = format!("FROM {} AS", crate::schema::names::quote_qualified(&t.name.schema, &t.name.name));
        if text.contains(&from) || !r.unknown {
            assert_eq!(text.contains(&from), r.tables.contains(&ti), "{} in {text}", t.name);
        }
    }
    r
}

#[test]
fn reads_follow_relationships_everywhere() {
    let a = Session::admin();
    for (q, expected) in [
        ("subscription { article { id } }", vec!["article"]),
        ("subscription { author { articles { id } } }", vec!["author", "article"]),
        ("subscription { article { author { name } } }", vec!["author", "article"]),
        ("subscription { author(where: {articles: {title: {_eq: \"x\"}}}) { id } }", vec!["author", "article"]),
        ("subscription { article(order_by: {author: {name: asc}}) { id } }", vec!["author", "article"]),
        ("subscription { author(order_by: {articles_aggregate: {count: desc}}) { id } }", vec!["author", "article"]),
        ("subscription { author { articles_aggregate { aggregate { count } } } }", vec!["author", "article"]),
        ("subscription { author(where: {articles_aggregate: {count: {predicate: {_gt: 1}}}}) { id } }", vec!["author", "article"]),
        ("subscription { author_by_pk(id: 1) { name } }", vec!["author"]),
    ] {
        let r = reads_of("admin", q, &a);
        assert_eq!(names(&r), expected, "{q}");
        assert!(!r.unknown, "{q}");
    }
}

#[test]
fn reads_include_what_permission_filters_reach() {
    let r = reads_of("fan", ARTICLES, &session(json!({"x-hasura-role": "fan", "x-hasura-user-name": "ann"})));
    assert_eq!(names(&r), vec!["author", "article"], "the filter goes through article.author");
    assert!(!r.unknown);
    let r = reads_of("exister", ARTICLES, &session(json!({"x-hasura-role": "exister", "x-hasura-user-id": "1"})));
    assert_eq!(names(&r), vec!["author", "article"], "_exists reads its table");
    let r = reads_of("user", ARTICLES, &user("1"));
    assert_eq!(names(&r), vec!["article"]);
}

#[test]
fn functions_make_reads_unknown() {
    let public = |n: &str| QualifiedName::new("public", n);
    let r = reads_of("user", "subscription { article { id score } }", &user("1"));
    assert!(r.unknown);
    assert_eq!(r.opaque, vec![Opaque::Function(public("article_score"))]);
    assert_eq!(names(&r), vec!["article"]);
    let r = reads_of("admin", "subscription { author { get_articles { id } } }", &Session::admin());
    assert_eq!((names(&r), r.unknown), (vec!["author", "article"], true));
    let r = reads_of("pubreader", "subscription { author { id } }", &session(json!({"x-hasura-role": "pubreader"})));
    assert_eq!(r.opaque, vec![Opaque::Function(public("author_articles"))], "a permission through a computed field");
    assert_eq!(names(&r), vec!["author", "article"], "the computed field's rows are read");
    let r = reads_of("admin", "subscription { search_articles(args: {q: \"x\"}) { id author { name } } }", &Session::admin());
    assert_eq!(r.opaque, vec![Opaque::Function(public("search_articles"))]);
    assert_eq!(names(&r), vec!["author", "article"], "the tracked function returns articles");
    let r = reads_of("admin", "subscription { top_articles { id } }", &Session::admin());
    assert_eq!(r.opaque, vec![Opaque::View(public("top_articles"))]);
    assert!(r.unknown);
}

#[test]
fn reads_of_hand_written_sql() {
    let s = schema("admin");
    let r = super::reads::reads_of_sql(&s, "SELECT 'FROM \"public\".\"author\"', x::\"public\".\"article\" FROM \"public\".\"article\" AS a").unwrap();
    assert_eq!(names(&r), vec!["article"], "a literal names nothing; neither does a type");
    let r = super::reads::reads_of_sql(&s, "SELECT my_fn(1), \"count\"(2), count(*) FROM unnest(x) WITH ORDINALITY AS _n1(e, o)").unwrap();
    assert_eq!(r.opaque, vec![Opaque::Function(QualifiedName::new("", "my_fn")), Opaque::Function(QualifiedName::new("", "count"))]);
    let r = super::reads::reads_of_sql(&s, "SELECT \"pg_catalog\".\"lower\"(a), (b)::numeric(10, 2), PUBLIC.AUTHOR.id FROM x").unwrap();
    assert_eq!((names(&r), r.unknown), (vec!["author"], false));
}

/// `sql` with `$k` (as the generator writes it, `($k)::`) replaced by `(literal)`.
fn instantiate_single(sql: &str, params: &[Option<String>]) -> String {
    let mut out = sql.to_string();
    // Highest first, so `$1` never eats the start of `$12`.
    for k in (1..=params.len()).rev() {
        out = out.replace(&format!("(${k})::"), &format!("(({}))::", literal(&params[k - 1])));
    }
    out
}

fn literal(v: &Option<String>) -> String {
    v.as_ref().map(|t| crate::schema::names::quote_literal(t)).unwrap_or_else(|| "NULL".into())
}

/// The lateral body of a batch statement with one cohort's values and the shared ones as literals.
fn instantiate_batch(m: &Multiplexed, values: &[Option<String>]) -> String {
    let sql = m.sql();
    let start = sql.find("LEFT JOIN LATERAL (").unwrap() + "LEFT JOIN LATERAL (".len();
    let end = sql.rfind(") AS \"graft.resp\"(\"result\") ON true").unwrap();
    let mut out = sql[start..end].to_string();
    for (i, v) in values.iter().enumerate().rev() {
        assert!(sql.contains(&format!("\"graft.subs\".\"vars\" ->> {i} AS \"v{i}\"")), "value {i} is taken from the array: {sql}");
        out = out.replace(&format!("(\"graft.vals\".\"v{i}\")::"), &format!("(({}))::", literal(v)));
    }
    for (j, v) in m.shared().iter().enumerate().rev() {
        out = out.replace(&format!("(${})::", j + 3), &format!("(({}))::", literal(v)));
    }
    out
}

/// Queries exercising session values (plain, in a list, the whole session), variables used
/// twice, paths into objects and lists, relationships, permission filters and redacted cells;
/// roles `user`, `pair`, `sess` and `both` (a query a role cannot run is skipped).
const PROPERTY_QUERIES: [&str; 5] = [
    "subscription { article { id title author { name } } }",
    "subscription ($t: String!, $n: Int!) { article(where: {_or: [{title: {_like: $t}}, {title: {_ilike: $t}}], id: {_gte: $n}}) { id } }",
    "subscription ($w: article_bool_exp!) { author { id articles(where: $w) { title } } }",
    "subscription ($ids: [Int!]!) { article(where: {id: {_in: $ids}}) { id } }",
    "subscription ($t: String!) { article(where: {title: {_neq: $t}}) { id mine } }",
];

fn text() -> impl Strategy<Value = String> {
    // Quotes, backslashes, placeholders and JSON-ish text are the values most likely to break
    // a rewrite.
    prop::collection::vec(prop::sample::select(vec!["a", "'", "\"", "\\", "$1", "$$", "->>", "%", " ", "é", "{", "}", ","]), 0..6)
        .prop_map(|v| v.concat())
}

/// A subscriber's variables and session (without its role).
fn subscriber() -> impl Strategy<Value = (Value, Value)> {
    let id = || prop::sample::select(vec!["1", "2", "x'y"]);
    (text(), 0..3i64, prop::collection::vec(0..4i64, 0..3), id(), id(), any::<bool>()).prop_map(|(t, n, ids, uid, friend, extra)| {
        let vars = json!({"t": t, "n": n, "w": {"title": {"_eq": t}}, "ids": ids});
        let mut ses = json!({"x-hasura-user-id": uid, "x-hasura-friend-id": friend, "x-hasura-user-name": t});
        if extra {
            ses["x-hasura-org"] = json!(t);
        }
        (vars, ses)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn batch_answers_are_single_answers(
        role in prop::sample::select(vec!["user", "pair", "sess", "both"]),
        qi in 0..PROPERTY_QUERIES.len(),
        subs in prop::collection::vec(subscriber(), 1..6),
    ) {
        let s = schema(role);
        let q = PROPERTY_QUERIES[qi];
        // Variables the query does not declare are dropped, as a client's extra ones would be refused.
        let declared = |v: &Value| -> Value {
            let mut m = serde_json::Map::new();
            for (k, x) in v.as_object().unwrap() {
                if q.contains(&format!("${k}:")) { m.insert(k.clone(), x.clone()); }
            }
            Value::Object(m)
        };
        let subs: Vec<(Value, Session)> = subs.into_iter().map(|(v, mut ses)| {
            ses["x-hasura-role"] = json!(role);
            (declared(&v), session(ses))
        }).collect();
        prop_assume!(template::compile(&s, q, Some(&subs[0].0), None, &subs[0].1, &Limits::default()).is_ok());
        let mut statements: Vec<Multiplexed> = vec![];
        let mut seen: Vec<(super::CohortKey, CompiledSql)> = vec![];
        let group = super::GroupKey::new(q, None, &subs[0].1);
        for (v, ses) in &subs {
            let (c, t) = compile(&s, q, v.clone(), ses);
            let own = sql(&c).clone();
            let key = match statements.iter().find_map(|m| m.cohort_key(&group, &own)) {
                Some(k) => k,
                None => {
                    let m = plan(&c, t.as_ref()).unwrap();
                    let k = m.cohort_key(&group, &own).expect("a statement serves the subscriber it was made for");
                    statements.push(m);
                    k
                }
            };
            let m = statements.iter().find(|m| m.id() == &key.statement).unwrap();
            // The oracle: the cohort's row of the batch is its own statement with its own values.
            prop_assert_eq!(instantiate_batch(m, &key.cohort.values), instantiate_single(&own.sql, &own.params));
            prop_assert_eq!(m.single(&key.cohort), Some(own.clone()), "a cohort's values rebuild its statement");
            for (k2, own2) in &seen {
                prop_assert_eq!(k2 == &key, own2 == &own, "same cohort exactly when the statements are equal");
            }
            seen.push((key, own));
        }
    }
}

/// Writes `$GRAFT_MUX_SQL` (default /tmp/graft-mux.sql): tables like the fixture's, rows, and
/// for several live queries and random subscribers, each subscriber's single statement and the
/// batch statement, run and compared in SQL. Run with `psql -v ON_ERROR_STOP=1 -f`; it prints
/// one `mismatches` count per query (all must be 0).
#[test]
#[ignore]
fn psql_check() {
    let path = std::env::var("GRAFT_MUX_SQL").unwrap_or_else(|_| "/tmp/graft-mux.sql".into());
    let mut out = String::from(
        "\\set ON_ERROR_STOP 1\nSET client_min_messages = warning;\nDROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;\n\
         CREATE TABLE author (id int4 PRIMARY KEY, name text NOT NULL, meta jsonb, tags text[], \"note$1\" text);\n\
         CREATE TABLE article (id int4 PRIMARY KEY, author_id int4 NOT NULL REFERENCES author, title text NOT NULL, rating numeric, published bool NOT NULL, created_at timestamptz);\n\
         CREATE VIEW top_articles AS SELECT id, title FROM article WHERE rating > 3;\n\
         CREATE FUNCTION author_articles(a author) RETURNS SETOF article STABLE LANGUAGE sql AS 'SELECT * FROM article WHERE author_id = a.id';\n\
         CREATE FUNCTION article_score(a article) RETURNS numeric STABLE LANGUAGE sql AS 'SELECT a.rating * 2';\n\
         CREATE FUNCTION article_mine(a article, s json) RETURNS bool STABLE LANGUAGE sql AS $$SELECT a.author_id::text = s->>'x-hasura-user-id'$$;\n\
         CREATE FUNCTION search_articles(q text) RETURNS SETOF article STABLE LANGUAGE sql AS 'SELECT * FROM article WHERE title ILIKE ''%'' || q || ''%''';\n\
         INSERT INTO author SELECT i, 'author ' || i || CASE WHEN i = 3 THEN ' it''s' ELSE '' END, NULL, NULL, 'n' || i FROM generate_series(1, 6) i;\n\
         INSERT INTO article SELECT i, 1 + i % 6, CASE i % 4 WHEN 0 THEN 'a$1 ''q''' WHEN 1 THEN 'alpha' WHEN 2 THEN 'Beta' ELSE 'gamma\\' END, i % 5, i % 3 = 0, NULL FROM generate_series(1, 40) i;\n",
    );
    // (role, query, subscribers' variables and sessions)
    type Case = (&'static str, &'static str, Vec<(Value, Value)>);
    let cases: Vec<Case> = vec![
        ("user", "subscription { article(order_by: {id: asc}) { id title author { name } } }",
            (1..=6).map(|i| (json!({}), json!({"x-hasura-role": "user", "x-hasura-user-id": i.to_string(), "x-hasura-org": i % 2}))).collect()),
        ("user", "subscription ($t: String!, $n: Int!) { article(where: {title: {_like: $t}, id: {_gte: $n}}, order_by: {id: desc}) { id title score } }",
            ["a%", "%$1%", "%'%", "%\\\\", "B%", "nothing"].iter().enumerate()
                .map(|(i, t)| (json!({"t": t, "n": i * 3}), json!({"x-hasura-role": "user", "x-hasura-user-id": (i % 3 + 1).to_string()}))).collect()),
        ("user", "subscription ($w: article_bool_exp!) { author(order_by: {id: asc}) { id name articles(where: $w, order_by: {id: asc}) { id title } get_articles(order_by: {id: desc}) { id } } }",
            (1..=5).map(|i| (json!({"w": {"id": {"_lte": i * 7}}}), json!({"x-hasura-role": "user", "x-hasura-user-id": (i % 2 + 1).to_string()}))).collect()),
        ("pair", "subscription { article(order_by: {id: asc}) { id author_id } }",
            (1..=5).map(|i| (json!({}), json!({"x-hasura-role": "pair", "x-hasura-user-id": i.to_string(), "x-hasura-friend-id": (6 - i).to_string()}))).collect()),
        ("sess", "subscription { article(where: {id: {_lt: 8}}, order_by: {id: asc}) { id mine } }",
            (1..=4).map(|i| (json!({}), json!({"x-hasura-role": "sess", "x-hasura-user-id": i.to_string()}))).collect()),
        ("both", "subscription { article(order_by: {id: asc}) { id title author_id published } }",
            [("1", "author 1"), ("2", "author 1"), ("2", "author 3 it's"), ("4", "nobody")].iter()
                .map(|(u, n)| (json!({}), json!({"x-hasura-role": "both", "x-hasura-user-id": u, "x-hasura-user-name": n}))).collect()),
        ("fan", "subscription { article(order_by: {id: asc}) { id } }",
            ["author 1", "author 3 it's", "nobody"].iter().map(|n| (json!({}), json!({"x-hasura-role": "fan", "x-hasura-user-name": n}))).collect()),
        ("admin", "subscription ($l: Int!, $q: String!) { search_articles(args: {q: $q}, limit: $l, order_by: {id: asc}) { id } }",
            [(2, "a"), (2, "'"), (3, "a")].iter().map(|(l, q)| (json!({"l": l, "q": q}), json!({}))).collect()),
    ];
    let types = |n: usize| vec!["text"; n].join(",");
    for (qi, (role, q, subs)) in cases.into_iter().enumerate() {
        let s = schema(role);
        out.push_str(&format!("\\echo query {qi}: {}\nCREATE TEMP TABLE single_{qi} (cohort_id int8, result text);\n", q.replace('\n', " ")));
        // Statements of this query, each with its cohorts (id, values).
        let mut statements: Vec<(Multiplexed, Vec<(i64, super::Cohort)>)> = vec![];
        for (i, (v, ses)) in subs.iter().enumerate() {
            let (c, t) = compile(&s, q, v.clone(), &session(ses.clone()));
            let own = sql(&c).clone();
            let id = i as i64 + 1;
            let at = match statements.iter().position(|(m, _)| m.cohort(&own).is_some()) {
                Some(at) => at,
                None => {
                    statements.push((plan(&c, t.as_ref()).unwrap(), vec![]));
                    statements.len() - 1
                }
            };
            let cohort = statements[at].0.cohort(&own).unwrap();
            statements[at].1.push((id, cohort));
            let args: Vec<String> = own.params.iter().map(literal).collect();
            let (prep, exec) = if own.params.is_empty() { (String::new(), String::new()) } else { (format!("({})", types(own.params.len())), format!("({})", args.join(","))) };
            out.push_str(&format!(
                "PREPARE s_{qi}_{id}{prep} AS {};\nCREATE TEMP TABLE r AS EXECUTE s_{qi}_{id}{exec};\nINSERT INTO single_{qi} SELECT {id}, json_build_object::text FROM r; DROP TABLE r;\n",
                own.sql
            ));
        }
        out.push_str(&format!("CREATE TEMP TABLE batch_{qi} (cohort_id int8, result text);\n"));
        for (si, (m, cohorts)) in statements.iter().enumerate() {
            let params = m.params(cohorts.iter().map(|(id, c)| (*id, c))).unwrap();
            let args: Vec<String> = params.iter().map(literal).collect();
            out.push_str(&format!(
                "PREPARE b_{qi}_{si}({}) AS {};\nCREATE TEMP TABLE r AS EXECUTE b_{qi}_{si}({});\nINSERT INTO batch_{qi} SELECT cohort_id, result::text FROM r; DROP TABLE r;\n",
                types(params.len()),
                m.sql(),
                args.join(",")
            ));
        }
        out.push_str(&format!(
            "SELECT {qi} AS query, {} AS statements, (SELECT count(*) FROM single_{qi}) AS subscribers, \
             (SELECT count(*) FROM single_{qi} s FULL JOIN batch_{qi} b USING (cohort_id) WHERE s.result IS DISTINCT FROM b.result) AS mismatches, \
             (SELECT count(DISTINCT result) FROM single_{qi}) AS distinct_results;\n",
            statements.len()
        ));
    }
    std::fs::write(&path, out).unwrap();
}
