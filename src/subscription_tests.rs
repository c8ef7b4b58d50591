//! `graphql.subscription_poll` and `graphql.subscription_reads` in the database. The oracle
//! is `graphql.resolve`: every cohort's row must be what it answers for that cohort, byte for
//! byte. Each test uses its own schema, in a transaction that is rolled back.

use pgrx::prelude::*;

#[pg_schema]
mod tests {
    use pgrx::prelude::*;
    use serde_json::{json, Value};

    use crate::subscription_api::{memo_len, stats};

    fn run(sql: &str) {
        Spi::run(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// A blog in schema `name`, tracked, with permissions for roles `user` (own articles) and
    /// `reader` (authors only); `risky` is a computed field that divides by `rating - 3`.
    fn setup(name: &str) {
        run(&format!(
            "CREATE SCHEMA {name};
             CREATE TABLE {name}.author (id int PRIMARY KEY, name text NOT NULL);
             CREATE TABLE {name}.article (id int PRIMARY KEY, title text NOT NULL, rating int NOT NULL,
                 published_at timestamptz, author_id int NOT NULL REFERENCES {name}.author);
             INSERT INTO {name}.author SELECT i, 'author ' || i FROM generate_series(1, 6) i;
             INSERT INTO {name}.article SELECT i, 'title ' || i, 1 + i % 5 + (i % 2) * 5, '2024-01-01'::timestamptz + i * interval '1 day', 1 + i % 5
               FROM generate_series(1, 30) i;
             CREATE FUNCTION {name}.article_risky(a {name}.article) RETURNS int LANGUAGE sql STABLE AS $$ SELECT 100 / (a.rating - 3) $$;
             CREATE VIEW {name}.good_article AS SELECT * FROM {name}.article WHERE rating > 5;
             SELECT graphql.track_all('{name}');"
        ));
        let md = json!({"type": "bulk", "args": [
            {"type": "pg_add_computed_field", "args": {"table": {"schema": name, "name": "article"}, "name": "risky",
                "definition": {"function": {"schema": name, "name": "article_risky"}}}},
            {"type": "pg_create_select_permission", "args": {"table": {"schema": name, "name": "article"}, "role": "user",
                "permission": {"columns": ["id", "title", "rating", "author_id"], "filter": {"author_id": {"_eq": "X-Hasura-User-Id"}}}}},
            {"type": "pg_create_select_permission", "args": {"table": {"schema": name, "name": "author"}, "role": "user",
                "permission": {"columns": ["id", "name"], "filter": {}}}},
            {"type": "pg_create_select_permission", "args": {"table": {"schema": name, "name": "author"}, "role": "reader",
                "permission": {"columns": ["id", "name"], "filter": {}}}}
        ]});
        let r = Spi::get_one_with_args::<pgrx::Json>("SELECT graphql.metadata($1::json)", &[md.to_string().into()]).unwrap().unwrap().0;
        assert!(r.get("error").is_none(), "{r}");
    }

    fn resolve(query: &str, variables: &Value, session: &Value, operation_name: Option<&str>) -> String {
        let text = |v: &Value| (!v.is_null()).then(|| v.to_string());
        Spi::get_one_with_args::<String>(
            "SELECT graphql.resolve($1, $2::json, $3::json, $4)::text",
            &[query.into(), text(variables).into(), text(session).into(), operation_name.into()],
        )
        .unwrap()
        .expect("resolve answered NULL")
    }

    fn poll(query: &str, cohorts: &Value, operation_name: Option<&str>, batch_size: i32) -> Vec<(i64, String, Option<String>)> {
        Spi::connect(|client| {
            let rows = client.select(
                "SELECT cohort_id, result::text, cursor::text FROM graphql.subscription_poll($1, $2::json, $3, $4)",
                None,
                &[query.into(), cohorts.to_string().into(), operation_name.into(), batch_size.into()],
            )?;
            let mut out = vec![];
            for row in rows {
                out.push((row.get::<i64>(1)?.unwrap(), row.get::<String>(2)?.unwrap(), row.get::<String>(3)?));
            }
            Ok::<_, pgrx::spi::Error>(out)
        })
        .unwrap()
    }

    /// Poll `cohorts` and check every row against `graphql.resolve` for its cohort.
    fn check_against_resolve(query: &str, cohorts: &Value, operation_name: Option<&str>, batch_size: i32) -> Vec<String> {
        let rows = poll(query, cohorts, operation_name, batch_size);
        let cohorts = cohorts.as_array().unwrap();
        assert_eq!(rows.len(), cohorts.len());
        let mut results = vec![];
        for ((id, result, cursor), c) in rows.into_iter().zip(cohorts) {
            assert_eq!(Some(id), c["id"].as_i64());
            assert_eq!(cursor, None);
            let expected = resolve(query, &c["variables"], &c["session"], operation_name);
            assert_eq!(result, expected, "{query} for cohort {c}");
            results.push(result);
        }
        results
    }

    /// A small deterministic generator (no dependency, same cases on every run).
    struct Lcg(u64);
    impl Lcg {
        fn below(&mut self, n: u64) -> u64 {
            self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (self.0 >> 33) % n
        }
    }

    fn session(rng: &mut Lcg) -> Value {
        match rng.below(6) {
            0 => Value::Null,
            1 => json!({"x-hasura-role": "admin"}),
            2 => json!({"x-hasura-role": "reader"}),
            3 => json!({"x-hasura-role": "nobody", "x-hasura-user-id": "1"}),
            _ => json!({"x-hasura-role": "user", "x-hasura-user-id": (1 + rng.below(4)).to_string()}),
        }
    }

    #[pg_test]
    fn test_poll_answers_what_resolve_answers() {
        setup("sp1");
        let queries: Vec<(&str, Box<dyn Fn(&mut Lcg) -> Value>)> = vec![
            ("subscription ($min: Int!) { sp1_article(where: {rating: {_gte: $min}}, order_by: {id: asc}) { id title } }",
             Box::new(|r: &mut Lcg| match r.below(8) {
                 0 => json!({"min": "x"}),
                 1 => json!({}),
                 2 => Value::Null,
                 n => json!({"min": n}),
             })),
            // A timestamptz value is checked by PostgreSQL: the statement is guarded, and an
            // invalid value fails its batch.
            ("subscription ($t: timestamptz) { sp1_article(where: {published_at: {_lt: $t}}, order_by: {id: asc}) { id } }",
             Box::new(|r: &mut Lcg| match r.below(6) {
                 0 => json!({"t": "not a date"}),
                 1 => json!({"t": null}),
                 n => json!({"t": format!("2024-01-{:02}", 1 + n * 3)}),
             })),
            // A limit is SQL text: no template, a statement per value.
            ("subscription ($l: Int) { sp1_article(limit: $l, order_by: {id: asc}) { id author { name } } }",
             Box::new(|r: &mut Lcg| json!({"l": r.below(4)}))),
            ("subscription S($a: Int!) { sp1_author_by_pk(id: $a) { name } } query Q { sp1_author { id } }",
             Box::new(|r: &mut Lcg| json!({"a": r.below(8)}))),
            ("subscription { sp1_author_aggregate { aggregate { count } } __typename }", Box::new(|_: &mut Lcg| Value::Null)),
            ("subscription { __typename }", Box::new(|_: &mut Lcg| Value::Null)),
            ("subscription { nope }", Box::new(|_: &mut Lcg| Value::Null)),
            ("query { sp1_author { id } }", Box::new(|_: &mut Lcg| Value::Null)),
            ("mutation { delete_sp1_article(where: {}) { affected_rows } }", Box::new(|_: &mut Lcg| Value::Null)),
            ("subscription {", Box::new(|_: &mut Lcg| Value::Null)),
        ];
        let mut rng = Lcg(7);
        for (qi, (query, vars)) in queries.iter().enumerate() {
            let op = (qi == 3).then_some("S");
            let cohorts: Vec<Value> = (0..40)
                .map(|i| json!({"id": 1000 * qi as i64 + i, "variables": vars(&mut rng), "session": session(&mut rng)}))
                .collect();
            let cohorts = Value::Array(cohorts);
            if query.starts_with("query") || query.starts_with("mutation") {
                // Refused (resolve would run them): each cohort's row says so, once its request
                // compiled (an admin's does; other roles do not have these fields).
                for ((_, r, _), c) in poll(query, &cohorts, op, 100).iter().zip(cohorts.as_array().unwrap()) {
                    let v: Value = serde_json::from_str(r).unwrap();
                    assert_eq!(v["errors"][0]["extensions"]["code"], json!("validation-failed"), "{r}");
                    let refused = r.contains("only subscription operations can be polled");
                    if query.starts_with("query") {
                        // Resolve only reads: its error is the row, or its data means refused.
                        let expected = resolve(query, &c["variables"], &c["session"], op);
                        assert!(refused == expected.starts_with("{\"data\"") && (refused || *r == expected), "{r} for {c}");
                    } else {
                        let admin = c["session"].is_null() || c["session"]["x-hasura-role"] == "admin";
                        assert_eq!(refused, admin, "{r} for {c}");
                    }
                }
                continue;
            }
            for batch_size in [100, 3] {
                check_against_resolve(query, &cohorts, op, batch_size);
            }
            // A repeated poll comes from the memo: nothing is compiled again.
            let (compiles, _, _) = stats();
            let first = check_against_resolve(query, &cohorts, op, 100);
            assert_eq!(stats().0, compiles, "{query}: a repeated poll compiled again");
            assert_eq!(first.len(), 40);
        }
        // The mutation was refused, not run.
        assert_eq!(Spi::get_one::<i64>("SELECT count(*) FROM sp1.article").unwrap(), Some(30));
        // The cursor of a streaming cohort is ignored by a live query.
        let c = json!([{"id": 5, "variables": {"min": 1}, "cursor": {"id": 3}}]);
        check_against_resolve(queries[0].0, &c, None, 100);
        // No cohorts, no rows; NULL cohorts, no rows.
        assert!(poll(queries[0].0, &json!([]), None, 100).is_empty());
        assert_eq!(Spi::get_one::<i64>("SELECT count(*) FROM graphql.subscription_poll('subscription { __typename }', NULL)").unwrap(), Some(0));
    }

    /// One statement per chunk of distinct cohorts: equal cohorts are computed once.
    #[pg_test]
    fn test_poll_runs_one_statement_per_chunk() {
        setup("sp2");
        let q = "subscription ($min: Int!) { sp2_article(where: {rating: {_gte: $min}}, order_by: {id: asc}) { id } }";
        // 250 cohorts, 25 distinct (5 users x 5 values), one role: one statement.
        let cohorts: Vec<Value> = (0..250)
            .map(|i| json!({"id": i, "variables": {"min": i % 5}, "session": {"x-hasura-role": "user", "x-hasura-user-id": ((i / 5) % 5).to_string()}}))
            .collect();
        let cohorts = Value::Array(cohorts);
        let (c0, b0, s0) = stats();
        check_against_resolve(q, &cohorts, None, 10);
        let (c1, b1, s1) = stats();
        assert_eq!(c1 - c0, 25, "one compile per distinct (variables, session)");
        assert_eq!(b1 - b0, 3, "25 distinct cohorts in chunks of 10");
        assert_eq!(s1 - s0, 0);
        assert_eq!(memo_len(), 25 + 1, "25 cohorts, 1 statement");
        let plans = crate::execute::cached_plan_count();
        check_against_resolve(q, &cohorts, None, 100);
        let (c2, b2, _) = stats();
        assert_eq!(c2, c1, "the memo answered");
        assert_eq!(b2 - b1, 1, "one chunk of 25");
        assert!(crate::execute::cached_plan_count() <= plans + 1, "one more kept plan at most (the chunk of 25 is the same statement)");
        // Sessions the statement does not read do not split cohorts: admins with different
        // user ids share one.
        let admins: Vec<Value> = (0..30).map(|i| json!({"id": i, "variables": {"min": 2}, "session": {"x-hasura-role": "admin", "x-hasura-user-id": i.to_string()}})).collect();
        let (_, b3, _) = stats();
        check_against_resolve(q, &Value::Array(admins), None, 10);
        assert_eq!(stats().1 - b3, 1, "one distinct cohort, one statement");
    }

    /// A batch that fails (a computed field dividing by zero on one cohort's rows) is retried
    /// cohort by cohort; the failing cohort then runs alone, and the others in one batch.
    #[pg_test]
    fn test_a_failing_batch_falls_back_to_single_cohorts() {
        setup("sp3");
        let q = "subscription ($a: Int!) { sp3_article(where: {author_id: {_eq: $a}}, order_by: {id: asc}) { id risky } }";
        // Author 3's articles have rating 3 (i % 5 = 2, i even): division by zero.
        let ratings = Spi::get_one::<i64>("SELECT count(*) FROM sp3.article WHERE author_id = 3 AND rating = 3").unwrap();
        assert!(ratings.unwrap() > 0, "the fixture must have a failing author");
        let cohorts = Value::Array((1..=6).map(|a| json!({"id": a, "variables": {"a": a}})).collect());
        let (_, b0, s0) = stats();
        let results = check_against_resolve(q, &cohorts, None, 100);
        let (_, b1, s1) = stats();
        assert_eq!((b1 - b0, s1 - s0), (1, 6), "the batch failed, then each cohort alone");
        for (a, r) in (1..=6).zip(&results) {
            let v: Value = serde_json::from_str(r).unwrap();
            assert_eq!(v.get("errors").is_some(), a == 3, "author {a}: {v}");
        }
        // Next poll: the failing cohort alone, the others in one batch.
        check_against_resolve(q, &cohorts, None, 100);
        let (_, b2, s2) = stats();
        assert_eq!((b2 - b1, s2 - s1), (1, 1));
        // Once its data is fixed it rejoins the batch on the poll after.
        run("UPDATE sp3.article SET rating = 4 WHERE rating = 3");
        check_against_resolve(q, &cohorts, None, 100);
        check_against_resolve(q, &cohorts, None, 100);
        let (_, b3, s3) = stats();
        assert_eq!((b3 - b2, s3 - s2), (2, 1));
    }

    /// A caller without a privilege on a table the statement reads: the statement runs
    /// guarded, and each cohort's row is resolve's permission error.
    #[pg_test]
    fn test_poll_without_table_privilege() {
        setup("sp4");
        run("CREATE ROLE sp4_app; GRANT USAGE ON SCHEMA sp4, graphql TO sp4_app; GRANT SELECT ON sp4.author TO sp4_app;
             GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA graphql TO sp4_app; SET LOCAL ROLE sp4_app");
        let q = "subscription ($a: Int!) { sp4_article(where: {author_id: {_eq: $a}}) { id } sp4_author_by_pk(id: $a) { name } }";
        let cohorts = Value::Array((1..=4).map(|a| json!({"id": a, "variables": {"a": a}})).collect());
        let results = check_against_resolve(q, &cohorts, None, 100);
        assert!(results.iter().all(|r| r.starts_with("{\"errors\"")), "{results:?}");
        let q = "subscription ($a: Int!) { sp4_author_by_pk(id: $a) { name } }";
        let results = check_against_resolve(q, &cohorts, None, 2);
        assert!(results.iter().all(|r| r.starts_with("{\"data\"")), "{results:?}");
        run("RESET ROLE");
    }

    #[pg_test(error = "graphql.subscription_poll: cohorts must be a JSON array of {\"id\", \"variables\", \"session\", \"cursor\"} objects")]
    fn test_poll_refuses_cohorts_that_are_not_an_array() {
        run(r#"SELECT * FROM graphql.subscription_poll('subscription { __typename }', '{"id": 1}')"#);
    }

    #[pg_test(error = "graphql.subscription_poll: cohorts[1].id must be an integer (int8)")]
    fn test_poll_refuses_a_cohort_without_id() {
        run(r#"SELECT * FROM graphql.subscription_poll('subscription { __typename }', '[{"id": 1}, {"variables": {}}]')"#);
    }

    #[pg_test(error = "batch_size must be between 1 and 10000, not 0")]
    fn test_poll_refuses_a_zero_batch_size() {
        run(r#"SELECT * FROM graphql.subscription_poll('subscription { __typename }', '[]', NULL, 0)"#);
    }

    fn reads(query: &str, variables: Value, session: Value) -> Value {
        let text = |v: &Value| (!v.is_null()).then(|| v.to_string());
        Spi::get_one_with_args::<pgrx::Json>(
            "SELECT graphql.subscription_reads($1, $2::json, $3::json)",
            &[query.into(), text(&variables).into(), text(&session).into()],
        )
        .unwrap()
        .unwrap()
        .0
    }

    fn oids(sql: &str) -> Vec<i64> {
        Spi::get_one::<Vec<i64>>(&format!("SELECT array_agg(oid::int8 ORDER BY oid) FROM pg_class WHERE {sql}")).unwrap().unwrap()
    }

    #[pg_test]
    fn test_subscription_reads() {
        setup("sr");
        run("CREATE TABLE sr.event (id int, at date NOT NULL) PARTITION BY RANGE (at);
             CREATE TABLE sr.event_2024 PARTITION OF sr.event FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
             CREATE TABLE sr.event_2025 PARTITION OF sr.event FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
             SELECT graphql.track_table('sr.event')");
        let store = oids("oid = 'graphql.metadata_store'::regclass")[0];
        let with_store = |mut v: Vec<i64>| {
            v.push(store);
            v.sort();
            v
        };
        let r = reads("subscription ($a: Int!) { sr_article(where: {author_id: {_eq: $a}}) { id author { name } } }", json!({"a": 1}), Value::Null);
        assert_eq!(r, json!({"tables": with_store(oids("oid IN ('sr.article'::regclass, 'sr.author'::regclass)")), "unknown": false, "opaque": []}));
        // A view: PostgreSQL's rewriter shows what it reads.
        let r = reads("subscription { sr_good_article { id } }", Value::Null, Value::Null);
        assert_eq!(r, json!({"tables": with_store(oids("oid IN ('sr.article'::regclass, 'sr.good_article'::regclass)")), "unknown": false, "opaque": []}));
        // A function's body is not: the result may change with any table.
        let r = reads("subscription { sr_article { risky } }", Value::Null, Value::Null);
        assert_eq!(r["unknown"], json!(true), "{r}");
        assert_eq!(r["opaque"], json!(["sr.article_risky"]), "{r}");
        // A partitioned table: its own version changes with every partition's.
        let r = reads("subscription { sr_event { id } }", Value::Null, Value::Null);
        assert_eq!(r["tables"], json!(with_store(oids("oid = 'sr.event'::regclass"))), "{r}");
        // A partition read on its own (partitions are not tracked, but a view may read one):
        // its ancestors too.
        run("CREATE VIEW sr.event_this_year AS SELECT * FROM sr.event_2024; SELECT graphql.track_table('sr.event_this_year')");
        let r = reads("subscription { sr_event_this_year { id } }", Value::Null, Value::Null);
        assert_eq!(r["tables"], json!(with_store(oids("relnamespace = 'sr'::regnamespace AND relname IN ('event', 'event_2024', 'event_this_year')"))), "{r}");
        // Introspection reads nothing but the metadata.
        assert_eq!(reads("subscription { __typename }", Value::Null, Value::Null), json!({"tables": [store], "unknown": false, "opaque": []}));
        // Request errors are the response, as resolve answers them.
        let q = "subscription { sr_article { id } }";
        let s = json!({"x-hasura-role": "reader"});
        assert_eq!(reads(q, Value::Null, s.clone()).to_string(), serde_json::from_str::<Value>(&resolve(q, &Value::Null, &s, None)).unwrap().to_string());
        assert!(reads("query { sr_article { id } }", Value::Null, Value::Null)["errors"].is_array());
        // A role's permission filter reads through the tables it names.
        let r = reads("subscription { sr_article { id } }", Value::Null, json!({"x-hasura-role": "user", "x-hasura-user-id": "1"}));
        assert_eq!(r["tables"], json!(with_store(oids("oid = 'sr.article'::regclass"))), "{r}");
    }
}
