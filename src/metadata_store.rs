//! `graphql.metadata_store`: the one row holding the Hasura metadata and its resource version.
//!
//! Every access runs as the table's owner (see [`AsStoreOwner`]): `graphql.resolve` runs with the
//! caller's rights, and app roles must be able to *use* the metadata without being able to
//! *read* it (it may hold webhook headers and other secrets).
//!
//! A missing row means "never written": the default metadata at [`INITIAL_RESOURCE_VERSION`].
//! The row is inserted by the first write, not at install, so pg_dump/restore works (see
//! `sql/bootstrap.sql`).

use graft_compiler::Metadata;
use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;

use crate::errors::{GraftError, Result};

/// The resource version of metadata that was never written (Hasura starts at 1 too).
pub const INITIAL_RESOURCE_VERSION: i64 = 1;

/// Where the store lives: looked up by name so it works in every role and search_path.
const LOCATE_SQL: &str = "SELECT c.oid, c.relowner FROM pg_catalog.pg_class c \
     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
     WHERE n.nspname = 'graphql' AND c.relname = 'metadata_store'";

/// Read the metadata text only if its version is not the one already cached ($1).
const READ_SQL: &str = "SELECT resource_version, \
     CASE WHEN $1::pg_catalog.int8 IS NULL OR resource_version OPERATOR(pg_catalog.<>) $1 \
       THEN metadata::pg_catalog.text END \
     FROM graphql.metadata_store WHERE id OPERATOR(pg_catalog.=) 1";

const READ_FOR_UPDATE_SQL: &str =
    "SELECT resource_version, metadata::pg_catalog.text FROM graphql.metadata_store \
     WHERE id OPERATOR(pg_catalog.=) 1 FOR UPDATE";

const SEED_SQL: &str = "INSERT INTO graphql.metadata_store (id, resource_version, metadata) \
     VALUES (1, $1, $2::pg_catalog.json) ON CONFLICT (id) DO NOTHING";

const WRITE_SQL: &str =
    "UPDATE graphql.metadata_store SET resource_version = $1, metadata = $2::pg_catalog.json \
     WHERE id OPERATOR(pg_catalog.=) 1";

/// The store table's identity.
#[derive(Clone, Copy, Debug)]
pub struct StoreTable {
    pub relid: pg_sys::Oid,
    pub owner: pg_sys::Oid,
}

/// What a read returns. `metadata` is `None` when the caller already has this version.
pub struct Stored {
    pub resource_version: i64,
    pub metadata: Option<Metadata>,
}

pub fn locate() -> Result<StoreTable> {
    let (relid, owner) = Spi::connect(|c| {
        let table = c.select(LOCATE_SQL, Some(1), &[])?;
        if table.is_empty() {
            Ok((None, None))
        } else {
            table.first().get_two::<pg_sys::Oid, pg_sys::Oid>()
        }
    })?;
    match (relid, owner) {
        (Some(relid), Some(owner)) => Ok(StoreTable { relid, owner }),
        _ => Err(GraftError::Internal(
            "graphql.metadata_store is missing: reinstall the graft extension".into(),
        )),
    }
}

/// Read the stored metadata; skip parsing it when its version equals `known_version`.
pub fn read(store: StoreTable, known_version: Option<i64>) -> Result<Stored> {
    let _owner = AsStoreOwner::enter(store);
    let known: DatumWithOid = match known_version {
        Some(v) => v.into(),
        None => DatumWithOid::null::<i64>(),
    };
    let (version, text) = Spi::connect(|c| first_row(c.select(READ_SQL, Some(1), &[known])?))?;
    match version {
        None => Ok(Stored {
            resource_version: INITIAL_RESOURCE_VERSION,
            metadata: (known_version != Some(INITIAL_RESOURCE_VERSION)).then(Metadata::default),
        }),
        Some(v) => Ok(Stored {
            resource_version: v,
            metadata: text.map(|t| parse(&t)).transpose()?,
        }),
    }
}

/// Lock the row for a write (inserting the default row first if it was never written) and
/// return what it holds now. In READ COMMITTED this waits for, then sees, a concurrent writer.
pub fn read_for_update(store: StoreTable) -> Result<(i64, Metadata)> {
    let _owner = AsStoreOwner::enter(store);
    Spi::connect_mut(|c| {
        let mut row = first_row(c.update(READ_FOR_UPDATE_SQL, Some(1), &[])?)?;
        if row.0.is_none() {
            let seed = serde_json::to_string(&Metadata::default())
                .map_err(|e| GraftError::Internal(e.to_string()))?;
            c.update(
                SEED_SQL,
                None,
                &[INITIAL_RESOURCE_VERSION.into(), seed.into()],
            )?;
            row = first_row(c.update(READ_FOR_UPDATE_SQL, Some(1), &[])?)?;
        }
        match row {
            (Some(v), Some(text)) => Ok((v, parse(&text)?)),
            _ => Err(GraftError::Internal(
                "graphql.metadata_store row vanished while locked".into(),
            )),
        }
    })
}

/// Overwrite the (locked) row.
pub fn write(store: StoreTable, resource_version: i64, metadata: &Metadata) -> Result<()> {
    let text = serde_json::to_string(metadata).map_err(|e| GraftError::Internal(e.to_string()))?;
    let _owner = AsStoreOwner::enter(store);
    Spi::connect_mut(|c| {
        c.update(WRITE_SQL, None, &[resource_version.into(), text.into()])
            .map(|_| ())
    })?;
    Ok(())
}

/// `(resource_version, metadata text)` of the row, both `None` when there is no row.
fn first_row(
    table: pgrx::spi::SpiTupleTable<'_>,
) -> pgrx::spi::Result<(Option<i64>, Option<String>)> {
    if table.is_empty() {
        Ok((None, None))
    } else {
        table.first().get_two::<i64, String>()
    }
}

fn parse(text: &str) -> Result<Metadata> {
    serde_json::from_str(text).map_err(|e| GraftError::StoredMetadata(e.to_string()))
}

/// Runs the enclosed SPI statements as the store's owner, like a SECURITY DEFINER function
/// with `SET search_path = pg_catalog, pg_temp` would, and switches back when dropped — also
/// when a Postgres error unwinds through it (and transaction abort restores the user id and
/// the setting anyway). `SECURITY_RESTRICTED_OPERATION` forbids anything in that window from
/// changing the session state (SET ROLE, temp tables …), the same protection REFRESH
/// MATERIALIZED VIEW and autovacuum use.
///
/// The search_path pin is what keeps the caller from choosing the code that runs here: the
/// owner is usually the superuser who ran CREATE EXTENSION, and with the caller's path an
/// operator such as `=` in `WHERE id = 1` resolves to whatever the caller defined first in a
/// schema it can create objects in. The SQL run here is schema-qualified as well.
pub struct AsStoreOwner {
    saved_user: pg_sys::Oid,
    saved_context: i32,
    guc_level: i32,
}

/// Set `search_path` to `pg_catalog, pg_temp` (PostgreSQL 17's `RestrictSearchPath`) in a new
/// GUC nest level, as a function's `SET search_path` clause does; [`unpin_search_path`]
/// restores it.
pub(crate) fn pin_search_path() -> i32 {
    crate::guc::push_setting(c"search_path", c"pg_catalog, pg_temp")
}

/// Undo [`pin_search_path`].
pub(crate) fn unpin_search_path(level: i32) {
    crate::guc::pop_level(level)
}

impl AsStoreOwner {
    pub fn enter(store: StoreTable) -> AsStoreOwner {
        let mut saved_user = pg_sys::InvalidOid;
        let mut saved_context = 0;
        // The path first: nothing the owner runs may resolve a name through the caller's.
        let guc_level = pin_search_path();
        // SAFETY: plain reads/writes of backend-global state, on the backend's main thread.
        unsafe {
            pg_sys::GetUserIdAndSecContext(&mut saved_user, &mut saved_context);
            pg_sys::SetUserIdAndSecContext(
                store.owner,
                saved_context
                    | pg_sys::SECURITY_LOCAL_USERID_CHANGE as i32
                    | pg_sys::SECURITY_RESTRICTED_OPERATION as i32,
            );
        }
        AsStoreOwner {
            saved_user,
            saved_context,
            guc_level,
        }
    }
}

impl Drop for AsStoreOwner {
    fn drop(&mut self) {
        // SAFETY: see `enter`.
        unsafe { pg_sys::SetUserIdAndSecContext(self.saved_user, self.saved_context) }
        unpin_search_path(self.guc_level);
    }
}
