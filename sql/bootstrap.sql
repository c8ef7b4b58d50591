-- Graft's catalog. Hasura keeps its metadata as one JSON document (hdb_catalog.hdb_metadata);
-- so does Graft. `json`, not `jsonb`: the document keeps the key order it was given.
-- The row is created on the first metadata write; no row means empty metadata, which keeps
-- pg_dump/restore (extension config dump) from colliding with a seeded row.
CREATE TABLE graphql.metadata_store (
    id int PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    resource_version bigint NOT NULL,
    metadata json NOT NULL
);
SELECT pg_catalog.pg_extension_config_dump('graphql.metadata_store', '');
