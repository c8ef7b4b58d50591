//! The data API translated and compiled against a fixture schema: the SQL comes from the
//! same generator as GraphQL's, and each role is held to its permissions with Hasura's DML
//! messages (`RQL/DML/Internal.hs`). The database-backed cases are in pg_test 13 and
//! tests/sidecar.

use serde_json::{json, Value};

use super::{plan, reply, Reply};
use crate::dbcatalog::DbCatalog;
use crate::metadata::model::Metadata;
use crate::request::{compile_dml, Compiled, Limits, MutationStep, Session};
use crate::Schema;

fn col(name: &str, ty: &str, nullable: bool) -> Value {
    json!({"name": name, "type_name": ty, "nullable": nullable})
}

fn fixture() -> (Metadata, DbCatalog) {
    let mut article = json!({"schema": "public", "name": "article", "kind": "table",
        "columns": [col("id", "int4", false), col("author_id", "int4", false), col("title", "text", true), col("views", "int4", true), col("published", "bool", true)],
        "primary_key": {"name": "article_pkey", "columns": ["id"]},
        "is_insertable": true, "is_updatable": true, "is_deletable": true});
    article["foreign_keys"] = json!([{"name": "article_author_id_fkey", "columns": ["author_id"], "ref_schema": "public", "ref_table": "author", "ref_columns": ["id"]}]);
    let author = json!({"schema": "public", "name": "author", "kind": "table",
        "columns": [col("id", "int4", false), col("name", "text", true), col("secret", "text", true), col("age", "int4", true)],
        "primary_key": {"name": "author_pkey", "columns": ["id"]},
        "is_insertable": true, "is_updatable": true, "is_deletable": true});
    let db: DbCatalog = serde_json::from_value(json!({"tables": [author, article]})).unwrap();
    let mine = json!({"id": {"_eq": "X-Hasura-User-Id"}});
    let md: Metadata = serde_json::from_value(json!({
        "version": 3,
        "sources": [{"name": "default", "kind": "postgres", "tables": [
            {"table": {"schema": "public", "name": "author"},
             "array_relationships": [{"name": "articles", "using": {"foreign_key_constraint_on": {"table": "article", "column": "author_id"}}}],
             "select_permissions": [{"role": "user", "permission": {"columns": ["id", "name", "age"], "filter": mine}}]},
            {"table": {"schema": "public", "name": "article"},
             "object_relationships": [{"name": "author", "using": {"foreign_key_constraint_on": "author_id"}}],
             "select_permissions": [{"role": "user", "permission": {"columns": ["id", "author_id", "title", "views"], "filter": {"author_id": {"_eq": "X-Hasura-User-Id"}}}},
                                    {"role": "writer", "permission": {"columns": ["id", "title"], "filter": {}}}],
             "insert_permissions": [{"role": "user", "permission": {"columns": ["id", "title", "views"], "check": {}, "set": {"author_id": "X-Hasura-User-Id"}}},
                                    {"role": "writer", "permission": {"columns": ["id", "title", "author_id"], "check": {}}}],
             "update_permissions": [{"role": "user", "permission": {"columns": ["title", "views"], "filter": {"author_id": {"_eq": "X-Hasura-User-Id"}}}}]}
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

/// The compiled statements' SQL (joined) for `request` as `role`.
fn sql(role: &str, request: Value) -> String {
    let schema = schema_for(role);
    let s = session(role);
    let p = plan(&schema, &s, &request).unwrap_or_else(|e| panic!("{request}: {e:?}"));
    match compile_dml(&schema, &p, &s, &Limits::default()).unwrap_or_else(|e| panic!("{}: {e:?}", p.query)) {
        Compiled::Sql(c) => c.sql,
        Compiled::Mutation(m) => m
            .fields
            .iter()
            .flat_map(|f| f.steps.iter())
            .map(|s| match s {
                MutationStep::WriteRead { write, read } => format!("{}\n{}", write.sql, read.sql),
                MutationStep::Query(q) => q.sql.clone(),
                MutationStep::Static(s) => s.clone(),
            })
            .collect::<Vec<_>>()
            .join("\n"),
        Compiled::Json(v) => v.to_string(),
    }
}

/// The data API error (code, path, message) for `request` as `role`, from translation or
/// from the GraphQL validation of its translation.
fn error(role: &str, request: Value) -> (String, String, String) {
    let schema = schema_for(role);
    let s = session(role);
    let e = match plan(&schema, &s, &request) {
        Err(e) => e,
        Ok(p) => match compile_dml(&schema, &p, &s, &Limits::default()) {
            Err(g) => super::error_from_graphql(g.code, &g.path, &g.message),
            Ok(c) => panic!("{request} compiled: {c:?}"),
        },
    };
    (e.code.to_string(), e.path, e.error)
}

#[test]
fn select_translates_operators_order_and_paging() {
    let schema = schema_for("admin");
    let p = plan(
        &schema,
        &Session::admin(),
        &json!({"type": "select", "args": {"table": "author", "columns": ["id", "name"],
            "where": {"$or": [{"name": {"$eq": "x"}}, {"age": {"$gt": 3, "$ne": 5}}, {"id": 7}]},
            "order_by": ["-age", "+name", {"column": "id", "type": "desc", "nulls": "last"}], "limit": 2, "offset": 1}}),
    )
    .unwrap();
    assert_eq!(p.reply, Reply::Rows);
    assert!(p.query.contains("r: author(where: $where, order_by: $order_by, limit: 2, offset: 1) { id name }"), "{}", p.query);
    assert_eq!(
        p.variables["where"],
        json!({"_or": [{"name": {"_eq": "x"}}, {"age": {"_gt": 3, "_neq": 5}}, {"id": {"_eq": 7}}]})
    );
    assert_eq!(p.variables["order_by"], json!([{"age": "desc"}, {"name": "asc"}, {"id": "desc_nulls_last"}]));
    let s = sql("admin", json!({"type": "select", "args": {"table": "author", "columns": ["*"], "where": {"name": {"_like": "a%"}}}}));
    assert!(s.contains("LIKE"), "{s}");
}

#[test]
fn wildcards_expand_to_what_the_role_may_select() {
    let schema = schema_for("user");
    let p = plan(&schema, &session("user"), &json!({"type": "select", "args": {"table": "author", "columns": ["*.*"]}})).unwrap();
    assert!(p.query.contains("{ id name age articles { id author_id title views } }"), "{}", p.query);
    assert!(!p.query.contains("secret"), "{}", p.query);
    let admin = plan(&schema_for("admin"), &Session::admin(), &json!({"type": "select", "args": {"table": "article", "columns": ["*", {"name": "author", "alias": "by", "columns": ["name"]}]}})).unwrap();
    assert!(admin.query.contains("by: author { name }"), "{}", admin.query);
}

#[test]
fn hidden_columns_are_refused_in_columns_where_order_by_and_relationships() {
    let denied = ("permission-denied".to_string(), "role \"user\" does not have permission to select column \"secret\"".to_string());
    for (request, path) in [
        (json!({"table": "author", "columns": ["id", "secret"]}), "$.args.columns[1]"),
        (json!({"table": "author", "columns": ["id"], "where": {"secret": {"$eq": "s"}}}), "$.args.where.secret"),
        (json!({"table": "author", "columns": ["id"], "where": {"$not": {"secret": "s"}}}), "$.args.where.$not.secret"),
        (json!({"table": "author", "columns": ["id"], "order_by": "-secret"}), "$.args.order_by"),
        (json!({"table": "article", "columns": ["id"], "where": {"author": {"secret": {"_like": "a%"}}}}), "$.args.where.author.secret"),
        (json!({"table": "article", "columns": ["id"], "order_by": ["author.secret"]}), "$.args.order_by[0]"),
        (json!({"table": "article", "columns": ["id", {"name": "author", "columns": ["secret"]}]}), "$.args.columns[1].columns[0]"),
        (json!({"table": "author", "columns": ["id"], "where": {"name": {"$ceq": "secret"}}}), "$.args.where.name.$ceq"),
        (json!({"table": "article", "columns": ["id"], "where": {"author": {"name": {"_ceq": ["$", "published"]}}}}), "$.args.where.author.name._ceq"),
    ] {
        let (code, p, message) = error("user", json!({"type": "select", "args": request}));
        let expected_message = if request.to_string().contains("published") {
            "role \"user\" does not have permission to select column \"published\"".to_string()
        } else {
            denied.1.clone()
        };
        assert_eq!((code, message), (denied.0.clone(), expected_message), "{request}");
        assert_eq!(p, path, "{request}");
    }
    // The same column exists for the admin; a missing one is a missing column to the admin.
    assert!(sql("admin", json!({"type": "select", "args": {"table": "author", "columns": ["secret"], "where": {"secret": "s"}}})).contains("secret"));
    let (code, _, _) = error("user", json!({"type": "select", "args": {"table": "author", "columns": ["id"], "where": {"name": {"$ceq": "age"}}}}));
    assert_eq!(code, "not-supported");
    let (_, _, m) = error("admin", json!({"type": "select", "args": {"table": "author", "columns": ["nope"]}}));
    assert_eq!(m, "no such column exists : \"nope\"");
}

#[test]
fn permissions_missing_on_the_table_are_hasuras_messages() {
    let (code, _, m) = error("nobody", json!({"type": "select", "args": {"table": "author", "columns": ["id"]}}));
    assert_eq!((code.as_str(), m.as_str()), ("permission-denied", "select on \"author\" for role \"nobody\" is not allowed. "));
    let (_, _, m) = error("user", json!({"type": "delete", "args": {"table": "article", "where": {}}}));
    assert_eq!(m, "delete on \"article\" for role \"user\" is not allowed. ");
    let (_, _, m) = error("user", json!({"type": "count", "args": {"table": "nope"}}));
    assert_eq!(m, "table \"nope\" does not exist");
    let (_, _, m) = error("user", json!({"type": "insert", "args": {"table": "author", "objects": [{"id": 1}]}}));
    assert_eq!(m, "insert on \"author\" for role \"user\" is not allowed. ");
}

#[test]
fn the_role_filter_applies_to_selects_counts_and_relationships() {
    let s = sql("user", json!({"type": "select", "args": {"table": "author", "columns": ["id", {"name": "articles", "columns": ["id"], "where": {"title": {"$ilike": "%x%"}}, "limit": 3}]}}));
    assert!(s.matches("current_setting").count() + s.matches("$1").count() > 0, "{s}");
    let schema = schema_for("user");
    let p = plan(&schema, &session("user"), &json!({"type": "count", "args": {"table": "author", "where": {"age": {"$gt": 1}}}})).unwrap();
    // The role may not aggregate: rows are counted, still through its filter.
    assert_eq!(p.reply, Reply::CountRows);
    let admin = plan(&schema_for("admin"), &Session::admin(), &json!({"type": "count", "args": {"table": "author"}})).unwrap();
    assert_eq!(admin.reply, Reply::AggregateCount);
    let distinct = plan(&schema_for("admin"), &Session::admin(), &json!({"type": "count", "args": {"table": "author", "distinct": ["name"]}})).unwrap();
    assert_eq!(distinct.reply, Reply::CountRows);
    assert_eq!(distinct.variables["distinct"], json!(["name"]));
    assert_eq!(reply(&Reply::CountRows, &json!({"r": [{}, {}, {}]})), json!({"count": 3}));
    assert_eq!(reply(&Reply::AggregateCount, &json!({"r": {"aggregate": {"count": 7}}})), json!({"count": 7}));
}

#[test]
fn inserts_check_columns_presets_returning_and_upserts() {
    let s = sql("user", json!({"type": "insert", "args": {"table": "article", "objects": [{"id": 1, "title": "t"}], "returning": ["id", "title"]}}));
    assert!(s.contains("INSERT INTO"), "{s}");
    // author_id is preset for the role: it cannot be given.
    let (_, p, m) = error("user", json!({"type": "insert", "args": {"table": "article", "objects": [{"id": 1, "author_id": 2}]}}));
    assert_eq!((p.as_str(), m.as_str()), ("$.args.objects[0].author_id", "role \"user\" does not have permission to insert column \"author_id\""));
    let (_, _, m) = error("user", json!({"type": "insert", "args": {"table": "article", "objects": []}}));
    assert_eq!(m, "objects should not be empty");
    let (_, _, m) = error("writer", json!({"type": "insert", "args": {"table": "article", "objects": [{"id": 1}], "returning": ["author_id"]}}));
    assert_eq!(m, "role \"writer\" does not have permission to select column \"author_id\"");
    let (_, _, m) = error("admin", json!({"type": "insert", "args": {"table": "author", "objects": [{"id": 1, "articles": []}]}}));
    assert_eq!(m, "expecting a postgres column; but, \"articles\" is a relationship; relationships can't be inserted");
    // Upserts: the role needs an update permission; the admin may name the columns.
    let (_, _, m) = error("writer", json!({"type": "insert", "args": {"table": "article", "objects": [{"id": 1}], "on_conflict": {"constraint": "article_pkey", "action": "ignore"}}}));
    assert_eq!(m, "upsert is not allowed for role \"writer\"");
    let s = sql("admin", json!({"type": "insert", "args": {"table": "author", "objects": [{"id": 1, "name": "n"}], "on_conflict": {"constraint_on": "id", "action": "update"}}}));
    assert!(s.contains("ON CONFLICT ON CONSTRAINT \"author_pkey\" DO UPDATE SET \"id\" = EXCLUDED.\"id\", \"name\" = EXCLUDED.\"name\""), "{s}");
    let s = sql("admin", json!({"type": "insert", "args": {"table": "author", "objects": [{"id": 1}], "on_conflict": {"action": "ignore"}}}));
    assert!(s.contains("ON CONFLICT DO NOTHING"), "{s}");
    let (_, _, m) = error("admin", json!({"type": "insert", "args": {"table": "author", "objects": [{"id": 1}], "on_conflict": {"action": "update"}}}));
    assert_eq!(m, "Expecting 'constraint' or 'constraint_on' when the 'action' is 'update'");
    let (_, _, m) = error("user", json!({"type": "insert", "args": {"table": "article", "objects": [{"id": 1}], "on_conflict": {"constraint_on": "id", "action": "ignore"}}}));
    assert_eq!(m, "\"constraint_on\" not supported for non admin insert. use \"constraint\" instead");
}

#[test]
fn updates_take_set_inc_mul_and_default_within_the_role_columns() {
    let s = sql("user", json!({"type": "update", "args": {"table": "article", "where": {"id": 1}, "$set": {"title": "x"}, "$mul": {"views": 2}, "$default": []}}));
    assert!(s.contains("\"title\" = ") && s.contains("\"views\" = ") && s.contains(" * "), "{s}");
    let s = sql("admin", json!({"type": "update", "args": {"table": "author", "where": {}, "$inc": {"age": 1}, "$default": ["name"]}}));
    assert!(s.contains("\"name\" = DEFAULT") && s.contains(" + "), "{s}");
    let (_, p, m) = error("user", json!({"type": "update", "args": {"table": "article", "where": {}, "$default": ["author_id"]}}));
    assert_eq!((p.as_str(), m.as_str()), ("$.args.$default[0]", "role \"user\" does not have permission to update column \"author_id\""));
    let (_, _, m) = error("admin", json!({"type": "update", "args": {"table": "author", "where": {}, "$mul": {"name": 2}}}));
    assert!(m.contains("numeric"), "{m}");
    let (_, _, m) = error("admin", json!({"type": "update", "args": {"table": "author", "where": {}}}));
    assert_eq!(m, "atleast one of $set, $inc, $mul has to be present");
    let (_, _, m) = error("admin", json!({"type": "update", "args": {"table": "author", "$set": {"name": "x"}}}));
    assert_eq!(m, "key \"where\" not found");
    // The role's update filter holds, and its hidden columns stay out of `where`.
    let (_, _, m) = error("user", json!({"type": "update", "args": {"table": "article", "where": {"published": true}, "$set": {"title": "x"}}}));
    assert_eq!(m, "role \"user\" does not have permission to select column \"published\"");
}

#[test]
fn graphql_errors_point_at_the_request_arguments() {
    // (A string for an Int column is Postgres's to read, as in Hasura: not a validation error.)
    let (code, path, _) = error("admin", json!({"type": "select", "args": {"table": "author", "columns": ["id"], "where": {"age": {"$gt": {"a": 1}}}}}));
    assert_eq!((code.as_str(), path.as_str()), ("validation-failed", "$.args.where.age._gt"));
    let (_, path, _) = error("admin", json!({"type": "update", "args": {"table": "author", "where": {}, "$set": {"age": [1]}}}));
    assert_eq!(path, "$.args.$set.age");
    let (_, path, m) = error("admin", json!({"type": "select", "args": {"table": "author", "columns": ["id"], "where": {"age": {"$nope": 1}}}}));
    assert_eq!(path, "$.args.where.age._nope", "{m}");
}

#[test]
fn deep_requests_are_errors_not_crashes() {
    // 2,000 levels of $not (graphql.dml's JSON bound is 2,048) and of nested relationships.
    // Built without json!'s interpolation, which serializes (recursively) what it embeds.
    let mut w = json!({"id": {"$eq": 1}});
    for _ in 0..2_000 {
        w = Value::Object(serde_json::Map::from_iter([("$not".to_string(), w)]));
    }
    let schema = schema_for("admin");
    // A test thread's 2 MiB stack, as the compiler's default budget assumes.
    let r = std::thread::Builder::new()
        .spawn(move || {
            let mut request = json!({"type": "select", "args": {"table": "author", "columns": ["id"]}});
            request["args"]["where"] = w;
            plan(&schema, &Session::admin(), &request).and_then(|p| {
                compile_dml(&schema, &p, &Session::admin(), &Limits::default())
                    .map(|_| ())
                    .map_err(|g| super::error_from_graphql(g.code, &g.path, &g.message))
            })
        })
        .unwrap()
        .join()
        .unwrap();
    // The stack bound (or Hasura's variable depth bound) answers it.
    let e = r.unwrap_err();
    assert_eq!(e.code, "validation-failed", "{e:?}");
}
