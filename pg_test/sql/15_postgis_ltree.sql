\i pg_test/include/settings.psql
-- PostGIS and ltree (issue 13 item 4): Hasura's operators, GeoJSON values in variables,
-- literals, inserts and updates, GeoJSON output (ST_AsGeoJSON(col, 15, 4)), and Hasura's
-- errors. Rows and requests are those of Hasura's tests (server/tests-py/queries/
-- graphql_query/boolexp/{postgis,ltree}); ltree lives in a schema off the search_path.
BEGIN;
CREATE EXTENSION postgis;
CREATE EXTENSION postgis_raster;
CREATE SCHEMA ext;
CREATE EXTENSION ltree SCHEMA ext;
CREATE TABLE geom_table (id serial PRIMARY KEY, type text NOT NULL, geom_col geometry NOT NULL);
CREATE TABLE geog_table (id serial PRIMARY KEY, name text NOT NULL, geog_col geography NOT NULL);
CREATE TABLE geog_as_geom_table (id serial PRIMARY KEY, name text NOT NULL, geom_col geometry NOT NULL);
CREATE TABLE rast_table (id serial PRIMARY KEY, rast raster);
CREATE TABLE tree (id serial PRIMARY KEY, path ext.ltree);
INSERT INTO geom_table (type, geom_col) VALUES ('point', 'SRID=4326;POINT(1 2)'), ('linestring', 'SRID=4326;LINESTRING(0 0, 0.5 1, 1 2, 1.5 3)'), ('linestring', 'SRID=4326;LINESTRING(1 0, 0.5 0.5, 0 1)'), ('polygon', 'SRID=4326;POLYGON((0 0, 0 1, 1 1, 1 0, 0 0))'), ('polygon', 'SRID=4326;POLYGON((2 0, 2 1, 3 1, 3 0, 2 0))');
INSERT INTO geog_table (name, geog_col) VALUES ('London', 'SRID=4326;POINT(0.1278 51.5074)'), ('Paris', 'SRID=4326;POINT(2.3522 48.8566)'), ('Moscow', 'SRID=4326;POINT(37.6173 55.7558)'), ('New York', 'SRID=4326;POINT(-74.0060 40.7128)'), ('Linestring', 'SRID=4326;LINESTRING(0.0 0.0,0.0 1.0)'), ('Point', 'SRID=4326;POINT(0.0 0.5)');
INSERT INTO geog_as_geom_table (name, geom_col) VALUES ('London', 'SRID=4326;POINT(0.1278 51.5074)'), ('Paris', 'SRID=4326;POINT(2.3522 48.8566)'), ('Moscow', 'SRID=4326;POINT(37.6173 55.7558)'), ('New York', 'SRID=4326;POINT(-74.0060 40.7128)');
INSERT INTO rast_table (rast) VALUES ('0100000100000000000000F03F000000000000F0BF0000000000000000000000000000F03F00000000000000000000000000000000E610000001000100440001');
INSERT INTO tree (path) VALUES ('Tree'), ('Tree.Science'), ('Tree.Science.Astronomy'), ('Tree.Science.Astronomy.Astrophysics'), ('Tree.Science.Astronomy.Cosmology'), ('Tree.Hobbies'), ('Tree.Hobbies.Amateurs_Astronomy'), ('Tree.Collections'), ('Tree.Collections.Pictures'), ('Tree.Collections.Pictures.Astronomy'), ('Tree.Collections.Pictures.Astronomy.Stars'), ('Tree.Collections.Pictures.Astronomy.Galaxies'), ('Tree.Collections.Pictures.Astronomy.Astronauts');
SELECT graphql.metadata('{"type": "bulk", "args": [
  {"type": "pg_track_table", "args": {"table": "geom_table"}},
  {"type": "pg_track_table", "args": {"table": "geog_table"}},
  {"type": "pg_track_table", "args": {"table": "geog_as_geom_table"}},
  {"type": "pg_track_table", "args": {"table": "rast_table"}},
  {"type": "pg_track_table", "args": {"table": "tree"}}
]}');
-- Geometry: spatial predicates with GeoJSON variables; columns come back as GeoJSON.
SELECT graphql.resolve('query ($point: geometry) { st_contains: geom_table(where: {geom_col: {_st_contains: $point}}) { id type geom_col } st_equals: geom_table(where: {geom_col: {_st_equals: $point}}) { id type geom_col } }', '{"point": {"type": "Point", "coordinates": [1, 2]}}');
SELECT graphql.resolve('query ($line: geometry) { st_crosses: geom_table(where: {geom_col: {_st_crosses: $line}}) { id } st_touches: geom_table(where: {geom_col: {_st_touches: $line}}) { id type geom_col } st_disjoint: geom_table(where: {_not: {geom_col: {_st_intersects: $line}}}) { id } }', '{"line": {"type": "LineString", "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4326"}}, "coordinates": [[-1, 0], [0, 1.5], [1, 2]]}}');
SELECT graphql.resolve('query ($polygon: geometry!) { st_d_within_2: geom_table(where: {geom_col: {_st_d_within: {distance: 2 from: $polygon}}}) { id } st_d_within_3: geom_table(where: {geom_col: {_st_d_within: {distance: 3 from: $polygon}}}) { id } }', '{"polygon": {"type": "Polygon", "coordinates": [[[2, 0], [2, 1], [3, 1], [3, 0], [2, 0]]]}}');
SELECT graphql.resolve('{ eq: geom_table(where: {geom_col: {_eq: {type: "Point", coordinates: [1, 2], crs: {type: "name", properties: {name: "EPSG:4326"}}}}}) { id } in: geom_table(where: {geom_col: {_in: [{type: "Point", coordinates: [1, 2], crs: {type: "name", properties: {name: "EPSG:4326"}}}, "{\"type\": \"Polygon\", \"coordinates\": [[[2, 0], [2, 1], [3, 1], [3, 0], [2, 0]]], \"crs\": {\"type\": \"name\", \"properties\": {\"name\": \"EPSG:4326\"}}}"]}}) { id } }');
-- Geography: distance with and without the spheroid, intersection.
SELECT graphql.resolve('query ($point: geography!, $ipoint: geography!) { stdwithin: geog_table(where: {geog_col: {_st_d_within: {distance: 1000000, from: $point}}}) { name } stdwithin_sph_false: geog_table(where: {geog_col: {_st_d_within: {distance: 1000000, from: $point, use_spheroid: false}}}) { name } stintersects: geog_table(where: {geog_col: {_st_intersects: $ipoint}}) { name } }', '{"ipoint": {"coordinates": [0.0, 0.5], "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4326"}}, "type": "Point"}, "point": {"coordinates": [1, 50], "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4326"}}, "type": "Point"}}');
-- Casts between geometry and geography, with GeoJSON literals; any other cast is refused.
SELECT graphql.resolve('{ geog_as_geom_table(where: {geom_col: {_cast: {geography: {_st_d_within: {distance: 1000000, from: {type: "Point", coordinates: [1, 50]}}}}}}) { name } }');
SELECT graphql.resolve('{ geog_table(where: {geog_col: {_cast: {geometry: {_st_within: {type: "Polygon", coordinates: [[[-75, 40], [-74, 40], [-74, 41], [-75, 41], [-75, 40]]], crs: {type: "name", properties: {name: "EPSG:4326"}}}}}}}) { name geog_col } }');
SELECT graphql.resolve('{ geog_table(where: {geog_col: {_cast: {integer: {_eq: 0}}}}) { name } }');
-- Raster.
SELECT graphql.resolve('query ($r: raster!) { rast_table(where: {rast: {_st_intersects_rast: $r}}) { id } }', '{"r": "0100000100000000000000F03F000000000000F0BF0000000000000000000000000000F03F00000000000000000000000000000000E610000001000100440001"}');
SELECT graphql.resolve('{ a: rast_table(where: {rast: {_st_intersects_geom_nband: {geommin: {type: "Point", coordinates: [0.5, 0.5], crs: {type: "name", properties: {name: "EPSG:4326"}}}}}}) { id } b: rast_table(where: {rast: {_st_intersects_nband_geom: {nband: 1, geommin: {type: "Point", coordinates: [5, 5], crs: {type: "name", properties: {name: "EPSG:4326"}}}}}}) { id } }');
-- ltree.
SELECT graphql.resolve('{ tree(where: {path: {_ancestor: "Tree.Collections.Pictures.Astronomy.Astronauts"}}) { path } }');
SELECT graphql.resolve('{ tree(where: {path: {_ancestor_any: ["Tree.Collections.Pictures", "Tree.Hobbies"]}}) { path } }');
SELECT graphql.resolve('{ tree(where: {path: {_descendant: "Tree.Science"}}) { path } }');
SELECT graphql.resolve('{ tree(where: {path: {_descendant_any: ["Tree.Science.Astronomy", "Tree.Hobbies"]}}) { path } }');
SELECT graphql.resolve('{ tree(where: {path: {_matches: "*.Astronomy.*"}}) { path } }');
SELECT graphql.resolve('{ tree(where: {path: {_matches_any: ["*.Pictures.*", "*.Hobbies.*"]}}) { path } }');
SELECT graphql.resolve('{ tree(where: {path: {_matches_fulltext: "Astro*% & !pictures@"}}) { path } }');
-- Values Hasura refuses (parse-failed), as it words them.
SELECT graphql.resolve('{ tree(where: {path: {_ancestor: "Tree.Collections.Pictures.Astronomy.Astronauts."}}) { path } }');
SELECT graphql.resolve('{ tree(where: {path: {_ancestor_any: ["Tree.Collections.Pictures."]}}) { path } }');
SELECT graphql.resolve('{ geom_table(where: {geom_col: {_st_contains: {type: "Pointy", coordinates: [1, 2]}}}) { id } }');
SELECT graphql.resolve('query ($p: geometry!) { geom_table(where: {geom_col: {_st_contains: $p}}) { id } }', '{"p": 5}');
-- GeoJSON in inserts and updates; returning shows GeoJSON.
SELECT graphql.resolve('mutation ($g: geometry!) { insert_geom_table_one(object: {type: "point", geom_col: $g}) { type geom_col } }', '{"g": {"type": "Point", "coordinates": [3, 4], "crs": {"type": "name", "properties": {"name": "EPSG:4326"}}}}');
SELECT graphql.resolve('mutation { insert_geog_table(objects: [{name: "Origin", geog_col: {type: "Point", coordinates: [0, 0]}}, {name: "Ring", geog_col: {type: "Polygon", coordinates: [[[0, 0], [1, 0], [1, 1], [0, 0]]]}}]) { affected_rows returning { name geog_col } } }');
SELECT graphql.resolve('mutation { update_geog_table(where: {name: {_eq: "Point"}}, _set: {geog_col: {type: "Point", coordinates: [0.25, 0.75]}}) { affected_rows returning { name geog_col } } }');
ROLLBACK;
