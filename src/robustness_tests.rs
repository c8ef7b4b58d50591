//! In-database tests (`cargo pgrx test pg15`) of issue 12's promise: `graphql.resolve` answers
//! every request error as JSON and never aborts the caller's transaction, whatever user code,
//! grants or input do. Each test ends by running a statement in the same transaction: if
//! `resolve` had raised, the test would have failed there (or before).

use pgrx::prelude::*;

#[pg_schema]
mod tests {
    use pgrx::prelude::*;
    use pgrx::Json;
    use serde_json::{json, Value};

    fn run(sql: &str) {
        Spi::run(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    fn meta(request: Value) -> Value {
        Spi::get_one_with_args::<Json>("SELECT graphql.metadata($1::json)", &[request.to_string().into()])
            .expect("metadata")
            .expect("NULL")
            .0
    }

    fn resolve(query: &str, variables: Option<&str>, session: Option<Value>) -> Value {
        Spi::get_one_with_args::<Json>(
            "SELECT graphql.resolve($1, $2::json, $3::json)",
            &[query.into(), variables.map(str::to_string).into(), session.map(|s| s.to_string()).into()],
        )
        .unwrap_or_else(|e| panic!("{query}: {e}"))
        .expect("NULL")
        .0
    }

    fn still_usable() {
        assert_eq!(Spi::get_one::<i32>("SELECT 41 + 1").unwrap(), Some(42), "the transaction is still usable");
    }

    fn code(v: &Value) -> &str {
        v["errors"][0]["extensions"]["code"].as_str().unwrap_or_else(|| panic!("no error: {v}"))
    }

    fn fixture(schema: &str) {
        run(&format!(
            "CREATE SCHEMA {schema}; CREATE TABLE {schema}.t (id int PRIMARY KEY, n int); \
             INSERT INTO {schema}.t VALUES (1, 1), (2, 0); \
             CREATE FUNCTION {schema}.boom(r {schema}.t) RETURNS int LANGUAGE plpgsql STABLE AS \
               $f$ BEGIN RAISE EXCEPTION 'boom on %', r.id; END $f$; \
             CREATE FUNCTION {schema}.inv(r {schema}.t) RETURNS int LANGUAGE sql STABLE AS $f$ SELECT 10 / r.n $f$; \
             CREATE FUNCTION {schema}.all_boom() RETURNS SETOF {schema}.t LANGUAGE plpgsql STABLE AS \
               $f$ BEGIN RAISE EXCEPTION 'set boom'; END $f$"
        ));
        meta(json!({"type": "pg_track_table", "args": {"table": {"schema": schema, "name": "t"}}}));
        for f in ["boom", "inv"] {
            let r = meta(json!({"type": "pg_add_computed_field", "args": {"table": {"schema": schema, "name": "t"},
                "name": f, "definition": {"function": {"schema": schema, "name": f}}}}));
            assert_eq!(r, json!({"message": "success"}), "{r}");
        }
        let r = meta(json!({"type": "pg_track_function", "args": {"function": {"schema": schema, "name": "all_boom"}}}));
        assert_eq!(r, json!({"message": "success"}), "{r}");
    }

    #[pg_test]
    fn test_user_code_that_raises_is_a_graphql_error() {
        fixture("rb1");
        let r = resolve("{ rb1_t { id boom } }", None, None);
        assert_eq!(code(&r), "unexpected", "{r}");
        assert_eq!(r["errors"][0]["message"], "database query error", "{r}");
        assert_eq!(r["errors"][0]["extensions"]["internal"]["error"]["message"], "boom on 1", "admin sees why: {r}");
        still_usable();
        let r = resolve("{ rb1_t(order_by: {id: asc}) { id inv } }", None, None);
        assert_eq!(code(&r), "data-exception", "division by zero: {r}");
        still_usable();
        let r = resolve("{ rb1_all_boom { id } }", None, None);
        assert_eq!(code(&r), "unexpected", "{r}");
        still_usable();
        // A role sees Hasura's message only, never the database's.
        meta(json!({"type": "pg_create_select_permission", "args": {"table": {"schema": "rb1", "name": "t"}, "role": "user",
            "permission": {"columns": ["id"], "filter": {}, "computed_fields": ["boom"]}}}));
        let r = resolve("{ rb1_t { id boom } }", None, Some(json!({"x-hasura-role": "user"})));
        assert_eq!(code(&r), "unexpected", "{r}");
        assert!(r["errors"][0]["extensions"].get("internal").is_none(), "no internal for a role: {r}");
        assert!(!r.to_string().contains("boom on"), "{r}");
        still_usable();
    }

    #[pg_test]
    fn test_a_missing_grant_is_a_graphql_error() {
        fixture("rb2");
        run("CREATE ROLE graft_rb2; GRANT USAGE ON SCHEMA rb2 TO graft_rb2; \
             GRANT EXECUTE ON FUNCTION graphql.resolve(text, json, json, text) TO graft_rb2");
        run("SET LOCAL ROLE graft_rb2");
        let r = resolve("{ rb2_t { id } }", None, None);
        run("RESET ROLE");
        assert_eq!(code(&r), "unexpected", "permission denied for table t: {r}");
        still_usable();
        // Granted one column only: the other is refused, the granted one works.
        run("GRANT SELECT (id) ON rb2.t TO graft_rb2; SET LOCAL ROLE graft_rb2");
        let denied = resolve("{ rb2_t { id n } }", None, None);
        let allowed = resolve("{ rb2_t(order_by: {id: asc}) { id } }", None, None);
        run("RESET ROLE");
        assert_eq!(code(&denied), "unexpected", "{denied}");
        assert_eq!(allowed, json!({"data": {"rb2_t": [{"id": 1}, {"id": 2}]}}));
        still_usable();
    }

    #[pg_test]
    fn test_odd_json_arguments_are_answered() {
        fixture("rb3");
        let deep = |n: usize| format!("{{\"w\": {}{{}}{}}}", "{\"_not\": ".repeat(n), "}".repeat(n));
        let q = "query ($w: rb3_t_bool_exp) { rb3_t(where: $w) { id } }";
        // Hasura accepts a deep _not; beyond the bound it is a clean error.
        for (n, ok) in [(200, true), (1000, true), (5000, false)] {
            let r = resolve(q, Some(&deep(n)), None);
            if ok {
                assert!(r.get("data").is_some() || r["errors"][0]["extensions"]["code"] != "unexpected", "{n}: {r}");
            } else {
                assert_eq!(code(&r), "invalid-json", "{n}: {r}");
            }
            still_usable();
        }
        for vars in [r#"{"n": 1e400}"#, r#"{"s": "\ud800"}"#] {
            let r = resolve("query ($n: Int) { rb3_t(where: {id: {_eq: $n}}) { id } }", Some(vars), None);
            assert!(r.get("errors").is_some(), "{vars}: {r}");
            still_usable();
        }
        let r = meta_text(&format!("{{\"type\": \"bulk\", \"args\": {}[]{}}}", "[".repeat(5000), "]".repeat(5000)));
        assert_eq!(r["code"], "invalid-json", "{r}");
        still_usable();
    }

    fn meta_text(request: &str) -> Value {
        Spi::get_one_with_args::<Json>("SELECT graphql.metadata($1::json)", &[request.into()])
            .expect("metadata")
            .expect("NULL")
            .0
    }
}
