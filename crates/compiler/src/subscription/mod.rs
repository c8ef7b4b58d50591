//! Live queries: what the extension needs to serve many subscribers with few statements.
//!
//! * [`multiplex`]: one statement answers a batch of cohorts (Hasura's multiplexed query),
//!   and the cohort key that decides which subscribers share a result.
//! * [`mod@reads`]: the tracked tables a live query reads, so a cohort re-runs only when one of
//!   them changed (or on the interval, when a function makes its reads unknowable).
//!
//! Both work from the compiled statement (`request::Compiled`) and, for multiplexing, the
//! sources of its parameters (`request::template::Template::sources`).
//!
//! # How a caller uses it
//!
//! **A subscriber arrives** (query, variables, operation name, session):
//! 1. `request::template::compile(...)` → `(compiled, _, template)`; a validation error is
//!    that subscription's error. [`reads()`] of `compiled` gives its read set.
//! 2. Within its [`GroupKey`] (query text, operation name, role), find a statement `m` whose
//!    [`Multiplexed::cohort`]`(own)` is `Some`; if none, [`plan`]`(&compiled, template.as_ref())`
//!    makes one (`Err(Static)`: answer once from the JSON; `Err(Mutation)`: refuse).
//!    [`Multiplexed::cohort_key`] is the key subscribers with the same result share.
//! 3. Run the subscriber's own statement for its first result. This also proves its values
//!    valid for their casts (Hasura's `validateVariablesTx`), so an invalid value never
//!    joins, and fails, a batch.
//!
//! **A refetch** of statement `m`: cohorts whose read set changed (all of them when it is
//! `unknown`, or without change counters), in batches of at most the batch size
//! ([`multiplex::DEFAULT_BATCH_SIZE`]): run [`Multiplexed::sql`] with
//! [`Multiplexed::params`] (text parameters; `$3…` are the same for every batch and may be
//! folded into the plan), guarded if [`Multiplexed::guarded`]. Each row is
//! `(cohort_id, result)`; a subscriber gets `result` when its hash changed. A batch that fails
//! (an error that depends on the data, in a function) can be retried cohort by cohort with
//! [`Multiplexed::single`], so one cohort's error stays its own.

mod lex;
pub mod multiplex;
pub mod reads;

pub use lex::LexError;
pub use multiplex::{cursor_param, plan, Cohort, CohortKey, CursorError, GroupKey, Multiplexed, NotMultiplexed, Sharing, Slot, StatementId};
pub use reads::{reads, Opaque, Reads};

#[cfg(test)]
mod tests;
#[cfg(test)]
mod stream_tests;
