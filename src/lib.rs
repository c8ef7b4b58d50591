//! The graft extension: the SQL API over the compiler, catalog loading, plan cache.
use pgrx::prelude::*;

::pgrx::pg_module_magic!();
