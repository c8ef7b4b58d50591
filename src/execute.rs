//! Run one compiled statement: a per-backend cache of prepared SPI plans, and the
//! subtransaction that turns a Postgres error into a GraphQL error for guarded statements.
//!
//! Plans are keyed by SQL text. The compiler emits the same text for the same operation shape
//! (values are always `$n` parameters, bound as `text` and cast in the SQL), so each shape is
//! parsed and planned once per backend; Postgres' plan cache revalidates kept plans by itself
//! after DDL, and chooses between generic and custom plans as for any prepared statement.

use std::cell::RefCell;
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::rc::Rc;

use graft_compiler::request::{CompiledSql, Session};
use pgrx::datum::{DatumWithOid, JsonString};
use pgrx::pg_sys::panic::{CaughtError, ErrorReportWithLevel};
use pgrx::prelude::*;
use pgrx::spi::{OwnedPreparedStatement, SpiClient};
use serde_json::Value;

use crate::errors::{graphql_error_from_pg, panic_message, GraftError, Result};
use crate::guc;

/// Makes the session visible to triggers (event triggers read `hasura.user`, as in Hasura).
/// `is_local = true`: it ends with the transaction, and with the subtransaction if that fails.
const SET_HASURA_USER_SQL: &str = "SELECT pg_catalog.set_config('hasura.user', $1, true)";

/// A bounded LRU of kept plans. Eviction scans for the oldest entry: it only happens when a
/// new shape is planned, which costs far more than scanning a few hundred entries.
#[derive(Default)]
struct PlanCache {
    plans: HashMap<PlanKey, (Rc<OwnedPreparedStatement>, u64)>,
    clock: u64,
}

/// Mutations are planned read-write, queries read-only; the flag is part of the key so the two
/// can never share a plan.
#[derive(Clone, PartialEq, Eq, Hash)]
struct PlanKey {
    mutating: bool,
    sql: String,
}

thread_local! {
    static PLANS: RefCell<PlanCache> = RefCell::new(PlanCache::default());
}

/// Number of plans this backend keeps (for tests and monitoring).
pub fn cached_plan_count() -> usize {
    PLANS.with_borrow(|p| p.plans.len())
}

/// Forget every kept plan (`graphql.reload()`).
pub fn clear_plans() {
    PLANS.with_borrow_mut(|p| p.plans.clear());
}

/// Run `compiled` and return the response JSON text. Errors of a guarded statement become a
/// GraphQL error response; an unguarded statement's Postgres error is raised as usual (the
/// compiler guards every statement that can fail on user input).
pub fn run(compiled: &CompiledSql, session: &Session) -> Result<String> {
    let user = if compiled.is_mutation {
        Some(serde_json::to_string(&session.to_json()).map_err(|e| GraftError::Internal(e.to_string()))?)
    } else {
        None
    };
    if !compiled.guarded {
        return execute(compiled, user.as_deref());
    }
    match in_subtransaction(|| execute(compiled, user.as_deref())) {
        Ok(result) => result,
        Err(Caught::Postgres(report)) => Ok(graphql_error_from_pg(&report, session.is_admin()).to_string()),
        Err(Caught::Panic(message)) => Err(GraftError::Internal(format!("panic while running a statement: {message}"))),
    }
}

fn execute(compiled: &CompiledSql, hasura_user: Option<&str>) -> Result<String> {
    Spi::connect_mut(|client| {
        if let Some(user) = hasura_user {
            let stmt = plan(client, SET_HASURA_USER_SQL, 1, true)?;
            client.update(&*stmt, None, &[user.into()])?;
        }
        let stmt = plan(client, &compiled.sql, compiled.params.len(), compiled.is_mutation)?;
        let args: Vec<DatumWithOid> = compiled.params.iter().map(|p| p.as_deref().into()).collect();
        let table = if compiled.is_mutation {
            client.update(&*stmt, None, &args)?
        } else {
            client.select(&*stmt, None, &args)?
        };
        match table.first().get_one::<JsonString>()? {
            Some(JsonString(text)) => Ok(text),
            None => Err(GraftError::Internal("the compiled statement returned no row or NULL".into())),
        }
    })
}

/// The kept plan for `sql`, preparing it on first use. The `Rc` lets a statement outlive its
/// eviction while it runs (a nested `graphql.resolve` may evict it).
fn plan(client: &SpiClient<'_>, sql: &str, nargs: usize, mutating: bool) -> Result<Rc<OwnedPreparedStatement>> {
    let key = PlanKey { mutating, sql: sql.to_string() };
    let hit = PLANS.with_borrow_mut(|p| {
        p.clock += 1;
        let now = p.clock;
        p.plans.get_mut(&key).map(|(stmt, used)| {
            *used = now;
            stmt.clone()
        })
    });
    if let Some(stmt) = hit {
        return Ok(stmt);
    }
    let types = vec![PgOid::BuiltIn(PgBuiltInOids::TEXTOID); nargs];
    let prepared = if mutating { client.prepare_mut(sql, &types)? } else { client.prepare(sql, &types)? };
    let stmt = Rc::new(prepared.keep());
    let capacity = guc::plan_cache_size();
    if capacity > 0 {
        PLANS.with_borrow_mut(|p| {
            while p.plans.len() >= capacity {
                let oldest = p.plans.iter().min_by_key(|(_, (_, used))| *used).map(|(k, _)| k.clone());
                match oldest {
                    Some(k) => p.plans.remove(&k),
                    None => break,
                };
            }
            let now = p.clock;
            p.plans.insert(key, (stmt.clone(), now));
        });
    }
    Ok(stmt)
}

/// Run `f` in an internal subtransaction, as a PL/pgSQL block with an EXCEPTION clause does:
/// on success the subtransaction is released (its effects become part of the caller's
/// transaction); on a Postgres error it is rolled back, which undoes every write, releases
/// its locks and closes its SPI connections, and the caller's transaction stays usable.
fn in_subtransaction<R>(f: impl FnOnce() -> R) -> std::result::Result<R, Caught> {
    // SAFETY: we are in a transaction (every SQL-callable function is), on the main thread.
    // The memory context and resource owner are saved to be restored exactly as plpgsql's
    // exec_stmt_block does; BeginInternalSubTransaction switches both to the subtransaction's.
    let (old_context, old_owner) = unsafe {
        let saved = (pg_sys::CurrentMemoryContext, pg_sys::CurrentResourceOwner);
        pg_sys::BeginInternalSubTransaction(std::ptr::null());
        // Run in the caller's memory context: what `f` allocates must survive the release.
        pg_sys::MemoryContextSwitchTo(saved.0);
        saved
    };
    // pgrx turns a Postgres ERROR inside `f` into a Rust panic carrying a `CaughtError`, after
    // copying the error data and flushing Postgres' error state.
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(f));
    // SAFETY: the subtransaction begun above is the current one: `f` cannot leave one open
    // (SPI and pgrx close what they open, also when unwinding).
    unsafe {
        match outcome {
            Ok(_) => pg_sys::ReleaseCurrentSubTransaction(),
            Err(_) => {
                pg_sys::MemoryContextSwitchTo(old_context);
                pg_sys::RollbackAndReleaseCurrentSubTransaction();
            }
        }
        pg_sys::MemoryContextSwitchTo(old_context);
        pg_sys::CurrentResourceOwner = old_owner;
    }
    outcome.map_err(|payload| match payload.downcast::<CaughtError>() {
        Ok(caught) => match *caught {
            CaughtError::PostgresError(report) | CaughtError::ErrorReport(report) => Caught::Postgres(report),
            CaughtError::RustPanic { payload, .. } => Caught::Panic(panic_message(&*payload)),
        },
        Err(other) => Caught::Panic(panic_message(&*other)),
    })
}

/// What [`in_subtransaction`] caught.
enum Caught {
    /// A Postgres ERROR (or a pgrx `ereport!`): SQLSTATE, message, detail.
    Postgres(ErrorReportWithLevel),
    /// A Rust panic: a bug.
    Panic(String),
}

/// Parse a response produced by SQL (tests, and callers that need the value).
pub fn parse_response(text: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|e| GraftError::Internal(format!("the statement returned invalid JSON: {e}")))
}
