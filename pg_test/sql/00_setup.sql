\i pg_test/include/settings.psql
-- Every later test runs in this database and relies on what this file creates:
-- the demo blog (demo/demo.sql, also what scripts/setup.sh loads) and the extension.
\set ECHO none
\i demo/demo.sql
\set ECHO all
SELECT (SELECT count(*) FROM authors) AS authors,
       (SELECT count(*) FROM articles) AS articles,
       (SELECT count(*) FROM comments) AS comments;
CREATE EXTENSION graft;
-- The extension is installed in its own schema and its shared library loads.
SELECT extname, extnamespace::regnamespace AS schema, extrelocatable
  FROM pg_extension WHERE extname = 'graft';
LOAD 'graft';
