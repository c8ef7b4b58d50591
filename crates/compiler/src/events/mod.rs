//! Event triggers, cron triggers and scheduled events, the parts that need no database:
//! definitions ([`config`]), the row triggers they imply ([`triggers`]), cron schedules
//! ([`cron`]), payloads and the retry policy ([`delivery`]), and the metadata requests the
//! extension runs against the event tables ([`requests`]).

pub mod config;
pub mod cron;
pub mod delivery;
pub mod requests;
pub mod triggers;
