//! The graft extension: the SQL API over the compiler, catalog loading, caches, execution.
//!
//! | module | what |
//! |---|---|
//! | `api` | `#[pg_extern]` functions of schema `graphql` |
//! | `catalog` | the one catalog query → `DbCatalog` |
//! | `metadata_store` | the `graphql.metadata_store` row |
//! | `cache` | per-backend metadata/catalog/schema cache and its invalidation |
//! | `execute` | kept SPI plans, subtransactions, Postgres errors → GraphQL errors |
//! | `subscription_api` | live queries: `graphql.subscription_poll` (multiplexed cohorts), `graphql.subscription_reads` |
//! | `statement_reads` | the relations and functions a statement depends on, after PostgreSQL's rewriter |
//! | `folded_plan` | preparing a statement with unchanging parameters folded into constants |
//! | `events` | event triggers: capture triggers kept in step with the metadata, event-log requests, SQL shorthands |
//! | `worker` | the background worker delivering events, cron and one-off scheduled events |
//! | `errors` | the layer's error type and its conversions at the boundary |
//! | `change_counters` | per-table commit counters in shared memory, `graphql.table_versions` |
//! | `guc` | `graft.*` settings |
use pgrx::prelude::*;

pub mod api;
pub mod cache;
pub mod catalog;
pub mod change_counters;
pub mod dml_api;
pub mod errors;
pub mod events;
pub mod execute;
pub mod folded_plan;
pub mod guc;
pub mod json_args;
pub mod json_text;
pub mod metadata_store;
pub mod statement_reads;
pub mod subscription_api;
pub mod worker;

::pgrx::pg_module_magic!();

// The catalog tables, before any function.
pgrx::extension_sql_file!("../sql/bootstrap.sql", name = "bootstrap", bootstrap);
// The event tables and the capture trigger function.
pgrx::extension_sql_file!("../sql/events.sql", name = "events", requires = ["bootstrap"]);
// Grants, after every function exists.
pgrx::extension_sql_file!("../sql/finalize.sql", name = "finalize", finalize);

#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    guc::register();
    // The compiler checks for cancellation and stack depth through these (it has no pgrx).
    graft_compiler::interrupt::set_check(api::compiler_interrupt_check);
    graft_compiler::stack::set_check(api::compiler_stack_too_deep);
    // SAFETY: a plain read of a flag Postgres sets while loading shared_preload_libraries.
    if unsafe { pg_sys::process_shared_preload_libraries_in_progress } {
        guc::register_preload();
        worker::register_launcher();
        change_counters::init();
    }
}

#[cfg(any(test, feature = "pg_test"))]
mod robustness_tests;
#[cfg(any(test, feature = "pg_test"))]
mod security_tests;
#[cfg(any(test, feature = "pg_test"))]
mod stream_tests;
#[cfg(any(test, feature = "pg_test"))]
mod subscription_tests;
#[cfg(any(test, feature = "pg_test"))]
mod tests;

/// Required by `cargo pgrx test`.
#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec![]
    }
}
