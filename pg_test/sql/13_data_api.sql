\i pg_test/include/settings.psql
-- Hasura's legacy data API (issue 13 item 1): graphql.dml(request, session) runs /v1/query's
-- select, insert, update, delete and count through the GraphQL compiler, with the role's
-- permissions and Hasura's DML answers and errors.
BEGIN;
CREATE TABLE author (id int4 PRIMARY KEY, name text NOT NULL, secret text, age int4, rating numeric DEFAULT 1.50);
CREATE TABLE article (id int4 PRIMARY KEY, author_id int4 NOT NULL REFERENCES author, title text NOT NULL,
  views int4 NOT NULL DEFAULT 0, published bool NOT NULL DEFAULT false);
SELECT graphql.metadata('{"type": "bulk", "args": [
  {"type": "pg_track_table", "args": {"table": "author"}},
  {"type": "pg_track_table", "args": {"table": "article"}},
  {"type": "pg_create_array_relationship", "args": {"table": "author", "name": "articles",
     "using": {"foreign_key_constraint_on": {"table": "article", "column": "author_id"}}}},
  {"type": "pg_create_object_relationship", "args": {"table": "article", "name": "author",
     "using": {"foreign_key_constraint_on": "author_id"}}},
  {"type": "pg_create_select_permission", "args": {"table": "author", "role": "user", "permission": {
     "columns": ["id", "name", "age"], "filter": {}}}},
  {"type": "pg_create_select_permission", "args": {"table": "article", "role": "user", "permission": {
     "columns": ["id", "author_id", "title", "views", "published"], "filter": {"author_id": {"_eq": "X-Hasura-User-Id"}}}}},
  {"type": "pg_create_insert_permission", "args": {"table": "article", "role": "user", "permission": {
     "columns": ["id", "title", "views"], "check": {"views": {"_lt": 100}}, "set": {"author_id": "X-Hasura-User-Id"}}}},
  {"type": "pg_create_update_permission", "args": {"table": "article", "role": "user", "permission": {
     "columns": ["title", "views"], "filter": {"author_id": {"_eq": "X-Hasura-User-Id"}}, "check": {"views": {"_lt": 100}}}}}
]}');
\set user1 '{"x-hasura-role": "user", "x-hasura-user-id": "1"}'
\set user2 '{"x-hasura-role": "user", "x-hasura-user-id": "2"}'
-- Inserts as admin, with returning (numeric keeps its digits).
SELECT graphql.dml('{"type": "insert", "args": {"table": "author", "objects": [
  {"id": 1, "name": "a1", "secret": "s1", "age": 30}, {"id": 2, "name": "a2", "secret": "s2", "age": 40},
  {"id": 3, "name": "a3", "age": 50}], "returning": ["id", "rating"]}}');
SELECT graphql.dml('{"type": "insert", "args": {"table": {"schema": "public", "name": "article"}, "objects": [
  {"id": 1, "author_id": 1, "title": "one", "views": 5}, {"id": 2, "author_id": 1, "title": "two", "views": 50},
  {"id": 3, "author_id": 2, "title": "three"}]}}');
-- Select: columns, nested relationships with their own where/order_by/limit, order_by forms.
SELECT graphql.dml('{"type": "select", "args": {"table": "author", "columns": ["id", "name",
  {"name": "articles", "alias": "posts", "columns": ["title"], "order_by": "-views", "limit": 1}],
  "where": {"$or": [{"age": {"$gte": 40}}, {"name": "a1"}]}, "order_by": [{"column": "age", "type": "desc"}], "offset": 1}}');
SELECT graphql.dml('{"type": "select", "args": {"table": "article", "columns": ["*", {"name": "author", "columns": ["name"]}], "order_by": ["author.name", "-id"]}}');
-- The role: its filter holds (user 1 sees its own articles), "*" has no hidden column, and a
-- hidden column in where, order_by or columns is refused.
SELECT graphql.dml('{"type": "select", "args": {"table": "article", "columns": ["*.*"], "order_by": "id"}}', :'user1');
SELECT graphql.dml('{"type": "select", "args": {"table": "author", "columns": ["*"], "order_by": "id"}}', :'user1');
SELECT graphql.dml('{"type": "select", "args": {"table": "author", "columns": ["id"], "where": {"secret": {"$eq": "s1"}}}}', :'user1');
SELECT graphql.dml('{"type": "select", "args": {"table": "author", "columns": ["id"], "order_by": "+secret"}}', :'user1');
SELECT graphql.dml('{"type": "select", "args": {"table": "author", "columns": ["secret"]}}', :'user1');
SELECT graphql.dml('{"type": "select", "args": {"table": "author", "columns": ["id"]}}', '{"x-hasura-role": "nobody"}');
-- Count: all rows, a where, distinct values (nulls count, as SELECT DISTINCT does); the role
-- counts only what it may select, without allow_aggregations.
SELECT graphql.dml('{"type": "count", "args": {"table": "author"}}');
SELECT graphql.dml('{"type": "count", "args": {"table": "author", "where": {"age": {"$gt": 35}}}}');
SELECT graphql.dml('{"type": "count", "args": {"table": "author", "distinct": ["secret"]}}');
SELECT graphql.dml('{"type": "count", "args": {"table": "article"}}', :'user1');
SELECT graphql.dml('{"type": "count", "args": {"table": "article"}}', :'user2');
-- The role inserts with its preset; the check fails the whole request, leaving nothing.
SELECT graphql.dml('{"type": "insert", "args": {"table": "article", "objects": [{"id": 10, "title": "mine"}], "returning": ["id", "author_id"]}}', :'user2');
SELECT graphql.dml('{"type": "insert", "args": {"table": "article", "objects": [{"id": 11, "title": "ok"}, {"id": 12, "title": "too many", "views": 500}]}}', :'user2');
SELECT graphql.dml('{"type": "insert", "args": {"table": "article", "objects": [{"id": 13, "title": "x", "author_id": 1}]}}', :'user2');
SELECT id, author_id, title FROM article WHERE id >= 10 ORDER BY id;
-- Upsert: a role with an update permission may name a constraint; action update sets the
-- inserted columns; ignore skips the conflicting row.
SELECT graphql.dml('{"type": "insert", "args": {"table": "article", "objects": [{"id": 10, "title": "renamed"}], "on_conflict": {"constraint": "article_pkey", "action": "update"}, "returning": ["id", "title"]}}', :'user2');
SELECT graphql.dml('{"type": "insert", "args": {"table": "article", "objects": [{"id": 10, "title": "ignored"}], "on_conflict": {"constraint": "article_pkey", "action": "ignore"}}}', :'user2');
SELECT graphql.dml('{"type": "insert", "args": {"table": "author", "objects": [{"id": 1, "name": "dup"}], "on_conflict": {"action": "ignore"}}}');
-- Update: $set, $inc, $mul, $default; the role's filter limits the rows, its check the values.
SELECT graphql.dml('{"type": "update", "args": {"table": "article", "where": {}, "$inc": {"views": 1}, "returning": ["id", "views"]}}', :'user1');
SELECT graphql.dml('{"type": "update", "args": {"table": "article", "where": {"id": 1}, "$mul": {"views": 3}, "$set": {"title": "uno"}, "returning": ["id", "title", "views"]}}', :'user1');
SELECT graphql.dml('{"type": "update", "args": {"table": "article", "where": {"id": 2}, "$mul": {"views": 3}}}', :'user1');
SELECT graphql.dml('{"type": "update", "args": {"table": "article", "where": {"id": 3}, "$set": {"title": "not mine"}}}', :'user1');
SELECT graphql.dml('{"type": "update", "args": {"table": "author", "where": {"id": 3}, "$default": ["rating"], "$set": {"age": 51}, "returning": ["id", "age", "rating"]}}');
SELECT graphql.dml('{"type": "update", "args": {"table": "article", "where": {}, "$default": ["published"]}}', :'user1');
SELECT id, author_id, title, views FROM article ORDER BY id;
-- Delete: needs a delete permission; the admin deletes with returning.
SELECT graphql.dml('{"type": "delete", "args": {"table": "article", "where": {"id": 10}}}', :'user2');
SELECT graphql.dml('{"type": "delete", "args": {"table": "article", "where": {"author": {"name": {"$like": "a2%"}}}, "returning": ["id"]}}');
-- Bad requests: Hasura's errors, nothing raised.
SELECT graphql.dml('{"type": "select", "args": {"table": "nope", "columns": ["id"]}}');
SELECT graphql.dml('{"type": "select", "args": {"table": "author", "columns": ["id"], "where": {"age": {"$gt": "old"}}}}');
SELECT graphql.dml('{"type": "update", "args": {"table": "author", "$set": {"age": 1}}}');
SELECT graphql.dml('{"type": "insert", "args": {"table": "author", "objects": []}}');
SELECT graphql.dml('{"type": "export_metadata", "args": {}}');
SELECT graphql.dml('{"type": "select", "args": {"table": "author", "columns": ["id"], "limit": -1}}');
-- A 2,000-level where is an error, not a crash.
SELECT graphql.dml(('{"type": "select", "args": {"table": "author", "columns": ["id"], "where": '
  || repeat('{"$not": ', 2000) || '{"id": 1}' || repeat('}', 2000) || '}}')::json)::jsonb ->> 'code';
ROLLBACK;
