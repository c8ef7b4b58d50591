//! Settings (GUCs) of the extension.

use pgrx::guc::{GucContext, GucFlags, GucRegistry, GucSetting};

static MAX_DEPTH: GucSetting<i32> = GucSetting::<i32>::new(64);
static STRINGIFY_NUMERIC: GucSetting<bool> = GucSetting::<bool>::new(false);
static GENERIC_PLANS: GucSetting<bool> = GucSetting::<bool>::new(false);

pub fn register() {
    GucRegistry::define_int_guc(
        c"graft.max_query_depth",
        c"Maximum nesting depth of a GraphQL selection set.",
        c"Deeper queries are rejected with a validation-failed error before any SQL runs.",
        &MAX_DEPTH,
        1,
        1000,
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
    GucRegistry::define_bool_guc(
        c"graft.stringify_numeric_types",
        c"Return bigint, numeric, float8 and money values as JSON strings.",
        c"Hasura's HASURA_GRAPHQL_STRINGIFY_NUMERIC_TYPES: keeps precision for clients that parse JSON numbers as doubles.",
        &STRINGIFY_NUMERIC,
        GucContext::Userset,
        GucFlags::default(),
    );
}

pub fn generic_plans() -> bool {
    GENERIC_PLANS.get()
}

pub fn stringify_numeric() -> bool {
    STRINGIFY_NUMERIC.get()
}

pub fn max_depth() -> usize {
    MAX_DEPTH.get().max(1) as usize
}
