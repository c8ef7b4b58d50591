\i pg_test/include/settings.psql
-- Multi-tenant isolation, checked as a generated matrix: for each tenant × table × access path
-- (root list, by_pk of every row, nested relationships, filters/ordering/distinct_on through
-- relationships, returning of every mutation, upsert, update_many), every id a response holds
-- must be one the tenant may see, and every write must touch only the tenant's rows.
BEGIN;
CREATE SCHEMA tenancy;
CREATE TABLE tenancy.orgs (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE tenancy.members (id int PRIMARY KEY, org_id int NOT NULL REFERENCES tenancy.orgs, name text NOT NULL);
CREATE TABLE tenancy.projects (id int PRIMARY KEY, org_id int NOT NULL REFERENCES tenancy.orgs,
  owner_id int NOT NULL REFERENCES tenancy.members, title text NOT NULL, budget int NOT NULL);
CREATE TABLE tenancy.tasks (id int PRIMARY KEY, project_id int NOT NULL REFERENCES tenancy.projects,
  body text NOT NULL, secret text);
INSERT INTO tenancy.orgs VALUES (1, 'Acme'), (2, 'Globex');
INSERT INTO tenancy.members SELECT g, 1 + g % 2, 'm' || g FROM generate_series(1, 6) g;
INSERT INTO tenancy.projects SELECT g, 1 + g % 2, (1 - g % 2) + 1 + 2 * (g % 3), 'p' || g, g * 100 FROM generate_series(1, 10) g;
INSERT INTO tenancy.tasks SELECT g, 1 + g % 10, 't' || g, 's' || g FROM generate_series(1, 30) g;
SELECT graphql.track_all('tenancy') IS NOT NULL;
SELECT graphql.metadata(json_build_object('type', 'bulk', 'args', json_build_array(
  json_build_object('type', 'pg_create_select_permission', 'args', json_build_object('table', json_build_object('schema', 'tenancy', 'name', 'orgs'), 'role', 'member',
    'permission', json_build_object('columns', '"*"'::json, 'filter', '{"id": {"_eq": "X-Hasura-Org-Id"}}'::json))),
  json_build_object('type', 'pg_create_select_permission', 'args', json_build_object('table', json_build_object('schema', 'tenancy', 'name', 'members'), 'role', 'member',
    'permission', json_build_object('columns', '"*"'::json, 'filter', '{"org_id": {"_eq": "X-Hasura-Org-Id"}}'::json, 'allow_aggregations', true))),
  json_build_object('type', 'pg_create_select_permission', 'args', json_build_object('table', json_build_object('schema', 'tenancy', 'name', 'projects'), 'role', 'member',
    'permission', json_build_object('columns', '"*"'::json, 'filter', '{"org_id": {"_eq": "X-Hasura-Org-Id"}}'::json, 'allow_aggregations', true))),
  json_build_object('type', 'pg_create_select_permission', 'args', json_build_object('table', json_build_object('schema', 'tenancy', 'name', 'tasks'), 'role', 'member',
    'permission', json_build_object('columns', '["id", "project_id", "body"]'::json, 'filter', '{"project": {"org_id": {"_eq": "X-Hasura-Org-Id"}}}'::json, 'allow_aggregations', true))),
  json_build_object('type', 'pg_create_insert_permission', 'args', json_build_object('table', json_build_object('schema', 'tenancy', 'name', 'projects'), 'role', 'member',
    'permission', json_build_object('columns', '["id", "owner_id", "title", "budget", "org_id"]'::json, 'check', '{"org_id": {"_eq": "X-Hasura-Org-Id"}, "owner": {"org_id": {"_eq": "X-Hasura-Org-Id"}}}'::json))),
  json_build_object('type', 'pg_create_update_permission', 'args', json_build_object('table', json_build_object('schema', 'tenancy', 'name', 'projects'), 'role', 'member',
    'permission', json_build_object('columns', '["title", "budget", "org_id"]'::json, 'filter', '{"owner_id": {"_eq": "X-Hasura-User-Id"}}'::json, 'check', '{"org_id": {"_eq": "X-Hasura-Org-Id"}}'::json))),
  json_build_object('type', 'pg_create_delete_permission', 'args', json_build_object('table', json_build_object('schema', 'tenancy', 'name', 'projects'), 'role', 'member',
    'permission', json_build_object('filter', '{"owner_id": {"_eq": "X-Hasura-User-Id"}}'::json)))
)))::text;

-- Ids of table `tab` in a response (every object with "__typename" = tab carries "id").
CREATE FUNCTION pg_temp.ids_of(resp json, tab text) RETURNS int[] LANGUAGE sql AS $$
  SELECT coalesce(array_agg(DISTINCT (v ->> 'id')::int), '{}')
  FROM jsonb_path_query(resp::jsonb, 'strict $.**') v
  WHERE jsonb_typeof(v) = 'object' AND v ->> '__typename' = 'tenancy_' || tab AND v ? 'id' $$;
-- What tenant `org` may see of table `tab`, computed with plain SQL.
CREATE FUNCTION pg_temp.allowed(tab text, org int) RETURNS int[] LANGUAGE sql AS $$
  SELECT CASE tab
    WHEN 'orgs' THEN ARRAY[org]
    WHEN 'members' THEN (SELECT array_agg(id) FROM tenancy.members WHERE org_id = org)
    WHEN 'projects' THEN (SELECT array_agg(id) FROM tenancy.projects WHERE org_id = org)
    WHEN 'tasks' THEN (SELECT array_agg(t.id) FROM tenancy.tasks t JOIN tenancy.projects p ON p.id = t.project_id WHERE p.org_id = org) END $$;

DO $$
DECLARE
  org int; uid int; q text; resp json; tab text; n int := 0; seen int := 0; sess json; bad int[];
  queries text[] := ARRAY[
    '{ tenancy_orgs { __typename id name tenancy_memberss: members { __typename id } } }',
    '{ tenancy_members { __typename id org { __typename id } projects { __typename id tasks { __typename id } } } }',
    '{ tenancy_projects(order_by: {budget: desc}) { __typename id org { __typename id } owner { __typename id } tasks(order_by: {id: asc}) { __typename id project { __typename id } } } }',
    '{ tenancy_tasks { __typename id project { __typename id org { __typename id } } } }',
    '{ tenancy_projects(where: {tasks: {body: {_like: "t%"}}}) { __typename id } }',
    '{ tenancy_projects(where: {org: {name: {_eq: "Globex"}}}) { __typename id } }',
    '{ tenancy_projects(where: {org: {name: {_eq: "Acme"}}}) { __typename id } }',
    '{ tenancy_members(order_by: {projects_aggregate: {count: desc}}) { __typename id projects_aggregate { aggregate { count } nodes { __typename id } } } }',
    '{ tenancy_projects(distinct_on: org_id, order_by: [{org_id: asc}, {budget: desc}]) { __typename id } }',
    '{ tenancy_tasks_aggregate { aggregate { count } nodes { __typename id } } }',
    '{ tenancy_members(where: {projects_aggregate: {count: {predicate: {_gt: 0}}}}) { __typename id } }'];
BEGIN
  FOR org IN 1..2 LOOP
    uid := org;  -- member `org` belongs to org `1 + org % 2`; use a member of this org below
    SELECT min(id) INTO uid FROM tenancy.members WHERE org_id = org;
    sess := json_build_object('x-hasura-role', 'member', 'x-hasura-org-id', org::text, 'x-hasura-user-id', uid::text);
    FOREACH q IN ARRAY queries LOOP
      resp := graphql.resolve(q, NULL, sess);
      IF resp::jsonb ? 'errors' THEN RAISE EXCEPTION 'query failed: % → %', q, resp; END IF;
      FOREACH tab IN ARRAY ARRAY['orgs', 'members', 'projects', 'tasks'] LOOP
        bad := ARRAY(SELECT unnest(pg_temp.ids_of(resp, tab)) EXCEPT SELECT unnest(pg_temp.allowed(tab, org)));
        IF cardinality(bad) > 0 THEN RAISE EXCEPTION 'LEAK org % sees % % via %', org, tab, bad, q; END IF;
        seen := seen + cardinality(pg_temp.ids_of(resp, tab));
        n := n + 1;
      END LOOP;
    END LOOP;
    -- by_pk of every row of every table: only own rows come back.
    FOREACH tab IN ARRAY ARRAY['orgs', 'members', 'projects', 'tasks'] LOOP
      FOR i IN 1..30 LOOP
        resp := graphql.resolve(format('{ tenancy_%s_by_pk(id: %s) { __typename id } }', tab, i), NULL, sess);
        bad := ARRAY(SELECT unnest(pg_temp.ids_of(resp, tab)) EXCEPT SELECT unnest(pg_temp.allowed(tab, org)));
        IF cardinality(bad) > 0 THEN RAISE EXCEPTION 'LEAK by_pk org % %', org, resp; END IF;
        n := n + 1;
      END LOOP;
    END LOOP;
    -- Hidden column: not in the role's schema, so it cannot be read, filtered or ordered on.
    FOREACH q IN ARRAY ARRAY['{ tenancy_tasks { secret } }', '{ tenancy_tasks(where: {secret: {_eq: "s1"}}) { id } }',
                             '{ tenancy_tasks(order_by: {secret: asc}) { id } }', '{ tenancy_tasks_aggregate { aggregate { max { secret } } } }'] LOOP
      resp := graphql.resolve(q, NULL, sess);
      IF NOT (resp::jsonb ? 'errors') THEN RAISE EXCEPTION 'hidden column reachable: %', q; END IF;
      n := n + 1;
    END LOOP;
    -- Writes: other tenants' rows are untouched; cross-tenant inserts and moves fail the check.
    resp := graphql.resolve('mutation { update_tenancy_projects(where: {}, _inc: {budget: 1}) { returning { __typename id } } }', NULL, sess);
    bad := ARRAY(SELECT unnest(pg_temp.ids_of(resp, 'projects')) EXCEPT SELECT id FROM tenancy.projects WHERE owner_id = uid);
    IF cardinality(bad) > 0 OR resp::jsonb ? 'errors' THEN RAISE EXCEPTION 'update reached % (%)', bad, resp; END IF;
    resp := graphql.resolve('mutation { update_tenancy_projects_many(updates: [{where: {}, _set: {title: "x"}}]) { affected_rows } }', NULL, sess);
    IF (resp::jsonb #>> '{data,update_tenancy_projects_many,0,affected_rows}')::int <> (SELECT count(*) FROM tenancy.projects WHERE owner_id = uid) THEN
      RAISE EXCEPTION 'update_many reached other rows: %', resp; END IF;
    resp := graphql.resolve(format('mutation { update_tenancy_projects(where: {}, _set: {org_id: %s}) { affected_rows } }', 3 - org), NULL, sess);
    IF (resp::jsonb #>> '{errors,0,extensions,code}') IS DISTINCT FROM 'permission-error' THEN RAISE EXCEPTION 'moved rows to another tenant: %', resp; END IF;
    resp := graphql.resolve(format('mutation { insert_tenancy_projects_one(object: {id: 100, org_id: %s, owner_id: %s, title: "x", budget: 1}) { id } }', 3 - org, uid), NULL, sess);
    IF (resp::jsonb #>> '{errors,0,extensions,code}') IS DISTINCT FROM 'permission-error' THEN RAISE EXCEPTION 'cross-tenant insert: %', resp; END IF;
    -- Upsert on another tenant's row: no update happens.
    resp := graphql.resolve(format('mutation { insert_tenancy_projects(objects: [{id: %s, org_id: %s, owner_id: %s, title: "stolen", budget: 0}], on_conflict: {constraint: projects_pkey, update_columns: [title]}) { affected_rows } }',
                                   CASE org WHEN 1 THEN 1 ELSE 2 END, org, uid), NULL, sess);
    IF EXISTS (SELECT 1 FROM tenancy.projects WHERE title = 'stolen' AND org_id <> org) THEN RAISE EXCEPTION 'upsert crossed tenants: %', resp; END IF;
    resp := graphql.resolve('mutation { delete_tenancy_projects(where: {}) { returning { __typename id } } }', NULL, sess);
    bad := ARRAY(SELECT unnest(pg_temp.ids_of(resp, 'projects')) EXCEPT SELECT unnest(pg_temp.allowed('projects', org)));
    IF cardinality(bad) > 0 THEN RAISE EXCEPTION 'delete crossed tenants: %', bad; END IF;
    n := n + 7;
  END LOOP;
  -- The matrix must have looked at real rows, or it proves nothing.
  IF seen < 100 THEN RAISE EXCEPTION 'matrix saw only % ids', seen; END IF;
  -- And the same check flags a leak: the admin role sees the other tenant's rows.
  resp := graphql.resolve('{ tenancy_projects { __typename id } }');
  IF cardinality(ARRAY(SELECT unnest(pg_temp.ids_of(resp, 'projects')) EXCEPT SELECT unnest(pg_temp.allowed('projects', 1)))) = 0 THEN
    RAISE EXCEPTION 'leak detector cannot detect leaks'; END IF;
  RAISE NOTICE 'tenancy matrix: % checks passed', n;
END $$;
ROLLBACK;
