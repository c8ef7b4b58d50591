\i pg_test/include/settings.psql
-- Per-table commit counters (graphql.table_versions, issue 14): the cluster preloads graft.
-- A version is compared with the one read before a statement (psql variables, so that the
-- bookkeeping writes nothing): "t" means it changed. Every statement autocommits unless in
-- BEGIN … COMMIT. Raw counter values are never printed.
CREATE SCHEMA cc;
CREATE TABLE cc.t (id int);
CREATE TABLE cc.other (id int);
CREATE TABLE cc.log (msg text);
CREATE TABLE cc.parent (id int PRIMARY KEY);
CREATE TABLE cc.child (parent_id int REFERENCES cc.parent ON DELETE CASCADE);
CREATE TABLE cc.p (k int, v text) PARTITION BY RANGE (k);
CREATE TABLE cc.p1 PARTITION OF cc.p FOR VALUES FROM (0) TO (10);
CREATE TABLE cc.p2 PARTITION OF cc.p FOR VALUES FROM (10) TO (20);
CREATE MATERIALIZED VIEW cc.mv AS SELECT count(*) AS n FROM cc.t;
CREATE FUNCTION cc.v(VARIADIC tables regclass[]) RETURNS bigint[] LANGUAGE sql VOLATILE
  AS $$ SELECT graphql.table_versions(tables::oid[]) $$;
CREATE FUNCTION cc.insert_t(n int) RETURNS void LANGUAGE plpgsql
  AS $$ BEGIN INSERT INTO cc.t VALUES (n); END $$;
CREATE FUNCTION cc.log_other() RETURNS trigger LANGUAGE plpgsql
  AS $$ BEGIN INSERT INTO cc.log VALUES ('other ' || NEW.id); RETURN NEW; END $$;
CREATE TRIGGER log_other AFTER INSERT ON cc.other FOR EACH ROW EXECUTE FUNCTION cc.log_other();
CREATE FUNCTION cc.insert_t_and_fail(n int) RETURNS void LANGUAGE plpgsql
  AS $$ BEGIN
    BEGIN INSERT INTO cc.t VALUES (n); RAISE EXCEPTION 'undo'; EXCEPTION WHEN OTHERS THEN NULL; END;
  END $$;
SHOW graft.change_tracking;
-- Available: one value per table, NULL for a NULL element.
SELECT graphql.table_versions(ARRAY['cc.t'::regclass, NULL, 'cc.other'::regclass]::oid[]) IS NOT NULL AS available,
       array_length(graphql.table_versions(ARRAY['cc.t'::regclass, NULL, 'cc.other'::regclass]::oid[]), 1) AS n,
       (graphql.table_versions(ARRAY['cc.t'::regclass, NULL]::oid[]))[2] IS NULL AS null_element;
SELECT graphql.table_versions(NULL) IS NULL AS strict;
-- Not executable by PUBLIC, like the rest of the API.
SELECT has_function_privilege('public', 'graphql.table_versions(oid[])', 'EXECUTE') AS public_can_execute;
-- Nothing committed: equal.
SELECT cc.v('cc.t') AS t \gset
SELECT 'no write', cc.v('cc.t') <> :'t';
-- A committed INSERT changes the table's version; another table's does not change.
SELECT cc.v('cc.t') AS t, cc.v('cc.other') AS o \gset
INSERT INTO cc.t VALUES (1);
SELECT 'insert: t', cc.v('cc.t') <> :'t';
SELECT 'insert into t: other', cc.v('cc.other') <> :'o';
-- UPDATE, DELETE, MERGE, a data-modifying CTE.
SELECT cc.v('cc.t') AS t \gset
UPDATE cc.t SET id = 2 WHERE id = 1;
SELECT 'update', cc.v('cc.t') <> :'t';
SELECT cc.v('cc.t') AS t \gset
DELETE FROM cc.t WHERE id = 2;
SELECT 'delete', cc.v('cc.t') <> :'t';
SELECT cc.v('cc.t') AS t \gset
MERGE INTO cc.t USING (VALUES (3)) AS s(id) ON cc.t.id = s.id WHEN NOT MATCHED THEN INSERT VALUES (s.id);
SELECT 'merge', cc.v('cc.t') <> :'t';
SELECT cc.v('cc.t') AS t \gset
WITH ins AS (INSERT INTO cc.t VALUES (4) RETURNING id) SELECT count(*) FROM ins;
SELECT 'data-modifying cte', cc.v('cc.t') <> :'t';
-- EXPLAIN without ANALYZE runs nothing.
SELECT cc.v('cc.t') AS t \gset
EXPLAIN (COSTS OFF) INSERT INTO cc.t VALUES (5);
SELECT 'explain', cc.v('cc.t') <> :'t';
-- A rolled-back transaction changes nothing.
SELECT cc.v('cc.t') AS t \gset
BEGIN;
INSERT INTO cc.t VALUES (6);
SELECT 'inside the open transaction', cc.v('cc.t') <> :'t';
ROLLBACK;
SELECT 'rollback', cc.v('cc.t') <> :'t';
-- Nor does a statement that fails.
SELECT cc.v('cc.t') AS t \gset
INSERT INTO cc.t VALUES ('not a number');
SELECT 'failed insert', cc.v('cc.t') <> :'t';
-- The version changes at COMMIT, not before.
SELECT cc.v('cc.t') AS t \gset
BEGIN;
INSERT INTO cc.t VALUES (7);
COMMIT;
SELECT 'commit', cc.v('cc.t') <> :'t';
-- A rolled-back savepoint wrote nothing; a released one did.
SELECT cc.v('cc.t') AS t, cc.v('cc.other') AS o \gset
BEGIN;
INSERT INTO cc.other VALUES (1);
SAVEPOINT s;
INSERT INTO cc.t VALUES (8);
ROLLBACK TO SAVEPOINT s;
COMMIT;
SELECT 'rolled-back savepoint: t', cc.v('cc.t') <> :'t';
SELECT 'rolled-back savepoint: other', cc.v('cc.other') <> :'o';
SELECT cc.v('cc.t') AS t \gset
BEGIN;
SAVEPOINT s;
INSERT INTO cc.t VALUES (9);
RELEASE SAVEPOINT s;
COMMIT;
SELECT 'released savepoint', cc.v('cc.t') <> :'t';
-- A plpgsql EXCEPTION block that caught its error wrote nothing.
SELECT cc.v('cc.t') AS t \gset
SELECT cc.insert_t_and_fail(10);
SELECT 'exception block', cc.v('cc.t') <> :'t';
-- COPY FROM.
SELECT cc.v('cc.t') AS t \gset
COPY cc.t FROM STDIN;
11
12
\.
SELECT 'copy from', cc.v('cc.t') <> :'t';
-- COPY TO reads.
SELECT cc.v('cc.t') AS t \gset
COPY (SELECT count(*) FROM cc.t) TO STDOUT;
SELECT 'copy to', cc.v('cc.t') <> :'t';
-- A write inside a plpgsql function (SPI).
SELECT cc.v('cc.t') AS t \gset
SELECT cc.insert_t(13);
SELECT 'plpgsql function', cc.v('cc.t') <> :'t';
-- A trigger's write.
SELECT cc.v('cc.log') AS l \gset
INSERT INTO cc.other VALUES (2);
SELECT 'trigger', cc.v('cc.log') <> :'l';
-- A foreign key's ON DELETE CASCADE.
INSERT INTO cc.parent VALUES (1), (2);
INSERT INTO cc.child VALUES (1), (2);
SELECT cc.v('cc.child') AS c \gset
DELETE FROM cc.parent WHERE id = 1;
SELECT 'fk cascade', cc.v('cc.child') <> :'c';
-- TRUNCATE, and TRUNCATE … CASCADE of the referencing table.
SELECT cc.v('cc.t') AS t \gset
TRUNCATE cc.t;
SELECT 'truncate', cc.v('cc.t') <> :'t';
SELECT cc.v('cc.child') AS c \gset
TRUNCATE cc.parent CASCADE;
SELECT 'truncate cascade', cc.v('cc.child') <> :'c';
-- Partitions: a direct write to a child changes the parent; a write through the parent
-- changes the partition the row went to.
SELECT cc.v('cc.p') AS p \gset
INSERT INTO cc.p1 VALUES (1, 'a');
SELECT 'write to a partition: parent', cc.v('cc.p') <> :'p';
SELECT cc.v('cc.p2') AS p2 \gset
INSERT INTO cc.p VALUES (15, 'b');
SELECT 'write through the parent: partition', cc.v('cc.p2') <> :'p2';
SELECT cc.v('cc.p1') AS p1 \gset
UPDATE cc.p SET k = 5 WHERE k = 15;
SELECT 'row moved into a partition', cc.v('cc.p1') <> :'p1';
SELECT cc.v('cc.p1') AS p1, cc.v('cc.p') AS p \gset
COPY cc.p FROM STDIN;
2	c
\.
SELECT 'copy into the parent: partition', cc.v('cc.p1') <> :'p1';
SELECT cc.v('cc.p') AS p \gset
TRUNCATE cc.p2;
SELECT 'truncate a partition: parent', cc.v('cc.p') <> :'p';
-- REFRESH MATERIALIZED VIEW.
SELECT cc.v('cc.mv') AS m \gset
REFRESH MATERIALIZED VIEW cc.mv;
SELECT 'refresh materialized view', cc.v('cc.mv') <> :'m';
-- Two-phase commit: PREPARE does not make the changes visible, COMMIT PREPARED does (and,
-- not knowing what the prepared transaction wrote, changes every version).
SELECT cc.v('cc.t') AS t, cc.v('cc.other') AS o \gset
BEGIN;
INSERT INTO cc.t VALUES (14);
PREPARE TRANSACTION 'cc_2pc';
SELECT 'prepared', cc.v('cc.t') <> :'t';
COMMIT PREPARED 'cc_2pc';
SELECT 'commit prepared: t', cc.v('cc.t') <> :'t';
SELECT 'commit prepared: other', cc.v('cc.other') <> :'o';
SELECT cc.v('cc.t') AS t \gset
BEGIN;
INSERT INTO cc.t VALUES (15);
PREPARE TRANSACTION 'cc_2pc';
ROLLBACK PREPARED 'cc_2pc';
SELECT 'rollback prepared', cc.v('cc.t') <> :'t';
-- Any oid has a version, also one of no table (a dropped one): its counter's.
SELECT 'cc.t'::regclass::oid AS t_oid \gset
DROP TABLE cc.t CASCADE;
SELECT 'dropped', (graphql.table_versions(ARRAY[:t_oid]::oid[]))[1] IS NOT NULL;
DROP SCHEMA cc CASCADE;
