//! Streaming subscriptions in the database (`cargo pgrx test pg15 stream`): the compiler's
//! multiplexed stream statement, run batch after batch with each cohort's cursor moved to the
//! next cursor the batch returned, as a poller does. Checked: every row is delivered exactly
//! once and in order (batch sizes 1, 2 and 7, ascending and descending, rows inserted between
//! polls), a non-unique cursor column's ties are never split across batches (Hasura's
//! `FETCH FIRST n ROWS WITH TIES`), and a role's filter keeps another user's rows out while
//! the users' cohorts share one statement.

use pgrx::prelude::*;

#[pg_schema]
mod tests {
    use graft_compiler::request::{template, Compiled, Limits};
    use graft_compiler::subscription::{plan, Cohort, Multiplexed};
    use pgrx::datum::DatumWithOid;
    use pgrx::prelude::*;
    use pgrx::Json;
    use serde_json::{json, Value};

    use crate::{api, cache};

    fn run(sql: &str) {
        Spi::run(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// `st.ev(id int primary key, n int, owner int)`, tracked, with ids `ids`, `n = id / 3`
    /// (three rows per value), owners alternating 1 and 2; role `user` sees its own rows.
    fn fixture(ids: impl Iterator<Item = i32>) {
        run("CREATE SCHEMA st");
        run("CREATE TABLE st.ev (id int PRIMARY KEY, n int, owner int NOT NULL, label text)");
        insert(ids);
        run("SELECT graphql.track_table('st.ev')");
        run(r#"SELECT graphql.create_select_permission('st.ev', 'user',
               '{"columns": ["id", "n", "label"], "filter": {"owner": {"_eq": "X-Hasura-User-Id"}}}')"#);
    }

    fn insert(ids: impl Iterator<Item = i32>) {
        let values: Vec<String> = ids.map(|i| format!("({i}, {}, {}, 'e{i}')", i.div_euclid(3), 1 + i.rem_euclid(2))).collect();
        if !values.is_empty() {
            run(&format!("INSERT INTO st.ev VALUES {}", values.join(", ")));
        }
    }

    /// A subscriber: the multiplexed statement of its query and its cohort in it.
    fn subscribe(query: &str, session: Value) -> (Multiplexed, Cohort) {
        let (session, backend_only) = api::request_session(Some(&session)).unwrap();
        let schema = cache::schema_for(&session.role, backend_only).unwrap();
        let (c, _, t) = template::compile(&schema, query, None, None, &session, &Limits::default()).unwrap();
        let m = plan(&c, t.as_ref()).unwrap();
        let Compiled::Sql(own) = &c else { panic!("a stream compiles to SQL") };
        let cohort = m.cohort(own).expect("its own statement's cohort");
        (m, cohort)
    }

    /// One execution of `m` for `cohorts`: per cohort, its rows (the field's list) and its next
    /// cursor.
    fn poll(m: &Multiplexed, field: &str, cohorts: &[(i64, &Cohort)]) -> Vec<(i64, Vec<Value>, Option<Value>)> {
        let params = m.params(cohorts.iter().map(|(id, c)| (*id, *c))).unwrap();
        let args: Vec<DatumWithOid> = params.into_iter().map(DatumWithOid::from).collect();
        Spi::connect(|client| {
            let table = client.select(m.sql(), None, &args)?;
            let mut out = vec![];
            for row in table {
                let id = row.get::<i64>(1)?.expect("cohort id");
                let result = row.get::<Json>(2)?.expect("result").0;
                let cursor = row.get::<Json>(3)?.map(|j| j.0);
                let rows = result["data"][field].as_array().cloned().unwrap_or_else(|| panic!("{result}"));
                out.push((id, rows, cursor));
            }
            Ok::<_, pgrx::spi::SpiError>(out)
        })
        .unwrap()
    }

    /// Poll one cohort until a batch comes back empty; every batch's rows, the cohort moved
    /// along.
    fn drain(m: &Multiplexed, field: &str, cohort: &mut Cohort) -> Vec<Vec<Value>> {
        let mut batches = vec![];
        for _ in 0..1000 {
            let [(_, rows, cursor)] = <[_; 1]>::try_from(poll(m, field, &[(1, cohort)])).unwrap();
            match cursor {
                None => {
                    assert!(rows.is_empty(), "rows without a next cursor");
                    return batches;
                }
                Some(c) => {
                    assert!(!rows.is_empty(), "a next cursor without rows");
                    *cohort = m.with_cursor(cohort, &c).unwrap();
                    batches.push(rows);
                }
            }
        }
        panic!("the stream never ran dry");
    }

    fn ids(batches: &[Vec<Value>]) -> Vec<i64> {
        batches.iter().flatten().map(|r| r["id"].as_i64().unwrap()).collect()
    }

    fn stream_query(batch: usize, cursor: &str) -> String {
        format!("subscription {{ st_ev_stream(batch_size: {batch}, cursor: {cursor}) {{ id n label }} }}")
    }

    #[pg_test]
    fn test_stream_delivers_every_row_once_in_order() {
        fixture(1..=20);
        for batch in [1usize, 2, 7] {
            for descending in [false, true] {
                let cursor = if descending { "{initial_value: {id: 1000}, ordering: DESC}" } else { "{initial_value: {id: 0}, ordering: ASC}" };
                let (m, mut cohort) = subscribe(&stream_query(batch, cursor), json!({}));
                let mut seen = vec![];
                for (round, more) in [(0, 21..=25), (1, 26..=26), (2, 27..=40)] {
                    let batches = drain(&m, "st_ev_stream", &mut cohort);
                    assert!(batches.iter().all(|b| b.len() <= batch), "a unique cursor never overfills a batch");
                    seen.extend(ids(&batches));
                    // New rows after the stream ran dry: above every id for an ascending
                    // stream, below every id for a descending one.
                    insert(more.map(|i| if descending { -i - 100 * round } else { i }));
                }
                seen.extend(ids(&drain(&m, "st_ev_stream", &mut cohort)));
                let mut expected: Vec<i64> = Spi::connect(|c| {
                    c.select("SELECT id::int8 FROM st.ev ORDER BY id", None, &[])?
                        .map(|r| r.get::<i64>(1).map(|v| v.unwrap()))
                        .collect::<Result<Vec<_>, _>>()
                })
                .unwrap();
                if descending {
                    // The descending stream started at 1000: everything below it, highest first.
                    expected.reverse();
                }
                assert_eq!(seen, expected, "batch {batch}, descending {descending}");
                run("DELETE FROM st.ev WHERE id < 0 OR id > 20");
            }
        }
    }

    /// A non-unique cursor column: a batch that would end inside a run of equal values takes
    /// the whole run (Hasura's `WITH TIES`), so nothing is skipped, and the next batch starts
    /// after the run. A row inserted later with a value already passed is not sent.
    #[pg_test]
    fn test_stream_ties_are_never_split() {
        fixture(0..12); // n = 0,0,0, 1,1,1, 2,2,2, 3,3,3
        for batch in [1usize, 2, 4] {
            let (m, mut cohort) = subscribe(&stream_query(batch, "{initial_value: {n: -1}}"), json!({}));
            let batches = drain(&m, "st_ev_stream", &mut cohort);
            let ns: Vec<Vec<i64>> = batches.iter().map(|b| b.iter().map(|r| r["n"].as_i64().unwrap()).collect()).collect();
            let expected: Vec<Vec<i64>> = match batch {
                1 | 2 => (0..4).map(|n| vec![n; 3]).collect(),
                _ => vec![vec![0, 0, 0, 1, 1, 1], vec![2, 2, 2, 3, 3, 3]],
            };
            assert_eq!(ns, expected, "batch {batch}");
            let mut all = ids(&batches);
            all.sort();
            assert_eq!(all, (0..12).collect::<Vec<i64>>(), "every row once");
            assert_eq!(m.cursor_of(&cohort), Some(Some("3")));
            // A late row with a passed value (n = 2) is behind the cursor; one with a new
            // value is the next batch.
            insert([107, 12].into_iter());
            run("UPDATE st.ev SET n = 2 WHERE id = 107");
            let late = drain(&m, "st_ev_stream", &mut cohort);
            assert_eq!(ids(&late), vec![12], "batch {batch}");
            run("DELETE FROM st.ev WHERE id >= 12");
        }
    }

    /// Users' cohorts share one statement; each sees only its own rows (the role's filter), and
    /// each cursor moves on its own.
    #[pg_test]
    fn test_stream_permission_filter_per_cohort() {
        fixture(1..=10); // odd ids: owner 2, even ids: owner 1
        let q = stream_query(2, "{initial_value: {id: 0}}");
        let (m, mut one) = subscribe(&q, json!({"x-hasura-role": "user", "x-hasura-user-id": "1"}));
        let (m2, mut two) = subscribe(&q, json!({"x-hasura-role": "user", "x-hasura-user-id": "2"}));
        assert_eq!(m.id(), m2.id(), "both subscribers are cohorts of one statement");
        assert_ne!(one, two);
        let mut got: [Vec<i64>; 2] = [vec![], vec![]];
        for _ in 0..10 {
            let rows = poll(&m, "st_ev_stream", &[(1, &one), (2, &two)]);
            assert_eq!(rows.len(), 2);
            for (id, batch, cursor) in rows {
                assert!(batch.len() <= 2);
                got[(id - 1) as usize].extend(batch.iter().map(|r| r["id"].as_i64().unwrap()));
                if let Some(c) = cursor {
                    let cohort = if id == 1 { &mut one } else { &mut two };
                    *cohort = m.with_cursor(cohort, &c).unwrap();
                }
            }
        }
        assert_eq!(got[0], vec![2, 4, 6, 8, 10], "user 1 sees its rows only");
        assert_eq!(got[1], vec![1, 3, 5, 7, 9], "user 2 sees its rows only");
        assert_eq!(m.cursor_of(&one), Some(Some("10")));
        assert_eq!(m.cursor_of(&two), Some(Some("9")));
    }

    /// Run once (`graphql.resolve`), a stream answers like a query: the rows after the cursor
    /// under the field's alias; the next cursor is a second column resolve does not return.
    #[pg_test]
    fn test_stream_resolves_once() {
        fixture(1..=5);
        let r = Spi::get_one::<Json>(
            "SELECT graphql.resolve('subscription { s: st_ev_stream(batch_size: 2, cursor: {initial_value: {id: 1}}) { id label } }')",
        )
        .unwrap()
        .unwrap()
        .0;
        assert_eq!(r, json!({"data": {"s": [{"id": 2, "label": "e2"}, {"id": 3, "label": "e3"}]}}));
        let r = Spi::get_one::<Json>(
            r#"SELECT graphql.resolve('subscription { st_ev_stream(batch_size: 2, cursor: {initial_value: {id: 1}}) { id } }', NULL,
                   '{"x-hasura-role": "user", "x-hasura-user-id": "1"}')"#,
        )
        .unwrap()
        .unwrap()
        .0;
        assert_eq!(r, json!({"data": {"st_ev_stream": [{"id": 2}, {"id": 4}]}}));
        let r = Spi::get_one::<Json>(
            "SELECT graphql.resolve('subscription { st_ev_stream(batch_size: 2, cursor: {initial_value: {id: 1, n: 0}}) { id } }')",
        )
        .unwrap()
        .unwrap()
        .0;
        assert_eq!(r["errors"][0]["message"], json!("multiple column cursors are not supported yet"));
    }

    // -----------------------------------------------------------------------------------------
    // graphql.subscription_poll: the same streams through the SQL API, cursors in and out

    /// One `graphql.subscription_poll` call: per cohort, its rows, its next cursor.
    fn sql_poll(query: &str, cohorts: &Value) -> Vec<(i64, Value, Option<Value>)> {
        let sql = "SELECT cohort_id, result, cursor FROM graphql.subscription_poll($1, $2::json)";
        let args: Vec<DatumWithOid> = vec![query.into(), cohorts.to_string().into()];
        Spi::connect(|client| {
            let mut out = vec![];
            for row in client.select(sql, None, &args)? {
                let id = row.get::<i64>(1)?.expect("cohort id");
                let result = row.get::<Json>(2)?.expect("result").0;
                out.push((id, result, row.get::<Json>(3)?.map(|j| j.0)));
            }
            Ok::<_, pgrx::spi::SpiError>(out)
        })
        .unwrap()
    }

    /// Poll cohorts (`{"id", "session"}` objects) until every stream ran dry, passing each
    /// cohort's last cursor back: per cohort, its batches.
    fn sql_drain(query: &str, field: &str, cohorts: &mut [Value]) -> Vec<Vec<Vec<Value>>> {
        let mut batches = vec![vec![]; cohorts.len()];
        for _ in 0..1000 {
            let rows = sql_poll(query, &Value::Array(cohorts.to_vec()));
            assert_eq!(rows.len(), cohorts.len());
            let mut more = false;
            for (i, (id, result, cursor)) in rows.into_iter().enumerate() {
                assert_eq!(id, cohorts[i]["id"].as_i64().unwrap());
                let list = result["data"][field].as_array().cloned().unwrap_or_else(|| panic!("{result}"));
                match cursor {
                    Some(c) => {
                        assert!(!list.is_empty());
                        cohorts[i]["cursor"] = c;
                        batches[i].push(list);
                        more = true;
                    }
                    None => assert!(list.is_empty(), "rows without a next cursor: {result}"),
                }
            }
            if !more {
                return batches;
            }
        }
        panic!("the stream never ran dry");
    }

    #[pg_test]
    fn test_subscription_poll_streams_every_row_once() {
        fixture(1..=20);
        for batch in [1usize, 2, 7] {
            for descending in [false, true] {
                let cursor = if descending { "{initial_value: {id: 1000}, ordering: DESC}" } else { "{initial_value: {id: 0}}" };
                let q = stream_query(batch, cursor);
                let mut cohorts = vec![json!({"id": 1}), json!({"id": 2, "session": {"x-hasura-role": "user", "x-hasura-user-id": "1"}})];
                let mut seen = [vec![], vec![]];
                for round in 0..2 {
                    for (i, b) in sql_drain(&q, "st_ev_stream", &mut cohorts).iter().enumerate() {
                        assert!(b.iter().all(|rows| rows.len() <= batch));
                        seen[i].extend(ids(b));
                    }
                    let more = (21 + 10 * round)..=(25 + 10 * round);
                    insert(more.map(|i: i32| if descending { -i } else { i }));
                }
                for (i, b) in sql_drain(&q, "st_ev_stream", &mut cohorts).iter().enumerate() {
                    seen[i].extend(ids(b));
                }
                let mut all: Vec<i64> = Spi::connect(|c| {
                    c.select("SELECT id::int8 FROM st.ev ORDER BY id", None, &[])?
                        .map(|r| r.get::<i64>(1).map(|v| v.unwrap()))
                        .collect::<Result<Vec<_>, _>>()
                })
                .unwrap();
                if descending {
                    all.reverse();
                }
                // Owner 1 has the even ids (`1 + id % 2`).
                let own: Vec<i64> = all.iter().copied().filter(|i| i.rem_euclid(2) == 0).collect();
                assert_eq!(seen[0], all, "admin, batch {batch}, descending {descending}");
                assert_eq!(seen[1], own, "user 1, batch {batch}, descending {descending}");
                run("DELETE FROM st.ev WHERE id < 0 OR id > 20");
            }
        }
    }

    #[pg_test]
    fn test_subscription_poll_stream_ties_and_cursors() {
        fixture(0..12);
        let q = stream_query(2, "{initial_value: {n: -1}}");
        let mut cohorts = vec![json!({"id": 7})];
        let batches = sql_drain(&q, "st_ev_stream", &mut cohorts);
        let ns: Vec<Vec<i64>> = batches[0].iter().map(|b| b.iter().map(|r| r["n"].as_i64().unwrap()).collect()).collect();
        assert_eq!(ns, (0..4).map(|n| vec![n; 3]).collect::<Vec<_>>(), "each run of equal values whole");
        // The cursor is the last row's value as text; a client's number works as well.
        assert_eq!(cohorts[0]["cursor"], json!({"n": "3"}));
        let rows = sql_poll(&q, &json!([{"id": 1, "cursor": {"n": 2}}, {"id": 2, "cursor": {"n": "3"}}, {"id": 3}]));
        assert_eq!(rows[0].1["data"]["st_ev_stream"].as_array().unwrap().len(), 3);
        assert_eq!(rows[0].2, Some(json!({"n": "3"})));
        assert_eq!(rows[1].1, json!({"data": {"st_ev_stream": []}}));
        assert_eq!(rows[1].2, None, "no row, no next cursor");
        assert_eq!(rows[2].2, Some(json!({"n": "0"})), "no cursor given: the query's initial value");
        // A cursor that is not one of the stream's is that cohort's error; the others answer.
        let rows = sql_poll(&q, &json!([{"id": 1, "cursor": {"id": 2}}, {"id": 2, "cursor": {"n": "1"}}]));
        assert_eq!(rows[0].1["errors"][0]["extensions"]["code"], json!("validation-failed"), "{}", rows[0].1);
        assert!(rows[0].1["errors"][0]["message"].as_str().unwrap().starts_with("invalid cursor"), "{}", rows[0].1);
        assert_eq!(rows[0].2, None);
        assert_eq!(rows[1].2, Some(json!({"n": "2"})));
        // A live query ignores cursors and answers none.
        let rows = sql_poll("subscription { st_ev(where: {id: {_eq: 1}}) { id } }", &json!([{"id": 1, "cursor": {"id": 5}}]));
        assert_eq!(rows[0].1, json!({"data": {"st_ev": [{"id": 1}]}}));
        assert_eq!(rows[0].2, None);
    }
}
