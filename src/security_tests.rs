//! In-database attack tests (`cargo pgrx test pg15`): code that runs with rights other than the
//! caller's must never run code the caller chose. Each test mounts the attack of issue 11 on
//! one such path: a role that may create objects in a schema of its own defines operators and
//! casts there, puts that schema first in its `search_path`, and calls Graft. The trap logs
//! `current_user` every time it runs; a row naming anyone but the attacker is an escalation.
//! Each test also shows that the trap does fire for the attacker's own statements, so a check
//! that passes is not one that cannot fail.

use pgrx::prelude::*;

#[pg_schema]
mod tests {
    use pgrx::prelude::*;
    use pgrx::Json;
    use serde_json::{json, Value};

    fn run(sql: &str) {
        Spi::run(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    fn count(sql: &str) -> i64 {
        Spi::get_one::<i64>(sql).unwrap_or_else(|e| panic!("{sql}: {e}")).unwrap_or(0)
    }

    /// Run `sql` in a subtransaction; its error message, or `None`.
    fn error_of(sql: &str) -> Option<String> {
        let block = format!(
            "DO $graft_do$ BEGIN EXECUTE {q}; PERFORM pg_catalog.set_config('graft_test.err', '', true); \
             EXCEPTION WHEN OTHERS THEN PERFORM pg_catalog.set_config('graft_test.err', SQLERRM, true); END $graft_do$",
            q = quote_literal(sql)
        );
        run(&block);
        let e = Spi::get_one::<String>("SELECT pg_catalog.current_setting('graft_test.err')").unwrap().unwrap_or_default();
        (!e.is_empty()).then_some(e)
    }

    fn quote_literal(s: &str) -> String {
        format!("'{}'", s.replace('\'', "''"))
    }

    /// A role `who` owning schema `who` with a trap: `who.log`, and `=`/`<>` operators on int4
    /// and int8 that log the current user before comparing. Grants what an application role of
    /// Graft has (EXECUTE on resolve and metadata).
    fn attacker(who: &str) {
        run(&format!("CREATE ROLE {who}; CREATE SCHEMA {who} AUTHORIZATION {who}"));
        run(&format!(
            "GRANT EXECUTE ON FUNCTION graphql.resolve(text, json, json, text) TO {who}; \
             GRANT EXECUTE ON FUNCTION graphql.metadata(json) TO {who}"
        ));
        run(&format!("SET LOCAL ROLE {who}"));
        run(&format!("CREATE TABLE {who}.log (who text)"));
        run(&format!("GRANT INSERT ON {who}.log TO PUBLIC"));
        for (ty, op, name) in [("int4", "=", "eq4"), ("int8", "=", "eq8"), ("int8", "<>", "ne8"), ("int4", "<>", "ne4")] {
            run(&format!(
                "CREATE FUNCTION {who}.{name}(a {ty}, b {ty}) RETURNS bool LANGUAGE plpgsql AS $f$ \
                 BEGIN INSERT INTO {who}.log VALUES (current_user::text); \
                 RETURN a OPERATOR(pg_catalog.{op}) b; END $f$"
            ));
            run(&format!("CREATE OPERATOR {who}.{op} (LEFTARG = {ty}, RIGHTARG = {ty}, FUNCTION = {who}.{name})"));
        }
        run("RESET ROLE");
    }

    /// Trap runs as anyone but `who`.
    fn escalations(who: &str) -> i64 {
        count(&format!("SELECT count(*) FROM {who}.log WHERE who IS DISTINCT FROM '{who}'"))
    }

    fn trap_fires_for_own_statements(who: &str) {
        run(&format!("SET LOCAL ROLE {who}; SET LOCAL search_path = {who}, pg_catalog"));
        run("SELECT 1 = 1");
        run("RESET ROLE; RESET search_path");
        assert!(count(&format!("SELECT count(*) FROM {who}.log WHERE who = '{who}'")) > 0, "the trap never fired");
    }

    fn as_attacker<R>(who: &str, f: impl FnOnce() -> R) -> R {
        run(&format!("SET LOCAL ROLE {who}; SET LOCAL search_path = {who}, pg_catalog"));
        let r = f();
        run("RESET ROLE; RESET search_path");
        r
    }

    fn meta(request: Value) -> Value {
        Spi::get_one_with_args::<Json>("SELECT graphql.metadata($1::json)", &[request.to_string().into()])
            .expect("metadata")
            .expect("NULL")
            .0
    }

    #[pg_test]
    fn test_metadata_store_reads_ignore_the_callers_search_path() {
        attacker("graft_atk1");
        trap_fires_for_own_statements("graft_atk1");
        // The store has a row (an empty store is never compared against).
        run("CREATE TABLE graft_atk1.t (id int PRIMARY KEY)");
        meta(json!({"type": "pg_track_table", "args": {"table": {"schema": "graft_atk1", "name": "t"}}}));
        run("GRANT SELECT ON graft_atk1.t TO graft_atk1");
        as_attacker("graft_atk1", || {
            // A fresh cache reads the store (as its owner) on the next request.
            crate::cache::reset();
            Spi::get_one::<Json>("SELECT graphql.resolve('{ __typename }')").unwrap();
            crate::cache::reset();
            Spi::get_one::<Json>("SELECT graphql.resolve('query { graft_atk1_t { id } }')").unwrap();
        });
        assert_eq!(escalations("graft_atk1"), 0, "the store owner ran the attacker's operator");
    }

    #[pg_test]
    fn test_metadata_writes_and_event_requests_ignore_the_callers_search_path() {
        attacker("graft_atk2");
        trap_fires_for_own_statements("graft_atk2");
        run("SET LOCAL ROLE graft_atk2; CREATE TABLE graft_atk2.t (id int PRIMARY KEY); RESET ROLE");
        as_attacker("graft_atk2", || {
            // A write (read for update, then write) and the event tables, all as the owner.
            let r = meta(json!({"type": "pg_track_table", "args": {"table": {"schema": "graft_atk2", "name": "t"}}}));
            assert_eq!(r, json!({"message": "success"}), "{r}");
            meta(json!({"type": "export_metadata", "args": {}}));
            meta(json!({"type": "pg_get_event_logs", "args": {"name": "nope"}}));
            meta(json!({"type": "get_cron_triggers", "args": {}}));
        });
        assert_eq!(escalations("graft_atk2"), 0, "the store owner ran the attacker's operator");
    }

    #[pg_test]
    fn test_event_capture_runs_the_writers_casts_as_the_writer() {
        attacker("graft_atk3");
        // The attacker's own type, with a cast to json that logs who runs it: row_to_json uses it.
        run("SET LOCAL ROLE graft_atk3; \
             CREATE TYPE graft_atk3.mood AS ENUM ('ok', 'sad'); \
             CREATE FUNCTION graft_atk3.mood_json(m graft_atk3.mood) RETURNS json LANGUAGE plpgsql AS $f$ \
               BEGIN INSERT INTO graft_atk3.log VALUES (current_user::text); RETURN pg_catalog.to_json(m::text); END $f$; \
             CREATE CAST (graft_atk3.mood AS json) WITH FUNCTION graft_atk3.mood_json(graft_atk3.mood); \
             CREATE TABLE graft_atk3.t (id int PRIMARY KEY, m graft_atk3.mood); \
             RESET ROLE");
        meta(json!({"type": "pg_track_table", "args": {"table": {"schema": "graft_atk3", "name": "t"}}}));
        let r = meta(json!({"type": "pg_create_event_trigger", "args": {
            "name": "graft_atk3_t", "table": {"schema": "graft_atk3", "name": "t"}, "webhook": "http://127.0.0.1:9/x",
            "insert": {"columns": "*"}, "update": {"columns": "*"}, "delete": {"columns": "*"}}}));
        assert_eq!(r, json!({"message": "success"}), "{r}");
        as_attacker("graft_atk3", || {
            run("INSERT INTO graft_atk3.t VALUES (1, 'ok')");
            run("UPDATE graft_atk3.t SET m = 'sad'");
            run("DELETE FROM graft_atk3.t");
        });
        assert!(count("SELECT count(*) FROM graft_atk3.log") > 0, "the cast never ran: the test proves nothing");
        assert_eq!(escalations("graft_atk3"), 0, "the capture trigger ran the attacker's cast with other rights");
        let events = count("SELECT count(*) FROM graphql.event_log WHERE trigger_name = 'graft_atk3_t'");
        assert_eq!(events, 3);
        let new: Value = Spi::get_one::<Json>(
            "SELECT payload->'data'->'new' FROM graphql.event_log WHERE trigger_name = 'graft_atk3_t' AND payload->>'op' = 'INSERT'",
        )
        .unwrap()
        .unwrap()
        .0;
        assert_eq!(new, json!({"id": 1, "m": "ok"}));
    }

    #[pg_test]
    fn test_record_event_cannot_be_forged() {
        run("CREATE SCHEMA graft_fg; CREATE TABLE graft_fg.t (id int PRIMARY KEY); CREATE TABLE graft_fg.other (id int PRIMARY KEY)");
        meta(json!({"type": "pg_track_table", "args": {"table": {"schema": "graft_fg", "name": "t"}}}));
        meta(json!({"type": "pg_track_table", "args": {"table": {"schema": "graft_fg", "name": "other"}}}));
        meta(json!({"type": "pg_create_event_trigger", "args": {
            "name": "graft_fg_t", "table": {"schema": "graft_fg", "name": "t"}, "webhook": "http://127.0.0.1:9/x",
            "insert": {"columns": "*"}}}));
        run("CREATE ROLE graft_fg_app; GRANT USAGE ON SCHEMA graft_fg TO graft_fg_app; \
             GRANT INSERT ON graft_fg.other TO graft_fg_app; GRANT SELECT ON graft_fg.t TO graft_fg_app");
        run("SET LOCAL ROLE graft_fg_app");
        // A table the caller may not write.
        let e = error_of("SELECT graphql.record_event('graft_fg.t'::regclass, 'INSERT', 'graft_fg_t', '{}')");
        assert!(e.as_deref().is_some_and(|m| m.contains("permission denied")), "{e:?}");
        // A table it may write, but which has no capture trigger of that event trigger.
        let e = error_of("SELECT graphql.record_event('graft_fg.other'::regclass, 'INSERT', 'graft_fg_t', '{}')");
        assert!(e.as_deref().is_some_and(|m| m.contains("no capture trigger")), "{e:?}");
        run("RESET ROLE");
        // The trigger's own operation only: t has no DELETE capture.
        run("GRANT DELETE ON graft_fg.t TO graft_fg_app; SET LOCAL ROLE graft_fg_app");
        let e = error_of("SELECT graphql.record_event('graft_fg.t'::regclass, 'DELETE', 'graft_fg_t', '{}')");
        assert!(e.as_deref().is_some_and(|m| m.contains("no capture trigger")), "{e:?}");
        run("RESET ROLE");
        assert_eq!(count("SELECT count(*) FROM graphql.event_log WHERE trigger_name = 'graft_fg_t'"), 0);
        // And the capture trigger is not something a role can attach to its own table.
        let e = error_of("CREATE TRIGGER x AFTER INSERT ON graft_fg.other FOR EACH ROW EXECUTE FUNCTION graphql.capture_event('graft_fg_t', '*', '*')");
        assert!(e.is_none(), "a superuser may: {e:?}");
        run("DROP TRIGGER x ON graft_fg.other; ALTER TABLE graft_fg.other OWNER TO graft_fg_app; SET LOCAL ROLE graft_fg_app");
        let e = error_of("CREATE TRIGGER y AFTER INSERT ON graft_fg.other FOR EACH ROW EXECUTE FUNCTION graphql.capture_event('graft_fg_t', '*', '*')");
        assert!(e.as_deref().is_some_and(|m| m.contains("permission denied")), "{e:?}");
        run("RESET ROLE");
    }
}
