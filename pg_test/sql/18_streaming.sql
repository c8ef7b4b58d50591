\i pg_test/include/settings.psql
-- Streaming subscriptions (issue 14): `T_stream(batch_size, cursor, where)` on the
-- subscription root only, with Hasura's input types and errors; a stream run once through
-- graphql.resolve answers the rows after the cursor, in cursor order, batch_size of them plus
-- those tying with the last (FETCH FIRST n ROWS WITH TIES), within the role's filter.
BEGIN;
CREATE TABLE stream_events (id int PRIMARY KEY, grp int NOT NULL, owner int NOT NULL, body text, at timestamptz);
INSERT INTO stream_events SELECT i, (i - 1) / 3, 1 + i % 2, 'event ' || i, timestamptz '2024-01-01' + i * interval '1 hour' FROM generate_series(1, 9) i;
SELECT graphql.metadata('{"type": "bulk", "args": [
  {"type": "pg_track_table", "args": {"table": "stream_events"}},
  {"type": "pg_create_select_permission", "args": {"table": "stream_events", "role": "user", "permission": {
     "columns": ["id", "grp", "body"], "filter": {"owner": {"_eq": "X-Hasura-User-Id"}}}}},
  {"type": "pg_create_select_permission", "args": {"table": "stream_events", "role": "live_only", "permission": {
     "columns": ["id"], "filter": {}, "subscription_root_fields": ["select"]}}},
  {"type": "pg_create_select_permission", "args": {"table": "stream_events", "role": "stream_only", "permission": {
     "columns": ["id"], "filter": {}, "query_root_fields": [], "subscription_root_fields": ["select_stream"]}}}
]}');
\set user1 '{"x-hasura-role": "user", "x-hasura-user-id": "1"}'
-- The schema: the field, its input types and cursor_ordering, as Hasura names and describes them.
SELECT f FROM jsonb_array_elements(graphql.resolve('{ __type(name: "subscription_root") { fields { name description args { name description type { kind name ofType { kind name ofType { kind name } } } } } } }')::jsonb -> 'data' -> '__type' -> 'fields') f WHERE f ->> 'name' = 'stream_events_stream';
SELECT graphql.resolve('{ c: __type(name: "stream_events_stream_cursor_input") { description inputFields { name description type { kind name ofType { name } } } } v: __type(name: "stream_events_stream_cursor_value_input") { description inputFields { name type { name } } } o: __type(name: "cursor_ordering") { description enumValues { name description } } }');
SELECT jsonb_path_query_array(graphql.resolve('{ __type(name: "query_root") { fields { name } } }')::jsonb, '$.data.__type.fields[*].name ? (@ starts with "stream_events")');
SELECT jsonb_path_query_array(graphql.resolve('{ __type(name: "subscription_root") { fields { name } } }')::jsonb, '$.data.__type.fields[*].name ? (@ starts with "stream_events")');
SELECT graphql.resolve('{ v: __type(name: "stream_events_stream_cursor_value_input") { inputFields { name } } }', NULL, :'user1');
-- subscription_root_fields decide the subscription root, query_root_fields the query root.
SELECT graphql.resolve('{ q: __type(name: "query_root") { fields { name } } s: __type(name: "subscription_root") { fields { name } } }', NULL, '{"x-hasura-role": "live_only"}');
SELECT graphql.resolve('{ q: __type(name: "query_root") { fields { name } } s: __type(name: "subscription_root") { fields { name } } }', NULL, '{"x-hasura-role": "stream_only"}');
-- Rows after the cursor, ascending (the default) and descending, with where.
SELECT graphql.resolve('subscription { stream_events_stream(batch_size: 2, cursor: {initial_value: {id: 3}}) { id body } }');
SELECT graphql.resolve('subscription { stream_events_stream(batch_size: 3, cursor: [{initial_value: {id: 8}, ordering: DESC}]) { id } }');
SELECT graphql.resolve('subscription ($at: timestamptz!) { s: stream_events_stream(batch_size: 10, cursor: {initial_value: {at: $at}, ordering: ASC}, where: {grp: {_neq: 2}}) { id at } }', '{"at": "2024-01-01T04:30:00Z"}');
SELECT graphql.resolve('subscription { stream_events_stream(batch_size: 5, cursor: {initial_value: {id: 9}}) { id } }');
SELECT graphql.resolve('subscription { stream_events_stream(batch_size: 0, cursor: {initial_value: {id: 0}}) { id } }');
-- A non-unique cursor column: a batch never ends inside a run of equal values.
SELECT graphql.resolve('subscription { stream_events_stream(batch_size: 1, cursor: {initial_value: {grp: -1}}) { id grp } }');
SELECT graphql.resolve('subscription { stream_events_stream(batch_size: 4, cursor: {initial_value: {grp: 0}}) { id grp } }');
-- The role's filter: user 1 streams its own rows only.
SELECT graphql.resolve('subscription { stream_events_stream(batch_size: 10, cursor: {initial_value: {id: 0}}) { id grp } }', NULL, :'user1');
-- Hasura's argument errors.
SELECT graphql.resolve('subscription { stream_events_stream(batch_size: 1, cursor: {initial_value: {}}) { id } }');
SELECT graphql.resolve('subscription { stream_events_stream(batch_size: 1, cursor: [{initial_value: {id: 1}}, {initial_value: {grp: 1}}]) { id } }');
SELECT graphql.resolve('subscription { stream_events_stream(batch_size: -1, cursor: {initial_value: {id: 1}}) { id } }');
SELECT graphql.resolve('subscription { stream_events_stream(cursor: {initial_value: {id: 1}}) { id } }');
SELECT graphql.resolve('subscription { stream_events_stream(batch_size: 1, cursor: {initial_value: {owner: 1}}) { id } }', NULL, :'user1');
SELECT graphql.resolve('{ stream_events_stream(batch_size: 1, cursor: {initial_value: {id: 1}}) { id } }');
SELECT graphql.resolve('subscription { stream_events_stream(batch_size: 1, cursor: {initial_value: {id: 1}}) { id } stream_events { id } }');
-- Through graphql.subscription_poll: each cohort's cursor in, its next cursor out (NULL when no
-- row came); cohorts with other cursors and sessions share one statement; a cursor on
-- another column is that cohort's error.
SELECT cohort_id, result, cursor FROM graphql.subscription_poll('subscription { stream_events_stream(batch_size: 2, cursor: {initial_value: {id: 0}}) { id } }',
  '[{"id": 1}, {"id": 2, "cursor": {"id": "4"}}, {"id": 3, "cursor": {"id": 9}}, {"id": 4, "session": {"x-hasura-role": "user", "x-hasura-user-id": "1"}, "cursor": {"id": "2"}}, {"id": 5, "cursor": {"grp": 1}}]');
SELECT cohort_id, result, cursor FROM graphql.subscription_poll('subscription { stream_events_stream(batch_size: 1, cursor: {initial_value: {grp: -1}}) { id grp } }',
  '[{"id": 1}, {"id": 2, "cursor": {"grp": "0"}}, {"id": 3, "cursor": {"grp": "2"}}]');
ROLLBACK;
