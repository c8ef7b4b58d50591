//! Live queries: what the extension needs to serve many subscribers with few statements.
//!
//! * [`multiplex`]: one statement answers a batch of cohorts (Hasura's multiplexed query),
//!   and the cohort key that decides which subscribers share a result.
//! * [`reads`]: the tracked tables a live query reads, so a cohort re-runs only when one of
//!   them changed (or on the interval, when a function makes its reads unknowable).
//!
//! Both work from the compiled statement (`request::Compiled`) and, for multiplexing, the
//! sources of its parameters (`request::template::Template::sources`).

mod lex;
pub mod multiplex;
pub mod reads;

pub use lex::LexError;
pub use multiplex::{plan, Cohort, CohortKey, GroupKey, Multiplexed, NotMultiplexed, Sharing, Slot, StatementId};
pub use reads::{reads, Opaque, Reads};

#[cfg(test)]
mod tests;
