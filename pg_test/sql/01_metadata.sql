\i pg_test/include/settings.psql
-- Track every table and view of schema public, with the relationships its foreign keys imply.
SELECT graphql.track_all('public');
-- A computed field and a tracked function, through the metadata API.
SELECT graphql.metadata('{"type": "pg_add_computed_field", "args": {"table": "authors", "name": "author_article_count", "definition": {"function": "author_article_count"}}}');
SELECT graphql.metadata('{"type": "pg_track_function", "args": {"function": "search_articles"}}');
-- Errors come back in Hasura's shape.
SELECT graphql.metadata('{"type": "pg_track_table", "args": {"table": "authors"}}');
SELECT graphql.metadata('{"type": "pg_track_table", "args": {"table": "no_such_table"}}');
SELECT graphql.metadata('{"type": "pg_create_object_relationship", "args": {"table": "articles", "name": "title", "using": {"foreign_key_constraint_on": "author_id"}}}');
SELECT graphql.metadata('{"type": "no_such_command", "args": {}}');
SELECT graphql.metadata('{"type": "export_metadata", "version": 2, "args": {}, "resource_version": 999}');
-- The SQL helpers raise instead.
SELECT graphql.track_table('no_such_table');
-- The metadata as Hasura's export_metadata prints it. Printed as is (json, not jsonb):
-- key order is part of the contract.
SELECT graphql.export_metadata();
