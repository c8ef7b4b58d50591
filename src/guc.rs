//! Graft's settings (`SET graft.… = …`, `postgresql.conf`, `ALTER ROLE … SET`).

use pgrx::guc::{GucContext, GucFlags, GucRegistry, GucSetting};

/// Maximum selection-set nesting depth of a GraphQL request (bounds the compiler's recursion).
pub static MAX_QUERY_DEPTH: GucSetting<i32> = GucSetting::<i32>::new(64);

/// Return bigint/numeric (and float8, money) as JSON strings, like
/// `HASURA_GRAPHQL_STRINGIFY_NUMERIC_TYPES`.
pub static STRINGIFY_NUMERIC_TYPES: GucSetting<bool> = GucSetting::<bool>::new(false);

/// Prepared plans kept per backend; 0 prepares every statement afresh.
pub static PLAN_CACHE_SIZE: GucSetting<i32> = GucSetting::<i32>::new(512);

/// Prepare compiled statements as generic plans. Off by default: with skewed data (one author
/// with many articles) custom plans win, see bench/RESULTS.md.
pub static GENERIC_PLANS: GucSetting<bool> = GucSetting::<bool>::new(false);

pub fn register() {
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

pub fn max_query_depth() -> usize {
    MAX_QUERY_DEPTH.get().max(1) as usize
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
