//! Event triggers and scheduled events on the database side: keeping the capture triggers in
//! step with the metadata ([`sync`]) and the metadata requests that read or write the event
//! tables ([`requests`]), and their psql shorthands ([`sql_api`]). Delivery is the background
//! worker's (`crate::worker`).

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
