\i pg_test/include/settings.psql
BEGIN;
-- Enum tables: article_status becomes the GraphQL enum article_status_enum.
SELECT graphql.metadata('{"type": "pg_set_table_is_enum", "args": {"table": "article_status", "is_enum": true}}');
SELECT graphql.resolve('{ __type(name: "article_status_enum") { kind enumValues { name description } } }');
SELECT graphql.resolve('{ articles(where: {status: {_eq: draft}}, order_by: {id: asc}) { id status } }');
SELECT graphql.resolve('query ($s: article_status_enum!) { articles(where: {status: {_eq: $s}}) { id } }', '{"s": "review"}');
SELECT graphql.resolve('{ articles(where: {status: {_eq: nonsense}}) { id } }');
SELECT graphql.resolve('mutation { update_articles_by_pk(pk_columns: {id: 3}, _set: {status: published}) { id status } }');
-- Custom names: a table's GraphQL name, root fields and a column name.
SELECT graphql.metadata('{"type": "pg_set_table_customization", "args": {"table": "comments", "configuration": {"custom_name": "Comment", "custom_root_fields": {"select": "allComments", "select_by_pk": "commentById"}, "column_config": {"body": {"custom_name": "text"}}}}}');
SELECT graphql.resolve('{ allComments(limit: 2, order_by: {id: asc}) { id text __typename } commentById(id: 1) { text } }');
SELECT graphql.resolve('{ articles_by_pk(id: 1) { comments(limit: 1, order_by: {id: asc}) { text } } }');
-- Stringified numerics.
SET graft.stringify_numeric_types = on;
SELECT graphql.resolve('{ articles_by_pk(id: 11) { rating } articles_aggregate { aggregate { sum { rating } } } }');
RESET graft.stringify_numeric_types;
-- A dropped tracked table is reported inconsistent; the rest keeps working.
ALTER TABLE comments DROP CONSTRAINT comments_article_id_fkey;
ALTER TABLE comments DROP CONSTRAINT comments_author_id_fkey;
DROP TABLE comments;
SELECT graphql.metadata('{"type": "get_inconsistent_metadata", "args": {}}')::jsonb -> 'is_consistent';
SELECT graphql.resolve('{ authors_by_pk(id: 1) { name } }');
SELECT graphql.resolve('{ allComments { id } }');
ROLLBACK;
-- A volatile tracked function is a mutation root field.
BEGIN;
CREATE FUNCTION publish_all_drafts() RETURNS SETOF articles LANGUAGE sql VOLATILE AS
  $$ UPDATE articles SET published = true WHERE NOT published RETURNING * $$;
SELECT graphql.metadata('{"type": "pg_track_function", "args": {"function": "publish_all_drafts"}}');
SELECT graphql.resolve('mutation { publish_all_drafts(order_by: {id: asc}) { id published } }');
SELECT graphql.resolve('{ publish_all_drafts { id } }');
ROLLBACK;
