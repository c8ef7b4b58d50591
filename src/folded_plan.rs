//! Preparing a compiled statement with some of its `$n` parameters folded into constants.
//!
//! The compiler binds every value as a `text` parameter cast in the SQL (`($1)::int4`). For a
//! parameter whose value never changes between calls of a statement (a literal in the GraphQL
//! text, a session variable of the one user a backend serves), PostgreSQL would still plan the
//! statement for "some value": with skewed data it then re-plans on every call (custom plans),
//! which costs more than running the query. Folding such a parameter gives PostgreSQL the
//! value at parse time, exactly as if the SQL held the literal `'17'::int4`, so the statement
//! is planned once, for that value.
//!
//! The value never becomes SQL text: the parser's parameter hook turns `$n` into a `Const`
//! node of type `unknown` holding the value, the node the parser makes for a quoted literal,
//! and the surrounding cast converts it with the type's input function. Parameters that are
//! not folded become ordinary `text` parameters.

use std::ffi::{c_void, CString};

use pgrx::pg_sys;
use pgrx::pg_guard;

/// What each parameter of one prepared statement is: folded to a value, or a parameter.
/// Boxed by its owner: the plan keeps a pointer to it (PostgreSQL re-runs the parser hook when
/// it revalidates the plan after DDL), so it must not move while the plan lives.
pub struct Folding {
    /// `Some(text)`: `$n` is the constant `text`; `None`: `$n` stays a parameter.
    folded: Vec<Option<CString>>,
}

impl Folding {
    /// Fold every non-NULL value.
    pub fn all(values: &[Option<CString>]) -> Folding {
        Folding { folded: values.to_vec() }
    }

    /// Fold every non-NULL value but the first `keep` (they stay parameters).
    pub fn all_but(values: &[Option<CString>], keep: usize) -> Folding {
        Folding { folded: values.iter().enumerate().map(|(i, v)| if i < keep { None } else { v.clone() }).collect() }
    }

    /// No parameter folded.
    pub fn none(nargs: usize) -> Folding {
        Folding { folded: vec![None; nargs] }
    }

    /// Whether a plan prepared with this folding computes the statement for `values`: every
    /// folded parameter has the value it was folded to.
    pub fn matches(&self, values: &[Option<CString>]) -> bool {
        self.folded.len() == values.len()
            && self.folded.iter().zip(values).all(|(f, v)| f.is_none() || f == v)
    }

    /// Keep folded only the parameters whose value is the same in `values`: the others were
    /// found to vary.
    pub fn narrowed(&self, values: &[Option<CString>]) -> Folding {
        Folding {
            folded: self.folded.iter().zip(values).map(|(f, v)| if f == v { f.clone() } else { None }).collect(),
        }
    }

    pub fn folded_count(&self) -> usize {
        self.folded.iter().filter(|f| f.is_some()).count()
    }

    /// Prepare `sql` with this folding.
    ///
    /// # Safety
    /// SPI must be connected, and `self` must stay at this address until the returned plan
    /// is freed.
    pub unsafe fn prepare(&self, sql: &CString, cursor_options: i32) -> *mut pg_sys::_SPI_plan {
        pg_sys::SPI_prepare_params(
            sql.as_ptr(),
            Some(parser_setup),
            self as *const Folding as *mut c_void,
            cursor_options,
        )
    }
}

/// The parameter list for one execution: every value as `text` (folded ones are unused).
///
/// # Safety
/// Allocates in the current memory context; call it with SPI connected, right before running
/// the plan.
pub unsafe fn param_list(values: &[Option<CString>]) -> pg_sys::ParamListInfo {
    let list = pg_sys::makeParamList(values.len() as i32);
    let slots = (*list).params.as_mut_slice(values.len());
    for (slot, v) in slots.iter_mut().zip(values) {
        slot.ptype = pg_sys::TEXTOID;
        slot.pflags = pg_sys::PARAM_FLAG_CONST as u16;
        match v {
            Some(text) => {
                slot.value = pg_sys::Datum::from(pg_sys::cstring_to_text(text.as_ptr()));
                slot.isnull = false;
            }
            None => {
                slot.value = pg_sys::Datum::from(0usize);
                slot.isnull = true;
            }
        }
    }
    list
}

// Called by the parser, from C: `#[pg_guard]` turns a Rust panic (or an ERROR raised by a
// pg_sys call, which pgrx turns into one) back into a Postgres ERROR before it reaches C frames.
#[pg_guard]
unsafe extern "C-unwind" fn parser_setup(pstate: *mut pg_sys::ParseState, arg: *mut c_void) {
    (*pstate).p_paramref_hook = Some(paramref_hook);
    (*pstate).p_ref_hook_state = arg;
}

#[pg_guard]
unsafe extern "C-unwind" fn paramref_hook(pstate: *mut pg_sys::ParseState, pref: *mut pg_sys::ParamRef) -> *mut pg_sys::Node {
    let folding = &*((*pstate).p_ref_hook_state as *const Folding);
    let number = (*pref).number;
    let Some(slot) = usize::try_from(number).ok().and_then(|n| n.checked_sub(1)).and_then(|i| folding.folded.get(i)) else {
        // The parser reports "there is no parameter $n".
        return std::ptr::null_mut();
    };
    match slot {
        Some(text) => {
            // What the parser makes of the literal 'text': a Const of type unknown holding a
            // C string, converted by the enclosing cast.
            let value = pg_sys::pstrdup(text.as_ptr());
            let c = pg_sys::makeConst(pg_sys::UNKNOWNOID, -1, pg_sys::InvalidOid, -2, pg_sys::Datum::from(value), false, false);
            (*c).location = (*pref).location;
            c.cast()
        }
        None => {
            let p = pg_sys::palloc0(std::mem::size_of::<pg_sys::Param>()) as *mut pg_sys::Param;
            (*p).xpr.type_ = pg_sys::NodeTag::T_Param;
            (*p).paramkind = pg_sys::ParamKind::PARAM_EXTERN;
            (*p).paramid = number;
            (*p).paramtype = pg_sys::TEXTOID;
            (*p).paramtypmod = -1;
            (*p).paramcollid = pg_sys::DEFAULT_COLLATION_OID;
            (*p).location = (*pref).location;
            p.cast()
        }
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    fn v(items: &[Option<&str>]) -> Vec<Option<CString>> {
        items.iter().map(|s| s.map(|s| CString::new(s).unwrap())).collect()
    }

    #[test]
    fn narrowing_unfolds_what_varies() {
        let first = Folding::all(&v(&[Some("17"), Some("10"), None]));
        assert_eq!(first.folded_count(), 2);
        assert!(first.matches(&v(&[Some("17"), Some("10"), None])));
        assert!(first.matches(&v(&[Some("17"), Some("10"), Some("x")])), "an unfolded parameter may take any value");
        let next = v(&[Some("18"), Some("10"), None]);
        assert!(!first.matches(&next));
        let narrowed = first.narrowed(&next);
        assert_eq!(narrowed.folded_count(), 1);
        assert!(narrowed.matches(&next) && narrowed.matches(&v(&[Some("99"), Some("10"), None])));
        assert!(!narrowed.matches(&v(&[Some("99"), Some("11"), None])));
        assert!(Folding::none(2).matches(&v(&[Some("a"), None])));
    }
}
