\i pg_test/include/settings.psql
-- Track every table and view of schema public, with the relationships its foreign keys imply.
SELECT graphql.track_all('public');
-- The metadata as Hasura's export_metadata prints it. Printed as is (json, not jsonb):
-- key order is part of the contract.
SELECT graphql.export_metadata();
