//! Per-table commit counters for change-driven live queries: `graphql.table_versions(oid[])`.
//!
//! The sidecar re-runs a live-query cohort only when a table its query reads has committed a
//! change since the cohort's last run. It asks `graphql.table_versions(tables oid[]) → bigint[]`
//! for the tables, runs the query in a LATER statement, and keeps the versions; next poll, equal
//! versions mean no transaction writing those tables committed in between (modulo hash
//! collisions, which only ever report "changed"). NULL means change tracking is unavailable
//! (graft not in `shared_preload_libraries`, `graft.change_tracking = off`, a standby): poll as
//! before.
//!
//! How (only with `shared_preload_libraries = 'graft'`):
//! * Shared memory holds [`SLOTS`] counters indexed by a hash of (database, relation) plus one
//!   global counter; the arithmetic is `graft_compiler::change_slots`.
//! * A backend remembers the relations its statements write: the result relations (also tuple
//!   routing targets) of every executor run (ExecutorEnd: INSERT/UPDATE/DELETE/MERGE, also in
//!   SPI, functions, triggers, FK cascades, data-modifying CTEs), the target of COPY FROM and
//!   REFRESH MATERIALIZED VIEW (ProcessUtility), every table TRUNCATE empties (the object
//!   access hook's OAT_TRUNCATE, which also sees CASCADE and partitions).
//! * At pre-commit the set is completed with the ancestors of written partitions (a read of
//!   the parent sees a write to a child) and turned into slots; at commit each slot is bumped.
//!   An abort or PREPARE forgets the set, a subtransaction's abort what it added. `COMMIT PREPARED` bumps the global counter, which is
//!   part of every version: it cannot know what the prepared transaction wrote.
//!
//! Not seen: logical replication apply workers (they write without the executor hooks),
//! classic (non-partition) inheritance — a write to a child does not change the parent's
//! version —, large objects, DDL that changes what a table returns (ALTER TABLE … ATTACH /
//! DETACH PARTITION, DROP of a partition, ALTER COLUMN TYPE rewrites), changes made on the
//! remote side of a foreign table, and extensions writing heap tuples directly. Writes count on
//! the tables written: a write through an auto-updatable view counts on its base table, so a
//! poller reading a view (or a function) asks for the tables behind it.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use graft_compiler::change_slots::{self, SLOTS};
use pgrx::pg_sys::ffi::pg_guard_ffi_boundary;
use pgrx::prelude::*;
use pgrx::{pg_shmem_init, PGRXSharedMemory, PgAtomic};

use crate::guc;

/// The shared counters (every field only ever grows).
#[repr(C)]
pub struct Counters {
    /// The value every counter started from (see `change_slots::start_value`).
    start: AtomicU64,
    /// Bumped by every `COMMIT PREPARED`; part of every version.
    global: AtomicU64,
    slots: [AtomicU64; SLOTS],
}

// SAFETY: plain atomics, no pointers: valid in every process that maps the segment.
unsafe impl PGRXSharedMemory for Counters {}

impl Counters {
    /// Called once per shared-memory initialisation (server start, crash restart).
    fn starting_now() -> Counters {
        // SAFETY: reads the clock.
        let start = change_slots::start_value(unsafe { pg_sys::GetCurrentTimestamp() });
        Counters {
            start: AtomicU64::new(start),
            global: AtomicU64::new(start),
            slots: std::array::from_fn(|_| AtomicU64::new(start)),
        }
    }
}

static COUNTERS: PgAtomic<Counters> = unsafe { PgAtomic::new(c"graft change counters") };

/// Set by `_PG_init` once the shared memory is requested and the hooks are installed; forked
/// backends inherit it. False in a backend that loaded graft on its own.
static ENABLED: AtomicBool = AtomicBool::new(false);

static mut PREV_EXECUTOR_END: pg_sys::ExecutorEnd_hook_type = None;
static mut PREV_PROCESS_UTILITY: pg_sys::ProcessUtility_hook_type = None;
static mut PREV_OBJECT_ACCESS: pg_sys::object_access_hook_type = None;

/// What the current transaction recorded about a relation it wrote.
struct Written {
    /// The outermost subtransaction that wrote it: the write survives the abort of any
    /// subtransaction nested deeper.
    subxact: pg_sys::SubTransactionId,
    /// Whether it is a partition, when the relcache entry was at hand (else looked up once,
    /// at pre-commit).
    partition: Option<bool>,
}

thread_local! {
    /// Relations the current transaction wrote.
    static WRITTEN: RefCell<HashMap<pg_sys::Oid, Written>> = RefCell::new(HashMap::new());
    /// Slots to bump at commit, computed at pre-commit (no catalog access at commit).
    static TO_BUMP: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
    /// Whether this backend registered its transaction callbacks (on its first write).
    static CALLBACK_REGISTERED: Cell<bool> = const { Cell::new(false) };
}

// Not in pgrx's bindings (catalog/partition.h, catalog/pg_inherits.h): called through
// `pg_guard_ffi_boundary`, as they may raise. And two that are, without pgrx's guard.
mod ffi {
    use pgrx::pg_sys;
    unsafe extern "C-unwind" {
        pub fn get_partition_ancestors(relid: pg_sys::Oid) -> *mut pg_sys::List;
        pub fn find_all_inheritors(
            parent: pg_sys::Oid,
            lockmode: pg_sys::LOCKMODE,
            numparents: *mut *mut pg_sys::List,
        ) -> *mut pg_sys::List;
        // Also bound by pgrx, but guarded there (see the hooks; this one cannot raise).
        pub fn GetCurrentSubTransactionId() -> pg_sys::SubTransactionId;
        pub fn standard_ExecutorEnd(query_desc: *mut pg_sys::QueryDesc);
        #[allow(clippy::too_many_arguments)]
        pub fn standard_ProcessUtility(
            pstmt: *mut pg_sys::PlannedStmt,
            query_string: *const std::ffi::c_char,
            read_only_tree: bool,
            context: pg_sys::ProcessUtilityContext::Type,
            params: pg_sys::ParamListInfo,
            query_env: *mut pg_sys::QueryEnvironment,
            dest: *mut pg_sys::DestReceiver,
            qc: *mut pg_sys::QueryCompletion,
        );
    }
}

/// Called from `_PG_init` while shared_preload_libraries loads.
// pg_shmem_init! tests the features of other PostgreSQL versions.
#[allow(unexpected_cfgs)]
pub fn init() {
    if !guc::change_tracking() {
        return;
    }
    pg_shmem_init!(COUNTERS = Counters::starting_now());
    // SAFETY: the postmaster installs hooks once, before any backend exists; each keeps the
    // previous hook and calls it.
    unsafe {
        PREV_EXECUTOR_END = pg_sys::ExecutorEnd_hook;
        pg_sys::ExecutorEnd_hook = Some(executor_end);
        PREV_PROCESS_UTILITY = pg_sys::ProcessUtility_hook;
        pg_sys::ProcessUtility_hook = Some(process_utility);
        PREV_OBJECT_ACCESS = pg_sys::object_access_hook;
        pg_sys::object_access_hook = Some(object_access);
    }
    ENABLED.store(true, Ordering::Relaxed);
}

// ---------------------------------------------------------------------------------------------
// graphql.table_versions

/// One version per table (NULL for a NULL element): equal between two calls iff no
/// transaction writing the table committed in between (a collision only makes it differ).
/// NULL when change tracking is unavailable. Call it in a statement BEFORE the one that reads
/// the data (READ COMMITTED, or outside the data's transaction): a commit counted here is then
/// visible to the data's snapshot.
#[pg_extern(volatile, strict)]
fn table_versions(tables: Array<pg_sys::Oid>) -> Option<Vec<Option<i64>>> {
    // SAFETY: a plain read of recovery state.
    if !ENABLED.load(Ordering::Relaxed) || unsafe { pg_sys::RecoveryInProgress() } {
        return None;
    }
    let counters = COUNTERS.get();
    let start = counters.start.load(Ordering::Relaxed);
    let global = counters.global.load(Ordering::SeqCst);
    // SAFETY: a backend-global set at connection start.
    let db = unsafe { pg_sys::MyDatabaseId }.to_u32();
    Some(
        tables
            .iter()
            .map(|t| {
                t.map(|oid| {
                    let slot = counters.slots[change_slots::slot_of(db, oid.to_u32())].load(Ordering::SeqCst);
                    change_slots::version(slot, global, start)
                })
            })
            .collect(),
    )
}

// ---------------------------------------------------------------------------------------------
// recording

fn record(oid: pg_sys::Oid, partition: Option<bool>) {
    if oid == pg_sys::InvalidOid {
        return;
    }
    // SAFETY: reads the transaction state (a write happens inside a transaction); cannot raise.
    let subxact = unsafe { ffi::GetCurrentSubTransactionId() };
    WRITTEN.with(|w| {
        let mut w = w.borrow_mut();
        let written = w.entry(oid).or_insert(Written { subxact, partition });
        written.subxact = written.subxact.min(subxact);
        written.partition = written.partition.or(partition);
    });
    if !CALLBACK_REGISTERED.get() {
        // SAFETY: registers callbacks for the rest of this backend's life.
        unsafe {
            pg_sys::RegisterXactCallback(Some(xact_callback), std::ptr::null_mut());
            pg_sys::RegisterSubXactCallback(Some(subxact_callback), std::ptr::null_mut());
        }
        CALLBACK_REGISTERED.set(true);
    }
}

/// Records the relation of every ResultRelInfo of `list`.
///
/// # Safety
/// `list` is NIL or a List of ResultRelInfo pointers.
unsafe fn record_result_relations(list: *mut pg_sys::List) {
    if list.is_null() {
        return;
    }
    // SAFETY: the caller promises the list's shape; relations are open for the executor run.
    unsafe {
        for i in 0..(*list).length as usize {
            let info = (*(*list).elements.add(i)).ptr_value as *mut pg_sys::ResultRelInfo;
            if info.is_null() || (*info).ri_RelationDesc.is_null() {
                continue;
            }
            let rel = (*info).ri_RelationDesc;
            record((*rel).rd_id, Some((*(*rel).rd_rel).relispartition));
        }
    }
}

/// Records the relation `rv` names (after the statement that locked it ran), and every
/// partition of a partitioned table: COPY routes rows to partitions we cannot see from here.
///
/// # Safety
/// `rv` is a valid RangeVar, inside a transaction.
unsafe fn record_range_var(rv: *mut pg_sys::RangeVar) {
    // SAFETY: catalog lookups inside a transaction; the statement holds the table's lock.
    unsafe {
        let oid = pg_sys::RangeVarGetRelidExtended(rv, pg_sys::NoLock as _, pg_sys::RVROption::RVR_MISSING_OK, None, std::ptr::null_mut());
        if oid == pg_sys::InvalidOid {
            return;
        }
        record(oid, None);
        if pg_sys::get_rel_relkind(oid) as u8 == pg_sys::RELKIND_PARTITIONED_TABLE {
            let all = pg_guard_ffi_boundary(|| ffi::find_all_inheritors(oid, pg_sys::NoLock as _, std::ptr::null_mut()));
            for_each_oid(all, |child| record(child, None));
        }
    }
}

/// # Safety
/// `list` is NIL or an OID List.
unsafe fn for_each_oid(list: *mut pg_sys::List, mut f: impl FnMut(pg_sys::Oid)) {
    if list.is_null() {
        return;
    }
    // SAFETY: the caller promises an OID list.
    unsafe {
        for i in 0..(*list).length as usize {
            f((*(*list).elements.add(i)).oid_value);
        }
    }
}

// The hooks themselves are not #[pg_guard]ed and call the next hook (or the standard function)
// through unguarded declarations: an ERROR raised below them must reach Postgres untouched
// (pgrx's catch-and-rethrow would drop its cursor position, constraint name and the like).
// Their frames hold nothing to drop, so Postgres' longjmp may pass them. Only the bookkeeping,
// in #[pg_guard] functions, is Rust that could fail.

unsafe extern "C-unwind" fn executor_end(query_desc: *mut pg_sys::QueryDesc) {
    // SAFETY: the executor passes a started QueryDesc; its EState lives until standard_ExecutorEnd.
    unsafe {
        let estate = (*query_desc).estate;
        // A statement that writes nothing has both lists NIL: a few loads and on.
        if !estate.is_null()
            && (!(*estate).es_opened_result_relations.is_null() || !(*estate).es_tuple_routing_result_relations.is_null())
            && (*estate).es_top_eflags & pg_sys::EXEC_FLAG_EXPLAIN_ONLY as i32 == 0
        {
            record_executor_writes(estate);
        }
        match PREV_EXECUTOR_END {
            Some(prev) => prev(query_desc),
            None => ffi::standard_ExecutorEnd(query_desc),
        }
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn record_executor_writes(estate: *mut pg_sys::EState) {
    // SAFETY: lists of the executor's open ResultRelInfos.
    unsafe {
        record_result_relations((*estate).es_opened_result_relations);
        record_result_relations((*estate).es_tuple_routing_result_relations);
    }
}

#[allow(clippy::too_many_arguments)]
unsafe extern "C-unwind" fn process_utility(
    pstmt: *mut pg_sys::PlannedStmt,
    query_string: *const std::ffi::c_char,
    read_only_tree: bool,
    context: pg_sys::ProcessUtilityContext::Type,
    params: pg_sys::ParamListInfo,
    query_env: *mut pg_sys::QueryEnvironment,
    dest: *mut pg_sys::DestReceiver,
    qc: *mut pg_sys::QueryCompletion,
) {
    // SAFETY: the arguments come from Postgres as they are; the statement tree outlives the call.
    unsafe {
        match PREV_PROCESS_UTILITY {
            Some(prev) => prev(pstmt, query_string, read_only_tree, context, params, query_env, dest, qc),
            None => ffi::standard_ProcessUtility(pstmt, query_string, read_only_tree, context, params, query_env, dest, qc),
        }
        // Only once the statement succeeded (an error aborts what it wrote anyway).
        let node = (*pstmt).utilityStmt;
        if !node.is_null()
            && matches!(
                (*node).type_,
                pg_sys::NodeTag::T_CopyStmt | pg_sys::NodeTag::T_RefreshMatViewStmt | pg_sys::NodeTag::T_TransactionStmt
            )
        {
            record_utility_writes(node);
        }
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn record_utility_writes(node: *mut pg_sys::Node) {
    // SAFETY: `node` is the utility statement that just ran, of the tag matched.
    unsafe {
        match (*node).type_ {
            pg_sys::NodeTag::T_CopyStmt => {
                let copy = node as *mut pg_sys::CopyStmt;
                if (*copy).is_from && !(*copy).relation.is_null() {
                    record_range_var((*copy).relation);
                }
            }
            pg_sys::NodeTag::T_RefreshMatViewStmt => {
                record_range_var((*(node as *mut pg_sys::RefreshMatViewStmt)).relation);
            }
            pg_sys::NodeTag::T_TransactionStmt => {
                let stmt = node as *mut pg_sys::TransactionStmt;
                if (*stmt).kind == pg_sys::TransactionStmtKind::TRANS_STMT_COMMIT_PREPARED {
                    // FinishPreparedTransaction has removed the prepared transaction from the
                    // proc array (its changes are visible to new snapshots) before returning.
                    COUNTERS.get().global.fetch_add(1, Ordering::SeqCst);
                }
            }
            _ => {}
        }
    }
}

unsafe extern "C-unwind" fn object_access(
    access: pg_sys::ObjectAccessType::Type,
    class_id: pg_sys::Oid,
    object_id: pg_sys::Oid,
    sub_id: std::ffi::c_int,
    arg: *mut std::ffi::c_void,
) {
    // SAFETY: passes Postgres's arguments on unchanged.
    unsafe {
        if let Some(prev) = PREV_OBJECT_ACCESS {
            prev(access, class_id, object_id, sub_id, arg);
        }
        // truncate_check_rel calls it for each relation TRUNCATE empties: the named ones, their
        // partitions and children, and with CASCADE the referencing tables.
        if access == pg_sys::ObjectAccessType::OAT_TRUNCATE {
            record_truncate(object_id);
        }
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn record_truncate(relid: pg_sys::Oid) {
    record(relid, None);
}

// ---------------------------------------------------------------------------------------------
// bumping

#[pg_guard]
unsafe extern "C-unwind" fn xact_callback(event: pg_sys::XactEvent::Type, _arg: *mut std::ffi::c_void) {
    use pg_sys::XactEvent::*;
    match event {
        XACT_EVENT_PRE_COMMIT => {
            let slots = slots_of_written();
            TO_BUMP.with(|b| *b.borrow_mut() = slots);
        }
        // CommitTransaction (xact.c, PostgreSQL 15) calls the XACT_EVENT_COMMIT callbacks
        // right AFTER ProcArrayEndTransaction(MyProc, latestXid): by now every new snapshot
        // sees this transaction's changes. So a reader that sees the bumped counter and then
        // takes a snapshot sees the data, and a counter is never bumped for changes that are
        // not yet visible (or that are rolled back). Nothing here may fail: atomics only.
        XACT_EVENT_COMMIT => {
            let counters = COUNTERS.get();
            TO_BUMP.with(|b| {
                for &slot in b.borrow().iter() {
                    counters.slots[slot].fetch_add(1, Ordering::SeqCst);
                }
                b.borrow_mut().clear();
            });
            WRITTEN.with(|w| w.borrow_mut().clear());
        }
        // PREPARE: not visible yet; COMMIT PREPARED bumps the global counter instead.
        XACT_EVENT_ABORT | XACT_EVENT_PREPARE => {
            TO_BUMP.with(|b| b.borrow_mut().clear());
            WRITTEN.with(|w| w.borrow_mut().clear());
        }
        _ => {}
    }
}

/// A rolled-back subtransaction (ROLLBACK TO SAVEPOINT, a plpgsql EXCEPTION block, a failed
/// mutation of graphql.resolve) wrote nothing: forget what it and its children recorded.
/// Subtransaction ids grow: those at least `my_subid` still recorded were started inside it.
#[pg_guard]
unsafe extern "C-unwind" fn subxact_callback(
    event: pg_sys::SubXactEvent::Type,
    my_subid: pg_sys::SubTransactionId,
    _parent_subid: pg_sys::SubTransactionId,
    _arg: *mut std::ffi::c_void,
) {
    if event == pg_sys::SubXactEvent::SUBXACT_EVENT_ABORT_SUB {
        WRITTEN.with(|w| w.borrow_mut().retain(|_, written| written.subxact < my_subid));
    }
}

/// The slots of the written relations and of the ancestors of written partitions (sorted,
/// without duplicates). Runs at pre-commit, where catalog lookups are still allowed.
fn slots_of_written() -> Vec<usize> {
    let written = WRITTEN.with(|w| std::mem::take(&mut *w.borrow_mut()));
    if written.is_empty() {
        return Vec::new();
    }
    // SAFETY: a backend-global set at connection start.
    let db = unsafe { pg_sys::MyDatabaseId }.to_u32();
    let mut slots = Vec::with_capacity(written.len());
    for (&oid, written) in &written {
        slots.push(change_slots::slot_of(db, oid.to_u32()));
        // SAFETY: syscache and pg_inherits lookups inside the committing transaction.
        unsafe {
            if written.partition.unwrap_or_else(|| pg_sys::get_rel_relispartition(oid)) {
                let ancestors = pg_guard_ffi_boundary(|| ffi::get_partition_ancestors(oid));
                for_each_oid(ancestors, |a| slots.push(change_slots::slot_of(db, a.to_u32())));
            }
        }
    }
    slots.sort_unstable();
    slots.dedup();
    slots
}

#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    use pgrx::prelude::*;

    // The pgrx test cluster does not preload graft: no counters, so NULL (poll as before).
    #[pg_test]
    fn table_versions_is_null_without_the_preload() {
        Spi::run("CREATE TABLE change_counters_t (id int)").unwrap();
        let unavailable = Spi::get_one::<bool>(
            "SELECT graphql.table_versions(ARRAY['change_counters_t'::regclass::oid]) IS NULL",
        )
        .unwrap();
        assert_eq!(unavailable, Some(true));
        // STRICT: a NULL array is NULL too.
        let null_in = Spi::get_one::<bool>("SELECT graphql.table_versions(NULL) IS NULL").unwrap();
        assert_eq!(null_in, Some(true));
    }
}
