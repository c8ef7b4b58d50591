//! The privileged half of event capture: `graphql.record_event`, called by the
//! `graphql.capture_event()` row trigger (sql/events.sql) once it has built the payload.
//!
//! Why two halves: the payload is built from the user's row (`row_to_json`, `to_jsonb`), and
//! those call code the user may define (a cast from the user's own type to `json`). That must
//! run with the rights of whoever made the change, so the trigger is SECURITY INVOKER. Writing
//! the outbox needs rights nobody else has (`graphql.event_log` is not public), so this half
//! switches to the store's owner, with a pinned `search_path`, for one INSERT of values that are
//! already JSON: no user code runs in that window.
//!
//! Every writer may call this function (triggers run as the writer), so it checks what it can
//! not take on trust: the caller has the privilege the operation needs on the table, and the
//! table really has a Graft capture trigger for this event trigger and operation. Table and
//! schema names come from the catalog, not from the arguments. A caller can therefore record
//! nothing that it could not cause by writing the table itself.

use std::cell::Cell;
use std::ffi::CStr;

use pgrx::prelude::*;
use pgrx::Json;

use crate::errors::{GraftError, Result};
use crate::metadata_store::{self, AsStoreOwner};

const INSERT_SQL: &str = "INSERT INTO graphql.event_log (schema_name, table_name, trigger_name, payload) \
     SELECT n.nspname::pg_catalog.text, c.relname::pg_catalog.text, $2, $3 \
     FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace \
     WHERE c.oid OPERATOR(pg_catalog.=) $1";

thread_local! {
    /// `graphql.capture_event()`'s oid, looked up once per backend.
    static CAPTURE_FN: Cell<pg_sys::Oid> = const { Cell::new(pg_sys::InvalidOid) };
}

/// Record one event of `event_trigger` for a change `op` (INSERT, UPDATE, DELETE) to table
/// `relid`. Raises (aborting the change) when the call is not one a capture trigger makes.
#[pg_extern(volatile, parallel_unsafe)]
fn record_event(relid: pg_sys::Oid, op: &str, event_trigger: &str, payload: Json) {
    if !may_write(relid, op) {
        ereport!(
            PgLogLevel::ERROR,
            PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
            "permission denied for graphql.record_event: only a capture trigger may record events"
        );
    }
    if let Err(e) = record(relid, op, event_trigger, payload) {
        e.raise();
    }
}

fn record(relid: pg_sys::Oid, op: &str, event_trigger: &str, payload: Json) -> Result<()> {
    let tg_event = match op {
        "INSERT" => pg_sys::TRIGGER_TYPE_INSERT,
        "UPDATE" => pg_sys::TRIGGER_TYPE_UPDATE,
        _ => pg_sys::TRIGGER_TYPE_DELETE,
    };
    if !has_capture_trigger(relid, event_trigger, tg_event as i16)? {
        return Err(GraftError::Internal(format!(
            "graphql.record_event: table {} has no capture trigger for event trigger {event_trigger:?} on {op}",
            u32::from(relid)
        )));
    }
    let store = metadata_store::locate()?;
    let _owner = AsStoreOwner::enter(store);
    Spi::run_with_args(INSERT_SQL, &[relid.into(), event_trigger.into(), payload.into()])?;
    Ok(())
}

/// The current user may make change `op` to the table, or to some column of it (an UPDATE
/// granted on columns).
fn may_write(relid: pg_sys::Oid, op: &str) -> bool {
    let mode = match op {
        "INSERT" => pg_sys::ACL_INSERT,
        "UPDATE" => pg_sys::ACL_UPDATE,
        "DELETE" => pg_sys::ACL_DELETE,
        _ => return false,
    } as pg_sys::AclMode;
    // SAFETY: catalog lookups on the backend's main thread, inside a transaction.
    unsafe {
        let user = pg_sys::GetUserId();
        pg_sys::pg_class_aclcheck(relid, user, mode) == pg_sys::AclResult::ACLCHECK_OK
            || pg_sys::pg_attribute_aclcheck_all(relid, user, mode, pg_sys::AclMaskHow::ACLMASK_ANY)
                == pg_sys::AclResult::ACLCHECK_OK
    }
}

/// The table has a row trigger calling `graphql.capture_event()` for `tg_event` whose first
/// argument is `event_trigger`. Read from the relcache: no query per event.
fn has_capture_trigger(relid: pg_sys::Oid, event_trigger: &str, tg_event: i16) -> Result<bool> {
    if scan_triggers(relid, capture_fn(false)?, event_trigger, tg_event) {
        return Ok(true);
    }
    // The cached oid may predate a DROP and CREATE EXTENSION in this backend.
    Ok(scan_triggers(relid, capture_fn(true)?, event_trigger, tg_event))
}

fn scan_triggers(relid: pg_sys::Oid, capture: pg_sys::Oid, event_trigger: &str, tg_event: i16) -> bool {
    // SAFETY: the relation is opened and closed here on the main thread; its trigger
    // descriptor is only read while it is open.
    unsafe {
        let rel = pg_sys::RelationIdGetRelation(relid);
        if rel.is_null() {
            return false;
        }
        let mut found = false;
        let desc = (*rel).trigdesc;
        if !desc.is_null() {
            let triggers = std::slice::from_raw_parts((*desc).triggers, (*desc).numtriggers as usize);
            found = triggers.iter().any(|t| {
                t.tgfoid == capture
                    && t.tgenabled as u8 != b'D'
                    && t.tgtype & tg_event != 0
                    && t.tgtype & pg_sys::TRIGGER_TYPE_ROW as i16 != 0
                    && t.tgnargs >= 1
                    && CStr::from_ptr(*t.tgargs).to_bytes() == event_trigger.as_bytes()
            });
        }
        pg_sys::RelationClose(rel);
        found
    }
}

fn capture_fn(refresh: bool) -> Result<pg_sys::Oid> {
    let cached = CAPTURE_FN.with(Cell::get);
    if cached != pg_sys::InvalidOid && !refresh {
        return Ok(cached);
    }
    let oid = Spi::get_one::<pg_sys::Oid>("SELECT pg_catalog.to_regprocedure('graphql.capture_event()')::pg_catalog.oid")?
        .ok_or_else(|| GraftError::Internal("graphql.capture_event() is missing: reinstall the graft extension".into()))?;
    CAPTURE_FN.with(|c| c.set(oid));
    Ok(oid)
}
