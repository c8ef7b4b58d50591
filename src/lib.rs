//! The graft extension: a thin, careful layer between PostgreSQL and `graft-compiler`.
//! `api` is the SQL surface, `cache` the per-backend schema cache, `catalog` reads the
//! database and the stored metadata, `execute` runs compiled SQL with cached plans.

use pgrx::prelude::*;

mod api;
mod cache;
mod catalog;
mod errors;
mod execute;
mod json_text;
mod settings;

::pgrx::pg_module_magic!();

extension_sql_file!("../sql/bootstrap.sql", name = "bootstrap", bootstrap);
extension_sql_file!("../sql/finalize.sql", name = "finalize", finalize);

#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    settings::register();
}

#[cfg(any(test, feature = "pg_test"))]
mod pg_tests;

/// Required by `cargo pgrx test`.
#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec![]
    }
}
