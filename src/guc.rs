//! Graft's settings (`SET graft.… = …`, `postgresql.conf`, `ALTER ROLE … SET`).

use std::ffi::CString;

use pgrx::guc::{GucContext, GucFlags, GucRegistry, GucSetting};

/// Maximum selection-set nesting depth of a GraphQL request (bounds the compiler's recursion).
pub static MAX_QUERY_DEPTH: GucSetting<i32> = GucSetting::<i32>::new(64);

/// Hasura's `api_limits.node_limit`: fields with a selection set a request may have (0: none).
/// Keep the default equal to `graft_compiler::request::DEFAULT_NODE_LIMIT`.
pub static NODE_LIMIT: GucSetting<i32> = GucSetting::<i32>::new(1_000);

/// Return bigint/numeric (and float8, money) as JSON strings, like
/// `HASURA_GRAPHQL_STRINGIFY_NUMERIC_TYPES`.
pub static STRINGIFY_NUMERIC_TYPES: GucSetting<bool> = GucSetting::<bool>::new(false);

/// Prepared plans kept per backend; 0 prepares every statement afresh.
pub static PLAN_CACHE_SIZE: GucSetting<i32> = GucSetting::<i32>::new(512);

/// Prepare compiled statements as generic plans. Off by default: with skewed data (one author
/// with many articles) custom plans win, see bench/RESULTS.md.
pub static GENERIC_PLANS: GucSetting<bool> = GucSetting::<bool>::new(false);

/// Fold parameters whose value does not change between calls into the prepared statement.
pub static FOLD_PARAMETERS: GucSetting<bool> = GucSetting::<bool>::new(true);

/// Databases the event worker serves (comma-separated).
pub static EVENT_DATABASES: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(Some(c"postgres"));

/// How often the event worker looks for new events, in milliseconds.
pub static EVENTS_POLL_INTERVAL_MS: GucSetting<i32> = GucSetting::<i32>::new(50);

/// Events (and scheduled events) claimed and not yet recorded at most, per database.
pub static EVENTS_BATCH_SIZE: GucSetting<i32> = GucSetting::<i32>::new(100);

/// Webhook calls in flight at once, per database.
pub static EVENTS_CONCURRENCY: GucSetting<i32> = GucSetting::<i32>::new(16);

/// Delivered, errored and dead events (and their invocation logs) older than this are
/// deleted, in seconds; 0 keeps them forever.
pub static EVENT_LOG_RETENTION_S: GucSetting<i32> = GucSetting::<i32>::new(7 * 86_400);

/// Count commits per table for `graphql.table_versions` (needs shared_preload_libraries).
pub static CHANGE_TRACKING: GucSetting<bool> = GucSetting::<bool>::new(true);

pub fn register() {
    GucRegistry::define_bool_guc(
        c"graft.fold_parameters",
        c"Plan compiled statements for the values of parameters that do not change between calls.",
        c"On (default): a statement is first prepared with its values as constants; a parameter is left a parameter once a call brings another value. Off: every value is a parameter.",
        &FOLD_PARAMETERS,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_string_guc(
        c"graft.event_databases",
        c"Databases whose event triggers and scheduled events the graft worker delivers.",
        c"Comma-separated database names; needs shared_preload_libraries = 'graft'. Reloaded on SIGHUP.",
        &EVENT_DATABASES,
        GucContext::Sighup,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"graft.events_poll_interval",
        c"How often the event worker looks for new events.",
        c"Lower means less latency between commit and delivery, at the cost of one small query per interval.",
        &EVENTS_POLL_INTERVAL_MS,
        1,
        60_000,
        GucContext::Sighup,
        GucFlags::UNIT_MS,
    );
    GucRegistry::define_int_guc(
        c"graft.events_batch_size",
        c"Events the worker holds claimed at once, queued or in flight (HASURA_GRAPHQL_EVENTS_FETCH_BATCH_SIZE).",
        c"",
        &EVENTS_BATCH_SIZE,
        1,
        10_000,
        GucContext::Sighup,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"graft.events_concurrency",
        c"Webhook calls in flight at once per database (HASURA_GRAPHQL_EVENTS_HTTP_POOL_SIZE).",
        c"",
        &EVENTS_CONCURRENCY,
        1,
        1_000,
        GucContext::Sighup,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"graft.event_log_retention",
        c"Age after which processed events and their invocation logs are deleted.",
        c"Delivered, errored and dead events only; pending events are never deleted. 0 keeps everything.",
        &EVENT_LOG_RETENTION_S,
        0,
        i32::MAX,
        GucContext::Sighup,
        GucFlags::UNIT_S,
    );
    GucRegistry::define_int_guc(
        c"graft.max_query_depth",
        c"Maximum nesting depth of a GraphQL selection set.",
        c"Requests nested deeper are rejected before compilation.",
        &MAX_QUERY_DEPTH,
        1,
        1024,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"graft.node_limit",
        c"Maximum number of nodes (fields with a selection set) in a GraphQL request; 0 means no limit.",
        c"Hasura's api_limits.node_limit. Each node is a subquery PostgreSQL plans and runs: about 100 KB each.",
        &NODE_LIMIT,
        0,
        i32::MAX,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_bool_guc(
        c"graft.stringify_numeric_types",
        c"Return bigint, numeric, float8 and money values as JSON strings.",
        c"The equivalent of HASURA_GRAPHQL_STRINGIFY_NUMERIC_TYPES.",
        &STRINGIFY_NUMERIC_TYPES,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"graft.plan_cache_size",
        c"Number of prepared statement plans graphql.resolve keeps per backend.",
        c"Least recently used plans are evicted beyond this; 0 disables the cache.",
        &PLAN_CACHE_SIZE,
        0,
        1_000_000,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_bool_guc(
        c"graft.generic_plans",
        c"Prepare compiled statements as generic plans.",
        c"Off (default): PostgreSQL chooses custom or generic plans per call. On: one generic plan per statement, no re-planning; better for key lookups, worse for skewed filters.",
        &GENERIC_PLANS,
        GucContext::Userset,
        GucFlags::default(),
    );
}

/// Settings that exist only with shared_preload_libraries = 'graft': called from `_PG_init`
/// while preloading (Postgres refuses PGC_POSTMASTER settings defined later).
pub fn register_preload() {
    GucRegistry::define_bool_guc(
        c"graft.change_tracking",
        c"Count commits per table for graphql.table_versions (change-driven live queries).",
        c"Needs shared_preload_libraries = 'graft'. Off: no write-path hooks, and graphql.table_versions returns NULL.",
        &CHANGE_TRACKING,
        GucContext::Postmaster,
        GucFlags::default(),
    );
}

pub fn max_query_depth() -> usize {
    MAX_QUERY_DEPTH.get().max(1) as usize
}

pub fn node_limit() -> usize {
    NODE_LIMIT.get().max(0) as usize
}

pub fn stringify_numeric_types() -> bool {
    STRINGIFY_NUMERIC_TYPES.get()
}

pub fn plan_cache_size() -> usize {
    PLAN_CACHE_SIZE.get().max(0) as usize
}

pub fn generic_plans() -> bool {
    GENERIC_PLANS.get()
}

/// `graft.event_databases` as a list.
pub fn event_databases() -> Vec<String> {
    EVENT_DATABASES
        .get()
        .map(|s| s.to_string_lossy().split(',').map(|d| d.trim().to_string()).filter(|d| !d.is_empty()).collect())
        .unwrap_or_default()
}

pub fn change_tracking() -> bool {
    CHANGE_TRACKING.get()
}

pub fn fold_parameters() -> bool {
    FOLD_PARAMETERS.get()
}

/// Set `name` to `value` in a new GUC nest level, as a function's `SET name = value` clause
/// does (fmgr_security_definer's protocol); [`pop_level`] restores the previous value. If the
/// code in between raises, (sub)transaction abort pops the level.
pub fn push_setting(name: &std::ffi::CStr, value: &std::ffi::CStr) -> i32 {
    // SAFETY: backend-global GUC state, on the backend's main thread, inside a transaction.
    unsafe {
        let level = pgrx::pg_sys::NewGUCNestLevel();
        pgrx::pg_sys::set_config_option(
            name.as_ptr(),
            value.as_ptr(),
            pgrx::pg_sys::GucContext::PGC_USERSET,
            pgrx::pg_sys::GucSource::PGC_S_SESSION,
            pgrx::pg_sys::GucAction::GUC_ACTION_SAVE,
            true,
            0,
            false,
        );
        level
    }
}

/// Undo [`push_setting`]: pops exactly the levels opened since `level`.
pub fn pop_level(level: i32) {
    // SAFETY: see `push_setting`.
    unsafe { pgrx::pg_sys::AtEOXact_GUC(true, level) }
}
