\i pg_test/include/settings.psql
-- Role "user": reads published articles and its own drafts (some columns), all authors (id,
-- name), no comments; inserts articles as itself; updates and deletes its own.
BEGIN;
SELECT graphql.metadata('{"type": "bulk", "args": [
  {"type": "pg_create_select_permission", "args": {"table": "articles", "role": "user", "permission": {
     "columns": ["id", "title", "author_id", "published"],
     "filter": {"_or": [{"published": {"_eq": true}}, {"author_id": {"_eq": "X-Hasura-User-Id"}}]},
     "limit": 5}}},
  {"type": "pg_create_select_permission", "args": {"table": "authors", "role": "user", "permission": {
     "columns": ["id", "name"], "filter": {}, "allow_aggregations": true}}},
  {"type": "pg_create_insert_permission", "args": {"table": "articles", "role": "user", "permission": {
     "columns": ["title", "body"], "check": {"author_id": {"_eq": "X-Hasura-User-Id"}},
     "set": {"author_id": "X-Hasura-User-Id"}}}},
  {"type": "pg_create_update_permission", "args": {"table": "articles", "role": "user", "permission": {
     "columns": ["title"], "filter": {"author_id": {"_eq": "X-Hasura-User-Id"}},
     "check": {"title": {"_nlike": "%forbidden%"}}}}},
  {"type": "pg_create_delete_permission", "args": {"table": "articles", "role": "user", "permission": {
     "filter": {"author_id": {"_eq": "X-Hasura-User-Id"}}}}}
]}');
\set user1 '{"x-hasura-role": "user", "x-hasura-user-id": "1"}'
-- Rows: published articles plus author 1's own drafts (3); capped at the role's limit of 5.
SELECT graphql.resolve('{ articles(order_by: {id: asc}) { id published } }', NULL, :'user1');
SELECT graphql.resolve('{ articles(order_by: {id: asc}, limit: 50, offset: 5) { id } }', NULL, :'user1');
-- Columns outside the permission, tables without one, and aggregates are not in the schema.
SELECT graphql.resolve('{ articles { rating } }', NULL, :'user1');
SELECT graphql.resolve('{ comments { id } }', NULL, :'user1');
SELECT graphql.resolve('{ articles_aggregate { aggregate { count } } }', NULL, :'user1');
SELECT graphql.resolve('{ articles(order_by: {rating: desc}) { id } }', NULL, :'user1');
-- Nested and filtered through relationships: nothing leaks from other authors' drafts.
SELECT graphql.resolve('{ authors(order_by: {id: asc}) { id articles(order_by: {id: asc}) { id } } }', NULL, :'user1');
SELECT graphql.resolve('{ authors(where: {articles: {title: {_eq: "COBOL for Business"}}}) { id } }', NULL, :'user1');
SELECT graphql.resolve('{ authors(where: {articles: {title: {_eq: "Poetical Science"}}}) { id } }', NULL, :'user1');
SELECT graphql.resolve('{ articles_by_pk(id: 9) { id } }', NULL, :'user1');
SELECT graphql.resolve('{ authors(order_by: {id: asc}, limit: 2) { name articles_aggregate { aggregate { count } } } }', NULL, :'user1');
-- Session variables: missing → not-found; hostile values stay values.
SELECT graphql.resolve('{ articles { id } }', NULL, '{"x-hasura-role": "user"}');
SELECT graphql.resolve('{ articles { id } }', NULL, '{"x-hasura-role": "user", "x-hasura-user-id": "1 OR 1=1"}');
SELECT graphql.resolve('{ articles(limit: 1) { id } }', NULL, '{"X-Hasura-Role": "user", "X-HASURA-USER-ID": "3"}');
-- A role with no permissions sees no tables.
SELECT graphql.resolve('{ articles { id } }', NULL, '{"x-hasura-role": "nobody"}');
-- The role's introspection shows only what it may use.
SELECT graphql.resolve('{ __type(name: "articles") { fields { name } } c: __type(name: "comments") { name } }', NULL, :'user1');
-- Insert: author_id is preset from the session and not part of the input.
SELECT graphql.resolve('mutation { insert_articles_one(object: {title: "Mine"}) { title author_id } }', NULL, :'user1');
SELECT graphql.resolve('mutation { insert_articles_one(object: {title: "x", author_id: 2}) { id } }', NULL, :'user1');
-- Update/delete reach only the role's rows; a failing check undoes the update.
SELECT graphql.resolve('mutation { update_articles(where: {}, _set: {title: "Renamed"}) { affected_rows } }', NULL, :'user1');
SELECT graphql.resolve('mutation { update_articles(where: {id: {_eq: 1}}, _set: {title: "forbidden title"}) { affected_rows } }', NULL, :'user1');
SELECT title FROM articles WHERE id = 1;
SELECT graphql.resolve('mutation { delete_articles(where: {id: {_in: [4, 5]}}) { affected_rows } }', NULL, :'user1');
SELECT graphql.resolve('mutation { delete_articles(where: {title: {_eq: "Renamed"}, published: {_eq: false}}) { affected_rows returning { title } } }', NULL, :'user1');
-- Inherited role "staff" = user + editor: rows either may see; a cell only editor may see
-- (rating) reads as null on rows only user reaches.
SELECT graphql.metadata('{"type": "pg_create_select_permission", "args": {"table": "articles", "role": "editor",
  "permission": {"columns": ["id", "title", "rating"], "filter": {"published": {"_eq": false}}}}}');
SELECT graphql.metadata('{"type": "add_inherited_role", "args": {"role_name": "staff", "role_set": ["user", "editor"]}}');
SELECT graphql.metadata('{"type": "add_inherited_role", "args": {"role_name": "loop", "role_set": ["loop"]}}');
SELECT graphql.resolve('{ articles(order_by: {id: asc}, limit: 20) { id published rating } }', NULL, '{"x-hasura-role": "staff", "x-hasura-user-id": "2"}');
SELECT graphql.resolve('{ articles { body } }', NULL, '{"x-hasura-role": "staff", "x-hasura-user-id": "2"}');
ROLLBACK;
-- SQL helpers of the same shape, and column comparison operators in filters.
BEGIN;
SELECT graphql.create_select_permission('authors', 'reviewer', '{"columns": ["id", "name"], "filter": {"id": {"_ceq": "id"}, "name": {"_cneq": "email"}}}');
SELECT graphql.create_select_permission('comments', 'reviewer', '{"columns": ["id", "author_id", "article_id"], "filter": {"author_id": {"_cgt": "article_id"}}}');
SELECT graphql.resolve('{ authors(limit: 2, order_by: {id: asc}) { id } comments(order_by: {id: asc}) { id author_id article_id } }', NULL, '{"x-hasura-role": "reviewer"}');
SELECT graphql.drop_permission('comments', 'reviewer', 'select');
SELECT graphql.resolve('{ comments { id } }', NULL, '{"x-hasura-role": "reviewer"}');
-- Array session variables for _in.
SELECT graphql.create_select_permission('articles', 'reviewer', '{"columns": ["id"], "filter": {"id": {"_in": "X-Hasura-Allowed-Ids"}}}');
SELECT graphql.resolve('{ articles(order_by: {id: asc}) { id } }', NULL, '{"x-hasura-role": "reviewer", "x-hasura-allowed-ids": "{2,5,9}"}');
SELECT graphql.create_select_permission('authors', 'reviewer', '{"columns": "*", "filter": {}}');
ROLLBACK;
