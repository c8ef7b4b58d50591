//! Streaming subscriptions (`T_stream`): schema, argument errors and the statement.

use serde_json::{json, Value};

use super::tests::with_permissions;
use crate::metadata::model::Metadata;
use crate::request::input::Rule;
use crate::request::{compile, Compiled, CompiledSql, Limits, Session, StreamCursor};
use crate::schema::build::{build_schema, tests::fixture};
use crate::schema::model::{TypeKind, TypeRef};
use crate::{DbCatalog, Schema};

fn admin() -> Schema {
    let (md, db) = fixture();
    build_schema(&md, &db, "admin").0
}

fn user_schema() -> Schema {
    let (md, db) = with_permissions();
    build_schema(&md, &db, "user").0
}

fn user() -> Session {
    Session::from_json(Some(&json!({"x-hasura-role": "user", "x-hasura-user-id": "7"}))).unwrap()
}

fn stmt(s: &Schema, q: &str, session: &Session) -> CompiledSql {
    match compile(s, q, None, None, session, &Limits::default()).unwrap() {
        Compiled::Sql(c) => c,
        other => panic!("expected SQL, got {other:?}"),
    }
}

fn error(s: &Schema, q: &str) -> (String, String) {
    let e = compile(s, q, None, None, &Session::admin(), &Limits::default()).unwrap_err();
    (e.message, e.path)
}

fn input_fields(s: &Schema, name: &str) -> Vec<(String, String, Option<String>)> {
    let Some(TypeKind::InputObject { fields }) = s.get(name).map(|t| &t.kind) else { panic!("{name} is not an input object") };
    fields.values().map(|f| (f.name.clone(), f.ty.to_string(), f.description.clone())).collect()
}

/// `article` with the given select permission body for role `user`.
fn with_article_permission(p: Value) -> (Metadata, DbCatalog) {
    let (mut md, db) = fixture();
    let article = md.sources[0].tables.iter_mut().find(|t| t.table.name == "article").unwrap();
    article.select_permissions = vec![serde_json::from_value(json!({"role": "user", "permission": p})).unwrap()];
    (md, db)
}

fn roots(md: &Metadata, db: &DbCatalog) -> (Vec<String>, Vec<String>) {
    let s = build_schema(md, db, "user").0;
    let names = |root: &str| -> Vec<String> {
        match s.get(root).map(|t| &t.kind) {
            Some(TypeKind::Object { fields }) => fields.keys().filter(|k| k.starts_with("article")).cloned().collect(),
            _ => vec![],
        }
    };
    (names("query_root"), names("subscription_root"))
}

#[test]
fn stream_field_on_the_subscription_root_only() {
    let s = admin();
    assert!(s.object_field("query_root", "article_stream").is_none());
    let f = s.object_field("subscription_root", "article_stream").expect("article_stream");
    assert_eq!(f.description.as_deref(), Some("fetch data from the table in a streaming manner: \"article\""));
    assert_eq!(f.ty, TypeRef::nn_list_nn("article"));
    let args: Vec<(String, String, Option<String>)> = f.args.values().map(|a| (a.name.clone(), a.ty.to_string(), a.description.clone())).collect();
    assert_eq!(
        args,
        vec![
            ("batch_size".into(), "Int!".into(), Some("maximum number of rows returned in a single batch".into())),
            ("cursor".into(), "[article_stream_cursor_input]!".into(), Some("cursor to stream the results returned by the query".into())),
            ("where".into(), "article_bool_exp".into(), Some("filter the rows returned".into())),
        ]
    );
    let cursor = s.get("article_stream_cursor_input").unwrap();
    assert_eq!(cursor.description.as_deref(), Some("Streaming cursor of the table \"article\""));
    assert_eq!(
        input_fields(&s, "article_stream_cursor_input"),
        vec![
            ("initial_value".into(), "article_stream_cursor_value_input!".into(), Some("Stream column input with initial value".into())),
            ("ordering".into(), "cursor_ordering".into(), Some("cursor ordering".into())),
        ]
    );
    let value = s.get("article_stream_cursor_value_input").unwrap();
    assert_eq!(value.description.as_deref(), Some("Initial value of the column from where the streaming should start"));
    let cols: Vec<(String, String)> = input_fields(&s, "article_stream_cursor_value_input").into_iter().map(|(n, t, _)| (n, t)).collect();
    let expect = [("id", "Int"), ("author_id", "Int"), ("title", "String"), ("rating", "numeric"), ("published", "Boolean"), ("created_at", "timestamptz")];
    assert_eq!(cols, expect.iter().map(|(n, t)| (n.to_string(), t.to_string())).collect::<Vec<_>>(), "every column, all optional");
    let ordering = s.get("cursor_ordering").unwrap();
    assert_eq!(ordering.description.as_deref(), Some("ordering argument of a cursor"));
    let TypeKind::Enum { values } = &ordering.kind else { panic!() };
    let values: Vec<(&str, Option<&str>)> = values.values().map(|v| (v.name.as_str(), v.description.as_deref())).collect();
    assert_eq!(values, vec![("ASC", Some("ascending ordering of the cursor")), ("DESC", Some("descending ordering of the cursor"))]);
    // The author's array column is a cursor column too, typed as its list.
    assert!(input_fields(&s, "author_stream_cursor_value_input").contains(&("tags".into(), "[String!]".into(), None)));
}

#[test]
fn a_role_streams_its_selectable_columns() {
    let s = user_schema();
    let cols: Vec<String> = input_fields(&s, "article_stream_cursor_value_input").into_iter().map(|(n, _, _)| n).collect();
    assert_eq!(cols, vec!["id", "author_id", "title"]);
    let (md, db) = with_permissions();
    let nobody = build_schema(&md, &db, "nobody").0;
    assert!(nobody.get("subscription_root").is_none() && nobody.get("article_stream_cursor_input").is_none());
}

/// Hasura's `isRootFieldAllowed`: `query_root_fields` decides the query root,
/// `subscription_root_fields` the subscription root (`select_stream` included); no list
/// allows every field.
#[test]
fn root_field_lists_decide_each_root() {
    let base = json!({"columns": "*", "filter": {}, "allow_aggregations": true});
    let with = |extra: Value| {
        let mut p = base.clone();
        p.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        with_article_permission(p)
    };
    let all = ["article", "article_aggregate", "article_by_pk"].map(String::from).to_vec();
    let (md, db) = with(json!({}));
    let (q, s) = roots(&md, &db);
    assert_eq!(q, all);
    assert_eq!(s, [all.clone(), vec!["article_stream".to_string()]].concat());
    let (md, db) = with(json!({"query_root_fields": []}));
    let (q, s) = roots(&md, &db);
    assert!(q.is_empty());
    assert_eq!(s.len(), 4, "query_root_fields leaves the subscription root alone: {s:?}");
    let (md, db) = with(json!({"subscription_root_fields": ["select", "select_stream"]}));
    let (q, s) = roots(&md, &db);
    assert_eq!(q, all);
    assert_eq!(s, vec!["article", "article_stream"]);
    let (md, db) = with(json!({"subscription_root_fields": ["select_by_pk"]}));
    assert_eq!(roots(&md, &db).1, vec!["article_by_pk"]);
    let (md, db) = with(json!({"subscription_root_fields": []}));
    assert!(roots(&md, &db).1.is_empty());
}

#[test]
fn custom_root_field_names_the_stream() {
    let (mut md, db) = fixture();
    let article = md.sources[0].tables.iter_mut().find(|t| t.table.name == "article").unwrap();
    article.configuration =
        serde_json::from_value(json!({"custom_root_fields": {"select_stream": {"name": "ArticleFeed", "comment": "ignored, as in Hasura"}}})).unwrap();
    let s = build_schema(&md, &db, "admin").0;
    let f = s.object_field("subscription_root", "ArticleFeed").expect("custom name");
    assert_eq!(f.description.as_deref(), Some("fetch data from the table in a streaming manner: \"article\""));
    assert!(s.object_field("subscription_root", "article_stream").is_none());
    let c = stmt(&s, "subscription { ArticleFeed(batch_size: 1, cursor: {initial_value: {id: 0}}) { id } }", &Session::admin());
    assert!(c.sql.starts_with("SELECT json_build_object('data', json_build_object('ArticleFeed', "), "{}", c.sql);
}

/// The whole statement: rows after the cursor in cursor order, `batch_size` of them with
/// ties, and the next cursor from the last row; the relationship is read in the same statement.
#[test]
fn stream_statement() {
    let s = admin();
    let c = stmt(&s, "subscription { article_stream(batch_size: 2, cursor: {initial_value: {id: 3}}) { id title author { name } } }", &Session::admin());
    assert_eq!(
        c.sql,
        "SELECT json_build_object('data', json_build_object('article_stream', \"graft.stream\".\"rows\")), \"graft.stream\".\"cursor\" \
         FROM (SELECT coalesce(json_agg(json_build_object('id', _o2.\"id\", 'title', _o2.\"title\", 'author', \
         (SELECT json_build_object('name', _t3.\"name\") FROM \"public\".\"author\" AS _t3 WHERE _t3.\"id\" = _o2.\"author_id\" LIMIT 1)) \
         ORDER BY _o2.\"graft.o0\" ASC NULLS LAST), '[]') AS \"rows\", \
         CASE WHEN count(*) = 0 THEN NULL ELSE json_build_object('id', (array_agg(_o2.\"graft.c0\" ORDER BY _o2.\"graft.o0\" DESC NULLS FIRST))[1]) END AS \"cursor\" \
         FROM (SELECT _i1.\"id\", _i1.\"title\", _i1.\"author_id\", _i1.\"id\" AS \"graft.o0\", (_i1.\"id\")::text AS \"graft.c0\" \
         FROM \"public\".\"article\" AS _i1 WHERE (_i1.\"id\" > ($1)::\"pg_catalog\".\"int4\") \
         ORDER BY _i1.\"id\" ASC NULLS LAST FETCH FIRST (($2)::\"pg_catalog\".\"int8\") ROWS WITH TIES) AS _o2) AS \"graft.stream\""
    );
    assert_eq!(c.params, vec![Some("3".into()), Some("2".into())]);
    assert_eq!(c.stream, Some(StreamCursor { param: 0, column: "id".into(), rule: Rule::Scalar }));
    assert!(!c.guarded);
}

#[test]
fn descending_streams_go_down() {
    let s = admin();
    let q = r#"subscription { article_stream(batch_size: 5, cursor: [{initial_value: {created_at: "2030-01-01"}, ordering: DESC}], where: {published: {_eq: true}}) { id } }"#;
    let c = stmt(&s, q, &Session::admin());
    assert!(c.sql.contains("WHERE (_i1.\"created_at\" < ($1)::\"pg_catalog\".\"timestamptz\") AND (_i1.\"published\" = ($2)::\"pg_catalog\".\"bool\")"), "{}", c.sql);
    assert!(c.sql.contains("ORDER BY _i1.\"created_at\" DESC NULLS FIRST FETCH FIRST (($3)::\"pg_catalog\".\"int8\") ROWS WITH TIES"), "{}", c.sql);
    assert!(c.sql.contains("ORDER BY _o2.\"graft.o0\" DESC NULLS FIRST), '[]')"), "rows in cursor order: {}", c.sql);
    assert!(c.sql.contains("(array_agg(_o2.\"graft.c0\" ORDER BY _o2.\"graft.o0\" ASC NULLS LAST))[1]"), "the next cursor is the last (least) value: {}", c.sql);
    assert_eq!(c.params, vec![Some("2030-01-01".into()), Some("true".into()), Some("5".into())]);
    assert_eq!(c.stream.as_ref().map(|s| s.column.as_str()), Some("created_at"));
    assert!(c.guarded, "a timestamp is only known valid once Postgres reads it");
}

/// The role's filter applies and its select limit caps the batch.
#[test]
fn permissions_apply_to_streams() {
    let s = user_schema();
    let c = stmt(&s, "subscription { article_stream(batch_size: 50, cursor: {initial_value: {id: 0}}) { id title } }", &user());
    assert!(c.sql.contains("WHERE (_i1.\"id\" > ($1)::\"pg_catalog\".\"int4\") AND ((_i1.\"published\" = ($2)::\"pg_catalog\".\"bool\") OR (_i1.\"author_id\" = ($3)::\"pg_catalog\".\"int4\"))"), "{}", c.sql);
    assert!(c.sql.contains("FETCH FIRST (least(($4)::\"pg_catalog\".\"int8\", 10)) ROWS WITH TIES"), "{}", c.sql);
    assert_eq!(c.params, vec![Some("0".into()), Some("true".into()), Some("7".into()), Some("50".into())]);
    // A column the role may not select is no cursor column.
    let e = compile(&s, "subscription { article_stream(batch_size: 1, cursor: {initial_value: {rating: 1}}) { id } }", None, None, &user(), &Limits::default())
        .unwrap_err();
    assert_eq!(e.code, "validation-failed");
}

/// Hasura's argument errors: exactly one cursor column over all the cursor items.
#[test]
fn exactly_one_cursor_column() {
    let s = admin();
    let one = "one streaming column field is expected";
    let many = "multiple column cursors are not supported yet";
    let path = "$.selectionSet.article_stream.args".to_string();
    assert_eq!(error(&s, "subscription { article_stream(batch_size: 1, cursor: []) { id } }"), (one.into(), path.clone()));
    assert_eq!(error(&s, "subscription { article_stream(batch_size: 1, cursor: [null]) { id } }"), (one.into(), path.clone()));
    assert_eq!(error(&s, "subscription { article_stream(batch_size: 1, cursor: {initial_value: {}}) { id } }"), (one.into(), path.clone()));
    assert_eq!(error(&s, "subscription { article_stream(batch_size: 1, cursor: {initial_value: {id: 1, title: \"a\"}}) { id } }"), (many.into(), path.clone()));
    assert_eq!(
        error(&s, "subscription { article_stream(batch_size: 1, cursor: [{initial_value: {id: 1}}, {initial_value: {title: \"a\"}}]) { id } }"),
        (many.into(), path.clone())
    );
    // Null items count for nothing; an explicit null value is a cursor that matches no row.
    let c = stmt(&s, "subscription { article_stream(batch_size: 1, cursor: [null, {initial_value: {id: null}}]) { id } }", &Session::admin());
    assert_eq!(c.params[0], None);
    let (m, _) = error(&s, "subscription { article_stream(batch_size: -1, cursor: {initial_value: {id: 1}}) { id } }");
    assert!(m.contains("batch_size") || m.contains("non-negative") || m.contains("Int"), "{m}");
    let (m, _) = error(&s, "subscription { article_stream(cursor: {initial_value: {id: 1}}) { id } }");
    assert!(m.contains("batch_size"), "{m}");
}

#[test]
fn a_stream_is_the_only_root_field() {
    let s = admin();
    let e = error(&s, "subscription { article_stream(batch_size: 1, cursor: {initial_value: {id: 1}}) { id } author { id } }");
    assert_eq!(e, ("subscriptions must select one top level field".into(), "$".into()));
    // A stream is not a query field.
    let (m, _) = error(&s, "query { article_stream(batch_size: 1, cursor: {initial_value: {id: 1}}) { id } }");
    assert!(m.contains("article_stream"), "{m}");
}

/// The cursor value is a parameter with its real source (a variable here), so a compiled
/// stream is reused for other values like any request.
#[test]
fn variables_fill_a_stream_template() {
    let s = admin();
    let q = "subscription ($c: Int, $n: Int!) { article_stream(batch_size: $n, cursor: {initial_value: {id: $c}}) { id } }";
    let (c, _, t) = crate::request::template::compile(&s, q, Some(&json!({"c": 1, "n": 2})), None, &Session::admin(), &Limits::default()).unwrap();
    let t = t.expect("a template: neither value is SQL text");
    let Some(Compiled::Sql(filled)) = t.fill(&[("c".to_string(), json!(40)), ("n".to_string(), json!(9))].into_iter().collect()) else { panic!() };
    let Compiled::Sql(c) = c else { panic!() };
    assert_eq!(filled.sql, c.sql);
    assert_eq!(filled.params, vec![Some("40".into()), Some("9".into())]);
    assert_eq!(filled.stream, c.stream);
}
