-- The SQL API is not public: any caller of resolve() could forge a session. The DBA grants
-- EXECUTE to the sidecar's role and to application roles.
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA graphql FROM PUBLIC;
REVOKE ALL ON graphql.metadata_store FROM PUBLIC;
