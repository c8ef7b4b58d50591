//! Stack bounds for the compiler's recursive code (selection sets, input values, boolean
//! expressions, SQL subqueries). A stack overflow aborts the whole backend (and makes the
//! postmaster restart every backend), so recursion checks the stack before it goes deeper and
//! answers a validation error instead.
//!
//! In the extension the check is PostgreSQL's own (`stack_is_too_deep()`, against
//! `max_stack_depth`), installed with [`set_check`]. Without it, the stack used since the
//! outermost [`Entry`] of this thread is compared with a budget (default [`DEFAULT_BUDGET`]).

use std::cell::Cell;

use crate::error::GqlError;

/// Stack the compiler may use below its entry point when no check is installed: half of a
/// Rust test thread's 2 MiB.
pub const DEFAULT_BUDGET: usize = 1 << 20;

/// A check the extension installs: whether the stack is too deep to go on.
pub type Check = fn() -> bool;

thread_local! {
    static CHECK: Cell<Option<Check>> = const { Cell::new(None) };
    static BASE: Cell<usize> = const { Cell::new(0) };
    static BUDGET: Cell<usize> = const { Cell::new(DEFAULT_BUDGET) };
}

/// Install the check for this thread (the extension: `|| unsafe { pg_sys::stack_is_too_deep() }`).
pub fn set_check(check: Check) {
    CHECK.with(|c| c.set(Some(check)));
}

/// Set the budget used when no check is installed.
pub fn set_budget(bytes: usize) {
    BUDGET.with(|b| b.set(bytes));
}

#[inline(never)]
fn here() -> usize {
    let marker = 0u8;
    std::hint::black_box(&marker) as *const u8 as usize
}

/// Marks the compiler's entry on this thread; the outermost one is the base of the budget.
pub struct Entry {
    outermost: bool,
}

impl Entry {
    pub fn new() -> Entry {
        let outermost = BASE.with(|b| {
            if b.get() == 0 {
                b.set(here());
                true
            } else {
                false
            }
        });
        Entry { outermost }
    }
}

impl Default for Entry {
    fn default() -> Self {
        Entry::new()
    }
}

impl Drop for Entry {
    fn drop(&mut self) {
        if self.outermost {
            BASE.with(|b| b.set(0));
        }
    }
}

/// Whether recursion may go one level deeper.
pub fn too_deep() -> bool {
    if let Some(check) = CHECK.with(|c| c.get()) {
        return check();
    }
    let base = BASE.with(|b| b.get());
    base != 0 && base.abs_diff(here()) > BUDGET.with(|b| b.get())
}

/// [`too_deep`] as the error recursion answers (at `path`).
#[inline]
pub fn check(path: &str) -> Result<(), GqlError> {
    if too_deep() {
        return Err(GqlError::validation(path, "the query is nested too deeply"));
    }
    Ok(())
}
