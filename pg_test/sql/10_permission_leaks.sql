\i pg_test/include/settings.psql
-- Permission leaks (issue 11 items 4-6). Role "both" inherits "reader" (every article, id
-- only) and "owner" (its own articles, every column, and the computed field score): the cells
-- title/rating/author_id/published/score are shown only on the user's own rows, and must be
-- null for where, order_by, distinct_on, aggregates, aggregate predicates and joins too
-- (Hasura's CASE WHEN <filter> THEN col END). Upserts answer to the update permission;
-- where through a set-returning computed field sees only rows the role may select.
BEGIN;
CREATE TABLE author (id int4 PRIMARY KEY, name text NOT NULL, meta jsonb, tags text[]);
CREATE TABLE article (id int4 PRIMARY KEY, author_id int4 NOT NULL REFERENCES author, title text NOT NULL,
  rating numeric, published bool NOT NULL, created_at timestamptz);
CREATE FUNCTION author_articles(a author) RETURNS SETOF article LANGUAGE sql STABLE AS $$ SELECT * FROM article WHERE author_id = a.id $$;
CREATE FUNCTION article_score(a article) RETURNS numeric LANGUAGE sql STABLE AS $$ SELECT a.rating * 2 $$;
INSERT INTO author VALUES (1, 'a1', '{"a": 1}'), (2, 'a2', '{"c": 1}'), (3, 'a3', NULL);
INSERT INTO article VALUES
  (1, 1, 'secret-of-1', 10, false),
  (2, 2, 'secret-of-2', 100, false),
  (3, 2, 'public-of-2', 1000, true),
  (4, 1, 'mine', 5, true),
  (5, 3, 'draft-of-3', 7, false),
  (6, 3, 'secret-of-3', 100, false);
SELECT graphql.metadata('{"type": "bulk", "args": [
  {"type": "pg_track_table", "args": {"table": "author"}},
  {"type": "pg_track_table", "args": {"table": "article"}},
  {"type": "pg_create_array_relationship", "args": {"table": "author", "name": "articles",
     "using": {"foreign_key_constraint_on": {"table": "article", "column": "author_id"}}}},
  {"type": "pg_create_object_relationship", "args": {"table": "article", "name": "author",
     "using": {"foreign_key_constraint_on": "author_id"}}},
  {"type": "pg_add_computed_field", "args": {"table": "author", "name": "get_articles", "definition": {"function": "author_articles"}}},
  {"type": "pg_add_computed_field", "args": {"table": "article", "name": "score", "definition": {"function": "article_score"}}},
  {"type": "pg_create_select_permission", "args": {"table": "author", "role": "reader", "permission": {
     "columns": ["id", "name"], "filter": {}, "allow_aggregations": true}}},
  {"type": "pg_create_select_permission", "args": {"table": "author", "role": "owner", "permission": {
     "columns": ["id", "name"], "filter": {}, "allow_aggregations": true}}},
  {"type": "pg_create_select_permission", "args": {"table": "author", "role": "user", "permission": {
     "columns": ["id", "name"], "filter": {}, "allow_aggregations": true}}},
  {"type": "pg_create_select_permission", "args": {"table": "author", "role": "pubreader", "permission": {
     "columns": ["id", "name"], "filter": {"get_articles": {"published": true, "author_id": {"$ne": "X-Hasura-User-Id"}}}}}},
  {"type": "pg_create_select_permission", "args": {"table": "author", "role": "tagged", "permission": {
     "columns": ["id"], "filter": {"meta": {"_has_keys_any": "X-Hasura-Keys"}}}}},
  {"type": "pg_create_select_permission", "args": {"table": "author", "role": "capped", "permission": {
     "columns": ["id"], "filter": {}}}},
  {"type": "pg_create_select_permission", "args": {"table": "article", "role": "reader", "permission": {
     "columns": ["id"], "filter": {}, "allow_aggregations": true}}},
  {"type": "pg_create_select_permission", "args": {"table": "article", "role": "owner", "permission": {
     "columns": ["id", "author_id", "title", "rating", "published"], "computed_fields": ["score"],
     "filter": {"author_id": {"_eq": "X-Hasura-User-Id"}}, "allow_aggregations": true}}},
  {"type": "pg_create_select_permission", "args": {"table": "article", "role": "user", "permission": {
     "columns": ["id", "title", "published", "rating"], "filter": {"published": {"_eq": true}}}}},
  {"type": "pg_create_select_permission", "args": {"table": "article", "role": "pubreader", "permission": {
     "columns": ["id"], "filter": {}}}},
  {"type": "pg_create_select_permission", "args": {"table": "article", "role": "capped", "permission": {
     "columns": ["id"], "filter": {}, "limit": 1, "allow_aggregations": true}}},
  {"type": "pg_create_select_permission", "args": {"table": "article", "role": "ownid", "permission": {
     "columns": ["id", "title"], "filter": {"author_id": {"_eq": "X-Hasura-User-Id"}}}}},
  {"type": "pg_create_select_permission", "args": {"table": "article", "role": "titles", "permission": {
     "columns": ["title"], "filter": {}}}},
  {"type": "pg_create_insert_permission", "args": {"table": "article", "role": "user", "permission": {
     "columns": ["id", "title", "published"], "check": {"author_id": {"_eq": "X-Hasura-User-Id"}},
     "set": {"author_id": "x-hasura-user-id"}}}},
  {"type": "pg_create_update_permission", "args": {"table": "article", "role": "user", "permission": {
     "columns": ["title", "published"], "filter": {"author_id": {"_eq": "X-Hasura-User-Id"}},
     "check": {"title": {"_nlike": "%forbidden%"}}, "set": {"rating": "5"}}}},
  {"type": "add_inherited_role", "args": {"role_name": "both", "role_set": ["reader", "owner"]}},
  {"type": "add_inherited_role", "args": {"role_name": "both2", "role_set": ["both", "reader"]}},
  {"type": "add_inherited_role", "args": {"role_name": "keyed", "role_set": ["ownid", "titles"]}}
]}');
\set both '{"x-hasura-role": "both", "x-hasura-user-id": "1"}'
-- where on a hidden cell: article 2's title is null for "both", so neither _eq nor _like
-- (extraction by bisection) finds it.
SELECT graphql.resolve('{ article(where: {title: {_eq: "secret-of-2"}}) { id } }', NULL, :'both');
SELECT graphql.resolve('{ article(where: {title: {_like: "secret%"}}, order_by: {id: asc}) { id title } }', NULL, :'both');
-- order_by sorts hidden cells as nulls; distinct_on puts them in one group.
SELECT graphql.resolve('{ article(order_by: [{title: desc_nulls_last}, {id: asc}]) { id title } }', NULL, :'both');
SELECT graphql.resolve('{ article(distinct_on: [title], order_by: [{title: asc}, {id: asc}]) { id title } }', NULL, :'both');
-- Aggregates see only visible cells (count(columns) of one column counts non-null cells; of
-- several, every row: Hasura counts the row tuple).
SELECT graphql.resolve('{ article_aggregate { aggregate { count sum { rating } max { rating } c: count(columns: [rating]) d: count(columns: [rating], distinct: true) t: count(columns: [title, rating]) } } }', NULL, :'both');
SELECT graphql.resolve('{ author(order_by: {id: asc}) { id articles_aggregate { aggregate { sum { rating } } } } }', NULL, :'both');
SELECT graphql.resolve('{ author(where: {articles_aggregate: {count: {arguments: [rating], predicate: {_gt: 0}}}}, order_by: {id: asc}) { id } }', NULL, :'both');
SELECT graphql.resolve('{ author(order_by: [{articles_aggregate: {max: {rating: desc_nulls_last}}}, {id: asc}]) { id } }', NULL, :'both');
-- A scalar computed field only "owner" grants is a redacted cell too.
SELECT graphql.resolve('{ article(where: {score: {_gt: 0}}, order_by: [{score: desc_nulls_last}, {id: asc}]) { id score } }', NULL, :'both');
-- Joins read the join column as the role sees it: a hidden author_id joins nothing.
SELECT graphql.resolve('{ article(order_by: {id: asc}) { id author { id } } }', NULL, :'both');
SELECT graphql.resolve('{ author(order_by: {id: asc}) { id articles(order_by: {id: asc}) { id } } }', NULL, :'both');
SELECT graphql.resolve('{ author(where: {articles: {title: {_eq: "secret-of-2"}}}) { id } }', NULL, :'both');
-- An inherited role of an inherited role keeps the cell filter.
SELECT graphql.resolve('{ article(where: {title: {_eq: "secret-of-2"}}) { id title } }', NULL, '{"x-hasura-role": "both2", "x-hasura-user-id": "1"}');
-- A by-pk lookup compares the key as the role sees it ("keyed" sees ids of its own rows only).
SELECT graphql.resolve('{ a: article_by_pk(id: 1) { id title } b: article_by_pk(id: 2) { id title } }', NULL, '{"x-hasura-role": "keyed", "x-hasura-user-id": "1"}');
-- The role's limit caps aggregate nodes, not the rows aggregated.
SELECT graphql.resolve('{ article_aggregate(order_by: {id: desc}) { aggregate { count } nodes { id } } }', NULL, '{"x-hasura-role": "capped"}');
SELECT graphql.resolve('{ author(order_by: {id: asc}) { id articles_aggregate(order_by: {id: desc}) { aggregate { count } nodes { id } } } }', NULL, '{"x-hasura-role": "capped"}');
-- where through a set-returning computed field: only rows the role may select (published).
SELECT graphql.resolve('{ author(where: {get_articles: {title: {_eq: "secret-of-2"}}}) { id } }', NULL, '{"x-hasura-role": "user", "x-hasura-user-id": "1"}');
SELECT graphql.resolve('{ author(where: {get_articles: {title: {_eq: "public-of-2"}}}) { id } }', NULL, '{"x-hasura-role": "user", "x-hasura-user-id": "1"}');
-- A permission filter through a set-returning computed field (bare value = _eq, $ne, session
-- variable): authors other than the user with a published article.
SELECT graphql.resolve('{ author(order_by: {id: asc}) { id } }', NULL, '{"x-hasura-role": "pubreader", "x-hasura-user-id": "1"}');
-- _has_keys_any with an array session variable.
SELECT graphql.resolve('{ author(order_by: {id: asc}) { id } }', NULL, '{"x-hasura-role": "tagged", "x-hasura-keys": "{a,b}"}');
-- Upserts: an updated row answers to the update permission's check (and gets its presets); an
-- inserted one to the insert check; a conflicting row outside the update filter is left alone.
\set user1 '{"x-hasura-role": "user", "x-hasura-user-id": "1"}'
SELECT graphql.resolve('mutation { insert_article(objects: [{id: 1, title: "forbidden now", published: true}], on_conflict: {constraint: article_pkey, update_columns: [title]}) { affected_rows } }', NULL, :'user1');
SELECT id, author_id, title, rating FROM article WHERE id = 1;
SELECT graphql.resolve('mutation { insert_article(objects: [{id: 1, title: "renamed", published: true}], on_conflict: {constraint: article_pkey, update_columns: [title]}) { affected_rows } }', NULL, :'user1');
SELECT graphql.resolve('mutation { insert_article(objects: [{id: 2, title: "stolen", published: true}], on_conflict: {constraint: article_pkey, update_columns: [title]}) { affected_rows } }', NULL, :'user1');
SELECT graphql.resolve('mutation { insert_article(objects: [{id: 7, title: "forbidden but new", published: true}], on_conflict: {constraint: article_pkey, update_columns: [title]}) { affected_rows } }', NULL, :'user1');
SELECT id, author_id, title, rating FROM article ORDER BY id;
-- Nested inserts: a column the parent row decides cannot be given too (Hasura refuses it
-- rather than writing both rows).
SELECT graphql.resolve('mutation { insert_author_one(object: {id: 9, name: "n", articles: {data: [{id: 9, title: "t", published: true, author_id: 3}]}}) { id } }');
SELECT graphql.resolve('mutation { insert_article_one(object: {id: 9, title: "t", published: true, author_id: 3, author: {data: {id: 9, name: "n"}}}) { id } }');
SELECT id, author_id, title, rating FROM article WHERE id = 9;
ROLLBACK;
