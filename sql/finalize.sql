-- Graft finalize: runs after every generated function exists (extension_sql_file!(..., finalize)).

-- The SQL API is not public: anyone able to call graphql.resolve could forge a session
-- (x-hasura-role: admin). The DBA grants EXECUTE to the sidecar's role and to app roles.
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA graphql FROM PUBLIC;

-- Every writer of a table with an event trigger calls it (from graphql.capture_event, which
-- runs as the writer); it checks the caller could have made the change and that the table has
-- the capture trigger (src/events/capture.rs), so a direct call records nothing new.
GRANT EXECUTE ON FUNCTION graphql.record_event(oid, text, text, json) TO PUBLIC;
