//! Cancellation inside the compiler. The compiler has no Postgres: the extension installs a
//! check (answering `Err` when the statement was cancelled or timed out) and every loop over the
//! size of a request or of the metadata calls [`tick`], which runs it every [`EVERY`] calls.
//! The compiler then unwinds normally with the error; the extension raises the real
//! cancellation error (`pgrx::check_for_interrupts!()`) once the compiler has returned, so no
//! Postgres error ever unwinds through compiler frames.
//!
//! The check is per thread (a backend is single-threaded; tests run in parallel threads) and
//! defaults to a no-op.

use std::cell::Cell;

use crate::error::GqlError;

/// A check the extension installs: `Err` when the current statement must stop.
pub type Check = fn() -> Result<(), GqlError>;

/// How many [`tick`]s between two runs of the check.
pub const EVERY: u32 = 1024;

fn no_check() -> Result<(), GqlError> {
    Ok(())
}

thread_local! {
    static CHECK: Cell<Check> = const { Cell::new(no_check) };
    static COUNT: Cell<u32> = const { Cell::new(0) };
}

/// Install the check for this thread (the extension calls it once per backend).
pub fn set_check(check: Check) {
    CHECK.with(|c| c.set(check));
}

/// Remove the check (back to the no-op).
pub fn clear_check() {
    CHECK.with(|c| c.set(no_check));
}

/// Run the check now.
pub fn check() -> Result<(), GqlError> {
    CHECK.with(|c| c.get())()
}

/// Count one unit of work; every [`EVERY`] units, run the check.
#[inline]
pub fn tick() -> Result<(), GqlError> {
    let due = COUNT.with(|n| {
        let v = n.get().wrapping_add(1);
        n.set(v);
        v % EVERY == 0
    });
    if due {
        check()
    } else {
        Ok(())
    }
}

/// The error a check answers when the statement was cancelled; the extension replaces it with
/// Postgres' own error.
pub fn interrupted() -> GqlError {
    GqlError::new("unexpected", "$", "the request was cancelled")
}

/// [`tick`] for metadata code, whose errors are [`crate::MetadataError`]s.
#[inline]
pub fn tick_metadata() -> Result<(), crate::MetadataError> {
    tick().map_err(|e| crate::MetadataError::new("unexpected", "$", e.message))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn always() -> Result<(), GqlError> {
        Err(interrupted())
    }

    #[test]
    fn tick_runs_the_check_every_n_calls() {
        set_check(always);
        let mut stopped = None;
        for i in 0..(2 * EVERY) {
            if tick().is_err() {
                stopped = Some(i);
                break;
            }
        }
        clear_check();
        assert!(stopped.is_some_and(|i| i < EVERY));
        for _ in 0..(2 * EVERY) {
            assert!(tick().is_ok());
        }
    }
}
