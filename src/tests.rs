//! In-database tests (`cargo pgrx test pg15`). Each `#[pg_test]` runs in its own backend, in a
//! transaction that is rolled back; the `#[test]`s at the bottom drive two real sessions and
//! COMMIT, to check cross-backend cache invalidation.
//!
//! Tests share one database and run concurrently: each uses its own schema (or tables that
//! only its transaction sees) and never asserts on the metadata as a whole.

use pgrx::prelude::*;

#[pg_schema]
mod tests {
    use graft_compiler::dbcatalog::DbTable;
    use graft_compiler::request::{CompiledSql, Session};
    use graft_compiler::Metadata;
    use pgrx::prelude::*;
    use pgrx::Json;
    use serde_json::{json, Value};

    use crate::{cache, catalog, execute, metadata_store};

    // -----------------------------------------------------------------------------------------
    // helpers

    fn run(sql: &str) {
        Spi::run(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    fn json_of(sql: &str) -> Value {
        Spi::get_one::<Json>(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .expect("NULL")
            .0
    }

    fn text_of(sql: &str) -> String {
        Spi::get_one::<String>(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .expect("NULL")
    }

    fn table<'a>(tables: &'a [DbTable], schema: &str, name: &str) -> &'a DbTable {
        tables
            .iter()
            .find(|t| t.schema == schema && t.name == name)
            .unwrap_or_else(|| panic!("{schema}.{name} missing"))
    }

    /// Called from another session by the cross-session tests: does this backend's cache (as
    /// refreshed by the invalidations it has received) know `schema.table.column`?
    #[pg_extern]
    fn cached_column_exists(schema: &str, table: &str, column: &str) -> bool {
        let snap = cache::snapshot().expect("cache");
        snap.catalog
            .table(schema, table)
            .is_some_and(|t| t.column(column).is_some())
    }

    #[pg_extern]
    fn cached_table_exists(schema: &str, table: &str) -> bool {
        cache::snapshot()
            .expect("cache")
            .catalog
            .table(schema, table)
            .is_some()
    }

    #[pg_extern]
    fn reset_cache() {
        cache::reset();
    }

    #[pg_extern]
    fn cached_resource_version() -> i64 {
        cache::snapshot().expect("cache").resource_version
    }

    // -----------------------------------------------------------------------------------------
    // bootstrap

    #[pg_test]
    fn test_metadata_store_exists() {
        assert_eq!(
            Spi::get_one::<i64>("SELECT count(*) FROM graphql.metadata_store WHERE id <> 1")
                .unwrap(),
            Some(0)
        );
        let registered = Spi::get_one::<bool>(
            "SELECT 'graphql.metadata_store'::regclass = ANY (extconfig) FROM pg_extension WHERE extname = 'graft'",
        )
        .unwrap();
        assert_eq!(
            registered,
            Some(true),
            "metadata_store must be a configuration table (pg_dump)"
        );
    }

    #[pg_test]
    fn test_metadata_store_round_trip() {
        let store = metadata_store::locate().unwrap();
        let (version, md) = metadata_store::read_for_update(store).unwrap();
        assert_eq!(md.sources.len(), 1);
        assert_eq!(md.sources[0].name, "default");
        metadata_store::write(store, version + 1, &md).unwrap();
        let again = metadata_store::read(store, None).unwrap();
        assert_eq!(again.resource_version, version + 1);
        assert!(again.metadata.is_some());
        // Known version: the metadata text is not even read.
        assert!(metadata_store::read(store, Some(version + 1))
            .unwrap()
            .metadata
            .is_none());
        // What is stored is Hasura's v3 shape.
        let stored = json_of("SELECT metadata::json FROM graphql.metadata_store");
        assert_eq!(stored["version"], json!(3));
        assert_eq!(stored["sources"][0]["kind"], json!("postgres"));
    }

    #[pg_test]
    fn test_settings_registered() {
        assert_eq!(
            text_of("SELECT current_setting('graft.max_query_depth')"),
            "64"
        );
        assert_eq!(
            text_of("SELECT current_setting('graft.stringify_numeric_types')"),
            "off"
        );
        assert_eq!(
            text_of("SELECT current_setting('graft.plan_cache_size')"),
            "512"
        );
        assert_eq!(
            text_of("SELECT current_setting('graft.generic_plans')"),
            "off"
        );
    }

    // -----------------------------------------------------------------------------------------
    // privileges

    #[pg_test]
    fn test_execute_revoked_from_public() {
        run("CREATE ROLE graft_nobody");
        // Only graphql.record_event, which checks its caller itself (src/events/capture.rs).
        let callable = Spi::get_one::<String>(
            "SELECT string_agg(p.proname, ',') FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
             WHERE n.nspname = 'graphql' AND has_function_privilege('graft_nobody', p.oid, 'EXECUTE')",
        )
        .unwrap();
        assert_eq!(callable.as_deref(), Some("record_event"));
        let total = Spi::get_one::<i64>(
            "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'graphql'",
        )
        .unwrap();
        assert!(
            total.unwrap() >= 10,
            "the API functions live in schema graphql"
        );
        let readable = Spi::get_one::<bool>(
            "SELECT has_table_privilege('graft_nobody', 'graphql.metadata_store', 'SELECT')",
        )
        .unwrap();
        assert_eq!(readable, Some(false));
    }

    #[pg_test(error = "permission denied for function resolve")]
    fn test_resolve_denied_without_grant() {
        run("CREATE ROLE graft_nobody2");
        run("SET ROLE graft_nobody2");
        run("SELECT graphql.resolve('{ __typename }')");
    }

    #[pg_test(error = "permission denied for function track_table")]
    fn test_track_table_denied_without_grant() {
        run("CREATE ROLE graft_nobody3");
        run("SET ROLE graft_nobody3");
        run("SELECT graphql.track_table('author')");
    }

    /// A granted role resolves through the metadata it may not read itself.
    #[pg_test]
    fn test_granted_role_reads_metadata_as_owner() {
        run("CREATE ROLE graft_app");
        run("GRANT EXECUTE ON FUNCTION graphql.resolve(text, json, json, text) TO graft_app");
        run("SET ROLE graft_app");
        let r = json_of("SELECT graphql.resolve('{ __typename }')");
        assert_eq!(r, json!({"data": {"__typename": "query_root"}}));
        run("RESET ROLE");
    }

    // -----------------------------------------------------------------------------------------
    // catalog

    const CATALOG_FIXTURE: &str = r#"
        CREATE SCHEMA cat;
        CREATE TYPE cat.mood AS ENUM ('sad', 'ok', 'happy');
        CREATE TABLE cat.author (
            id serial PRIMARY KEY,
            name text NOT NULL,
            tags text[],
            mood cat.mood,
            ident int GENERATED ALWAYS AS IDENTITY,
            shout text GENERATED ALWAYS AS (upper(name)) STORED,
            email text UNIQUE,
            handle text
        );
        COMMENT ON TABLE cat.author IS 'Writers';
        COMMENT ON COLUMN cat.author.name IS 'Full name';
        CREATE UNIQUE INDEX author_handle_idx ON cat.author (handle);
        CREATE UNIQUE INDEX author_expr_idx ON cat.author (lower(name));
        CREATE UNIQUE INDEX author_pred_idx ON cat.author (mood) WHERE mood = 'happy';
        CREATE TABLE cat.pair (b int, a int, gone int, label text, PRIMARY KEY (a, b));
        ALTER TABLE cat.pair DROP COLUMN gone;
        CREATE TABLE cat.article (
            id int PRIMARY KEY,
            author_id int NOT NULL REFERENCES cat.author (id),
            pa int,
            pb int,
            FOREIGN KEY (pb, pa) REFERENCES cat.pair (b, a)
        );
        CREATE VIEW cat.author_names AS SELECT id, name FROM cat.author;
        CREATE VIEW cat.counts AS SELECT count(*) AS n FROM cat.article;
        CREATE MATERIALIZED VIEW cat.mv AS SELECT 1 AS x;
        CREATE TABLE cat.events (id int, at date) PARTITION BY RANGE (at);
        CREATE TABLE cat.events_2024 PARTITION OF cat.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
        CREATE FUNCTION cat.author_shout(a cat.author, suffix text DEFAULT '!') RETURNS text
            LANGUAGE sql STABLE AS $$ SELECT upper(a.name) || suffix $$;
        COMMENT ON FUNCTION cat.author_shout(cat.author, text) IS 'Loud name';
        CREATE FUNCTION cat.search_authors(search text) RETURNS SETOF cat.author
            LANGUAGE sql STABLE AS $$ SELECT * FROM cat.author WHERE name ILIKE search $$;
        CREATE FUNCTION cat.lookup(INOUT q text, OUT n int) RETURNS record
            LANGUAGE sql AS $$ SELECT q, 1 $$;
        CREATE FUNCTION cat.nothing() RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT 1 $$;
        CREATE AGGREGATE cat.mysum(int) (sfunc = int4pl, stype = int);
        CREATE PROCEDURE cat.proc() LANGUAGE sql AS $$ SELECT 1 $$;
    "#;

    #[pg_test]
    fn test_catalog_introspection() {
        run(CATALOG_FIXTURE);
        let loaded = catalog::load().unwrap();
        let tables = &loaded.catalog.tables;
        assert!(tables.iter().all(|t| t.schema != "graphql"
            && t.schema != "pg_catalog"
            && t.schema != "information_schema"));

        let author = table(tables, "cat", "author");
        assert_eq!(format!("{:?}", author.kind), "Table");
        assert_eq!(author.comment.as_deref(), Some("Writers"));
        let names: Vec<&str> = author.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            ["id", "name", "tags", "mood", "ident", "shout", "email", "handle"]
        );
        let id = author.column("id").unwrap();
        assert_eq!(
            (
                id.type_name.as_str(),
                id.type_schema.as_str(),
                id.nullable,
                id.has_default
            ),
            ("int4", "pg_catalog", false, true)
        );
        let name = author.column("name").unwrap();
        assert_eq!(name.comment.as_deref(), Some("Full name"));
        assert!(!name.nullable);
        let tags = author.column("tags").unwrap();
        assert_eq!(
            (
                tags.type_name.as_str(),
                tags.elem_type.as_deref(),
                tags.type_kind.as_str()
            ),
            ("_text", Some("text"), "b")
        );
        let mood = author.column("mood").unwrap();
        assert_eq!(
            (
                mood.type_name.as_str(),
                mood.type_schema.as_str(),
                mood.type_kind.as_str()
            ),
            ("mood", "cat", "e")
        );
        assert_eq!(
            mood.enum_values.as_deref(),
            Some(&["sad".to_string(), "ok".to_string(), "happy".to_string()][..])
        );
        assert!(mood.elem_type.is_none());
        assert!(author.column("ident").unwrap().is_identity);
        assert!(author.column("shout").unwrap().is_generated);
        assert!(!author.column("email").unwrap().is_generated);
        let pk = author.primary_key.as_ref().unwrap();
        assert_eq!(
            (pk.name.as_str(), pk.columns.clone()),
            ("author_pkey", vec!["id".to_string()])
        );
        // Every unique index is listed, as Hasura lists them; those backing no constraint carry
        // their ON CONFLICT inference target (key texts, predicate).
        let uniques: Vec<(String, Vec<String>, Option<Vec<String>>, Option<String>)> = author
            .unique_constraints
            .iter()
            .map(|u| {
                (
                    u.name.clone(),
                    u.columns.clone(),
                    u.index_keys.clone(),
                    u.index_predicate.clone(),
                )
            })
            .collect();
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            uniques,
            [
                ("author_email_key".to_string(), s(&["email"]), None, None),
                ("author_expr_idx".to_string(), vec![], Some(s(&["(lower(name))"])), None),
                ("author_handle_idx".to_string(), s(&["handle"]), Some(s(&["handle"])), None),
                (
                    "author_pred_idx".to_string(),
                    s(&["mood"]),
                    Some(s(&["mood"])),
                    Some("mood = 'happy'::cat.mood".to_string())
                ),
            ],
        );
        assert!(author.is_insertable && author.is_updatable && author.is_deletable);

        // Composite primary key in key order, dropped column gone.
        let pair = table(tables, "cat", "pair");
        assert_eq!(
            pair.columns
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>(),
            ["b", "a", "label"]
        );
        assert_eq!(pair.primary_key.as_ref().unwrap().columns, ["a", "b"]);

        // Foreign keys, column pairs in constraint order.
        let article = table(tables, "cat", "article");
        let fks: Vec<_> = article
            .foreign_keys
            .iter()
            .map(|f| {
                (
                    f.name.as_str(),
                    f.columns.clone(),
                    f.ref_schema.as_str(),
                    f.ref_table.as_str(),
                    f.ref_columns.clone(),
                )
            })
            .collect();
        assert_eq!(
            fks,
            [
                (
                    "article_author_id_fkey",
                    vec!["author_id".to_string()],
                    "cat",
                    "author",
                    vec!["id".to_string()]
                ),
                (
                    "article_pb_pa_fkey",
                    vec!["pb".to_string(), "pa".to_string()],
                    "cat",
                    "pair",
                    vec!["b".to_string(), "a".to_string()]
                ),
            ]
        );

        // Views: auto-updatable or not.
        let v = table(tables, "cat", "author_names");
        assert_eq!(format!("{:?}", v.kind), "View");
        assert!(v.is_insertable && v.is_updatable && v.is_deletable);
        let counts = table(tables, "cat", "counts");
        assert!(!counts.is_insertable && !counts.is_updatable && !counts.is_deletable);
        assert_eq!(
            format!("{:?}", table(tables, "cat", "mv").kind),
            "MaterializedView"
        );
        assert_eq!(
            format!("{:?}", table(tables, "cat", "events").kind),
            "PartitionedTable"
        );
        assert!(
            tables.iter().all(|t| t.name != "events_2024"),
            "partitions are not listed"
        );

        // Functions: input arguments only, defaults, set-returning, volatility.
        let f = |name: &str| {
            loaded
                .catalog
                .functions
                .iter()
                .find(|f| f.schema == "cat" && f.name == name)
        };
        let shout = f("author_shout").unwrap();
        assert_eq!(shout.arg_names, ["a", "suffix"]);
        assert_eq!(shout.arg_types, ["author", "text"]);
        assert_eq!(shout.arg_type_schemas, ["cat", "pg_catalog"]);
        assert_eq!(
            (
                shout.num_defaults,
                shout.return_type.as_str(),
                shout.returns_set,
                shout.volatility.as_str()
            ),
            (1, "text", false, "s")
        );
        assert_eq!(shout.comment.as_deref(), Some("Loud name"));
        let search = f("search_authors").unwrap();
        assert_eq!(
            (
                search.return_type_schema.as_str(),
                search.return_type.as_str(),
                search.returns_set
            ),
            ("cat", "author", true)
        );
        let lookup = f("lookup").unwrap();
        assert_eq!(lookup.arg_names, ["q"], "OUT arguments are not inputs");
        assert_eq!(lookup.return_type, "record");
        let nothing = f("nothing").unwrap();
        assert!(nothing.arg_names.is_empty() && nothing.arg_types.is_empty());
        assert_eq!(nothing.volatility, "i");
        assert!(
            f("mysum").is_none() && f("proc").is_none(),
            "aggregates and procedures are not functions"
        );

        // The oids the cache watches.
        assert!(loaded.relids.len() >= tables.len());
        assert!(!loaded.typoids.is_empty() && !loaded.procoids.is_empty());
    }

    #[pg_test]
    fn test_cold_start_with_many_tables() {
        run("CREATE SCHEMA wide");
        run(
            "DO $$ BEGIN FOR i IN 1..1000 LOOP \
               EXECUTE format('CREATE TABLE wide.t%s (id int PRIMARY KEY, a text, b int, c timestamptz, d jsonb, \
                 parent int REFERENCES wide.t%s (id))', i, greatest(i - 1, 1)); \
             END LOOP; END $$",
        );
        let start = std::time::Instant::now();
        let loaded = catalog::load().unwrap();
        let catalog_time = start.elapsed();
        assert_eq!(
            loaded
                .catalog
                .tables
                .iter()
                .filter(|t| t.schema == "wide")
                .count(),
            1000
        );

        // Track them all with one object relationship each, written straight to the store:
        // this measures the extension's cold start, not the metadata operations.
        let store = metadata_store::locate().unwrap();
        let (version, mut md) = metadata_store::read_for_update(store).unwrap();
        let mut doc = serde_json::to_value(&md).unwrap();
        let tables: Vec<Value> = (1..=1000)
            .map(|i| {
                json!({"table": {"schema": "wide", "name": format!("t{i}")},
                       "object_relationships": [{"name": "parent_t", "using": {"foreign_key_constraint_on": "parent"}}]})
            })
            .collect();
        doc["sources"][0]["tables"] = Value::Array(tables);
        md = serde_json::from_value(doc).unwrap();
        metadata_store::write(store, version + 1, &md).unwrap();

        // Cold start of a backend: metadata + catalog + admin schema + first request.
        cache::reset();
        let start = std::time::Instant::now();
        let r = json_of("SELECT graphql.resolve('{ wide_t1(limit: 1) { id parent_t { id } } }')");
        let cold = start.elapsed();
        assert!(r.get("data").is_some(), "{r}");
        let start = std::time::Instant::now();
        json_of("SELECT graphql.resolve('{ wide_t2(limit: 1) { id } }')");
        let warm = start.elapsed();
        pgrx::log!("graft timing, 1,000 tables: catalog {catalog_time:?}, cold resolve {cold:?}, warm resolve {warm:?}");
        assert!(
            catalog_time.as_millis() < 1000,
            "catalog of 1,000 tables took {catalog_time:?}"
        );
        assert!(
            cold.as_millis() < 3000,
            "cold start with 1,000 tracked tables took {cold:?}"
        );
    }

    // -----------------------------------------------------------------------------------------
    // cache invalidation (same session; see the #[test]s below for other sessions)

    #[pg_test]
    fn test_cache_sees_ddl_in_same_session() {
        run("CREATE SCHEMA inv; CREATE TABLE inv.t (id int PRIMARY KEY); CREATE TABLE inv.u (id int)");
        cache::reset();
        assert!(cached_table_exists("inv", "t"));
        assert!(!cache::is_dirty());
        let before = cache::schema_for("admin", false).unwrap();

        run("ALTER TABLE inv.t ADD COLUMN extra text");
        assert!(
            cache::is_dirty(),
            "ALTER TABLE of a known table invalidates"
        );
        assert!(cached_column_exists("inv", "t", "extra"));
        let after = cache::schema_for("admin", false).unwrap();
        assert!(
            !std::rc::Rc::ptr_eq(&before, &after),
            "the schema is rebuilt after a catalog change"
        );

        run("DROP TABLE inv.u");
        assert!(cache::is_dirty());
        assert!(!cached_table_exists("inv", "u"));
        assert!(cached_table_exists("inv", "t"));
    }

    #[pg_test]
    fn test_cache_forgets_rolled_back_ddl() {
        run("CREATE SCHEMA rb");
        cache::reset();
        assert!(!cached_table_exists("rb", "x"));
        // The cache is loaded inside a subtransaction that sees `rb.x`, then rolled back:
        // Postgres replays the subtransaction's invalidations locally, so the cache drops it.
        run(
            "DO $$ BEGIN \
               CREATE TABLE rb.x (id int); \
               PERFORM tests.reset_cache(); \
               IF NOT tests.cached_table_exists('rb', 'x') THEN RAISE EXCEPTION 'not seen'; END IF; \
               RAISE EXCEPTION 'roll back' USING ERRCODE = 'P0002'; \
             EXCEPTION WHEN no_data_found THEN NULL; END $$",
        );
        assert!(
            !cached_table_exists("rb", "x"),
            "the rolled-back table is gone from the cache"
        );
    }

    #[pg_test]
    fn test_cache_ignores_unrelated_invalidations() {
        // The first temporary table creates this backend's temp schema (a namespace
        // invalidation); later ones must not flush the cache.
        run("CREATE TEMP TABLE scratch0 (a int)");
        // Concurrent tests create thousands of tables and commit metadata: this backend's
        // invalidation queue may overflow, which resets every cache (rightly). One clean
        // attempt proves the filter.
        // Attempts are spread over about two seconds so a burst of commits elsewhere passes.
        let clean = (0..100).any(|i| {
            if i > 0 {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            cache::reset();
            let first = cache::schema_for("admin", false).unwrap();
            run(&format!(
                "CREATE TEMP TABLE scratch{} (a int); DROP TABLE scratch{}",
                i + 1,
                i + 1
            ));
            run("CREATE INDEX ON scratch0 (a)");
            !cache::is_dirty()
                && std::rc::Rc::ptr_eq(&first, &cache::schema_for("admin", false).unwrap())
        });
        assert!(
            clean,
            "temporary tables are not in the catalog: they must not flush the cache"
        );
    }

    #[pg_test]
    fn test_cache_keeps_schemas_when_nothing_visible_changed() {
        run("CREATE SCHEMA keep; CREATE TABLE keep.t (id int PRIMARY KEY, v int)");
        cache::reset();
        let first = cache::schema_for("admin", false).unwrap();
        // An index on a known table invalidates it, but changes nothing the catalog shows.
        run("CREATE INDEX ON keep.t (v)");
        assert!(cache::is_dirty());
        let second = cache::schema_for("admin", false).unwrap();
        assert!(
            std::rc::Rc::ptr_eq(&first, &second),
            "the schema survives a no-op invalidation"
        );
    }

    #[pg_test]
    fn test_metadata_write_invalidates_cache() {
        let version = cached_resource_version();
        let store = metadata_store::locate().unwrap();
        let (v, md) = metadata_store::read_for_update(store).unwrap();
        metadata_store::write(store, v + 1, &md).unwrap();
        cache::invalidate_everywhere(store);
        assert!(cache::is_dirty());
        assert_eq!(cached_resource_version(), v + 1);
        assert!(v >= version);
    }

    // -----------------------------------------------------------------------------------------
    // execution layer (hand-written statements, independent of the compiler)

    fn sql(sql: &str, params: &[Option<&str>], is_mutation: bool, guarded: bool) -> CompiledSql {
        CompiledSql {
            sql: sql.to_string(),
            params: params.iter().map(|p| p.map(str::to_string)).collect(),
            is_mutation,
            guarded,
            stream: None,
        }
    }

    fn exec(c: &CompiledSql, session: &Session) -> Value {
        serde_json::from_str(&execute::run(c, session).unwrap()).unwrap()
    }

    #[pg_test]
    fn test_execute_keeps_key_order_and_caches_plans() {
        let c = sql(
            "SELECT json_build_object('data', json_build_object('b', $1::int, 'a', $2::text))",
            &[Some("1"), None],
            false,
            false,
        );
        let before = execute::cached_plan_count();
        let text = execute::run(&c, &Session::admin()).unwrap();
        assert_eq!(text, r#"{"data" : {"b" : 1, "a" : null}}"#);
        execute::run(&c, &Session::admin()).unwrap();
        assert_eq!(
            execute::cached_plan_count(),
            before + 1,
            "one plan per SQL text"
        );
    }

    #[pg_test]
    fn test_generic_plans_setting_keys_the_plan() {
        let c = sql(
            "SELECT json_build_object('data', $1::int + 1)",
            &[Some("41")],
            false,
            false,
        );
        let before = execute::cached_plan_count();
        assert_eq!(exec(&c, &Session::admin()), json!({"data": 42}));
        assert_eq!(exec(&c, &Session::admin()), json!({"data": 42}));
        assert_eq!(execute::cached_plan_count(), before + 1);
        run("SET LOCAL graft.generic_plans = on");
        let c = sql(
            "SELECT json_build_object('data', $1::int + 1)",
            &[Some("1")],
            false,
            false,
        );
        assert_eq!(exec(&c, &Session::admin()), json!({"data": 2}));
        assert_eq!(
            execute::cached_plan_count(),
            before + 2,
            "prepared again, with CURSOR_OPT_GENERIC_PLAN"
        );
    }

    #[pg_test]
    fn test_query_sees_earlier_writes_of_its_transaction() {
        run("CREATE TABLE seen (id int); INSERT INTO seen VALUES (1), (2)");
        let c = sql(
            "SELECT json_build_object('data', (SELECT count(*) FROM seen))",
            &[],
            false,
            true,
        );
        assert_eq!(exec(&c, &Session::admin()), json!({"data": 2}));
        run("INSERT INTO seen VALUES (3)");
        assert_eq!(exec(&c, &Session::admin()), json!({"data": 3}));
    }

    #[pg_test]
    fn test_plan_cache_is_bounded() {
        run("SET graft.plan_cache_size = 2");
        for i in 0..5 {
            execute::run(
                &sql(
                    &format!("SELECT json_build_object('data', {i})"),
                    &[],
                    false,
                    false,
                ),
                &Session::admin(),
            )
            .unwrap();
        }
        assert!(execute::cached_plan_count() <= 2);
        run("RESET graft.plan_cache_size");
    }

    #[pg_test]
    fn test_guarded_data_exception_leaves_transaction_usable() {
        let c = sql(
            "SELECT json_build_object('data', $1::timestamptz)",
            &[Some("not a date")],
            false,
            true,
        );
        let r = exec(&c, &Session::admin());
        assert_eq!(
            r,
            json!({"errors": [{
                "message": "invalid input syntax for type timestamp with time zone: \"not a date\"",
                "extensions": {"path": "$", "code": "data-exception"}
            }]})
        );
        // The transaction goes on.
        assert_eq!(Spi::get_one::<i32>("SELECT 41 + 1").unwrap(), Some(42));
        // And so does the plan: the same statement with a good value.
        let ok = sql(
            "SELECT json_build_object('data', $1::timestamptz = '2024-01-01T00:00:00Z')",
            &[Some("2024-01-01T00:00:00Z")],
            false,
            true,
        );
        assert_eq!(exec(&ok, &Session::admin()), json!({"data": true}));
    }

    #[pg_test]
    fn test_guarded_invalid_regex_is_data_exception() {
        let c = sql(
            "SELECT json_build_object('data', 'x' ~ $1)",
            &[Some("(")],
            false,
            true,
        );
        assert_eq!(
            exec(&c, &Session::admin())["errors"][0]["extensions"]["code"],
            json!("data-exception")
        );
    }

    #[pg_test]
    fn test_mutation_sets_hasura_user_and_rolls_back_on_violation() {
        run("CREATE TABLE mut (id int PRIMARY KEY, who text DEFAULT current_setting('hasura.user', true))");
        let session = Session::from_json(Some(
            &json!({"x-hasura-role": "user", "X-Hasura-User-Id": "7"}),
        ))
        .unwrap();
        let insert = sql(
            "WITH ins AS (INSERT INTO mut (id) SELECT unnest($1::int[]) RETURNING *) \
             SELECT json_build_object('data', json_build_object('affected_rows', (SELECT count(*) FROM ins)))",
            &[Some("{1,2}")],
            true,
            true,
        );
        assert_eq!(
            exec(&insert, &session),
            json!({"data": {"affected_rows": 2}})
        );
        let who = json_of("SELECT who::json FROM mut WHERE id = 1");
        assert_eq!(
            who,
            json!({"x-hasura-role": "user", "x-hasura-user-id": "7"})
        );

        // id 3 is new but 2 is taken: nothing of this statement may stay.
        let dup = sql(&insert.sql, &[Some("{3,2}")], true, true);
        let r = exec(&dup, &session);
        assert_eq!(
            r["errors"][0]["extensions"],
            json!({"path": "$", "code": "constraint-violation"})
        );
        let msg = r["errors"][0]["message"].as_str().unwrap();
        assert!(
            msg.starts_with(
                "Uniqueness violation. duplicate key value violates unique constraint \"mut_pkey\""
            ),
            "{msg}"
        );
        assert_eq!(
            Spi::get_one::<i64>("SELECT count(*) FROM mut").unwrap(),
            Some(2)
        );
        assert_eq!(
            Spi::get_one::<i64>("SELECT count(*) FROM mut WHERE id = 3").unwrap(),
            Some(0)
        );
    }

    #[pg_test]
    fn test_pg_error_mapping() {
        run("CREATE TABLE parent (id int PRIMARY KEY); \
             CREATE TABLE child (id int PRIMARY KEY, parent_id int REFERENCES parent (id), \
                                 qty int NOT NULL CHECK (qty > 0)); \
             INSERT INTO parent VALUES (1); INSERT INTO child VALUES (1, 1, 1)");
        let code_and_prefix = |stmt: &str| {
            let r = exec(&sql(stmt, &[], true, true), &Session::admin());
            let e = &r["errors"][0];
            (
                e["extensions"]["code"].as_str().unwrap().to_string(),
                e["message"].as_str().unwrap().to_string(),
            )
        };
        let wrap = |dml: &str| {
            format!("WITH w AS ({dml} RETURNING 1) SELECT json_build_object('data', (SELECT count(*) FROM w))")
        };
        let (code, msg) = code_and_prefix(&wrap("INSERT INTO child VALUES (2, 99, 1)"));
        assert_eq!(code, "constraint-violation");
        assert!(msg.starts_with("Foreign key violation. "), "{msg}");
        let (code, msg) = code_and_prefix(&wrap(
            "INSERT INTO child (id, parent_id, qty) VALUES (3, 1, NULL)",
        ));
        assert_eq!(code, "constraint-violation");
        assert!(msg.starts_with("Not-NULL violation. "), "{msg}");
        let (code, msg) = code_and_prefix(&wrap("INSERT INTO child VALUES (4, 1, -1)"));
        assert_eq!(code, "permission-error");
        assert!(msg.starts_with("Check constraint violation. "), "{msg}");
        let (code, msg) = code_and_prefix(&wrap("DELETE FROM parent"));
        assert_eq!(code, "constraint-violation");
        assert!(msg.starts_with("Foreign key violation. "), "{msg}");
        let (code, msg) = code_and_prefix("SELECT json_build_object('data', 1 / 0)");
        assert_eq!(
            (code.as_str(), msg.as_str()),
            ("data-exception", "division by zero")
        );
        let (code, msg) =
            code_and_prefix("SELECT json_build_object('data', (SELECT x FROM no_such_table))");
        assert_eq!(
            (code.as_str(), msg.as_str()),
            ("unexpected", "database query error")
        );
        // Every failed statement left the transaction usable.
        assert_eq!(
            Spi::get_one::<i64>("SELECT count(*) FROM child").unwrap(),
            Some(1)
        );
    }

    #[pg_test(error = "canceling statement due to user request")]
    fn test_guarded_statement_does_not_swallow_cancellation() {
        // The statement cancels itself (as pg_cancel_backend or statement_timeout would), then
        // sleeps: the cancellation must abort the caller's statement, not become a response.
        let slow = sql(
            "SELECT json_build_object('cancel', (SELECT pg_cancel_backend(pg_backend_pid())), \
                                      'data', (SELECT pg_sleep(2))::text)",
            &[],
            false,
            true,
        );
        let _ = execute::run(&slow, &Session::admin());
    }

    #[pg_test]
    fn test_internal_error_only_for_admin() {
        let bad = sql(
            "SELECT json_build_object('data', (SELECT x FROM no_such_table))",
            &[],
            false,
            true,
        );
        let admin = exec(&bad, &Session::admin());
        assert_eq!(
            admin["errors"][0]["extensions"]["internal"]["error"]["status_code"],
            json!("42P01")
        );
        let user = Session::from_json(Some(&json!({"x-hasura-role": "user"}))).unwrap();
        assert!(exec(&bad, &user)["errors"][0]["extensions"]
            .get("internal")
            .is_none());
    }

    // -----------------------------------------------------------------------------------------
    // graphql.resolve / graphql.metadata

    #[pg_test]
    fn test_resolve_rejects_missing_query() {
        assert_eq!(
            json_of("SELECT graphql.resolve(NULL)"),
            json!({"errors": [{"message": "Error in $: key \"query\" not found", "extensions": {"path": "$", "code": "parse-failed"}}]})
        );
        assert_eq!(
            json_of("SELECT graphql.resolve('  ')"),
            json!({"errors": [{"message": "the query is empty", "extensions": {"path": "$.query", "code": "bad-request"}}]})
        );
        assert_eq!(
            json_of("SELECT graphql.resolve('{ a }', session => '[1]')")["errors"][0]["extensions"]
                ["code"],
            json!("invalid-params")
        );
    }

    #[pg_test]
    fn test_metadata_resource_version_conflict() {
        let r = json_of(
            r#"SELECT graphql.metadata('{"type": "export_metadata", "args": {}, "resource_version": 987654}')"#,
        );
        assert_eq!(
            r,
            json!({"error": "metadata resource version referenced (987654) did not match current version", "path": "$", "code": "conflict"})
        );
    }

    #[pg_test]
    fn test_metadata_null_request() {
        assert_eq!(
            json_of("SELECT graphql.metadata(NULL)")["code"],
            json!("parse-failed")
        );
    }

    #[pg_test]
    fn test_export_metadata_default() {
        // Whatever other tests committed, the export is Hasura v3 metadata with a default source.
        let md: Metadata =
            serde_json::from_value(json_of("SELECT graphql.export_metadata()")).unwrap();
        assert_eq!(md.version, 3);
        assert!(md.sources.iter().any(|s| s.name == "default"));
    }

    #[pg_test]
    fn test_metadata_round_trip_and_resource_version() {
        run("CREATE SCHEMA rt; CREATE TABLE rt.thing (id int PRIMARY KEY, name text)");
        let v0 = json_of(
            r#"SELECT graphql.metadata('{"type":"export_metadata","version":2,"args":{}}')"#,
        )["resource_version"]
            .as_i64()
            .unwrap();
        let r = json_of(&format!(
            r#"SELECT graphql.metadata('{{"type":"pg_track_table","resource_version":{v0},"args":{{"source":"default","table":{{"schema":"rt","name":"thing"}}}}}}')"#
        ));
        assert_eq!(r, json!({"message": "success"}));
        let exported = json_of(
            r#"SELECT graphql.metadata('{"type":"export_metadata","version":2,"args":{}}')"#,
        );
        assert_eq!(exported["resource_version"].as_i64(), Some(v0 + 1));
        let tables = exported["metadata"]["sources"][0]["tables"]
            .as_array()
            .unwrap();
        assert!(tables
            .iter()
            .any(|t| t["table"] == json!({"schema": "rt", "name": "thing"})));
        // The old version is now stale.
        let stale = json_of(&format!(
            r#"SELECT graphql.metadata('{{"type":"pg_untrack_table","resource_version":{v0},"args":{{"table":{{"schema":"rt","name":"thing"}}}}}}')"#
        ));
        assert_eq!(stale["code"], json!("conflict"));
        // A failing request changes nothing and is returned, not raised.
        let again = json_of(
            r#"SELECT graphql.metadata('{"type":"pg_track_table","args":{"table":{"schema":"rt","name":"thing"}}}')"#,
        );
        assert_eq!(again["code"], json!("already-tracked"));
        assert_eq!(cached_resource_version(), v0 + 1);
    }

    #[pg_test(error = "invalid table name \"a.b.c\": expected \"name\" or \"schema.name\"")]
    fn test_helper_rejects_bad_name() {
        run("SELECT graphql.track_table('a.b.c')");
    }

    #[pg_test]
    fn test_helpers() {
        run(
            "CREATE SCHEMA hp; \
             CREATE TABLE hp.author (id int PRIMARY KEY, name text); \
             CREATE TABLE hp.article (id int PRIMARY KEY, title text, author_id int REFERENCES hp.author (id))",
        );
        run("SELECT graphql.track_table('hp.author')");
        run("SELECT graphql.track_table('hp.article', 'posts')");
        run("SELECT graphql.create_object_relationship('hp.article', 'writer', 'author_id')");
        run("SELECT graphql.create_array_relationship('hp.author', 'posts', 'hp.article', 'author_id')");
        let md = json_of("SELECT graphql.export_metadata()");
        let tables = md["sources"][0]["tables"].as_array().unwrap();
        let find = |name: &str| {
            tables
                .iter()
                .find(|t| t["table"] == json!({"schema": "hp", "name": name}))
                .unwrap()
                .clone()
        };
        let article = find("article");
        assert_eq!(article["configuration"]["custom_name"], json!("posts"));
        assert_eq!(article["object_relationships"][0]["name"], json!("writer"));
        assert_eq!(
            find("author")["array_relationships"][0]["name"],
            json!("posts")
        );
        run("SELECT graphql.drop_relationship('hp.article', 'writer')");
        // hp.author's `posts` depends on hp.article: untracking needs cascade, as in Hasura.
        run("SELECT graphql.untrack_table('hp.article', cascade => true)");
        let md = json_of("SELECT graphql.export_metadata()");
        let tables = md["sources"][0]["tables"].as_array().unwrap();
        assert!(!tables
            .iter()
            .any(|t| t["table"] == json!({"schema": "hp", "name": "article"})));
        let author = tables
            .iter()
            .find(|t| t["table"] == json!({"schema": "hp", "name": "author"}))
            .unwrap();
        assert!(
            author["array_relationships"]
                .as_array()
                .is_none_or(|a| a.is_empty()),
            "cascade dropped `posts`"
        );
    }

    #[pg_test(error = "view/table already tracked: \"hp2.author\"")]
    fn test_helper_raises_metadata_error() {
        run("CREATE SCHEMA hp2; CREATE TABLE hp2.author (id int PRIMARY KEY)");
        run("SELECT graphql.track_table('hp2.author')");
        run("SELECT graphql.track_table('hp2.author')");
    }

    // -----------------------------------------------------------------------------------------
    // end to end

    const BLOG: &str = "
        CREATE TABLE public.author (id serial PRIMARY KEY, name text NOT NULL);
        CREATE TABLE public.article (
            id serial PRIMARY KEY,
            title text NOT NULL,
            published_at timestamptz,
            author_id int NOT NULL REFERENCES public.author (id)
        );
        INSERT INTO public.author (name) VALUES ('Ann'), ('Bob');
        INSERT INTO public.article (title, author_id, published_at) VALUES
            ('A1', 1, '2024-01-01'), ('A2', 1, '2024-02-01'), ('B1', 2, NULL);
    ";

    #[pg_test]
    fn test_resolve_end_to_end() {
        run(BLOG);
        run("SELECT graphql.track_all('public')");
        let r = json_of("SELECT graphql.resolve('{ author(order_by: {id: asc}) { name articles(order_by: {id: asc}) { title } } }')");
        assert_eq!(
            r,
            json!({"data": {"author": [
                {"name": "Ann", "articles": [{"title": "A1"}, {"title": "A2"}]},
                {"name": "Bob", "articles": [{"title": "B1"}]}
            ]}})
        );
        // Variables and the object relationship.
        let r = json_of(
            r#"SELECT graphql.resolve('query Q($id: Int!) { article_by_pk(id: $id) { title author { name } } }', '{"id": 3}')"#,
        );
        assert_eq!(
            r,
            json!({"data": {"article_by_pk": {"title": "B1", "author": {"name": "Bob"}}}})
        );
        // Introspection never reaches the database.
        assert_eq!(
            json_of("SELECT graphql.resolve('{ __typename }')"),
            json!({"data": {"__typename": "query_root"}})
        );
        // A validation error is a response, not an ERROR.
        let r = json_of("SELECT graphql.resolve('{ author { nope } }')");
        assert_eq!(
            r["errors"][0]["extensions"]["code"],
            json!("validation-failed")
        );
    }

    #[pg_test]
    fn test_resolve_bad_timestamp_is_data_exception() {
        run(BLOG);
        run("SELECT graphql.track_all('public')");
        let r = json_of(
            r#"SELECT graphql.resolve('{ article(where: {published_at: {_gt: "not a date"}}) { id } }')"#,
        );
        assert_eq!(
            r["errors"][0]["extensions"]["code"],
            json!("data-exception"),
            "{r}"
        );
        assert_eq!(
            Spi::get_one::<i64>("SELECT count(*) FROM public.article").unwrap(),
            Some(3)
        );
        let r = json_of(
            r#"SELECT graphql.resolve('{ article(where: {published_at: {_gt: "2024-01-15"}}) { title } }')"#,
        );
        assert_eq!(r, json!({"data": {"article": [{"title": "A2"}]}}));
    }

    #[pg_test]
    fn test_failed_mutation_leaves_nothing() {
        run(BLOG);
        run("SELECT graphql.track_all('public')");
        let r = json_of(
            r#"SELECT graphql.resolve('mutation { a: insert_author_one(object: {name: "Cy"}) { id } b: insert_article_one(object: {author_id: 999, title: "x"}) { id } }')"#,
        );
        assert_eq!(
            r["errors"][0]["extensions"]["code"],
            json!("constraint-violation"),
            "{r}"
        );
        assert!(
            r["errors"][0]["message"]
                .as_str()
                .unwrap()
                .starts_with("Foreign key violation. "),
            "{r}"
        );
        assert_eq!(
            Spi::get_one::<i64>("SELECT count(*) FROM public.author WHERE name = 'Cy'").unwrap(),
            Some(0)
        );
        // The transaction goes on, and a good mutation works.
        let r = json_of(
            r#"SELECT graphql.resolve('mutation { insert_author_one(object: {name: "Di"}) { name } }')"#,
        );
        assert_eq!(r, json!({"data": {"insert_author_one": {"name": "Di"}}}));
    }

    #[pg_test]
    fn test_mutation_session_visible_to_triggers() {
        run(BLOG);
        run("SELECT graphql.track_all('public')");
        run(
            "CREATE TABLE audit (who text);
             CREATE FUNCTION audit_fn() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN INSERT INTO audit VALUES (current_setting('hasura.user', true)::json->>'x-hasura-user-id'); RETURN NEW; END $$;
             CREATE TRIGGER t AFTER INSERT ON public.author FOR EACH ROW EXECUTE FUNCTION audit_fn();",
        );
        let r = json_of(
            r#"SELECT graphql.resolve('mutation { insert_author_one(object: {name: "Dee"}) { name } }', NULL, '{"X-Hasura-User-Id": "42"}')"#,
        );
        assert_eq!(r, json!({"data": {"insert_author_one": {"name": "Dee"}}}));
        assert_eq!(
            Spi::get_one::<String>("SELECT who FROM audit")
                .unwrap()
                .as_deref(),
            Some("42")
        );
    }

    #[pg_test]
    fn test_failed_permission_check_leaves_nothing() {
        run(BLOG);
        run("SELECT graphql.track_all('public')");
        run(r#"SELECT graphql.metadata('{"type": "bulk", "args": [
                {"type": "pg_create_insert_permission", "args": {"table": "article", "role": "user", "permission":
                    {"check": {"author_id": {"_eq": "X-Hasura-User-Id"}}, "columns": ["title", "author_id"]}}},
                {"type": "pg_create_select_permission", "args": {"table": "article", "role": "user", "permission":
                    {"columns": ["id", "title", "author_id"], "filter": {}}}}
            ]}')"#);
        let as_user = |q: &str| {
            json_of(&format!(
                r#"SELECT graphql.resolve('{q}', NULL, '{{"x-hasura-role": "user", "x-hasura-user-id": "1"}}')"#
            ))
        };
        let r = as_user(
            r#"mutation { insert_article_one(object: {title: "theirs", author_id: 2}) { id } }"#,
        );
        assert_eq!(
            r["errors"][0]["extensions"]["code"],
            json!("permission-error"),
            "{r}"
        );
        assert_eq!(
            Spi::get_one::<i64>("SELECT count(*) FROM public.article WHERE title = 'theirs'")
                .unwrap(),
            Some(0)
        );
        let r = as_user(
            r#"mutation { insert_article_one(object: {title: "mine", author_id: 1}) { title } }"#,
        );
        assert_eq!(
            r,
            json!({"data": {"insert_article_one": {"title": "mine"}}})
        );
    }

    #[pg_test]
    fn test_recreated_table_comes_back() {
        run(
            "CREATE SCHEMA rc; CREATE TABLE rc.t (id int PRIMARY KEY); INSERT INTO rc.t VALUES (1)",
        );
        run("SELECT graphql.track_table('rc.t')");
        let q = "SELECT graphql.resolve('{ rc_t { id } }')";
        assert_eq!(json_of(q), json!({"data": {"rc_t": [{"id": 1}]}}));
        // Dropped: the metadata still names it (inconsistent), the schema leaves it out.
        run("DROP TABLE rc.t");
        assert_eq!(
            json_of(q)["errors"][0]["extensions"]["code"],
            json!("validation-failed")
        );
        // Created again: a relation the cache did not know, noticed because the metadata
        // names a missing table.
        run("CREATE TABLE rc.t (id int PRIMARY KEY); INSERT INTO rc.t VALUES (2)");
        assert_eq!(json_of(q), json!({"data": {"rc_t": [{"id": 2}]}}));
    }

    #[pg_test]
    fn test_resolve_sees_new_column_in_same_session() {
        run(BLOG);
        run("SELECT graphql.track_all('public')");
        let r = json_of("SELECT graphql.resolve('{ author(limit: 1) { name } }')");
        assert!(r.get("data").is_some(), "{r}");
        run("ALTER TABLE public.author ADD COLUMN nick text DEFAULT 'n'");
        let r =
            json_of("SELECT graphql.resolve('{ author(limit: 1, order_by: {id: asc}) { nick } }')");
        assert_eq!(r, json!({"data": {"author": [{"nick": "n"}]}}));
    }

    // -----------------------------------------------------------------------------------------
    // session options, backend-only permissions, enum tables, compile cache, SQL helpers

    /// `graphql.resolve(query, NULL, session)`.
    fn resolve_as(query: &str, session: Value) -> Value {
        Spi::get_one_with_args::<Json>(
            "SELECT graphql.resolve($1, NULL, $2::json)",
            &[query.into(), session.to_string().into()],
        )
        .unwrap_or_else(|e| panic!("{query}: {e}"))
        .expect("NULL")
        .0
    }

    #[pg_test]
    fn test_stringify_numeric_types_is_read_per_request() {
        run(
            "CREATE SCHEMA sn; CREATE TABLE sn.n (id bigint PRIMARY KEY, amount numeric); \
             INSERT INTO sn.n VALUES (9007199254740993, 1.10)",
        );
        run("SELECT graphql.track_table('sn.n')");
        let q = "SELECT graphql.resolve('{ sn_n { id amount } }')::text";
        let plain = text_of(q);
        assert!(
            plain.contains(": 9007199254740993") && plain.contains(": 1.10"),
            "{plain}"
        );
        // Same query text, so the compile cache must tell the two options apart.
        run("SET LOCAL graft.stringify_numeric_types = on");
        let strings = text_of(q);
        assert!(
            strings.contains(": \"9007199254740993\"") && strings.contains(": \"1.10\""),
            "{strings}"
        );
        run("SET LOCAL graft.stringify_numeric_types = off");
        assert_eq!(text_of(q), plain);
    }

    #[pg_test]
    fn test_backend_only_permissions_need_the_session_flag() {
        run("CREATE SCHEMA bo; CREATE TABLE bo.item (id int PRIMARY KEY, label text)");
        run("SELECT graphql.track_table('bo.item')");
        run(
            r#"SELECT graphql.create_select_permission('bo.item', 'user', '{"columns": "*", "filter": {}}')"#,
        );
        run(
            r#"SELECT graphql.create_insert_permission('bo.item', 'user', '{"columns": "*", "check": {}, "backend_only": true}')"#,
        );
        let m = r#"mutation { insert_bo_item_one(object: {id: 1, label: "x"}) { id } }"#;
        let plain = resolve_as(m, json!({"x-hasura-role": "user"}));
        assert_eq!(
            plain["errors"][0]["extensions"]["code"],
            json!("validation-failed"),
            "{plain}"
        );
        let backend = resolve_as(
            m,
            json!({"x-hasura-role": "user", "x-hasura-use-backend-only-permissions": "True"}),
        );
        assert_eq!(backend, json!({"data": {"insert_bo_item_one": {"id": 1}}}));
        // Two schemas cached side by side: the plain one still lacks the mutation.
        let again = resolve_as(m, json!({"x-hasura-role": "user"}));
        assert_eq!(
            again["errors"][0]["extensions"]["code"],
            json!("validation-failed")
        );
        let other = resolve_as(
            m,
            json!({"x-hasura-role": "user", "x-hasura-use-backend-only-permissions": "false"}),
        );
        assert_eq!(
            other["errors"][0]["extensions"]["code"],
            json!("validation-failed")
        );
    }

    #[pg_test]
    fn test_enum_table_rows_and_reload_metadata() {
        run("CREATE SCHEMA en; \
             CREATE TABLE en.color (value text PRIMARY KEY, comment text); \
             INSERT INTO en.color VALUES ('red', 'Red'), ('green', NULL); \
             CREATE TABLE en.shirt (id int PRIMARY KEY, color text NOT NULL REFERENCES en.color); \
             INSERT INTO en.shirt VALUES (1, 'red'), (2, 'green')");
        run("SELECT graphql.track_table('en.color'); SELECT graphql.track_table('en.shirt')");
        run(
            r#"SELECT graphql.metadata('{"type": "pg_set_table_is_enum", "args": {"table": {"schema": "en", "name": "color"}, "is_enum": true}}')"#,
        );
        let values = || {
            json_of(
                r#"SELECT graphql.resolve('{ __type(name: "en_color_enum") { enumValues { name description } } }')"#,
            )["data"]["__type"]["enumValues"]
                .clone()
        };
        assert_eq!(
            values(),
            json!([{"name": "green", "description": null}, {"name": "red", "description": "Red"}])
        );
        assert_eq!(
            json_of(
                "SELECT graphql.resolve('{ en_shirt(where: {color: {_eq: red}}) { id color } }')"
            ),
            json!({"data": {"en_shirt": [{"id": 1, "color": "red"}]}})
        );
        // New rows reach the schema through reload_metadata, which stores nothing but
        // invalidates every backend's cache (this one included).
        run("INSERT INTO en.color VALUES ('blue', 'Blue')");
        let version = cached_resource_version();
        assert!(!cache::is_dirty());
        let r = json_of(r#"SELECT graphql.metadata('{"type": "reload_metadata", "args": {}}')"#);
        assert_eq!(r["message"], json!("success"), "{r}");
        assert!(cache::is_dirty(), "reload_metadata invalidates");
        assert_eq!(values().as_array().map(Vec::len), Some(3));
        assert_eq!(cached_resource_version(), version, "nothing stored");
        // Inside a bulk too.
        run("INSERT INTO en.color VALUES ('black', NULL)");
        let _ = cache::snapshot().unwrap();
        run(
            r#"SELECT graphql.metadata('{"type": "bulk", "args": [{"type": "reload_metadata", "args": {}}]}')"#,
        );
        assert!(cache::is_dirty());
        assert_eq!(values().as_array().map(Vec::len), Some(4));
    }

    #[pg_test]
    fn test_compile_cache_hits_repeated_requests() {
        run(BLOG);
        run("SELECT graphql.track_all('public')");
        let q = "query ($id: Int!) { author_by_pk(id: $id) { name } }";
        let ask = |id: i32| {
            Spi::get_one_with_args::<Json>(
                "SELECT graphql.resolve($1, $2::json)",
                &[q.into(), json!({"id": id}).to_string().into()],
            )
            .unwrap()
            .unwrap()
            .0
        };
        assert_eq!(ask(1), json!({"data": {"author_by_pk": {"name": "Ann"}}}));
        assert_eq!(ask(2), json!({"data": {"author_by_pk": {"name": "Bob"}}}));
        // Concurrent tests' invalidations may reset the cache between two requests: one clean
        // attempt out of a few proves the hits.
        let clean = (0..20).any(|i| {
            ask(10 * i + 1);
            let n = cache::compiled_count();
            ask(10 * i + 1);
            let hit = cache::compiled_count() == n;
            ask(10 * i + 2);
            hit && cache::compiled_count() == n
        });
        assert!(
            clean,
            "a repeated request is a hit, and so is one with other values of its variables"
        );
        // A schema change drops them with the schemas.
        run("ALTER TABLE public.author ADD COLUMN nick text");
        assert_eq!(ask(1), json!({"data": {"author_by_pk": {"name": "Ann"}}}));
        assert_eq!(cache::compiled_count(), 1);
    }

    #[pg_test]
    fn test_permission_helpers_and_search_path() {
        run(
            r#"CREATE SCHEMA sp; CREATE TABLE sp."Doc" (id int PRIMARY KEY, owner text); SET LOCAL search_path = sp, public"#,
        );
        // An unqualified name is found through search_path, as Postgres finds it.
        run(r#"SELECT graphql.track_table('"Doc"')"#);
        run(
            r#"SELECT graphql.create_select_permission('"Doc"', 'user', '{"columns": ["id"], "filter": {"owner": {"_eq": "X-Hasura-User-Id"}}}')"#,
        );
        run(
            r#"SELECT graphql.create_update_permission('sp."Doc"', 'user', '{"columns": ["owner"], "filter": {}, "check": {}}', 'who may edit')"#,
        );
        let doc = || {
            json_of("SELECT graphql.export_metadata()")["sources"][0]["tables"]
                .as_array()
                .unwrap()
                .iter()
                .find(|t| t["table"] == json!({"schema": "sp", "name": "Doc"}))
                .cloned()
                .expect("sp.Doc tracked")
        };
        let t = doc();
        assert_eq!(t["select_permissions"][0]["role"], json!("user"));
        assert_eq!(t["update_permissions"][0]["comment"], json!("who may edit"));
        run(r#"SELECT graphql.drop_permission('"Doc"', 'user', 'update')"#);
        assert!(doc()["update_permissions"]
            .as_array()
            .is_none_or(|a| a.is_empty()));
        run(r#"INSERT INTO sp."Doc" VALUES (1, 'u1'), (2, 'u2')"#);
        assert_eq!(
            resolve_as(
                "{ sp_Doc { id } }",
                json!({"x-hasura-role": "user", "x-hasura-user-id": "u2"})
            ),
            json!({"data": {"sp_Doc": [{"id": 2}]}})
        );
    }

    #[pg_test(
        error = "invalid permission kind \"grant\": expected select, insert, update or delete"
    )]
    fn test_drop_permission_rejects_bad_kind() {
        run("SELECT graphql.drop_permission('author', 'user', 'grant')");
    }

    #[pg_test]
    fn test_reload_returns_true() {
        assert!(Spi::get_one::<bool>("SELECT graphql.reload()")
            .unwrap()
            .unwrap());
        assert!(cache::is_dirty());
    }

    // -----------------------------------------------------------------------------------------
    // folded parameters

    #[pg_test]
    fn test_folded_parameters_follow_the_values() {
        run("CREATE SCHEMA fold; CREATE TABLE fold.t (id int PRIMARY KEY, d date)");
        run("INSERT INTO fold.t VALUES (1, '2026-01-01'), (2, '2026-02-01'), (3, '2026-03-01')");
        run("SELECT graphql.track_table('fold.t')");
        let q = |id: i32| json_of(&format!("SELECT graphql.resolve('{{ fold_t(where: {{id: {{_eq: {id}}}}}) {{ id }} }}')"));
        // First call: the value is folded in; a second value unfolds it; both stay right.
        for id in [1, 1, 2, 3, 1] {
            assert_eq!(q(id)["data"]["fold_t"], json!([{"id": id}]), "id {id}");
        }
        // A folded value the type rejects is the same GraphQL error as an unfolded one.
        let bad = json_of(r#"SELECT graphql.resolve('{ fold_t(where: {d: {_eq: "not a date"}}) { id } }')"#);
        assert_eq!(bad["errors"][0]["extensions"]["code"], "data-exception", "{bad}");
        let good = json_of(r#"SELECT graphql.resolve('{ fold_t(where: {d: {_eq: "2026-02-01"}}) { id } }')"#);
        assert_eq!(good["data"]["fold_t"], json!([{"id": 2}]), "{good}");
        run("SET LOCAL graft.fold_parameters = off");
        crate::execute::clear_plans();
        for id in [3, 2] {
            assert_eq!(q(id)["data"]["fold_t"], json!([{"id": id}]), "unfolded, id {id}");
        }
    }

    // -----------------------------------------------------------------------------------------
    // event triggers: capture triggers kept in sync with the metadata, events in the outbox

    fn meta(request: Value) -> Value {
        Spi::get_one_with_args::<Json>("SELECT graphql.metadata($1::json)", &[request.to_string().into()])
            .expect("metadata")
            .expect("NULL")
            .0
    }

    fn triggers_on(table: &str) -> Vec<String> {
        let sql = format!(
            "SELECT coalesce(json_agg(tgname ORDER BY tgname), '[]') FROM pg_trigger WHERE tgrelid = '{table}'::regclass AND NOT tgisinternal"
        );
        serde_json::from_value(json_of(&sql)).unwrap()
    }

    fn events_of(trigger: &str) -> Vec<Value> {
        let sql = format!(
            "SELECT coalesce(json_agg(payload ORDER BY created_at, id), '[]') FROM graphql.event_log WHERE trigger_name = '{trigger}'"
        );
        serde_json::from_value(json_of(&sql)).unwrap()
    }

    #[pg_test]
    fn test_event_trigger_captures_rows_in_the_same_transaction() {
        run("CREATE SCHEMA evt1; CREATE TABLE evt1.item (id int PRIMARY KEY, name text, bio text)");
        meta(json!({"type": "pg_track_table", "args": {"table": {"schema": "evt1", "name": "item"}}}));
        let r = meta(json!({"type": "pg_create_event_trigger", "args": {
            "name": "evt1_item", "table": {"schema": "evt1", "name": "item"}, "webhook": "http://127.0.0.1:9/x",
            "insert": {"columns": "*"}, "update": {"columns": ["name"], "payload": ["id", "name"]}, "delete": {"columns": "*"}}}));
        assert_eq!(r, json!({"message": "success"}));
        assert_eq!(triggers_on("evt1.item"), ["graft_event_evt1_item_DELETE", "graft_event_evt1_item_INSERT", "graft_event_evt1_item_UPDATE"]);

        run("INSERT INTO evt1.item VALUES (1, 'a', 'x')");
        run("UPDATE evt1.item SET bio = 'y'"); // not a listened column: no event
        run("UPDATE evt1.item SET name = 'b'");
        run("DELETE FROM evt1.item");
        // One transaction: the same created_at, so look events up by operation.
        let events = events_of("evt1_item");
        let by_op = |op: &str| events.iter().find(|e| e["op"] == op).cloned().unwrap_or_else(|| panic!("no {op} in {events:?}"));
        assert_eq!(events.len(), 3, "{events:?}");
        assert_eq!(by_op("INSERT")["data"], json!({"old": null, "new": {"id": 1, "name": "a", "bio": "x"}}));
        assert_eq!(by_op("UPDATE")["data"], json!({"old": {"id": 1, "name": "a"}, "new": {"id": 1, "name": "b"}}));
        assert_eq!(by_op("DELETE")["data"]["new"], Value::Null);
        assert_eq!(by_op("INSERT")["session_variables"], Value::Null);

        // A rolled-back change leaves no event.
        run("DO $$ BEGIN INSERT INTO evt1.item VALUES (2, 'gone', NULL); RAISE EXCEPTION 'undo'; \
             EXCEPTION WHEN raise_exception THEN NULL; END $$");
        assert_eq!(events_of("evt1_item").len(), 3);

        let r = meta(json!({"type": "pg_delete_event_trigger", "args": {"name": "evt1_item"}}));
        assert_eq!(r, json!({"message": "success"}));
        assert!(triggers_on("evt1.item").is_empty());
        // Its undelivered events are archived, not delivered later.
        let archived = json_of("SELECT json_agg(archived) FROM graphql.event_log WHERE trigger_name = 'evt1_item'");
        assert_eq!(archived, json!([true, true, true]));
    }

    #[pg_test]
    fn test_event_trigger_records_the_graphql_session() {
        run("CREATE SCHEMA evt2; CREATE TABLE evt2.note (id int PRIMARY KEY, body text)");
        meta(json!({"type": "pg_track_table", "args": {"table": {"schema": "evt2", "name": "note"}}}));
        meta(json!({"type": "pg_create_event_trigger", "args": {
            "name": "evt2_note", "table": {"schema": "evt2", "name": "note"}, "webhook": "http://127.0.0.1:9/x", "insert": {"columns": "*"}}}));
        let out = json_of(
            r#"SELECT graphql.resolve('mutation { insert_evt2_note_one(object: {id: 1, body: "hi"}) { id } }', NULL, '{"x-hasura-role": "admin", "x-hasura-user-id": "7"}')"#,
        );
        assert_eq!(out["data"]["insert_evt2_note_one"]["id"], 1, "{out}");
        let events = events_of("evt2_note");
        assert_eq!(events.len(), 1);
        assert_eq!(events[0]["session_variables"]["x-hasura-user-id"], "7");
    }

    #[pg_test]
    fn test_replace_metadata_recreates_capture_triggers() {
        run("CREATE SCHEMA evt3; CREATE TABLE evt3.t (id int PRIMARY KEY)");
        meta(json!({"type": "pg_track_table", "args": {"table": {"schema": "evt3", "name": "t"}}}));
        meta(json!({"type": "pg_create_event_trigger", "args": {
            "name": "evt3_t", "table": {"schema": "evt3", "name": "t"}, "webhook": "http://127.0.0.1:9/x", "delete": {"columns": "*"}}}));
        let exported = meta(json!({"type": "export_metadata", "args": {}}));
        meta(json!({"type": "clear_metadata", "args": {}}));
        assert!(triggers_on("evt3.t").is_empty());
        meta(json!({"type": "replace_metadata", "args": exported}));
        assert_eq!(triggers_on("evt3.t"), ["graft_event_evt3_t_DELETE"]);
        // A table dropped and re-created loses its triggers; reload_metadata puts them back.
        run("DROP TABLE evt3.t; CREATE TABLE evt3.t (id int PRIMARY KEY)");
        assert!(triggers_on("evt3.t").is_empty());
        meta(json!({"type": "reload_metadata", "args": {}}));
        assert_eq!(triggers_on("evt3.t"), ["graft_event_evt3_t_DELETE"]);
    }

    #[pg_test]
    fn test_events_are_captured_for_roles_that_cannot_read_the_outbox() {
        run("CREATE SCHEMA evt4; CREATE TABLE evt4.t (id int PRIMARY KEY)");
        meta(json!({"type": "pg_track_table", "args": {"table": {"schema": "evt4", "name": "t"}}}));
        meta(json!({"type": "pg_create_event_trigger", "args": {
            "name": "evt4_t", "table": {"schema": "evt4", "name": "t"}, "webhook": "http://127.0.0.1:9/x", "insert": {"columns": "*"}}}));
        run("CREATE ROLE graft_evt_app; GRANT USAGE ON SCHEMA evt4 TO graft_evt_app; GRANT INSERT ON evt4.t TO graft_evt_app");
        run("SET ROLE graft_evt_app; INSERT INTO evt4.t VALUES (1); RESET ROLE");
        assert_eq!(events_of("evt4_t").len(), 1);
    }

    #[pg_test]
    fn test_event_sql_helpers() {
        run("CREATE SCHEMA evt5; CREATE TABLE evt5.t (id int PRIMARY KEY, v text)");
        run("SELECT graphql.track_table('evt5.t')");
        let r = json_of("SELECT graphql.create_event_trigger('evt5_t', 'evt5.t', 'http://127.0.0.1:9/x', ARRAY['INSERT', 'UPDATE'], ARRAY['v'], enable_manual => true)::json");
        assert_eq!(r, json!({"message": "success"}));
        assert_eq!(triggers_on("evt5.t"), ["graft_event_evt5_t_INSERT", "graft_event_evt5_t_UPDATE"]);
        let exported = json_of("SELECT graphql.export_metadata()::json");
        let et = exported["sources"][0]["tables"].as_array().unwrap().iter()
            .find(|t| t["table"]["name"] == "t" && t["table"]["schema"] == "evt5").unwrap()["event_triggers"][0].clone();
        assert_eq!(et["definition"]["update"], json!({"columns": ["v"]}), "{et}");
        let invoked = json_of(r#"SELECT graphql.invoke_event_trigger('evt5_t', '{"id": 5}')::json"#);
        let id = invoked["event_id"].as_str().unwrap().to_string();
        let ev = json_of(&format!("SELECT payload FROM graphql.event_log WHERE id = '{id}'"));
        assert_eq!(ev["op"], "MANUAL");
        assert_eq!(ev["data"]["new"], json!({"id": 5}));
        assert_eq!(json_of(&format!("SELECT graphql.redeliver_event('{id}')::json")), json!({"message": "success"}));
        assert_eq!(json_of("SELECT graphql.create_cron_trigger('evt5_cron', 'http://127.0.0.1:9/c', '*/10 * * * *')::json"), json!({"message": "success"}));
        assert_eq!(json_of("SELECT graphql.delete_cron_trigger('evt5_cron')::json"), json!({"message": "success"}));
        let one_off = json_of("SELECT graphql.create_scheduled_event('http://127.0.0.1:9/o', now() + interval '1 day', '{\"a\": 1}')::json");
        assert_eq!(one_off["message"], "success", "{one_off}");
        let logs = json_of("SELECT graphql.get_event_logs('evt5_t')::json");
        assert_eq!(logs.as_array().map(|l| l.len()), Some(1), "{logs}");
        assert_eq!(logs[0]["id"], id.as_str());
        assert_eq!(json_of("SELECT graphql.get_event_logs('evt5_t', 'processed')::json"), json!([]));
        assert_eq!(json_of("SELECT graphql.get_event_invocation_logs('evt5_t', 10)::json"), json!([]));
        let by_id = json_of(&format!("SELECT graphql.get_event_by_id('{id}')::json"));
        assert_eq!(by_id["event"]["id"], id.as_str(), "{by_id}");
        assert_eq!(json_of("SELECT graphql.create_cron_trigger('evt5_cron', 'http://127.0.0.1:9/c', '*/10 * * * *')::json"), json!({"message": "success"}));
        let r = json_of(r#"SELECT graphql.create_cron_trigger('evt5_cron2', 'http://127.0.0.1:9/c', '0 * * * *',
            headers => '[{"name": "X-A", "value": "1"}]', retry_conf => '{"num_retries": 2, "tolerance_seconds": 60}',
            comment => 'hourly')::json"#);
        assert_eq!(r, json!({"message": "success"}));
        let crons = json_of("SELECT graphql.get_cron_triggers()::json");
        let c2 = crons["cron_triggers"].as_array().unwrap().iter().find(|c| c["name"] == "evt5_cron2").unwrap().clone();
        assert_eq!(c2["headers"], json!([{"name": "X-A", "value": "1"}]), "{c2}");
        assert_eq!(c2["retry_conf"]["num_retries"], 2, "{c2}");
        assert_eq!(c2["retry_conf"]["tolerance_seconds"], 60, "{c2}");
        assert_eq!(c2["comment"], "hourly", "{c2}");
        assert_eq!(json_of("SELECT graphql.delete_cron_trigger('evt5_cron')::json"), json!({"message": "success"}));
        assert_eq!(json_of("SELECT graphql.delete_cron_trigger('evt5_cron2')::json"), json!({"message": "success"}));
        let one_off = json_of("SELECT graphql.create_scheduled_event('http://127.0.0.1:9/o', now() + interval '1 day', '{\"a\": 1}', \
            headers => '[{\"name\": \"X-B\", \"value\": \"2\"}]', retry_conf => '{\"num_retries\": 1}')::json");
        assert_eq!(one_off["message"], "success", "{one_off}");
        let oid = one_off["event_id"].as_str().unwrap().to_string();
        let listed = json_of("SELECT graphql.get_scheduled_events('one_off', get_rows_count => true)::json");
        assert_eq!(listed["count"], 2, "{listed}");
        let ours = listed["events"].as_array().unwrap().iter().find(|e| e["id"] == oid.as_str()).unwrap().clone();
        assert_eq!(ours["header_conf"], json!([{"name": "X-B", "value": "2"}]), "{listed}");
        assert_eq!(ours["retry_conf"], json!({"num_retries": 1}), "{listed}");
        let inv = json_of(&format!("SELECT graphql.get_scheduled_event_invocations('one_off', '{oid}')::json"));
        assert_eq!(inv["invocations"], json!([]), "{inv}");
        assert_eq!(json_of(&format!("SELECT graphql.delete_scheduled_event('one_off', '{oid}')::json")), json!({"message": "success"}));
        assert_eq!(json_of("SELECT graphql.get_scheduled_events('one_off', get_rows_count => true)::json")["count"], 1);
        assert_eq!(json_of("SELECT graphql.delete_event_trigger('evt5_t')::json"), json!({"message": "success"}));
        assert!(triggers_on("evt5.t").is_empty());
        // The webhook from the environment and payload columns.
        let r = json_of("SELECT graphql.create_event_trigger('evt5_env', 'evt5.t', webhook_from_env => 'EVT5_HOOK', \
            operations => ARRAY['INSERT'], payload_columns => ARRAY['id'])::json");
        assert_eq!(r, json!({"message": "success"}));
        let exported = json_of("SELECT graphql.export_metadata()::json");
        let et = exported["sources"][0]["tables"].as_array().unwrap().iter()
            .find(|t| t["table"]["name"] == "t" && t["table"]["schema"] == "evt5").unwrap()["event_triggers"][0].clone();
        assert_eq!(et["webhook_from_env"], "EVT5_HOOK", "{et}");
        assert_eq!(et["definition"]["insert"], json!({"columns": "*", "payload": ["id"]}), "{et}");
        run("INSERT INTO evt5.t VALUES (1, 'hidden')");
        let ev = json_of("SELECT payload FROM graphql.event_log WHERE trigger_name = 'evt5_env'");
        assert_eq!(ev["data"]["new"], json!({"id": 1}), "{ev}");
    }

    #[pg_test(error = "event trigger with name \"nope\" does not exist")]
    fn test_event_sql_helpers_raise() {
        run("SELECT graphql.delete_event_trigger('nope')");
    }

    #[pg_test]
    fn test_metadata_reports_postgres_errors_and_stores_nothing() {
        run("CREATE SCHEMA evt6; CREATE TABLE evt6.t (id int PRIMARY KEY)");
        meta(json!({"type": "pg_track_table", "args": {"table": {"schema": "evt6", "name": "t"}}}));
        let before = json_of("SELECT graphql.export_metadata()::json");
        // A role that may call graphql.metadata but does not own the table: CREATE TRIGGER fails.
        run("CREATE ROLE graft_evt_meta; GRANT USAGE ON SCHEMA evt6 TO graft_evt_meta; \
             GRANT EXECUTE ON FUNCTION graphql.metadata(json) TO graft_evt_meta; \
             GRANT EXECUTE ON FUNCTION graphql.capture_event() TO graft_evt_meta; \
             GRANT SELECT ON evt6.t TO graft_evt_meta");
        run("SET ROLE graft_evt_meta");
        let r = meta(json!({"type": "pg_create_event_trigger", "args": {
            "name": "evt6_t", "table": {"schema": "evt6", "name": "t"}, "webhook": "http://127.0.0.1:9/x", "insert": {"columns": "*"}}}));
        run("RESET ROLE");
        assert_eq!(r["code"], "postgres-error", "{r}");
        assert!(r["error"].as_str().unwrap().contains("permission denied for table t"), "{r}");
        assert_eq!(json_of("SELECT graphql.export_metadata()::json"), before, "the failed request stored nothing");
        assert!(triggers_on("evt6.t").is_empty());
    }

    #[pg_test(error = "permission denied for table event_log")]
    fn test_the_outbox_is_not_public() {
        run("CREATE ROLE graft_evt_reader; SET ROLE graft_evt_reader");
        run("SELECT count(*) FROM graphql.event_log");
    }

}

// ---------------------------------------------------------------------------------------------
// Two sessions, committed changes: what another backend's cache sees.

#[cfg(test)]
mod sessions {
    use postgres::Client;

    /// Start the test cluster (once per test binary) and open a session.
    fn session() -> Client {
        pgrx_tests::run_test(
            "test_metadata_store_exists",
            None,
            crate::pg_test::postgresql_conf_options(),
        )
        .unwrap();
        pgrx_tests::client().unwrap().0
    }

    fn flag(c: &mut Client, sql: &str) -> bool {
        c.query_one(sql, &[])
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .get(0)
    }

    fn text(c: &mut Client, sql: &str) -> String {
        c.query_one(sql, &[])
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .get(0)
    }

    /// Undo what a test committed, whatever state it stopped in.
    fn cleanup(c: &mut Client, schema: &str) {
        // Untrack through a direct write: the tables may be gone, and this must not depend on
        // the metadata operations under test. No other backend needs telling: every other test
        // runs in a new backend, with a cold cache.
        // Two transactions, each retried: holding the metadata row while waiting for the
        // tables' locks deadlocks with a concurrent test that reads those tables (an enum
        // table's rows) and then waits for the metadata row.
        for sql in [
            format!(
                "UPDATE graphql.metadata_store SET metadata = jsonb_set(metadata::jsonb, '{{sources,0,tables}}', \
                   coalesce((SELECT jsonb_agg(t) FROM jsonb_array_elements(metadata::jsonb->'sources'->0->'tables') t \
                             WHERE t->'table'->>'schema' IS DISTINCT FROM '{schema}'), '[]'::jsonb))::json, \
                   resource_version = resource_version + 1"
            ),
            format!("DROP SCHEMA IF EXISTS {schema} CASCADE"),
        ] {
            let mut tries = 0;
            loop {
                match c.batch_execute(&sql) {
                    Ok(()) => break,
                    Err(e) if tries < 5 && e.code().is_some_and(|s| s.code() == "40P01") => tries += 1,
                    Err(e) => panic!("{sql}: {e}"),
                }
            }
        }
    }

    #[test]
    fn other_session_sees_committed_ddl_and_metadata() {
        let mut a = session();
        let mut b = session();
        cleanup(&mut a, "xs");
        a.batch_execute("CREATE SCHEMA xs; CREATE TABLE xs.t (id int PRIMARY KEY); CREATE TABLE xs.t2 (id int PRIMARY KEY)")
            .unwrap();

        // B warms its cache.
        assert!(flag(&mut b, "SELECT tests.cached_table_exists('xs', 't')"));
        assert!(!flag(
            &mut b,
            "SELECT tests.cached_column_exists('xs', 't', 'extra')"
        ));
        let v0: i64 = b
            .query_one("SELECT tests.cached_resource_version()", &[])
            .unwrap()
            .get(0);

        // A commits DDL: B's next transaction sees it, with no reload call.
        a.batch_execute("ALTER TABLE xs.t ADD COLUMN extra text")
            .unwrap();
        assert!(flag(
            &mut b,
            "SELECT tests.cached_column_exists('xs', 't', 'extra')"
        ));

        // A drops a table: B forgets it and keeps the other one.
        a.batch_execute("DROP TABLE xs.t2").unwrap();
        assert!(!flag(
            &mut b,
            "SELECT tests.cached_table_exists('xs', 't2')"
        ));
        assert!(flag(&mut b, "SELECT tests.cached_table_exists('xs', 't')"));

        // A writes metadata through the API: B's cache moves to the new version.
        let r = text(
            &mut a,
            "SELECT graphql.metadata('{\"type\":\"export_metadata\",\"args\":{}}')::text",
        );
        assert!(r.contains("\"version\""), "{r}");
        a.batch_execute(
            "SELECT graphql.metadata('{\"type\":\"pg_track_table\",\"args\":{\"table\":{\"schema\":\"xs\",\"name\":\"t\"}}}')",
        )
        .unwrap();
        let v1: i64 = b
            .query_one("SELECT tests.cached_resource_version()", &[])
            .unwrap()
            .get(0);
        assert!(v1 > v0, "B saw the new resource version ({v0} -> {v1})");
        cleanup(&mut a, "xs");
    }

    #[test]
    fn other_session_sees_enum_rows_after_reload_metadata() {
        let mut a = session();
        let mut b = session();
        cleanup(&mut a, "xe");
        a.batch_execute(
            "CREATE SCHEMA xe; CREATE TABLE xe.size (value text PRIMARY KEY); \
             INSERT INTO xe.size VALUES ('s'), ('m'); \
             CREATE TABLE xe.shirt (id int PRIMARY KEY, size text REFERENCES xe.size); \
             SELECT graphql.track_table('xe.size'); SELECT graphql.track_table('xe.shirt'); \
             SELECT graphql.metadata('{\"type\":\"pg_set_table_is_enum\",\"args\":{\"table\":{\"schema\":\"xe\",\"name\":\"size\"},\"is_enum\":true}}')",
        )
        .unwrap();
        let names = |c: &mut Client| -> serde_json::Value {
            let r = text(
                c,
                "SELECT graphql.resolve('{ __type(name: \"xe_size_enum\") { enumValues { name } } }')::text",
            );
            serde_json::from_str::<serde_json::Value>(&r).unwrap()["data"]["__type"]["enumValues"]
                .clone()
        };
        assert_eq!(
            names(&mut b),
            serde_json::json!([{"name": "m"}, {"name": "s"}])
        );
        // A committed row, then a reload_metadata that writes nothing: B sees the new value.
        a.batch_execute("INSERT INTO xe.size VALUES ('l')").unwrap();
        a.batch_execute("SELECT graphql.metadata('{\"type\":\"reload_metadata\",\"args\":{}}')")
            .unwrap();
        assert_eq!(
            names(&mut b),
            serde_json::json!([{"name": "l"}, {"name": "m"}, {"name": "s"}])
        );
        cleanup(&mut a, "xe");
    }

    #[test]
    fn other_session_resolves_after_ddl() {
        let mut a = session();
        let mut b = session();
        cleanup(&mut a, "xr");
        a.batch_execute(
            "CREATE SCHEMA xr;              CREATE TABLE xr.keep (id int PRIMARY KEY); INSERT INTO xr.keep VALUES (1);              CREATE TABLE xr.gone (id int PRIMARY KEY);              SELECT graphql.track_table('xr.keep'); SELECT graphql.track_table('xr.gone')",
        )
        .unwrap();
        let r = text(&mut b, "SELECT graphql.resolve('{ xr_keep { id } }')::text");
        let v: serde_json::Value = serde_json::from_str(&r).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"data": {"xr_keep": [{"id": 1}]}}),
            "warm"
        );

        a.batch_execute("ALTER TABLE xr.keep ADD COLUMN label text DEFAULT 'x'")
            .unwrap();
        let r = text(
            &mut b,
            "SELECT graphql.resolve('{ xr_keep { id label } }')::text",
        );
        let v: serde_json::Value = serde_json::from_str(&r).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"data": {"xr_keep": [{"id": 1, "label": "x"}]}})
        );

        a.batch_execute("DROP TABLE xr.gone").unwrap();
        let r = text(&mut b, "SELECT graphql.resolve('{ xr_keep { id } }')::text");
        let v: serde_json::Value = serde_json::from_str(&r).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"data": {"xr_keep": [{"id": 1}]}}),
            "tracked tables keep working after another is dropped"
        );
        cleanup(&mut a, "xr");
    }
}
