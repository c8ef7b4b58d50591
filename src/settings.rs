//! Settings (GUCs) of the extension.

use pgrx::guc::{GucContext, GucFlags, GucRegistry, GucSetting};

static MAX_DEPTH: GucSetting<i32> = GucSetting::<i32>::new(64);

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
}

pub fn max_depth() -> usize {
    MAX_DEPTH.get().max(1) as usize
}
