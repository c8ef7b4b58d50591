//! The per-backend cache: metadata, database catalog (with the rows of enum tables), each
//! role's GraphQL schema, and the requests compiled against those schemas.
//!
//! Steady state costs nothing: a request reads the cache without any query. Freshness comes
//! from Postgres' own invalidation messages, which every backend processes at transaction start
//! and lock acquisition:
//!
//! * a relcache callback fires for DDL on any relation (ALTER TABLE, DROP TABLE, new
//!   constraints …) and for `graphql.metadata_store`, which `graphql.metadata()` invalidates
//!   explicitly when it stores new metadata ([`invalidate_everywhere`]);
//! * syscache callbacks fire for functions (`PROCOID`), types (`TYPEOID`), enum labels
//!   (`ENUMOID`) and schemas (`NAMESPACEOID`).
//!
//! Callbacks only set a flag (they run in the middle of catalog operations and must not do
//! anything else). Relation and syscache invalidations for objects the catalog does not mention
//! are ignored, so churn elsewhere (temporary tables in other sessions) costs nothing. When the
//! flag is up, the next request re-reads the metadata version, the catalog and the enum tables'
//! rows (three queries at most); schemas and compiled requests are dropped only if one of them
//! really changed.
//!
//! Deliberately not covered: a new relation the metadata does not name cannot appear in any
//! schema, so creating one does not reload (tracking it writes metadata, which does; and while
//! the metadata names objects the database lacks, every relation invalidation counts).
//! `COMMENT ON` sends no invalidation at all: new comments appear after the next other change
//! or `graphql.reload()`. Nor do row changes in an enum table: as in Hasura, new values appear
//! after a `reload_metadata` request (which invalidates every backend) or `graphql.reload()`.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::panic::AssertUnwindSafe;
use std::rc::Rc;

use graft_compiler::request::cache::CompileCache;
use graft_compiler::request::template::Template;
use graft_compiler::request::{Compiled, Limits, Session};
use graft_compiler::schema::build::build_schema_for;
use graft_compiler::{DbCatalog, GqlError, Metadata, Schema};
use pgrx::pg_sys;
use serde_json::Value;

use crate::catalog;
use crate::errors::{panic_message, GraftError, Result};
use crate::metadata_store::{self, StoreTable};

/// More roles than this and the schema map starts over: role names come from requests, and a
/// caller inventing role names must not grow a backend's memory without bound.
const MAX_CACHED_ROLES: usize = 256;

/// Compiled requests kept per backend (see [`CompileCache`]).
const COMPILE_CACHE_SIZE: usize = 1024;

/// A role's schema is built with or without its backend-only mutation permissions
/// (`x-hasura-use-backend-only-permissions: true`): two different schemas.
type SchemaKey = (String, bool);

/// The cached state of one backend.
struct Cache {
    store: StoreTable,
    resource_version: i64,
    metadata: Rc<Metadata>,
    catalog: Rc<DbCatalog>,
    catalog_text: String,
    schemas: HashMap<SchemaKey, Rc<Schema>>,
    /// Requests compiled against `schemas`; dropped with them.
    compiled: CompileCache,
    /// A schema build reported metadata objects the database lacks.
    inconsistent: bool,
}

/// What the invalidation callbacks compare against. Kept apart from [`Cache`] so a callback
/// never needs to borrow the cache (it may fire while the cache is being rebuilt).
#[derive(Default)]
struct Watched {
    relids: HashSet<pg_sys::Oid>,
    type_hashes: HashSet<u32>,
    proc_hashes: HashSet<u32>,
    /// The metadata names objects the database lacks: any new relation may be one of them.
    all_relations: bool,
}

thread_local! {
    static CACHE: RefCell<Option<Cache>> = const { RefCell::new(None) };
    static WATCHED: RefCell<Watched> = RefCell::new(Watched::default());
    static DIRTY: Cell<bool> = const { Cell::new(true) };
    static CALLBACKS_REGISTERED: Cell<bool> = const { Cell::new(false) };
    /// Bumped whenever the schemas and compiled requests are dropped: what a cache of things
    /// derived from them (the live-query memo) compares to know it must start over.
    static GENERATION: Cell<u64> = const { Cell::new(0) };
}

/// The current generation of schemas (see `GENERATION`); changes only inside [`snapshot`],
/// [`schema_for`] and [`reset`].
pub fn generation() -> u64 {
    GENERATION.get()
}

fn next_generation() {
    GENERATION.set(GENERATION.get().wrapping_add(1));
}

/// A consistent view of the cache for one request.
pub struct Snapshot {
    pub resource_version: i64,
    pub metadata: Rc<Metadata>,
    pub catalog: Rc<DbCatalog>,
}

/// The schema `role` sees, building (and caching) it if needed. `backend_only`: with the
/// role's backend-only insert/update/delete permissions (Hasura exposes those only to requests
/// carrying `x-hasura-use-backend-only-permissions: true`).
pub fn schema_for(role: &str, backend_only: bool) -> Result<Rc<Schema>> {
    let Snapshot {
        metadata, catalog, ..
    } = snapshot()?;
    let key: SchemaKey = (role.to_string(), backend_only);
    if let Some(s) = CACHE.with_borrow(|c| c.as_ref().and_then(|c| c.schemas.get(&key).cloned())) {
        return Ok(s);
    }
    // The compiler is pure Rust: a bug there is a panic, which must become an error response
    // rather than an ERROR (or worse) in the caller's transaction.
    let (schema, inconsistencies) = std::panic::catch_unwind(AssertUnwindSafe(|| {
        build_schema_for(&metadata, &catalog, role, backend_only)
    }))
    .map_err(|p| {
        GraftError::Internal(format!("schema builder panicked: {}", panic_message(&*p)))
    })?;
    let inconsistent = !inconsistencies.is_empty();
    if inconsistent {
        WATCHED.with_borrow_mut(|w| w.all_relations = true);
    }
    let schema = Rc::new(schema);
    CACHE.with_borrow_mut(|c| {
        if let Some(c) = c.as_mut() {
            c.inconsistent |= inconsistent;
            if c.schemas.len() >= MAX_CACHED_ROLES {
                c.schemas.clear();
            }
            c.schemas.insert(key, schema.clone());
        }
    });
    Ok(schema)
}

/// Compile a request against `schema` (what [`schema_for`] just returned for `role` and
/// `backend_only`), through the backend's cache of compiled requests: a repeated request skips
/// parsing, validation and SQL generation. Pure Rust, no Postgres call: the cache cannot change
/// between `schema_for` and this.
#[allow(clippy::too_many_arguments)]
pub fn compile(
    schema: &Schema,
    role: &str,
    backend_only: bool,
    query: &str,
    variables: Option<&Value>,
    operation_name: Option<&str>,
    session: &Session,
    limits: &Limits,
) -> std::result::Result<Compiled, GqlError> {
    let schema_key = compile_schema_key(role, backend_only);
    CACHE.with_borrow_mut(|c| match c.as_mut() {
        Some(c) => c.compiled.compile(
            &schema_key,
            schema,
            query,
            variables,
            operation_name,
            session,
            limits,
        ),
        None => graft_compiler::request::compile(
            schema,
            query,
            variables,
            operation_name,
            session,
            limits,
        ),
    })
}

/// [`compile`], and the template of the request's shape (see
/// `CompileCache::compile_with_template`): what a multiplexed live query is planned from.
#[allow(clippy::too_many_arguments)]
pub fn compile_with_template(
    schema: &Schema,
    role: &str,
    backend_only: bool,
    query: &str,
    variables: Option<&Value>,
    operation_name: Option<&str>,
    session: &Session,
    limits: &Limits,
) -> std::result::Result<(Compiled, Option<Template>), GqlError> {
    let schema_key = compile_schema_key(role, backend_only);
    CACHE.with_borrow_mut(|c| match c.as_mut() {
        Some(c) => c.compiled.compile_with_template(&schema_key, schema, query, variables, operation_name, session, limits),
        None => graft_compiler::request::template::compile(schema, query, variables, operation_name, session, limits)
            .map(|(compiled, _, template)| (compiled, template)),
    })
}

/// The compile cache's name for a schema: whether backend-only permissions are in it, then
/// the role. A fixed-width prefix: no role name (which may hold any character) can pass for
/// another role's schema.
fn compile_schema_key(role: &str, backend_only: bool) -> String {
    format!("{}:{role}", if backend_only { 'b' } else { 'r' })
}

/// Number of compiled requests this backend keeps (for tests).
pub fn compiled_count() -> usize {
    CACHE.with_borrow(|c| c.as_ref().map(|c| c.compiled.len()).unwrap_or(0))
}

/// The cached metadata and catalog.
pub fn snapshot() -> Result<Snapshot> {
    ensure_fresh()?;
    CACHE.with_borrow(|c| {
        c.as_ref()
            .map(|c| Snapshot {
                resource_version: c.resource_version,
                metadata: c.metadata.clone(),
                catalog: c.catalog.clone(),
            })
            .ok_or_else(|| GraftError::Internal("the cache is empty after a reload".into()))
    })
}

/// Drop everything this backend cached (`graphql.reload()`).
pub fn reset() {
    next_generation();
    CACHE.with_borrow_mut(|c| *c = None);
    WATCHED.with_borrow_mut(|w| *w = Watched::default());
    DIRTY.set(true);
}

/// Mark this backend's cache stale (after it wrote metadata: the relcache message it queued
/// reaches this backend only at the next command boundary).
pub fn mark_dirty() {
    DIRTY.set(true);
}

/// Tell every backend, this one included, that the metadata changed. Delivered at commit, so
/// other sessions never see metadata their snapshot cannot see; dropped on rollback.
pub fn invalidate_everywhere(store: StoreTable) {
    // SAFETY: queues a shared-invalidation message; valid inside a transaction, which every
    // SQL-callable function runs in.
    unsafe { pg_sys::CacheInvalidateRelcacheByRelid(store.relid) };
    mark_dirty();
}

/// Whether the cache would be rebuilt by the next request (for tests).
pub fn is_dirty() -> bool {
    DIRTY.get()
}

fn ensure_fresh() -> Result<()> {
    register_callbacks();
    if !DIRTY.get() && CACHE.with_borrow(|c| c.is_some()) {
        return Ok(());
    }
    // Lower the flag before reading: an invalidation arriving while we read raises it again,
    // and the next request reloads once more. Reading first and lowering after could lose it.
    DIRTY.set(false);
    match reload() {
        Ok(()) => Ok(()),
        Err(e) => {
            DIRTY.set(true);
            Err(e)
        }
    }
}

fn reload() -> Result<()> {
    let store = metadata_store::locate()?;
    let known_version = CACHE.with_borrow(|c| {
        c.as_ref()
            .filter(|c| c.store.relid == store.relid)
            .map(|c| c.resource_version)
    });
    let stored = metadata_store::read(store, known_version)?;
    let mut loaded = catalog::load()?;
    // The enum tables' rows, per the metadata in force: the new one, or the cached one.
    let cached_metadata = CACHE.with_borrow(|c| c.as_ref().map(|c| c.metadata.clone()));
    let metadata_now = match (&stored.metadata, &cached_metadata) {
        (Some(m), _) => m,
        (None, Some(m)) => &**m,
        (None, None) => {
            return Err(GraftError::Internal(
                "metadata_store::read skipped the metadata of an empty cache".into(),
            ))
        }
    };
    loaded.catalog.enum_values = catalog::load_enum_values(metadata_now, &loaded.catalog)?;
    update_watched(store, &loaded);

    CACHE.with_borrow_mut(|slot| match (slot.as_mut(), stored.metadata) {
        // Same metadata version, same catalog, same enum values: the invalidation was about
        // something that does not show in the GraphQL schema (ANALYZE, an index, a trigger …).
        // Keep the schemas.
        (Some(c), None)
            if c.catalog_text == loaded.text
                && c.catalog.enum_values == loaded.catalog.enum_values =>
        {
            c.store = store;
            WATCHED.with_borrow_mut(|w| w.all_relations = c.inconsistent);
            Ok(())
        }
        // Metadata unchanged, catalog changed: keep the parsed metadata, rebuild schemas.
        (Some(c), None) => {
            c.store = store;
            c.catalog = Rc::new(loaded.catalog);
            c.catalog_text = loaded.text;
            c.schemas.clear();
            c.compiled = CompileCache::new(COMPILE_CACHE_SIZE);
            c.inconsistent = false;
            next_generation();
            Ok(())
        }
        (_, Some(metadata)) => {
            next_generation();
            *slot = Some(Cache {
                store,
                resource_version: stored.resource_version,
                metadata: Rc::new(metadata),
                catalog: Rc::new(loaded.catalog),
                catalog_text: loaded.text,
                schemas: HashMap::new(),
                compiled: CompileCache::new(COMPILE_CACHE_SIZE),
                inconsistent: false,
            });
            Ok(())
        }
        // `read` returns no metadata only when told which version we hold, which needs a cache.
        (None, None) => Err(GraftError::Internal(
            "metadata_store::read skipped the metadata of an empty cache".into(),
        )),
    })
}

fn update_watched(store: StoreTable, loaded: &catalog::LoadedCatalog) {
    let mut relids: HashSet<pg_sys::Oid> = loaded.relids.iter().copied().collect();
    relids.insert(store.relid);
    let type_hashes = loaded
        .typoids
        .iter()
        .map(|o| syscache_hash(pg_sys::SysCacheIdentifier::TYPEOID, *o))
        .collect();
    let proc_hashes = loaded
        .procoids
        .iter()
        .map(|o| syscache_hash(pg_sys::SysCacheIdentifier::PROCOID, *o))
        .collect();
    // `all_relations` is raised again by `schema_for` if the metadata still has objects the
    // database lacks.
    WATCHED.with_borrow_mut(|w| {
        *w = Watched {
            relids,
            type_hashes,
            proc_hashes,
            all_relations: false,
        }
    });
}

/// The hash a syscache invalidation message carries for the entry keyed by `oid`.
fn syscache_hash(cache: pg_sys::SysCacheIdentifier::Type, oid: pg_sys::Oid) -> u32 {
    // SAFETY: computes a hash from the key using the cache's hash functions; the catalog caches
    // are initialized inside a transaction, where this runs.
    unsafe {
        pg_sys::GetSysCacheHashValue(
            cache as i32,
            pg_sys::Datum::from(oid),
            0.into(),
            0.into(),
            0.into(),
        )
    }
}

fn register_callbacks() {
    if CALLBACKS_REGISTERED.get() {
        return;
    }
    // SAFETY: registers static functions in Postgres' per-backend callback arrays; they live as
    // long as the backend (there is no unregister, hence the once-per-backend flag).
    unsafe {
        pg_sys::CacheRegisterRelcacheCallback(
            Some(on_relcache_invalidation),
            pg_sys::Datum::from(0),
        );
        for cache in [
            pg_sys::SysCacheIdentifier::PROCOID,
            pg_sys::SysCacheIdentifier::TYPEOID,
            pg_sys::SysCacheIdentifier::ENUMOID,
            pg_sys::SysCacheIdentifier::NAMESPACEOID,
        ] {
            pg_sys::CacheRegisterSyscacheCallback(
                cache as i32,
                Some(on_syscache_invalidation),
                pg_sys::Datum::from(0),
            );
        }
    }
    CALLBACKS_REGISTERED.set(true);
}

/// `relid` is `InvalidOid` when everything must be dropped (sinval queue overflow).
#[pgrx::pg_guard]
unsafe extern "C-unwind" fn on_relcache_invalidation(_arg: pg_sys::Datum, relid: pg_sys::Oid) {
    if DIRTY.get() {
        return;
    }
    let relevant = relid == pg_sys::InvalidOid
        || WATCHED.with(|w| match w.try_borrow() {
            Ok(w) => w.all_relations || w.relids.contains(&relid),
            Err(_) => true,
        });
    if relevant {
        DIRTY.set(true);
    }
}

/// `hashvalue` is 0 when the whole cache is reset.
#[pgrx::pg_guard]
unsafe extern "C-unwind" fn on_syscache_invalidation(
    _arg: pg_sys::Datum,
    cacheid: i32,
    hashvalue: u32,
) {
    if DIRTY.get() {
        return;
    }
    let relevant = hashvalue == 0
        || WATCHED.with(|w| match w.try_borrow() {
            Ok(w) => match cacheid as pg_sys::SysCacheIdentifier::Type {
                pg_sys::SysCacheIdentifier::TYPEOID => w.type_hashes.contains(&hashvalue),
                pg_sys::SysCacheIdentifier::PROCOID => w.proc_hashes.contains(&hashvalue),
                _ => true,
            },
            Err(_) => true,
        });
    if relevant {
        DIRTY.set(true);
    }
}
