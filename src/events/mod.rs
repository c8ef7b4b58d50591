//! Event triggers and scheduled events on the database side: keeping the capture triggers in
//! step with the metadata ([`sync`]) and the metadata requests that read or write the event
//! tables ([`requests`]), and their psql shorthands ([`sql_api`]). Delivery is the background
//! worker's (`crate::worker`).

pub mod capture;
pub mod requests;
pub mod sql_api;
pub mod sync;

use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use serde_json::Value;

use crate::errors::{GraftError, Result};
use crate::metadata_store::{self, AsStoreOwner};

/// Run `sql` as the owner of the extension's tables (they are not readable by PUBLIC) and
/// return its first column of its first row as JSON (`None` when no row or NULL).
pub(crate) fn json_as_owner(sql: &str, args: &[DatumWithOid]) -> Result<Option<Value>> {
    let store = metadata_store::locate()?;
    let _owner = AsStoreOwner::enter(store);
    let text: Option<String> = Spi::connect_mut(|c| {
        let table = c.update(sql, Some(1), args)?;
        if table.is_empty() {
            Ok::<_, pgrx::spi::Error>(None)
        } else {
            table.first().get_one::<String>()
        }
    })?;
    text.map(|t| serde_json::from_str(&t).map_err(|e| GraftError::Internal(format!("event query returned bad JSON: {e}"))))
        .transpose()
}

/// Delete processed history older than `$1` seconds: delivered, errored and archived events
/// (their invocation logs go with them), and delivered, errored and dead scheduled events; with
/// `include_undelivered`, pending events too. With `limited`, at most `$2` rows of each table
/// (the worker's periodic cleanup, which must stay a short statement). Answers the counts as
/// JSON.
pub(crate) fn cleanup_sql(include_undelivered: bool, limited: bool) -> String {
    let events = if include_undelivered { "true" } else { "(delivered OR error OR archived)" };
    let limit = if limited { " LIMIT $2" } else { "" };
    let delete = |table: &str, filter: &str, time: &str| {
        format!(
            "DELETE FROM graphql.{table} WHERE id IN (SELECT id FROM graphql.{table} WHERE {filter} \
               AND {time} < now() - make_interval(secs => $1){limit}) RETURNING 1"
        )
    };
    format!(
        "WITH e AS ({}), c AS ({}), s AS ({}) \
         SELECT json_build_object('message', 'success', 'deleted_events', (SELECT count(*) FROM e), \
           'deleted_cron_events', (SELECT count(*) FROM c), \
           'deleted_scheduled_events', (SELECT count(*) FROM s))::text",
        delete("event_log", events, "created_at"),
        delete("hdb_cron_events", "status IN ('delivered', 'error', 'dead')", "scheduled_time"),
        delete("hdb_scheduled_events", "status IN ('delivered', 'error', 'dead')", "scheduled_time"),
    )
}
