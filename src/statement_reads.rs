//! What a compiled statement reads, as PostgreSQL sees it once the statement is parsed and
//! rewritten: the relations it depends on (`CachedPlanSource.relationOids`: every table in
//! it, also those behind a view, since the rewriter has replaced each view by its
//! definition, and those of row-level security policies that apply to the caller), and the
//! functions it calls that are not built-in (their bodies may read anything).
//!
//! The statement is prepared with no parameter folded and not kept: parse analysis and
//! rewriting only (planning happens at execution), and no value of the caller's is ever
//! evaluated on the way.

use std::ffi::{c_void, CString};

use graft_compiler::request::Stmt;
use pgrx::prelude::*;

use crate::errors::{GraftError, Result};
use crate::execute::{list_ptrs, param_texts};
use crate::folded_plan::Folding;

/// Relations and non-built-in functions one statement depends on.
#[derive(Debug, Default)]
pub struct StatementReads {
    pub relations: Vec<pg_sys::Oid>,
    pub functions: Vec<pg_sys::Oid>,
}

/// The reads of `stmt` (inside a transaction; may raise, e.g. for a relation that is gone).
pub fn statement_reads(stmt: &Stmt) -> Result<StatementReads> {
    let nparams = param_texts(stmt)?.len();
    let sql = CString::new(stmt.sql.as_str()).map_err(|_| GraftError::Internal("a compiled statement contains a NUL byte".into()))?;
    let folding = Box::new(Folding::none(nparams));
    Spi::connect(|_client| {
        // SAFETY: SPI is connected; `folding` outlives the plan, which is freed below (also
        // when reading it raises: the SPI connection's memory holds an unkept plan, and
        // closing the connection frees it). The trees are only read.
        unsafe {
            let plan = folding.prepare(&sql, 0);
            if plan.is_null() {
                return Err(GraftError::Internal(format!("SPI_prepare failed ({})", { pg_sys::SPI_result })));
            }
            let mut out = StatementReads::default();
            for source in list_ptrs::<pg_sys::CachedPlanSource>(pg_sys::SPI_plan_get_plan_sources(plan)) {
                out.relations.extend(oid_list((*source).relationOids));
                for query in list_ptrs::<pg_sys::Node>((*source).query_list) {
                    functions_walker(query, (&mut out.functions as *mut Vec<pg_sys::Oid>).cast());
                }
            }
            pg_sys::SPI_freeplan(plan);
            out.relations.sort_unstable_by_key(|o| o.to_u32());
            out.relations.dedup();
            out.functions.sort_unstable_by_key(|o| o.to_u32());
            out.functions.dedup();
            Ok(out)
        }
    })
}

/// The members of an OID `List` (`NIL` is empty).
///
/// # Safety
/// `list` is NIL or a valid OID list.
unsafe fn oid_list(list: *mut pg_sys::List) -> Vec<pg_sys::Oid> {
    if list.is_null() {
        return vec![];
    }
    (0..(*list).length as usize).map(|i| (*(*list).elements.add(i)).oid_value).collect()
}

/// Walks a query tree (sublinks, FROM subqueries, CTEs, function RTEs, security quals) and
/// adds to `*ctx` (a `Vec<Oid>`) every function whose OID is not a built-in's.
#[pg_guard]
unsafe extern "C-unwind" fn functions_walker(node: *mut pg_sys::Node, ctx: *mut c_void) -> bool {
    if node.is_null() {
        return false;
    }
    if (*node).type_ == pg_sys::NodeTag::T_Query {
        return pg_sys::query_tree_walker(node.cast::<pg_sys::Query>(), Some(functions_walker), ctx, 0);
    }
    pg_sys::check_functions_in_node(node, Some(collect_function), ctx);
    pg_sys::expression_tree_walker(node, Some(functions_walker), ctx)
}

#[pg_guard]
unsafe extern "C-unwind" fn collect_function(func: pg_sys::Oid, ctx: *mut c_void) -> bool {
    // Objects made by initdb have OIDs below FirstNormalObjectId; everything a user or an
    // extension created is above.
    if u32::from(func) >= pg_sys::FirstNormalObjectId {
        (*ctx.cast::<Vec<pg_sys::Oid>>()).push(func);
    }
    false
}
