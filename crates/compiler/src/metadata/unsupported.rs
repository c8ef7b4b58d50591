//! Hasura metadata commands outside Graft's metadata model (remote schemas, actions, cron,
//! sources, event logs …): answered with `not-supported` rather than an unknown-command error.

/// Hasura commands Graft does not implement (yet): answered with `not-supported` rather than
/// the parse error an unknown command gets.
pub(crate) fn is_known_hasura_command(ty: &str) -> bool {
    const KNOWN: &[&str] = &[
        "add_remote_schema",
        "update_remote_schema",
        "remove_remote_schema",
        "reload_remote_schema",
        "introspect_remote_schema",
        "add_remote_schema_permissions",
        "drop_remote_schema_permissions",
        "create_remote_schema_remote_relationship",
        "update_remote_schema_remote_relationship",
        "delete_remote_schema_remote_relationship",
        "create_action",
        "drop_action",
        "update_action",
        "create_action_permission",
        "drop_action_permission",
        "set_custom_types",
        "create_query_collection",
        "rename_query_collection",
        "drop_query_collection",
        "add_query_to_collection",
        "drop_query_from_collection",
        "add_collection_to_allowlist",
        "drop_collection_from_allowlist",
        "update_scope_of_collection_in_allowlist",
        "create_rest_endpoint",
        "drop_rest_endpoint",
        "set_api_limits",
        "remove_api_limits",
        "set_metrics_config",
        "remove_metrics_config",
        "add_host_to_tls_allowlist",
        "drop_host_from_tls_allowlist",
        "dump_internal_state",
        "get_catalog_state",
        "set_catalog_state",
        "set_graphql_schema_introspection_options",
        "test_webhook_transform",
        "set_query_tags",
        "set_opentelemetry_config",
        "set_opentelemetry_status",
        "rename_source",
        "list_source_kinds",
        "get_source_kind_capabilities",
        "get_table_info",
        "run_sql",
        "create_remote_relationship",
        "update_remote_relationship",
        "delete_remote_relationship",
    ];
    let base = ty.strip_prefix("pg_").unwrap_or(ty);
    KNOWN.contains(&ty)
        || KNOWN.contains(&base)
        || matches!(
            base,
            "add_source"
                | "drop_source"
                | "update_source"
                | "get_source_tables"
                | "set_apollo_federation_config"
                | "suggest_relationships"
                | "get_source_trackables"
                | "track_native_query"
                | "untrack_native_query"
                | "track_logical_model"
                | "untrack_logical_model"
                | "run_sql"
        )
}
