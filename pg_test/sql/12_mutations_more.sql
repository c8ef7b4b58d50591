\i pg_test/include/settings.psql
-- Mutations (issue 12 items 8-10): writes through views and into partitioned tables read back
-- exactly the written rows (no ctid: views have none, partitions repeat them), with checks and
-- the select filter on views as on tables; upserts on unique indexes that back no constraint
-- (plain, partial, expression); nested inserts whose child check goes through the parent.
BEGIN;
CREATE TABLE p (id int4 PRIMARY KEY, owner int4 NOT NULL, name text);
CREATE TABLE c (id int4 PRIMARY KEY, p_id int4 NOT NULL REFERENCES p, note text);
CREATE VIEW pv AS SELECT id, owner, name FROM p;
CREATE TABLE pt (id int4 NOT NULL, part int4 NOT NULL, label text, p_id int4) PARTITION BY LIST (part);
CREATE TABLE pt1 PARTITION OF pt FOR VALUES IN (1);
CREATE TABLE pt2 PARTITION OF pt FOR VALUES IN (2);
CREATE TABLE a (id int4 PRIMARY KEY, email text, name text, code text, deleted bool NOT NULL DEFAULT false);
CREATE UNIQUE INDEX a_email_idx ON a (email);
CREATE UNIQUE INDEX a_name_live_idx ON a (name) WHERE NOT deleted;
CREATE UNIQUE INDEX a_code_lower_idx ON a (lower(code));
INSERT INTO p VALUES (1, 1, 'mine'), (2, 2, 'theirs');
INSERT INTO c VALUES (1, 1, 'c-of-1'), (2, 2, 'c-of-2');
INSERT INTO a VALUES (1, 'e1', 'n1', 'K1', false);
INSERT INTO pt VALUES (9, 2, 'old', NULL);
CREATE TABLE ih (id int4 PRIMARY KEY, label text);
CREATE TABLE ihc () INHERITS (ih);
INSERT INTO ih VALUES (1, 'parent');
INSERT INTO ihc VALUES (2, 'child'), (3, 'child');
SELECT graphql.metadata('{"type": "bulk", "args": [
  {"type": "pg_track_table", "args": {"table": "p"}},
  {"type": "pg_track_table", "args": {"table": "c"}},
  {"type": "pg_track_table", "args": {"table": "pv"}},
  {"type": "pg_track_table", "args": {"table": "pt"}},
  {"type": "pg_track_table", "args": {"table": "a"}},
  {"type": "pg_track_table", "args": {"table": "ih"}},
  {"type": "pg_create_array_relationship", "args": {"table": "p", "name": "children",
     "using": {"foreign_key_constraint_on": {"table": "c", "column": "p_id"}}}},
  {"type": "pg_create_object_relationship", "args": {"table": "c", "name": "p",
     "using": {"foreign_key_constraint_on": "p_id"}}},
  {"type": "pg_create_array_relationship", "args": {"table": "pv", "name": "children",
     "using": {"manual_configuration": {"remote_table": "c", "column_mapping": {"id": "p_id"}}}}},
  {"type": "pg_create_object_relationship", "args": {"table": "pt", "name": "p",
     "using": {"manual_configuration": {"remote_table": "p", "column_mapping": {"p_id": "id"}}}}},
  {"type": "pg_create_select_permission", "args": {"table": "p", "role": "u", "permission": {
     "columns": ["id", "owner", "name"], "filter": {"owner": {"_eq": "X-Hasura-User-Id"}}}}},
  {"type": "pg_create_insert_permission", "args": {"table": "p", "role": "u", "permission": {
     "columns": ["id", "name"], "check": {"owner": {"_eq": "X-Hasura-User-Id"}}, "set": {"owner": "X-Hasura-User-Id"}}}},
  {"type": "pg_create_select_permission", "args": {"table": "c", "role": "u", "permission": {
     "columns": ["id", "p_id", "note"], "filter": {"p": {"owner": {"_eq": "X-Hasura-User-Id"}}}}}},
  {"type": "pg_create_insert_permission", "args": {"table": "c", "role": "u", "permission": {
     "columns": ["id", "p_id", "note"], "check": {"p": {"owner": {"_eq": "X-Hasura-User-Id"}}}}}},
  {"type": "pg_create_select_permission", "args": {"table": "p", "role": "v", "permission": {
     "columns": ["id", "owner", "name"], "filter": {}}}},
  {"type": "pg_create_insert_permission", "args": {"table": "p", "role": "v", "permission": {
     "columns": ["id", "owner", "name"], "check": {}}}},
  {"type": "pg_create_select_permission", "args": {"table": "c", "role": "v", "permission": {
     "columns": ["id", "p_id", "note"], "filter": {}}}},
  {"type": "pg_create_insert_permission", "args": {"table": "c", "role": "v", "permission": {
     "columns": ["id", "p_id", "note"], "check": {"p": {"owner": {"_eq": "X-Hasura-User-Id"}}}}}},
  {"type": "pg_create_select_permission", "args": {"table": "pv", "role": "u", "permission": {
     "columns": ["id", "owner", "name"], "filter": {"owner": {"_eq": "X-Hasura-User-Id"}, "name": {"_nlike": "hidden%"}}}}},
  {"type": "pg_create_insert_permission", "args": {"table": "pv", "role": "u", "permission": {
     "columns": ["id", "name"], "check": {"owner": {"_eq": "X-Hasura-User-Id"}}, "set": {"owner": "X-Hasura-User-Id"}}}},
  {"type": "pg_create_update_permission", "args": {"table": "pv", "role": "u", "permission": {
     "columns": ["name", "owner"], "filter": {"owner": {"_eq": "X-Hasura-User-Id"}}, "check": {"name": {"_nlike": "%bad%"}}}}},
  {"type": "pg_create_delete_permission", "args": {"table": "pv", "role": "u", "permission": {
     "filter": {"owner": {"_eq": "X-Hasura-User-Id"}}}}},
  {"type": "pg_create_insert_permission", "args": {"table": "pv", "role": "w", "permission": {
     "columns": ["id", "owner", "name"], "check": {"owner": {"_eq": "X-Hasura-User-Id"}}}}},
  {"type": "pg_create_select_permission", "args": {"table": "pv", "role": "w", "permission": {
     "columns": ["id"], "filter": {}}}}
]}');
\set u '{"x-hasura-role": "u", "x-hasura-user-id": "1"}'
\set v '{"x-hasura-role": "v", "x-hasura-user-id": "1"}'
\set w '{"x-hasura-role": "w", "x-hasura-user-id": "1"}'
-- Item 8. Views: an insert returns the written row with a relationship (it used to fail with
-- "column _t1.ctid does not exist"); the preset and the check apply.
SELECT graphql.resolve('mutation { insert_pv(objects: [{id: 10, name: "v10"}]) { affected_rows returning { id owner name children { id } } } }', NULL, :'u');
SELECT graphql.resolve('mutation { insert_pv_one(object: {id: 11, name: "v11"}) { id owner children { note } } }', NULL, :'u');
-- A view's insert check holds: role w gives the owner itself.
SELECT graphql.resolve('mutation { insert_pv(objects: [{id: 12, owner: 2, name: "x"}]) { affected_rows } }', NULL, :'w');
SELECT id FROM p WHERE id = 12;
-- Updates through the view: the update check fails the mutation; returning shows only rows
-- the select filter lets the role see (a "hidden" name is filtered out, the count is not).
SELECT graphql.resolve('mutation { update_pv(where: {id: {_eq: 1}}, _set: {name: "bad"}) { affected_rows } }', NULL, :'u');
SELECT name FROM p WHERE id = 1;
SELECT graphql.resolve('mutation { update_pv(where: {id: {_in: [1, 11]}}, _set: {name: "hidden"}) { affected_rows returning { id name } } }', NULL, :'u');
SELECT graphql.resolve('mutation { update_pv(where: {id: {_eq: 1}}, _set: {name: "mine2"}) { affected_rows returning { id name children { id note } } } }', NULL, :'u');
-- Moving a row out of the select filter with a passing check: written, not returned.
SELECT graphql.resolve('mutation { update_pv(where: {id: {_eq: 11}}, _set: {owner: 2, name: "v11b"}) { affected_rows returning { id } } }', NULL, :'u');
SELECT owner, name FROM p WHERE id = 11;
-- Deletes through the view return the deleted rows with a relationship.
SELECT graphql.resolve('mutation { delete_pv(where: {id: {_eq: 10}}) { affected_rows returning { id name children { id } } } }', NULL, :'u');
SELECT graphql.resolve('mutation { delete_pv(where: {id: {_eq: 2}}) { affected_rows } }', NULL, :'u');
-- Partitioned table: the row written into pt1 has the ctid (0,1) of the row already in pt2;
-- returning shows the written rows only (reading back by ctid showed row 9 too).
SELECT graphql.resolve('mutation { insert_pt(objects: [{id: 1, part: 1, label: "one", p_id: 1}, {id: 2, part: 2, label: "two", p_id: 2}]) { affected_rows returning { id part label p { name } } } }');
SELECT tableoid::regclass, ctid, id FROM pt ORDER BY id;
SELECT graphql.resolve('mutation { update_pt(where: {id: {_eq: 2}}, _set: {label: "deux"}) { affected_rows returning { id label p { id } } } }');
SELECT graphql.resolve('mutation { delete_pt(where: {part: {_eq: 1}}) { affected_rows returning { id label p { id } } } }');
SELECT tableoid::regclass, ctid, id, label FROM pt ORDER BY id;
-- Inheritance: the parent's updated row 1 lands at (0,2), where the child table has row 3.
SELECT graphql.resolve('mutation { update_ih(where: {id: {_eq: 1}}, _set: {label: "p1"}) { affected_rows returning { id label } } }');
SELECT graphql.resolve('mutation { update_ih(where: {id: {_in: [2, 3]}}, _set: {label: "c"}) { affected_rows returning { id label } } }');
SELECT tableoid::regclass, ctid, id, label FROM ih ORDER BY id;
-- Item 9. Upserts on unique indexes that back no constraint: plain, partial (its predicate
-- goes into the conflict target), expression.
SELECT graphql.resolve('mutation { insert_a(objects: [{id: 2, email: "e1", name: "new"}], on_conflict: {constraint: a_email_idx, update_columns: [name]}) { affected_rows returning { id email name } } }');
SELECT graphql.resolve('mutation { insert_a(objects: [{id: 3, email: "e3", name: "new", code: "z"}], on_conflict: {constraint: a_name_live_idx, update_columns: [email]}) { affected_rows returning { id email name } } }');
SELECT graphql.resolve('mutation { insert_a_one(object: {id: 4, email: "e4", code: "k1"}, on_conflict: {constraint: a_code_lower_idx, update_columns: [code]}) { id code } }');
SELECT graphql.resolve('mutation { insert_a(objects: [{id: 5, email: "e3"}, {id: 6, email: "e6"}], on_conflict: {constraint: a_email_idx, update_columns: []}) { affected_rows returning { id } } }');
SELECT id, email, name, code FROM a ORDER BY id;
-- Item 10. Nested inserts whose child check goes through the parent: the parent inserted for
-- the child passes it, in both orders.
SELECT graphql.resolve('mutation { insert_p(objects: [{id: 20, name: "p20", children: {data: [{id: 20, note: "c20"}, {id: 21, note: "c21"}]}}]) { affected_rows returning { id owner children(order_by: {id: asc}) { id note } } } }', NULL, :'u');
SELECT graphql.resolve('mutation { insert_c(objects: [{id: 22, note: "c22", p: {data: {id: 22, name: "p22"}}}]) { affected_rows returning { id p { id owner } } } }', NULL, :'u');
SELECT graphql.resolve('mutation { insert_c_one(object: {id: 23, note: "c23", p: {data: {id: 23, name: "p23"}}}) { id p { owner } } }', NULL, :'u');
-- Each on its own still works, and a child of someone else's parent is still refused.
SELECT graphql.resolve('mutation { insert_c_one(object: {id: 24, p_id: 20, note: "c24"}) { id } }', NULL, :'u');
SELECT graphql.resolve('mutation { insert_c_one(object: {id: 25, p_id: 2, note: "c25"}) { id } }', NULL, :'u');
-- Wrong owner: role v may create any parent, but the child's check sees the parent's owner:
-- permission-error, nothing written (neither parent nor children).
SELECT graphql.resolve('mutation { insert_p(objects: [{id: 30, owner: 2, name: "p30", children: {data: [{id: 30, note: "c30"}]}}]) { affected_rows } }', NULL, :'v');
SELECT graphql.resolve('mutation { insert_c(objects: [{id: 31, note: "c31", p: {data: {id: 31, owner: 2, name: "p31"}}}]) { affected_rows } }', NULL, :'v');
SELECT count(*) FROM p WHERE id IN (30, 31);
SELECT count(*) FROM c WHERE id IN (30, 31);
-- With the right owner the same requests pass.
SELECT graphql.resolve('mutation { insert_p(objects: [{id: 32, owner: 1, name: "p32", children: {data: [{id: 32, note: "c32"}]}}]) { affected_rows } }', NULL, :'v');
SELECT graphql.resolve('mutation { insert_c(objects: [{id: 33, note: "c33", p: {data: {id: 33, owner: 1, name: "p33"}}}]) { affected_rows returning { id p { owner } } } }', NULL, :'v');
ROLLBACK;
