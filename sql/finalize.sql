-- Graft finalize: runs after every generated function exists (extension_sql_file!(..., finalize)).

-- The SQL API is not public: anyone able to call graphql.resolve could forge a session
-- (x-hasura-role: admin). The DBA grants EXECUTE to the sidecar's role and to app roles.
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA graphql FROM PUBLIC;
