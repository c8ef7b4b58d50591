\i pg_test/include/settings.psql
-- Hasura compatibility details (issue 13 items 7-9): descriptions from database and metadata
-- comments, names beginning with null, strings for Int arguments, stringified numerics, column
-- comparison with the root table, table-row function arguments.
BEGIN;
CREATE TABLE automatic_comment_in_db (id serial PRIMARY KEY, name text NOT NULL);
COMMENT ON TABLE automatic_comment_in_db IS 'What a great comment in the DB';
COMMENT ON COLUMN automatic_comment_in_db.name IS 'The name column comment in the DB';
CREATE FUNCTION automatic_comment_in_db_upper_name(r automatic_comment_in_db) RETURNS text LANGUAGE sql STABLE AS $$ SELECT upper(r.name) $$;
COMMENT ON FUNCTION automatic_comment_in_db_upper_name(automatic_comment_in_db) IS 'What a great comment on the function in the DB';
CREATE TABLE c_author (id int PRIMARY KEY, name text NOT NULL, "nullName" text);
CREATE TABLE c_article (id int PRIMARY KEY, author_id int NOT NULL REFERENCES c_author, rating numeric NOT NULL, weight float8);
CREATE FUNCTION c_by_author(a c_author) RETURNS SETOF c_article LANGUAGE sql STABLE AS $$ SELECT * FROM c_article WHERE author_id = a.id $$;
CREATE FUNCTION c_article_three(x c_article) RETURNS float8 LANGUAGE sql STABLE AS $$ SELECT 3::float8 $$;
INSERT INTO automatic_comment_in_db (name) VALUES ('x');
INSERT INTO c_author VALUES (1, 'Alice', NULL), (2, 'Bob', NULL);
INSERT INTO c_article VALUES (1, 1, 5.5, 1.5), (2, 1, 5.6, NULL), (3, 2, 1, 2);
SELECT graphql.metadata('{"type": "bulk", "args": [
  {"type": "pg_track_table", "args": {"table": "automatic_comment_in_db"}},
  {"type": "pg_add_computed_field", "args": {"table": "automatic_comment_in_db", "name": "upper_name", "definition": {"function": "automatic_comment_in_db_upper_name"}}},
  {"type": "pg_track_table", "args": {"table": "c_author"}},
  {"type": "pg_track_table", "args": {"table": "c_article"}},
  {"type": "pg_track_function", "args": {"function": "c_by_author"}},
  {"type": "pg_add_computed_field", "args": {"table": "c_article", "name": "three", "definition": {"function": "c_article_three"}}},
  {"type": "pg_create_object_relationship", "args": {"table": "c_article", "name": "author", "using": {"foreign_key_constraint_on": "author_id"}}},
  {"type": "pg_create_select_permission", "args": {"table": "c_author", "role": "ceq", "permission": {"columns": ["id"], "filter": {}}}},
  {"type": "pg_create_select_permission", "args": {"table": "c_article", "role": "ceq", "permission": {"columns": ["id"],
     "filter": {"author": {"id": {"_ceq": ["$", "author_id"]}}}}}}
]}');
-- Descriptions: database comments (metadata has none).
SELECT graphql.resolve('{ __type(name: "automatic_comment_in_db") { name description kind fields { name description } } }');
-- A metadata comment of "" means no description; another text wins over the database's.
SELECT graphql.metadata('{"type": "pg_set_table_customization", "args": {"table": "automatic_comment_in_db", "configuration": {"comment": "", "column_config": {"name": {"comment": ""}}}}}');
SELECT graphql.resolve('{ __type(name: "automatic_comment_in_db") { description fields { name description } } }');
SELECT graphql.metadata('{"type": "pg_set_table_customization", "args": {"table": "automatic_comment_in_db", "configuration": {"comment": "X"}}}');
SELECT graphql.resolve('{ __type(name: "automatic_comment_in_db") { description } }');
-- A name beginning with null is a name (an enum value of c_author_update_column).
SELECT graphql.resolve('mutation { insert_c_author(objects: [{id: 1, name: "A", nullName: "n"}], on_conflict: {constraint: c_author_pkey, update_columns: [nullName]}) { affected_rows returning { id name nullName } } }');
-- offset takes a decimal string; limit does not.
SELECT graphql.resolve('{ c_article(offset: "1", order_by: {id: asc}) { id } }');
SELECT graphql.resolve('{ c_article(limit: "2") { id } }');
-- Stringified numerics: every aggregate of a numeric column, float8 computed fields.
SET LOCAL graft.stringify_numeric_types = on;
SELECT graphql.resolve('{ c_article_aggregate(where: {author_id: {_eq: 1}}) { aggregate { avg { rating } sum { rating } max { weight } } } }');
SELECT graphql.resolve('{ c_article(order_by: {id: asc}, limit: 1) { rating three } }');
SET LOCAL graft.stringify_numeric_types = off;
-- _ceq against the root table ("$"): every article whose author row exists.
SELECT graphql.resolve('{ c_article(order_by: {id: asc}) { id } }', NULL, '{"x-hasura-role": "ceq"}');
-- A tracked function taking a table row: the row as text.
SELECT graphql.resolve('{ c_by_author(args: {a: "(2,Bob,)"}) { id } }');
-- Metadata checks (item 10): an enum table whose value is not a GraphQL name; a custom name
-- that makes two tables' root fields collide; a cycle of inherited roles.
CREATE TABLE c_colors (value text PRIMARY KEY);
INSERT INTO c_colors VALUES ('red'), ('a b');
SELECT graphql.metadata('{"type": "pg_track_table", "args": {"table": "c_colors"}}');
SELECT graphql.metadata('{"type": "pg_set_table_is_enum", "args": {"table": "c_colors", "is_enum": true}}');
SELECT graphql.metadata('{"type": "pg_set_table_customization", "args": {"table": "c_colors", "configuration": {"custom_name": "c_author"}}}');
SELECT graphql.metadata('{"type": "add_inherited_role", "args": {"role_name": "ca", "role_set": ["cb"]}}');
SELECT graphql.metadata('{"type": "add_inherited_role", "args": {"role_name": "cb", "role_set": ["ca"]}}');
-- Insert permission without columns: every column but the presets (item 6).
SELECT graphql.metadata('{"type": "pg_create_insert_permission", "args": {"table": "c_author", "role": "writer", "permission": {"check": {}, "set": {"nullName": "x"}}}}');
SELECT graphql.resolve('{ __type(name: "c_author_insert_input") { inputFields { name } } }', NULL, '{"x-hasura-role": "writer"}');
-- Relationship shorthand (item 3): one column name where Hasura also takes a list.
SELECT graphql.metadata('{"type": "pg_create_array_relationship", "args": {"table": "c_author", "name": "articles", "using": {"foreign_key_constraint_on": {"table": "c_article", "columns": "author_id"}}}}');
SELECT graphql.resolve('{ c_author(order_by: {id: asc}) { id articles { id } } }');
-- /v1/query and /v1/metadata take version 1 or 2 only.
SELECT graphql.metadata('{"type": "export_metadata", "version": 3, "args": {}}');
ROLLBACK;
