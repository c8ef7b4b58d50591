//! Run what the compiler produced — one query statement, or a mutation plan of several — with a
//! per-backend cache of prepared SPI plans, and the subtransaction that turns a Postgres error
//! into a GraphQL error for guarded statements and mutations.
//!
//! Plans are keyed by SQL text. The compiler emits the same text for the same operation shape
//! (values are always `$n` parameters, bound as `text` and cast in the SQL), so each shape is
//! parsed and planned once per backend, and Postgres' plan cache revalidates kept plans by
//! itself after DDL. Parameters whose value has not changed between calls are folded into the
//! plan as constants (`folded_plan`, `graft.fold_parameters`). With `graft.generic_plans = on` statements are prepared as generic plans
//! (`CURSOR_OPT_GENERIC_PLAN`): no re-planning per call, cheaper for key lookups but worse for
//! skewed filters, so it is off by default and PostgreSQL's plan cache chooses. pgrx's prepared
//! statements cannot carry cursor options, so plans are prepared, kept and run with SPI directly.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::{CStr, CString};
use std::mem::ManuallyDrop;
use std::panic::AssertUnwindSafe;
use std::ptr::NonNull;
use std::rc::Rc;

use graft_compiler::request::{CompiledSql, MutationPlan, MutationStep, Session, Stmt};
use graft_compiler::GqlError;
use pgrx::pg_sys::panic::{CaughtError, ErrorReportWithLevel};
use pgrx::prelude::*;
use pgrx::spi::SpiClient;

use crate::errors::{graphql_error_from_pg, panic_message, sqlstate, GraftError, Result};
use crate::folded_plan::{self, Folding};
use crate::guc;


/// A bounded LRU of kept plans. Eviction scans for the oldest entry: it only happens when a
/// new shape is planned, which costs far more than scanning a few hundred entries.
#[derive(Default)]
struct PlanCache {
    plans: HashMap<PlanKey, (Rc<KeptPlan>, u64)>,
    clock: u64,
}

/// Mutations run read-write, queries read-only; the flag is part of the key so the two never
/// share a plan. So is the generic-plan option the plan was prepared with: after
/// `SET graft.generic_plans = off` statements are prepared afresh, without it.
#[derive(Clone, PartialEq, Eq, Hash)]
struct PlanKey {
    mutating: bool,
    generic: bool,
    sql: String,
}

/// A plan kept (`SPI_keepplan`) for the life of the backend, or until evicted, with the
/// parameter folding it was prepared with (the plan points to it: freed after the plan).
struct KeptPlan {
    plan: NonNull<pg_sys::_SPI_plan>,
    folding: Box<Folding>,
}

impl Drop for KeptPlan {
    fn drop(&mut self) {
        // SAFETY: the plan was kept with SPI_keepplan and is freed once, here, before its
        // folding. Plans are only dropped by eviction or `clear_plans`, inside a transaction
        // (never at backend exit: see PLANS).
        unsafe {
            pg_sys::SPI_freeplan(self.plan.as_ptr());
        }
    }
}

thread_local! {
    /// Never dropped: at backend exit freeing plans (SPI_freeplan from a TLS destructor, after
    /// Postgres has shut its subsystems down) would be work at best and a crash at worst.
    static PLANS: RefCell<ManuallyDrop<PlanCache>> = RefCell::new(ManuallyDrop::new(PlanCache::default()));
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
    run_reporting(compiled, session).map(|(text, _)| text)
}

/// [`run`], and whether the answer is the error of a statement that failed (guarded, so the
/// error became the response).
pub(crate) fn run_reporting(compiled: &CompiledSql, session: &Session) -> Result<(String, bool)> {
    run_row_reporting(compiled, session).map(|((text, _), failed)| (text, failed))
}

/// [`run_reporting`], with the statement's second column, if it has one: a streaming
/// subscription's next cursor (`None`: SQL NULL, no such column, or the statement failed).
pub(crate) fn run_row_reporting(compiled: &CompiledSql, session: &Session) -> Result<((String, Option<String>), bool)> {
    let user = if compiled.is_mutation {
        Some(session_json(session)?)
    } else {
        None
    };
    let stmt = Stmt {
        sql: compiled.sql.clone(),
        params: compiled.params.clone(),
    };
    let exec = || {
        Spi::connect_mut(|client| {
            if let Some(user) = &user {
                set_hasura_user(client, user)?;
            }
            let mut cols = first_row(client, &stmt, compiled.is_mutation)?.unwrap_or_default().into_iter();
            let first = cols.next().flatten().unwrap_or_else(|| "null".into());
            Ok((first, cols.next().flatten()))
        })
    };
    // An unguarded statement is one the compiler proved cannot fail on the request's values.
    // It can still fail for want of a privilege (a table or column the caller's database role
    // was never granted): checked here, against the plan, at the cost of the executor's own
    // check, so that too becomes a GraphQL error instead of aborting the caller's transaction.
    if compiled.guarded || !Spi::connect(|_client| permitted(&stmt, 0))? {
        guarded_row_reporting(exec, session)
    } else {
        exec().map(|row| (row, false))
    }
}

/// Whether the current user holds every privilege the statement's plan needs on relations and
/// columns (`ExecCheckRTPerms`, without raising), in every query of it: subqueries in FROM,
/// CTEs and sublinks (`(SELECT json_agg(…) FROM …)`) each have their own range table. Prepares
/// the plan if needed.
/// `per_call`: how many leading parameters change on every call (never folded, see [`plan`]).
fn permitted(stmt: &Stmt, per_call: usize) -> Result<bool> {
    let texts = param_texts(stmt)?;
    let kept = plan(&stmt.sql, &texts, false, per_call)?;
    // SAFETY: a kept plan, inside an SPI connection; the trees are only read. The rewritten
    // queries carry each view's checkAsUser, so views are checked as the executor would.
    unsafe {
        let sources = list_ptrs::<pg_sys::CachedPlanSource>(pg_sys::SPI_plan_get_plan_sources(kept.plan.as_ptr()));
        if sources.is_empty() {
            return Ok(false);
        }
        for source in sources {
            // An invalidated plan (DDL since it was prepared) is re-analyzed when it runs; its
            // old trees may name relations that no longer exist: let the guarded path run it.
            if !(*source).is_valid {
                return Ok(false);
            }
            let queries = list_ptrs::<pg_sys::Node>((*source).query_list);
            if queries.is_empty() {
                return Ok(false);
            }
            for query in queries {
                let mut ok = true;
                check_perms_walker(query, (&mut ok as *mut bool).cast());
                if !ok {
                    return Ok(false);
                }
            }
        }
    }
    Ok(true)
}

/// Walks a query tree: every `Query` in it (the root, FROM subqueries, CTEs, sublinks) has its
/// range table checked; the first failure sets `*ctx` (a `bool`) to false and stops the walk.
#[pg_guard]
unsafe extern "C-unwind" fn check_perms_walker(node: *mut pg_sys::Node, ctx: *mut std::ffi::c_void) -> bool {
    if node.is_null() {
        return false;
    }
    if (*node).type_ == pg_sys::NodeTag::T_Query {
        let query = node.cast::<pg_sys::Query>();
        if !pg_sys::ExecCheckRTPerms((*query).rtable, false) {
            *ctx.cast::<bool>() = false;
            return true;
        }
        return pg_sys::query_tree_walker(query, Some(check_perms_walker), ctx, 0);
    }
    pg_sys::expression_tree_walker(node, Some(check_perms_walker), ctx)
}

/// The pointers of a Postgres pointer `List` (`NIL` is empty).
///
/// # Safety
/// `list` is NIL or a valid pointer list whose elements point to `T`s.
pub(crate) unsafe fn list_ptrs<T>(list: *mut pg_sys::List) -> Vec<*mut T> {
    if list.is_null() {
        return vec![];
    }
    (0..(*list).length as usize).map(|i| (*(*list).elements.add(i)).ptr_value.cast::<T>()).collect()
}

pub(crate) fn param_texts(stmt: &Stmt) -> Result<Vec<Option<CString>>> {
    stmt.params
        .iter()
        .map(|p| p.as_deref().map(CString::new).transpose())
        .collect::<std::result::Result<Vec<_>, _>>()
        // What PostgreSQL answers for text holding U+0000, as a request error.
        .map_err(|_| GqlError::new("data-exception", "$", "invalid byte sequence for encoding \"UTF8\": 0x00").into())
}

/// Run a mutation: its fields in order, every statement in one subtransaction (a failure
/// anywhere leaves nothing written), `hasura.user` set first. Each field's JSON goes under its
/// alias in `data`, assembled as text: the values are Postgres' `json` output, kept verbatim.
pub fn run_mutation(plan: &MutationPlan, session: &Session) -> Result<String> {
    let user = session_json(session)?;
    guarded(
        || {
            Spi::connect_mut(|client| {
                set_hasura_user(client, &user)?;
                let mut out = String::from("{\"data\":{");
                for (i, field) in plan.fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&serde_json::Value::String(field.alias.clone()).to_string());
                    out.push(':');
                    if field.many {
                        out.push('[');
                    }
                    for (j, step) in field.steps.iter().enumerate() {
                        if j > 0 {
                            out.push(',');
                        }
                        out.push_str(&run_step(client, step)?);
                    }
                    if field.many {
                        out.push(']');
                    } else if field.steps.is_empty() {
                        out.push_str("null");
                    }
                }
                out.push_str("}}");
                Ok(out)
            })
        },
        session,
    )
}

fn run_step(client: &mut SpiClient<'_>, step: &MutationStep) -> Result<String> {
    let value = match step {
        MutationStep::Static(json) => Some(json.clone()),
        MutationStep::Query(stmt) => json_value(client, stmt, true)?,
        MutationStep::WriteRead { write, read } => {
            // The write reports `(affected, tids, ok)` as text; the read takes the first two as
            // $1 and $2. `ok = false`: a row breaks the role's insert/update `check`, and the
            // whole mutation fails (the caller's subtransaction rolls the writes back).
            let mut row = first_row(client, write, true)?
                .unwrap_or_default()
                .into_iter();
            let affected = row.next().flatten();
            let tids = row.next().flatten();
            if row.next().flatten().as_deref() == Some("false") {
                return Err(GqlError::new(
                    "permission-error",
                    "$",
                    "check constraint of an insert/update permission has failed",
                )
                .into());
            }
            let mut params = read.params.clone();
            if params.len() < 2 {
                return Err(GraftError::Internal(
                    "a read-back statement lacks its $1/$2 placeholders".into(),
                ));
            }
            params[0] = affected;
            params[1] = tids;
            json_value(
                client,
                &Stmt {
                    sql: read.sql.clone(),
                    params,
                },
                true,
            )?
        }
    };
    Ok(value.unwrap_or_else(|| "null".into()))
}

/// Run `stmt` and return its first row's first column as JSON text (`None` for NULL or no row).
/// `writes`: run read-write, so the statement sees what earlier ones wrote.
fn json_value(client: &mut SpiClient<'_>, stmt: &Stmt, writes: bool) -> Result<Option<String>> {
    Ok(first_row(client, stmt, writes)?.and_then(|row| row.into_iter().next().flatten()))
}

/// Run `stmt` (kept plan, text parameters) and return its first row, every column as text
/// (`None` for NULL), or `None` when it returned no row. Columns are `json` (as Postgres printed
/// it) or `text`: anything else would be a compiler bug, reported as such.
///
/// `client` is proof of an open SPI connection: the plan runs through SPI directly.
fn first_row(
    client: &mut SpiClient<'_>,
    stmt: &Stmt,
    writes: bool,
) -> Result<Option<Vec<Option<String>>>> {
    // No row limit: SPI stops a data-modifying statement after that many rows, as a LIMIT would.
    Ok(fetch(client, stmt, writes, 0, 0)?.into_iter().next())
}

/// Run `stmt` as [`first_row`] does and return at most `max_rows` rows (0: all). Columns may
/// also be `int8` (a multiplexed statement's cohort ids). `per_call` as for [`plan`].
fn fetch(
    _client: &mut SpiClient<'_>,
    stmt: &Stmt,
    writes: bool,
    per_call: usize,
    max_rows: u64,
) -> Result<Vec<Vec<Option<String>>>> {
    let texts = param_texts(stmt)?;
    let kept = plan(&stmt.sql, &texts, writes, per_call)?;
    // SAFETY: SPI is connected (the caller holds a client); the parameter list holds every
    // `$n` of the statement as text; the result table is read, then freed, before any other
    // SPI call. An ERROR unwinds through pgrx's guard.
    unsafe {
        // As pgrx does: a statement runs read-only (the caller's snapshot, no command counter
        // increment) until the transaction has written; writes, and all that follows, run
        // read-write and see every earlier write. Unlike pgrx, ask the top transaction: inside
        // the guard's fresh subtransaction the current one has no xid yet.
        let read_only = if writes {
            let _ = pg_sys::GetCurrentTransactionId();
            false
        } else {
            pg_sys::GetTopTransactionIdIfAny() == pg_sys::InvalidTransactionId
        };
        pg_sys::SPI_tuptable = std::ptr::null_mut();
        let params = folded_plan::param_list(&texts);
        let rc = pg_sys::SPI_execute_plan_with_paramlist(kept.plan.as_ptr(), params, read_only, max_rows as _);
        if rc < 0 {
            return Err(GraftError::Internal(format!(
                "SPI_execute_plan failed ({rc})"
            )));
        }
        let table = pg_sys::SPI_tuptable;
        if table.is_null() {
            return Ok(vec![]);
        }
        let result = (|| {
            let tupdesc = (*table).tupdesc;
            let ncols = (*tupdesc).natts;
            for i in 1..=ncols {
                let oid = pg_sys::SPI_gettypeid(tupdesc, i);
                if oid != pg_sys::JSONOID && oid != pg_sys::TEXTOID && oid != pg_sys::INT8OID {
                    return Err(GraftError::Internal(format!(
                        "a compiled statement returned type oid {oid:?} instead of json or text"
                    )));
                }
            }
            let n = (pg_sys::SPI_processed as usize).min((*table).numvals as usize);
            let mut rows = Vec::with_capacity(n);
            for r in 0..n {
                let tuple = *(*table).vals.add(r);
                let mut row = Vec::with_capacity(ncols as usize);
                for i in 1..=ncols {
                    let v = pg_sys::SPI_getvalue(tuple, tupdesc, i);
                    row.push(if v.is_null() {
                        None
                    } else {
                        Some(CStr::from_ptr(v).to_string_lossy().into_owned())
                    });
                }
                rows.push(row);
            }
            Ok(rows)
        })();
        pg_sys::SPI_freetuptable(table);
        pg_sys::SPI_tuptable = std::ptr::null_mut();
        result
    }
}

fn session_json(session: &Session) -> Result<String> {
    serde_json::to_string(&session.to_json()).map_err(|e| GraftError::Internal(e.to_string()))
}

/// Makes the session visible to triggers (event triggers read `hasura.user`, as in Hasura):
/// what `set_config('hasura.user', $1, true)` does, without running a statement. Local: it
/// ends with the transaction, and with the subtransaction if that fails.
fn set_hasura_user(_client: &mut SpiClient<'_>, user: &str) -> Result<()> {
    let value = CString::new(user).map_err(|_| GraftError::Internal("the session contains a NUL byte".into()))?;
    // SAFETY: valid C strings; on the main thread inside a transaction. An invalid value
    // cannot occur (a placeholder variable takes any string) and would raise an ERROR.
    unsafe {
        pg_sys::set_config_option(
            c"hasura.user".as_ptr(),
            value.as_ptr(),
            pg_sys::GucContext::PGC_USERSET,
            pg_sys::GucSource::PGC_S_SESSION,
            pg_sys::GucAction::GUC_ACTION_LOCAL,
            true,
            0,
            false,
        );
    }
    Ok(())
}

/// SQLSTATEs a guarded statement re-raises: query canceled (57014) and the rest of class 57
/// (operator intervention), class 53 (insufficient resources), class 58 (system error: I/O,
/// missing files), class XX (internal error).
pub(crate) fn must_propagate(state: &str) -> bool {
    ["57", "53", "58", "XX"]
        .iter()
        .any(|class| state.starts_with(class))
}

/// Run `exec` in a subtransaction; a Postgres error comes back as the GraphQL error response.
fn guarded(exec: impl FnOnce() -> Result<String>, session: &Session) -> Result<String> {
    guarded_reporting(exec, session).map(|(text, _)| text)
}

/// [`guarded`], and whether Postgres raised the error that became the answer.
fn guarded_reporting(exec: impl FnOnce() -> Result<String>, session: &Session) -> Result<(String, bool)> {
    guarded_row_reporting(|| exec().map(|text| (text, None)), session).map(|((text, _), failed)| (text, failed))
}

/// [`guarded_reporting`] of a statement's first two columns; an error has no second.
fn guarded_row_reporting(
    exec: impl FnOnce() -> Result<(String, Option<String>)>,
    session: &Session,
) -> Result<((String, Option<String>), bool)> {
    match in_subtransaction(exec) {
        // Success, or an error found without Postgres raising one (already rolled back).
        Ok(result) => result.map(|row| (row, false)),
        // Cancellation (statement_timeout, pg_cancel_backend), shutdown and resource exhaustion
        // are not request errors: like PL/pgSQL's `WHEN OTHERS`, do not swallow them. The
        // subtransaction is already rolled back; the error goes on to abort the statement.
        Err(Caught::Postgres(report)) if must_propagate(&sqlstate(report.sql_error_code())) => {
            CaughtError::PostgresError(*report).rethrow()
        }
        Err(Caught::Postgres(report)) => {
            Ok(((graphql_error_from_pg(&report, session.is_admin()).to_string(), None), true))
        }
        Err(Caught::Panic(message)) => Err(GraftError::Internal(format!(
            "panic while running a statement: {message}"
        ))),
    }
}

/// What one execution of a multiplexed live-query statement gave.
pub(crate) enum Batch {
    /// Its rows: cohort id, result (`None`: SQL NULL) and, for a streaming subscription, the
    /// next cursor (`None`: SQL NULL, or a live query's statement, which has no such column),
    /// in the statement's order.
    Rows(Vec<(i64, Option<String>, Option<String>)>),
    /// It failed with a Postgres error, rolled back (run guarded).
    Failed,
}

/// Run a multiplexed live-query statement (rows `(cohort_id int8, result json)`, a stream's
/// `(cohort_id int8, result json, cursor json)`; `$1` and `$2`
/// change on every call and are never folded) through the kept-plan cache, read-only. As
/// [`run`] does for a query: inside a subtransaction when `guarded` or when the caller lacks a
/// privilege the plan needs; otherwise a Postgres error is raised as usual.
pub(crate) fn run_batch(stmt: &Stmt, guarded: bool) -> Result<Batch> {
    const PER_CALL: usize = 2;
    let exec = || {
        Spi::connect_mut(|client| {
            let rows = fetch(client, stmt, false, PER_CALL, 0)?;
            rows.into_iter()
                .map(|row| {
                    let mut cols = row.into_iter();
                    let id = cols.next().flatten().and_then(|t| t.parse::<i64>().ok());
                    match (id, cols.next(), cols.next(), cols.next()) {
                        (Some(id), Some(result), cursor, None) => Ok((id, result, cursor.flatten())),
                        _ => Err(GraftError::Internal(
                            "a multiplexed statement returned a row other than (cohort_id, result[, cursor])".into(),
                        )),
                    }
                })
                .collect::<Result<Vec<_>>>()
        })
    };
    if guarded || !Spi::connect(|_client| permitted(stmt, PER_CALL))? {
        match in_subtransaction(exec) {
            Ok(rows) => rows.map(Batch::Rows),
            Err(Caught::Postgres(report)) if must_propagate(&sqlstate(report.sql_error_code())) => {
                CaughtError::PostgresError(*report).rethrow()
            }
            Err(Caught::Postgres(_)) => Ok(Batch::Failed),
            Err(Caught::Panic(message)) => Err(GraftError::Internal(format!("panic while running a statement: {message}"))),
        }
    } else {
        exec().map(Batch::Rows)
    }
}

/// The kept plan for `sql` that computes it for `values`, preparing it when there is none
/// (inside an SPI connection). A statement is first prepared with every value folded into it
/// (see `folded_plan`); when a later call brings another value for a folded parameter, it is
/// prepared again with that parameter left a parameter, for good: at most one more prepare
/// per parameter, and parameters that never change stay folded. The `Rc` lets a statement
/// outlive its eviction while it runs (a nested `graphql.resolve` may evict it).
///
/// `per_call` leading parameters are never folded: they change on every call (a multiplexed
/// statement's cohort ids and values), so folding them would only cost a second prepare.
fn plan(sql: &str, values: &[Option<CString>], mutating: bool, per_call: usize) -> Result<Rc<KeptPlan>> {
    let generic = guc::generic_plans();
    let key = PlanKey {
        mutating,
        generic,
        sql: sql.to_string(),
    };
    let hit = PLANS.with_borrow_mut(|p| {
        p.clock += 1;
        let now = p.clock;
        p.plans.get_mut(&key).map(|(stmt, used)| {
            *used = now;
            stmt.clone()
        })
    });
    let folding = match hit {
        Some(stmt) if stmt.folding.matches(values) => return Ok(stmt),
        Some(stmt) => stmt.folding.narrowed(values),
        None if guc::fold_parameters() => Folding::all_but(values, per_call),
        None => Folding::none(values.len()),
    };
    let csql = CString::new(sql)
        .map_err(|_| GraftError::Internal("a compiled statement contains a NUL byte".into()))?;
    let options = if generic {
        pg_sys::CURSOR_OPT_GENERIC_PLAN as i32
    } else {
        0
    };
    let folding = Box::new(folding);
    // SAFETY: SPI is connected (every caller holds a client); `folding` is boxed and moves
    // into the KeptPlan that frees the plan; a syntax or planning error raises through pgrx's
    // guard; a NULL result is an SPI-level failure, reported as such.
    let raw = unsafe { folding.prepare(&csql, options) };
    let raw = NonNull::new(raw).ok_or_else(|| {
        GraftError::Internal(format!("SPI_prepare failed ({})", unsafe {
            pg_sys::SPI_result
        }))
    })?;
    // SAFETY: a freshly prepared plan, not yet kept; from here `KeptPlan` owns it.
    unsafe {
        pg_sys::SPI_keepplan(raw.as_ptr());
    }
    let stmt = Rc::new(KeptPlan { plan: raw, folding });
    let capacity = guc::plan_cache_size();
    if capacity > 0 {
        PLANS.with_borrow_mut(|p| {
            // A re-prepared statement replaces its entry; otherwise make room.
            while !p.plans.contains_key(&key) && p.plans.len() >= capacity {
                let oldest = p
                    .plans
                    .iter()
                    .min_by_key(|(_, (_, used))| *used)
                    .map(|(k, _)| k.clone());
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
/// when `f` succeeds the subtransaction is released (its effects become part of the caller's
/// transaction); when it returns an error or raises one it is rolled back, which undoes every
/// write, releases its locks and closes its SPI connections, and the caller's transaction
/// stays usable.
pub(crate) fn in_subtransaction<T>(f: impl FnOnce() -> Result<T>) -> std::result::Result<Result<T>, Caught> {
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
            Ok(Ok(_)) => pg_sys::ReleaseCurrentSubTransaction(),
            // An error `f` returned (a failed permission check, an SPI refusal) undoes the
            // writes too: only complete success is kept.
            Ok(Err(_)) | Err(_) => {
                pg_sys::MemoryContextSwitchTo(old_context);
                pg_sys::RollbackAndReleaseCurrentSubTransaction();
            }
        }
        pg_sys::MemoryContextSwitchTo(old_context);
        pg_sys::CurrentResourceOwner = old_owner;
    }
    outcome.map_err(|payload| match payload.downcast::<CaughtError>() {
        Ok(caught) => match *caught {
            CaughtError::PostgresError(report) | CaughtError::ErrorReport(report) => {
                Caught::Postgres(Box::new(report))
            }
            CaughtError::RustPanic { payload, .. } => Caught::Panic(panic_message(&*payload)),
        },
        Err(other) => Caught::Panic(panic_message(&*other)),
    })
}

/// What [`in_subtransaction`] caught.
pub(crate) enum Caught {
    /// A Postgres ERROR (or a pgrx `ereport!`): SQLSTATE, message, detail.
    Postgres(Box<ErrorReportWithLevel>),
    /// A Rust panic: a bug.
    Panic(String),
}

#[cfg(test)]
mod unit {
    use super::must_propagate;

    #[test]
    fn propagated_classes() {
        for state in ["57014", "57P01", "53200", "58030", "XX000"] {
            assert!(must_propagate(state), "{state}");
        }
        for state in ["22P02", "23505", "40001", "42501", "P0001"] {
            assert!(!must_propagate(state), "{state}");
        }
    }
}
