\i pg_test/include/settings.psql
BEGIN;
-- Names that are not GraphQL names need custom names, as in Hasura; nothing else breaks.
CREATE SCHEMA nm;
CREATE TABLE nm.weird (id int CONSTRAINT "we""ird_pkey" PRIMARY KEY, "a""b" text, "x'y" int, "ünï" text);
CREATE TABLE nm."bad-name" (id int PRIMARY KEY);
SELECT graphql.metadata('{"type": "pg_track_table", "args": {"table": {"schema": "nm", "name": "weird"}}}');
SELECT graphql.metadata('{"type": "pg_track_table", "args": {"table": {"schema": "nm", "name": "weird"}, "configuration": {"custom_name": "weird", "column_config": {"a\"b": {"custom_name": "a_b"}, "x''y": {"custom_name": "x_y"}, "ünï": {"custom_name": "uni"}}}}}');
SELECT graphql.metadata('{"type": "pg_track_table", "args": {"table": {"schema": "nm", "name": "bad-name"}}}');
SELECT graphql.metadata('{"type": "pg_track_table", "args": {"table": {"schema": "nm", "name": "bad-name"}, "configuration": {"custom_name": "bad_name"}}}');
-- Every name the schema publishes is a GraphQL name.
SELECT count(*) FILTER (WHERE n #>> '{}' !~ '^[_A-Za-z][_0-9A-Za-z]*$') AS bad, count(*) > 100 AS many
  FROM jsonb_path_query(graphql.resolve('{ __schema { types { name fields { name args { name } } inputFields { name } enumValues { name } } } }')::jsonb, 'lax $.**.name') AS j(n);
-- The constraint "we""ird_pkey" is the enum value we_ird_pkey, and upserts on it.
SELECT graphql.resolve('{ __type(name: "weird_constraint") { enumValues { name } } }');
SELECT graphql.resolve('mutation { insert_weird_one(object: {id: 1, a_b: "one"}) { id a_b } }');
SELECT graphql.resolve('mutation { insert_weird_one(object: {id: 1, a_b: "two"}, on_conflict: {constraint: we_ird_pkey, update_columns: [a_b]}) { id a_b } }');
SELECT "a""b" FROM nm.weird;
-- Introspection lists only reachable types: no aggregate types for a role without aggregations.
SELECT graphql.metadata('{"type": "pg_create_select_permission", "args": {"table": {"schema": "nm", "name": "weird"}, "role": "reader", "permission": {"columns": "*", "filter": {}}}}');
SELECT graphql.resolve('{ a: __type(name: "weird_aggregate") { name } f: __type(name: "weird_aggregate_fields") { name } }', NULL, '{"x-hasura-role": "reader"}');
SELECT graphql.resolve('{ a: __type(name: "weird_aggregate") { name } f: __type(name: "weird_aggregate_fields") { name } }');
-- A tracked table dropped with plain SQL stays in the metadata, reported inconsistent.
DROP TABLE nm."bad-name";
SELECT o ->> 'name', o ->> 'reason'
  FROM jsonb_array_elements(graphql.metadata('{"type": "get_inconsistent_metadata", "args": {}}')::jsonb -> 'inconsistent_objects') AS o;
SELECT graphql.metadata('{"type": "pg_track_table", "args": {"table": {"schema": "nm", "name": "bad-name"}}}');
SELECT graphql.resolve('{ weird { id } }');
-- Re-created, it is consistent again (and still tracked).
CREATE TABLE nm."bad-name" (id int PRIMARY KEY);
SELECT graphql.metadata('{"type": "get_inconsistent_metadata", "args": {}}')::jsonb -> 'is_consistent';
SELECT graphql.resolve('{ bad_name { id } }');
SELECT graphql.metadata('{"type": "pg_track_table", "args": {"table": {"schema": "nm", "name": "bad-name"}}}');
-- drop_inconsistent_metadata removes it.
DROP TABLE nm."bad-name";
SELECT graphql.metadata('{"type": "drop_inconsistent_metadata", "args": {}}');
SELECT graphql.metadata('{"type": "get_inconsistent_metadata", "args": {}}')::jsonb -> 'is_consistent';
ROLLBACK;
