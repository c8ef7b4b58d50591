-- b1 with the id as a variable: pgbench sets :id to a random user per call (the correctness
-- check sets it to 4242, the id of the GraphQL's variables).
SELECT json_build_object('data', json_build_object('users_by_pk',
  (SELECT json_build_object('id', u.id, 'name', u.name, 'email', u.email) FROM users u WHERE u.id = (:id)::bigint)));
