//! Per-backend cache of metadata, database catalog and per-role schemas.
//!
//! Steady state costs no SQL: the cache is reloaded only after an invalidation callback saw a
//! relcache invalidation of a tracked relation or of `graphql.metadata_store` (every metadata
//! write sends one), or any function/type change (computed fields and tracked functions).

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};

use graft_compiler::metadata::model::Metadata;
use graft_compiler::request::cache::CompileCache;
use graft_compiler::schema::build::build_schema_for;
use graft_compiler::{DbCatalog, Schema};
use pgrx::pg_sys;

use crate::catalog;
use crate::errors::GraftError;

/// Compiled requests kept per backend.
const COMPILE_CACHE_SIZE: usize = 1024;

/// Set by invalidation callbacks; checked (cheaply) on every call.
static DIRTY: AtomicBool = AtomicBool::new(true);

pub struct State {
    pub metadata: Rc<Metadata>,
    pub db: Rc<DbCatalog>,
    schemas: HashMap<String, Rc<Schema>>,
    /// Compiled requests for this state's schemas; dropped with them on reload.
    pub compiled: CompileCache,
}

thread_local! {
    static STATE: RefCell<Option<Rc<RefCell<State>>>> = const { RefCell::new(None) };
    /// Relations whose invalidation makes the cache stale.
    static WATCHED: RefCell<HashSet<u32>> = RefCell::new(HashSet::new());
    static REGISTERED: RefCell<bool> = const { RefCell::new(false) };
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn on_relcache(_arg: pg_sys::Datum, relid: pg_sys::Oid) {
    // No catalog access is allowed here: decide from the oid alone.
    let relid = relid.to_u32();
    if relid == 0 || WATCHED.with(|w| w.borrow().contains(&relid)) {
        DIRTY.store(true, Ordering::Relaxed);
    }
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn on_syscache(_arg: pg_sys::Datum, _cacheid: std::ffi::c_int, _hash: u32) {
    DIRTY.store(true, Ordering::Relaxed);
}

fn register_callbacks() {
    REGISTERED.with(|r| {
        if !*r.borrow() {
            unsafe {
                pg_sys::CacheRegisterRelcacheCallback(Some(on_relcache), pg_sys::Datum::from(0));
                pg_sys::CacheRegisterSyscacheCallback(
                    pg_sys::SysCacheIdentifier::PROCOID as i32,
                    Some(on_syscache),
                    pg_sys::Datum::from(0),
                );
                pg_sys::CacheRegisterSyscacheCallback(
                    pg_sys::SysCacheIdentifier::TYPEOID as i32,
                    Some(on_syscache),
                    pg_sys::Datum::from(0),
                );
            }
            *r.borrow_mut() = true;
        }
    });
}

/// Drop everything; the next call reloads.
pub fn invalidate() {
    DIRTY.store(true, Ordering::Relaxed);
}

/// The current state, reloading it first if an invalidation arrived.
pub fn state() -> Result<Rc<RefCell<State>>, GraftError> {
    register_callbacks();
    // Process pending invalidation messages so a change committed by another backend is seen.
    unsafe { pg_sys::AcceptInvalidationMessages() };
    if !DIRTY.swap(false, Ordering::Relaxed) {
        if let Some(s) = STATE.with(|s| s.borrow().clone()) {
            return Ok(s);
        }
    }
    let loaded = (|| {
        let (metadata, _resource_version) = catalog::load_metadata()?;
        let mut db = catalog::load_db_catalog()?;
        catalog::load_enum_values(&metadata, &mut db)?;
        let mut watched: HashSet<u32> = db.tables.iter().map(|t| t.oid).collect();
        watched.insert(catalog::metadata_store_oid()?.to_u32());
        WATCHED.with(|w| *w.borrow_mut() = watched);
        Ok::<_, GraftError>(State {
            metadata: Rc::new(metadata),
            db: Rc::new(db),
            schemas: HashMap::new(),
            compiled: CompileCache::new(COMPILE_CACHE_SIZE),
        })
    })();
    match loaded {
        Ok(st) => {
            let st = Rc::new(RefCell::new(st));
            STATE.with(|s| *s.borrow_mut() = Some(st.clone()));
            Ok(st)
        }
        Err(e) => {
            DIRTY.store(true, Ordering::Relaxed);
            Err(e)
        }
    }
}

impl State {
    /// Key of the schema `role` sees (with or without backend-only mutations).
    pub fn schema_key(role: &str, backend_only: bool) -> String {
        if backend_only {
            format!("{role}\u{0}backend_only")
        } else {
            role.to_string()
        }
    }

    /// The schema `role` sees (with backend-only mutations when asked), built on first use.
    pub fn schema(&mut self, role: &str, backend_only: bool) -> Rc<Schema> {
        let key = Self::schema_key(role, backend_only);
        if let Some(s) = self.schemas.get(&key) {
            return s.clone();
        }
        let (schema, _problems) = build_schema_for(&self.metadata, &self.db, role, backend_only);
        let schema = Rc::new(schema);
        self.schemas.insert(key, schema.clone());
        schema
    }
}
