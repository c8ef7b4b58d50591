\i pg_test/include/settings.psql
-- Bad input: Hasura's error shape, code and path; never a crash.
SELECT graphql.resolve('{ authors { nope } }');
SELECT graphql.resolve('{ authors(where: {name: {_ne: "x"}}) { id } }');
SELECT graphql.resolve('{ authors_by_pk(id: "x") { id } }');
SELECT graphql.resolve('{ authors');
SELECT graphql.resolve('query Q($id: Int!) { authors_by_pk(id: $id) { id } }');
SELECT graphql.resolve('query Q($id: Int!) { authors_by_pk(id: $id) { id } }', '{"id": "abc"}');
SELECT graphql.resolve('query A { authors { id } } query B { authors { id } }');
SELECT graphql.resolve('{ authors { id } }', NULL, NULL, 'Missing');
SELECT graphql.resolve('{ authors(foo: 1) { id } }');
SELECT graphql.resolve('{ authors }');
SELECT graphql.resolve('{ authors { id { x } } }');
SELECT graphql.resolve('{ articles(where: {published_at: {_gt: "not a date"}}) { id } }');
SELECT graphql.resolve('{ articles(where: {title: {_regex: "("}}) { id } }');
SELECT graphql.resolve('{ articles(distinct_on: author_id, order_by: {id: asc}) { id } }');
SELECT graphql.resolve('');
SELECT graphql.resolve('{ ' || repeat('authors { articles { ', 40) || 'id' || repeat(' } }', 40) || ' }');
-- Injection attempts stay values.
SELECT graphql.resolve('{ authors(where: {name: {_eq: "x''; DROP TABLE authors; --"}}) { id } }');
SELECT count(*) > 0 FROM authors;
