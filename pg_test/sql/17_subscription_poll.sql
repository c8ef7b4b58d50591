\i pg_test/include/settings.psql
-- Live queries through the SQL API (issue 14). graphql.subscription_poll answers every cohort
-- of one live query, one row per cohort, with one multiplexed statement per chunk of cohorts;
-- each row is what graphql.resolve answers for that cohort. graphql.subscription_reads names
-- the relations a live query reads. Everything here is rolled back.
BEGIN;
CREATE SCHEMA poll;
CREATE TABLE poll.board (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE poll.message (
  id int PRIMARY KEY,
  board_id int NOT NULL REFERENCES poll.board,
  author text NOT NULL,
  body text NOT NULL,
  posted_at timestamptz NOT NULL
);
INSERT INTO poll.board VALUES (1, 'general'), (2, 'random');
INSERT INTO poll.message VALUES
  (1, 1, 'ann', 'hello', '2024-01-01'),
  (2, 1, 'bob', 'hi ann', '2024-01-02'),
  (3, 2, 'ann', 'anyone here?', '2024-01-03'),
  (4, 1, 'ann', 'zero', '2024-01-04');
CREATE VIEW poll.recent AS SELECT * FROM poll.message WHERE posted_at >= '2024-01-03';
CREATE FUNCTION poll.message_shout(m poll.message) RETURNS text LANGUAGE sql STABLE
  AS $$ SELECT upper(m.body) $$;
CREATE FUNCTION poll.message_ratio(m poll.message) RETURNS int LANGUAGE sql STABLE
  AS $$ SELECT 10 / (length(m.body) - 4) $$;
SELECT graphql.track_all('poll') IS NOT NULL AS tracked;
SELECT graphql.metadata('{"type": "bulk", "args": [
  {"type": "pg_add_computed_field", "args": {"table": {"schema": "poll", "name": "message"}, "name": "shout",
     "definition": {"function": {"schema": "poll", "name": "message_shout"}}}},
  {"type": "pg_add_computed_field", "args": {"table": {"schema": "poll", "name": "message"}, "name": "ratio",
     "definition": {"function": {"schema": "poll", "name": "message_ratio"}}}},
  {"type": "pg_create_select_permission", "args": {"table": {"schema": "poll", "name": "message"}, "role": "member",
     "permission": {"columns": ["id", "body", "board_id"], "filter": {"author": {"_eq": "X-Hasura-User-Id"}}}}}
]}');

-- Cohorts: two share their values, one has an invalid value, one is a member (its permission
-- filter reads its user id), one has a role without permissions. Rows come in input order;
-- cursor is for streaming subscriptions and NULL here.
\set q 'subscription ($board: Int!) { poll_message(where: {board_id: {_eq: $board}}, order_by: {id: asc}) { id body } }'
\set cohorts '[{"id": 10, "variables": {"board": 1}}, {"id": 20, "variables": {"board": 2}}, {"id": 11, "variables": {"board": 1}}, {"id": 30, "variables": {"board": "one"}}, {"id": 40, "variables": {"board": 1}, "session": {"x-hasura-role": "member", "x-hasura-user-id": "ann"}}, {"id": 50, "variables": {"board": 1}, "session": {"x-hasura-role": "stranger"}}, {"id": 60, "variables": null, "session": null, "cursor": {"id": 1}}]'
SELECT cohort_id, result, cursor IS NULL AS no_cursor FROM graphql.subscription_poll(:'q', :'cohorts');
-- Each row is graphql.resolve's answer for its cohort, byte for byte; also in chunks of 2.
SELECT p.cohort_id, p.result::text = graphql.resolve(:'q', c->'variables', c->'session')::text AS same_as_resolve
  FROM graphql.subscription_poll(:'q', :'cohorts', NULL, 2) WITH ORDINALITY AS p(cohort_id, result, cursor, n)
  JOIN json_array_elements(:'cohorts') WITH ORDINALITY AS i(c, n) USING (n);
-- A guarded statement (PostgreSQL checks a timestamptz): an invalid value fails its batch,
-- and the batch's cohorts are run one by one, so the error stays that cohort's.
\set q 'subscription ($t: timestamptz!) { poll_message(where: {posted_at: {_lt: $t}}, order_by: {id: asc}) { id } }'
SELECT cohort_id, result FROM graphql.subscription_poll(:'q',
  '[{"id": 1, "variables": {"t": "2024-01-02"}}, {"id": 2, "variables": {"t": "soon"}}, {"id": 3, "variables": {"t": "2024-01-04"}}]');
-- A function that fails on some rows only (message 4's body has 4 letters).
\set q 'subscription ($board: Int!) { poll_message(where: {board_id: {_eq: $board}}, order_by: {id: asc}) { id ratio } }'
SELECT cohort_id, result FROM graphql.subscription_poll(:'q', '[{"id": 1, "variables": {"board": 1}}, {"id": 2, "variables": {"board": 2}}]');
-- The operation name picks the subscription; queries and mutations are not polled.
SELECT cohort_id, result FROM graphql.subscription_poll(
  'subscription S { poll_board(order_by: {id: asc}) { name } } query Q { poll_board { id } }',
  '[{"id": 1}]', 'S');
SELECT cohort_id, result FROM graphql.subscription_poll('query { poll_board { id } }', '[{"id": 1}]');
SELECT cohort_id, result FROM graphql.subscription_poll('mutation { delete_poll_message(where: {}) { affected_rows } }', '[{"id": 1}]');
SELECT count(*) AS messages FROM poll.message;
-- Request errors are rows; arguments no row can carry are errors.
SELECT cohort_id, result FROM graphql.subscription_poll('subscription { nope }', '[{"id": 1}, {"id": 2}]');
SELECT count(*) FROM graphql.subscription_poll('subscription { __typename }', NULL);
SELECT count(*) FROM graphql.subscription_poll('subscription { __typename }', '[]');
SAVEPOINT s;
SELECT * FROM graphql.subscription_poll('subscription { __typename }', '{"id": 1}');
ROLLBACK TO s;
SELECT * FROM graphql.subscription_poll('subscription { __typename }', '[{"variables": {}}]');
ROLLBACK TO s;
SELECT * FROM graphql.subscription_poll('subscription { __typename }', '[]', NULL, 0);
ROLLBACK TO s;

-- subscription_reads: the relations to watch (by name here; the function answers oids).
CREATE FUNCTION pg_temp.watched(r json) RETURNS text LANGUAGE sql AS $$
  SELECT coalesce(string_agg(o::oid::regclass::text, ', ' ORDER BY o::oid::regclass::text), '-')
         || ' | unknown: ' || (r->>'unknown') || ' | opaque: ' || (r->'opaque')::text
    FROM json_array_elements_text(r->'tables') AS o $$;
SELECT pg_temp.watched(graphql.subscription_reads(
  'subscription ($board: Int!) { poll_message(where: {board_id: {_eq: $board}}) { id board { name } } }', '{"board": 1}'));
-- A view's tables are found by PostgreSQL's rewriter: no longer unknown.
SELECT pg_temp.watched(graphql.subscription_reads('subscription { poll_recent { id } }'));
-- A function's body is not seen: poll on the interval.
SELECT pg_temp.watched(graphql.subscription_reads('subscription { poll_message { shout } }'));
-- As a member: the permission filter reads the same table.
SELECT pg_temp.watched(graphql.subscription_reads('subscription { poll_message { id } }', NULL,
  '{"x-hasura-role": "member", "x-hasura-user-id": "ann"}'));
-- A partitioned table (its version changes with its partitions'); a partition read on its
-- own (through a view: partitions are not tracked) also lists its ancestors.
CREATE TABLE poll.event (id int, at date NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE poll.event_2024 PARTITION OF poll.event FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE poll.event_2025 PARTITION OF poll.event FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
SELECT graphql.track_table('poll.event') IS NOT NULL AS tracked;
SELECT pg_temp.watched(graphql.subscription_reads('subscription { poll_event { id } }'));
CREATE VIEW poll.event_next_year AS SELECT * FROM poll.event_2025;
SELECT graphql.track_table('poll.event_next_year') IS NOT NULL AS tracked;
SELECT pg_temp.watched(graphql.subscription_reads('subscription { poll_event_next_year { id } }'));
SELECT (graphql.subscription_reads('subscription { __typename }')->'tables')::jsonb = jsonb_build_array('graphql.metadata_store'::regclass::oid::int8) AS only_metadata;
SELECT graphql.subscription_reads('subscription { nope }');
SELECT graphql.subscription_reads('query { poll_board { id } }');
ROLLBACK;
