\i pg_test/include/settings.psql
-- The SQL API is not public, and an application role granted resolve() uses the metadata
-- without being able to read the metadata store or change the metadata.
BEGIN;
CREATE ROLE graft_app;
GRANT USAGE ON SCHEMA graphql TO graft_app;
GRANT SELECT ON authors TO graft_app;
SET ROLE graft_app;
SELECT graphql.resolve('{ authors_by_pk(id: 1) { name } }');
ROLLBACK;
BEGIN;
CREATE ROLE graft_app;
GRANT USAGE ON SCHEMA graphql TO graft_app;
GRANT EXECUTE ON FUNCTION graphql.resolve(text, json, json, text) TO graft_app;
GRANT SELECT ON authors TO graft_app;
SET ROLE graft_app;
SELECT graphql.resolve('{ authors_by_pk(id: 1) { name } }');
-- Graft's permissions are inside the caller's grants: no SELECT on articles, no rows. The
-- missing grant is a GraphQL error (the transaction goes on), not a raised one.
SELECT graphql.resolve('{ articles(limit: 1) { id } }');
SELECT 1 AS still_usable;
ROLLBACK;
BEGIN;
CREATE ROLE graft_app;
GRANT USAGE ON SCHEMA graphql TO graft_app;
SET ROLE graft_app;
SELECT metadata FROM graphql.metadata_store;
ROLLBACK;
BEGIN;
CREATE ROLE graft_app;
GRANT USAGE ON SCHEMA graphql TO graft_app;
SET ROLE graft_app;
SELECT graphql.metadata('{"type": "export_metadata", "args": {}}');
ROLLBACK;
