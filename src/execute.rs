//! Runs compiled SQL: generic plans kept per backend by SQL text, text parameters, and a
//! subtransaction only where a Postgres error must become a GraphQL error (mutations, and
//! queries whose values only Postgres can validate).

use std::cell::RefCell;
use std::collections::HashMap;
use std::ptr::NonNull;
use std::rc::Rc;

use graft_compiler::request::{CompiledSql, MutationPlan, MutationStep, Stmt};
use pgrx::pg_sys::panic::CaughtError;
use pgrx::prelude::*;
use serde_json::json;

use crate::errors::GraftError;

const PLAN_CACHE_LIMIT: usize = 1024;

/// A plan kept for the life of the backend (until evicted), prepared for text arguments.
struct KeptPlan(NonNull<pg_sys::_SPI_plan>);

impl Drop for KeptPlan {
    fn drop(&mut self) {
        // SAFETY: the plan was kept with SPI_keepplan and is dropped once.
        unsafe {
            pg_sys::SPI_freeplan(self.0.as_ptr());
        }
    }
}

thread_local! {
    static PLANS: RefCell<HashMap<String, Rc<KeptPlan>>> = RefCell::new(HashMap::new());
}

/// The kept plan for `sql`, prepared on first use. Every value of a compiled statement is a
/// parameter; by default PostgreSQL's plan cache decides between a generic plan and custom
/// plans per call (custom plans see skewed values, e.g. one author with many articles, at the
/// price of planning each call). `graft.generic_plans = on` forces one generic plan per
/// statement (`CURSOR_OPT_GENERIC_PLAN`): cheaper for key lookups, worse for skewed filters
/// (bench/RESULTS.md). Must be called inside an SPI connection.
fn plan(sql: &str, nparams: usize) -> Result<Rc<KeptPlan>, GraftError> {
    if let Some(p) = PLANS.with(|p| p.borrow().get(sql).cloned()) {
        return Ok(p);
    }
    let csql = std::ffi::CString::new(sql).map_err(|_| GraftError::Internal("SQL text contains a NUL byte".into()))?;
    let mut types = vec![pg_sys::TEXTOID; nparams];
    let options = if crate::settings::generic_plans() { pg_sys::CURSOR_OPT_GENERIC_PLAN as i32 } else { 0 };
    // SAFETY: SPI is connected (callers run inside Spi::connect); errors raise through pgrx's guard.
    let raw = unsafe { pg_sys::SPI_prepare_cursor(csql.as_ptr(), nparams as i32, types.as_mut_ptr(), options) };
    let raw = NonNull::new(raw).ok_or_else(|| GraftError::Internal(format!("SPI_prepare failed ({})", unsafe { pg_sys::SPI_result })))?;
    // SAFETY: a freshly prepared, unsaved plan.
    unsafe {
        pg_sys::SPI_keepplan(raw.as_ptr());
    }
    let kept = Rc::new(KeptPlan(raw));
    PLANS.with(|p| {
        let mut p = p.borrow_mut();
        if p.len() >= PLAN_CACHE_LIMIT {
            p.clear();
        }
        p.insert(sql.to_string(), kept.clone());
    });
    Ok(kept)
}

/// Run one statement with text parameters; returns the first row's first `ncols` columns as
/// text. Must be called inside an SPI connection.
fn run_stmt(stmt: &Stmt, mutating: bool, ncols: usize) -> Result<Vec<Option<String>>, GraftError> {
    let p = plan(&stmt.sql, stmt.params.len())?;
    let mut datums: Vec<pg_sys::Datum> = Vec::with_capacity(stmt.params.len());
    let mut nulls: Vec<std::ffi::c_char> = Vec::with_capacity(stmt.params.len());
    for v in &stmt.params {
        match v.as_deref().and_then(|s| s.into_datum()) {
            Some(d) => {
                datums.push(d);
                nulls.push(b' ' as std::ffi::c_char);
            }
            None => {
                datums.push(pg_sys::Datum::from(0));
                nulls.push(b'n' as std::ffi::c_char);
            }
        }
    }
    // SAFETY: SPI is connected; datums/nulls match the plan's argument count; results are read
    // before any other SPI call.
    unsafe {
        let rc = pg_sys::SPI_execute_plan(p.0.as_ptr(), datums.as_mut_ptr(), nulls.as_ptr(), !mutating, 1);
        if rc < 0 {
            return Err(GraftError::Internal(format!("SPI_execute_plan failed ({rc})")));
        }
        let table = pg_sys::SPI_tuptable;
        let mut out = Vec::with_capacity(ncols);
        if table.is_null() || pg_sys::SPI_processed == 0 {
            return Ok(out);
        }
        let tuple = *(*table).vals;
        for i in 1..=ncols {
            let v = pg_sys::SPI_getvalue(tuple, (*table).tupdesc, i as i32);
            out.push(if v.is_null() { None } else { Some(std::ffi::CStr::from_ptr(v).to_string_lossy().into_owned()) });
        }
        Ok(out)
    }
}

fn json_text(v: Option<String>) -> String {
    v.unwrap_or_else(|| "null".into())
}

/// A plain query: one statement, the response as JSON text.
pub fn run_query(c: &CompiledSql) -> Result<String, GraftError> {
    let stmt = wrap_text(&Stmt { sql: c.sql.clone(), params: c.params.clone() });
    let run = move || Spi::connect(|_client| run_stmt(&stmt, false, 1)).map(|mut r| json_text(r.pop().flatten()));
    if c.guarded {
        guarded(run).map(|r| r.unwrap_or_else(|e| e))
    } else {
        run()
    }
}

/// A mutation: fields in order, in one subtransaction, with `hasura.user` set.
pub fn run_mutation(plan: &MutationPlan, session_json: &str) -> Result<String, GraftError> {
    let run = || {
        Spi::connect_mut(|_client| {
            let set = Stmt { sql: "SELECT set_config('hasura.user', $1, true)".into(), params: vec![Some(session_json.to_string())] };
            run_stmt(&set, true, 1)?;
            let mut data = String::from("{\"data\":{");
            for (i, f) in plan.fields.iter().enumerate() {
                if i > 0 {
                    data.push(',');
                }
                data.push_str(&serde_json::to_string(&f.alias).unwrap_or_default());
                data.push(':');
                let mut values = vec![];
                for step in &f.steps {
                    let v = match step {
                        MutationStep::Static(s) => s.clone(),
                        MutationStep::Query(q) => json_text(run_stmt(q, true, 1)?.pop().flatten()),
                        MutationStep::WriteRead { write, read } => {
                            let w = run_stmt(write, true, 3)?;
                            if w.get(2).cloned().flatten().as_deref() == Some("false") {
                                return Err(GraftError::Graphql(
                                    json!({"errors": [{"message": "check constraint of an insert/update permission has failed",
                                        "extensions": {"path": "$", "code": "permission-error"}}]})
                                    .to_string(),
                                ));
                            }
                            let mut read = read.clone();
                            read.params[0] = w.first().cloned().flatten();
                            read.params[1] = w.get(1).cloned().flatten();
                            json_text(run_stmt(&read, true, 1)?.pop().flatten())
                        }
                    };
                    values.push(v);
                }
                if f.many {
                    data.push('[');
                    data.push_str(&values.join(","));
                    data.push(']');
                } else {
                    data.push_str(values.first().map(|s| s.as_str()).unwrap_or("null"));
                }
            }
            data.push_str("}}");
            Ok::<_, GraftError>(data)
        })
    };
    guarded(run).map(|r| r.unwrap_or_else(|e| e))
}

/// Wrap a statement whose single column is `json` so SPI hands back its text.
fn wrap_text(s: &Stmt) -> Stmt {
    Stmt { sql: format!("SELECT (q.v)::text FROM ({}) AS q(v)", s.sql), params: s.params.clone() }
}

/// Run `f` in an internal subtransaction, as PL/pgSQL's exception blocks do. A Postgres error
/// rolls the subtransaction back and comes back as `Ok(Err(graphql error json))`.
fn guarded<F>(f: F) -> Result<Result<String, String>, GraftError>
where
    F: FnOnce() -> Result<String, GraftError> + std::panic::UnwindSafe,
{
    unsafe {
        let old_context = pg_sys::CurrentMemoryContext;
        let old_owner = pg_sys::CurrentResourceOwner;
        pg_sys::BeginInternalSubTransaction(std::ptr::null());
        pg_sys::MemoryContextSwitchTo(old_context);
        let result = PgTryBuilder::new(move || {
            let r = f();
            match r {
                Ok(v) => {
                    pg_sys::ReleaseCurrentSubTransaction();
                    pg_sys::MemoryContextSwitchTo(old_context);
                    pg_sys::CurrentResourceOwner = old_owner;
                    Ok(Ok(v))
                }
                Err(e) => {
                    pg_sys::RollbackAndReleaseCurrentSubTransaction();
                    pg_sys::MemoryContextSwitchTo(old_context);
                    pg_sys::CurrentResourceOwner = old_owner;
                    match e {
                        GraftError::Graphql(body) => Ok(Err(body)),
                        other => Err(other),
                    }
                }
            }
        })
        .catch_others(move |caught| {
            pg_sys::RollbackAndReleaseCurrentSubTransaction();
            pg_sys::MemoryContextSwitchTo(old_context);
            pg_sys::CurrentResourceOwner = old_owner;
            match caught {
                CaughtError::PostgresError(report) | CaughtError::ErrorReport(report) => {
                    // Cancellation, timeouts, resource exhaustion and internal errors are not
                    // answers to the request: re-raise them (the subtransaction is already gone).
                    let class = sqlstate_class(report.sql_error_code());
                    if matches!(class.as_str(), "57" | "53" | "58" | "XX") {
                        CaughtError::PostgresError(report).rethrow();
                    }
                    Ok(Err(hasura_error(report.sql_error_code(), report.message(), report.detail())))
                }
                CaughtError::RustPanic { ereport, .. } => Ok(Err(json!({"errors": [{"message": ereport.message(),
                    "extensions": {"path": "$", "code": "unexpected"}}]})
                .to_string())),
            }
        })
        .execute();
        result
    }
}

/// Hasura's mapping of Postgres errors to GraphQL errors.
fn hasura_error(code: PgSqlErrorCode, message: &str, detail: Option<&str>) -> String {
    use PgSqlErrorCode::*;
    let (ecode, msg) = match code {
        ERRCODE_UNIQUE_VIOLATION => ("constraint-violation", format!("Uniqueness violation. {message}")),
        ERRCODE_FOREIGN_KEY_VIOLATION => ("constraint-violation", format!("Foreign key violation. {message}")),
        ERRCODE_NOT_NULL_VIOLATION => ("constraint-violation", format!("Not-NULL violation. {message}")),
        ERRCODE_EXCLUSION_VIOLATION => ("constraint-violation", format!("Exclusion violation. {message}")),
        ERRCODE_RESTRICT_VIOLATION | ERRCODE_INTEGRITY_CONSTRAINT_VIOLATION => {
            ("constraint-violation", format!("Can not delete or update due to data being referred. {message}"))
        }
        ERRCODE_CHECK_VIOLATION => ("permission-error", format!("Check constraint violation. {message}")),
        ERRCODE_INVALID_ESCAPE_SEQUENCE => ("bad-request", message.to_string()),
        ERRCODE_T_R_SERIALIZATION_FAILURE => ("concurrent-update", message.to_string()),
        ERRCODE_INVALID_COLUMN_REFERENCE => ("constraint-error", message.to_string()),
        c if sqlstate_class(c) == "22" => ("data-exception", message.to_string()),
        _ => ("unexpected", "database query error".to_string()),
    };
    let mut err = json!({"message": msg, "extensions": {"path": "$", "code": ecode}});
    if ecode == "unexpected" {
        err["extensions"]["internal"] = json!({"error": {"message": message, "description": detail}});
    }
    json!({"errors": [err]}).to_string()
}

/// The two-character class of a SQLSTATE (`"22"`, `"57"`, `"XX"` …).
fn sqlstate_class(code: PgSqlErrorCode) -> String {
    let sqlstate = code as i32;
    let c1 = ((sqlstate & 0x3f) as u8 + b'0') as char;
    let c2 = (((sqlstate >> 6) & 0x3f) as u8 + b'0') as char;
    format!("{c1}{c2}")
}
