-- Graft bootstrap: the catalog tables the Rust functions rely on. Runs before any generated
-- function (extension_sql_file!(..., bootstrap)).

-- The schema is created by CREATE EXTENSION (graft.control: schema = graphql). USAGE on it is
-- harmless on its own: EXECUTE on every function is revoked from PUBLIC in finalize.sql, so a
-- DBA grants access function by function (GRANT EXECUTE ON FUNCTION graphql.resolve ...).
GRANT USAGE ON SCHEMA graphql TO PUBLIC;

-- The Hasura metadata (export format, version 3) and its resource version, one row, as
-- Hasura keeps it (hdb_catalog.hdb_metadata). `json`, not `jsonb`: the document keeps the key
-- order it was given, so an export prints sections Graft does not interpret exactly as they
-- came in.
--
-- The row is NOT inserted here: pg_dump dumps the data of a configuration table after
-- CREATE EXTENSION, so a seed row would make every restore fail with a duplicate key. A missing
-- row reads as the default metadata (an empty `default` source) at resource version 1, and the
-- first metadata write inserts it.
CREATE TABLE graphql.metadata_store (
    id               int    PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    resource_version bigint NOT NULL,
    metadata         json   NOT NULL
);

-- Only the extension (running as the table owner) reads or writes the metadata: it may hold
-- secrets (webhook headers, remote schema credentials).
REVOKE ALL ON graphql.metadata_store FROM PUBLIC;

SELECT pg_catalog.pg_extension_config_dump('graphql.metadata_store', '');
