-- The hostile-input generator's small fixture: an enum table, two related tables with jsonb,
-- numeric, float, array and timestamptz columns, a permissioned role "user" (its own items,
-- some columns) and a role "viewer" with nothing but owners.
CREATE TABLE item_status (value text PRIMARY KEY, comment text);
INSERT INTO item_status VALUES ('draft', 'Not yet out'), ('live', 'Published'), ('gone', 'Withdrawn');

CREATE TABLE owners (
    id      serial PRIMARY KEY,
    name    text NOT NULL,
    meta    jsonb,
    created timestamptz NOT NULL DEFAULT '2024-01-01T00:00:00Z'
);
CREATE TABLE items (
    id       bigserial PRIMARY KEY,
    owner_id int REFERENCES owners (id),
    title    text,
    price    numeric(14, 2),
    qty      int,
    ratio    float8,
    tags     text[],
    data     jsonb,
    status   text NOT NULL DEFAULT 'draft' REFERENCES item_status,
    at       timestamptz NOT NULL DEFAULT '2024-06-01T12:00:00Z'
);
INSERT INTO owners (name, meta)
SELECT 'owner ' || g, jsonb_build_object('n', g, 'tags', jsonb_build_array('a', 'b'), 'deep', jsonb_build_object('x', jsonb_build_object('y', g)))
  FROM generate_series(1, 5) g;
INSERT INTO items (owner_id, title, price, qty, ratio, tags, data, status, at)
SELECT 1 + g % 5, 'item ' || g, g * 1.25, g, g / 7.0, ARRAY['t' || g % 3, 'x'],
       jsonb_build_object('a', g, 'b', jsonb_build_array(g, g + 1), 's', 'str ' || g),
       (ARRAY['draft', 'live', 'gone'])[1 + g % 3], '2024-06-01T12:00:00Z'::timestamptz + g * interval '1 hour'
  FROM generate_series(1, 30) g;

CREATE EXTENSION graft;
SELECT graphql.track_all('public');
SELECT graphql.metadata('{"type": "pg_set_table_is_enum", "args": {"table": "item_status", "is_enum": true}}');
SELECT graphql.metadata('{"type": "bulk", "args": [
  {"type": "pg_create_select_permission", "args": {"table": "items", "role": "user", "permission": {
     "columns": ["id", "owner_id", "title", "price", "qty", "data", "status", "at"],
     "filter": {"_or": [{"owner_id": {"_eq": "X-Hasura-User-Id"}}, {"status": {"_eq": "live"}}]},
     "limit": 20, "allow_aggregations": true}}},
  {"type": "pg_create_select_permission", "args": {"table": "owners", "role": "user", "permission": {
     "columns": ["id", "name", "meta"], "filter": {}}}},
  {"type": "pg_create_insert_permission", "args": {"table": "items", "role": "user", "permission": {
     "columns": ["title", "qty", "data"], "check": {"owner_id": {"_eq": "X-Hasura-User-Id"}},
     "set": {"owner_id": "X-Hasura-User-Id"}}}},
  {"type": "pg_create_update_permission", "args": {"table": "items", "role": "user", "permission": {
     "columns": ["title", "qty"], "filter": {"owner_id": {"_eq": "X-Hasura-User-Id"}}, "check": {}}}},
  {"type": "pg_create_select_permission", "args": {"table": "owners", "role": "viewer", "permission": {
     "columns": ["id", "name"], "filter": {"id": {"_lt": 3}}}}}
]}');
