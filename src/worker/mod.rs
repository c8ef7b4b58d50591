//! The event worker: delivers event-trigger events, cron events and one-off scheduled events.
//!
//! With `shared_preload_libraries = 'graft'`, a launcher starts one worker per database of
//! `graft.event_databases` (and stops or starts workers when a reload changes the list). Each
//! worker loops: claim a batch of due events (one short transaction), call the webhooks
//! concurrently on a thread pool ([`http`]), record every attempt and its outcome (a second
//! short transaction). An event is marked delivered only after a 2xx, so a crash anywhere
//! means a redelivery, never a loss.

mod http;
mod run;
mod store;

use std::collections::HashMap;
use std::time::Duration;

use pgrx::bgworkers::{BackgroundWorker, BackgroundWorkerBuilder, BgWorkerStartTime, DynamicBackgroundWorker, SignalWakeFlags};
use pgrx::prelude::*;

use crate::guc;

const LIBRARY: &str = "graft";

/// Called from `_PG_init` while shared_preload_libraries loads: registers the launcher.
pub fn register_launcher() {
    BackgroundWorkerBuilder::new("graft event launcher")
        .set_type("graft event launcher")
        .set_library(LIBRARY)
        .set_function("graft_event_launcher_main")
        .enable_shmem_access(None)
        .set_start_time(BgWorkerStartTime::RecoveryFinished)
        .set_restart_time(Some(Duration::from_secs(5)))
        .load();
}

/// Keeps one worker per listed database running.
#[pg_guard]
#[unsafe(no_mangle)]
pub extern "C-unwind" fn graft_event_launcher_main(_arg: pg_sys::Datum) {
    BackgroundWorker::attach_signal_handlers(SignalWakeFlags::SIGHUP | SignalWakeFlags::SIGTERM);
    log!("graft event launcher started; databases: {:?}", guc::event_databases());
    let mut workers: HashMap<String, DynamicBackgroundWorker> = HashMap::new();
    loop {
        reconcile(&mut workers);
        if !BackgroundWorker::wait_latch(Some(Duration::from_secs(1))) {
            break;
        }
        if BackgroundWorker::sighup_received() {
            // SAFETY: called on the main thread between statements, as Postgres does.
            unsafe { pg_sys::ProcessConfigFile(pg_sys::GucContext::PGC_SIGHUP) };
            log!("graft event launcher reloaded; databases: {:?}", guc::event_databases());
        }
    }
}

/// Start workers for listed databases that have none (or whose worker exited), stop those of
/// databases no longer listed.
fn reconcile(workers: &mut HashMap<String, DynamicBackgroundWorker>) {
    let wanted = guc::event_databases();
    let exited: Vec<String> = workers
        .iter()
        .filter(|(_, w)| matches!(w.pid(), Err(pgrx::bgworkers::BackgroundWorkerStatus::Stopped)))
        .map(|(db, _)| db.clone())
        .collect();
    for db in exited {
        workers.remove(&db);
    }
    let unwanted: Vec<String> = workers.keys().filter(|db| !wanted.contains(db)).cloned().collect();
    for db in unwanted {
        if let Some(w) = workers.remove(&db) {
            log!("graft: stopping the event worker of database {db:?} (no longer in graft.event_databases)");
            // The postmaster sends it SIGTERM; it exits between rounds.
            let _terminating = w.terminate();
        }
    }
    for db in wanted {
        if workers.contains_key(&db) || db.len() >= 64 {
            continue;
        }
        let started = BackgroundWorkerBuilder::new(&format!("graft event worker {db}"))
            .set_type("graft event worker")
            .set_library(LIBRARY)
            .set_function("graft_event_worker_main")
            .enable_spi_access()
            .set_start_time(BgWorkerStartTime::RecoveryFinished)
            // Never restarted by the postmaster: this launcher restarts it, so there is never
            // more than one per database, also after a crash-restart of the cluster.
            .set_restart_time(None)
            .set_extra(&db)
            // SAFETY: reading this process's pid.
            .set_notify_pid(unsafe { pg_sys::MyProcPid })
            .load_dynamic();
        match started {
            Ok(w) => {
                workers.insert(db, w);
            }
            Err(_) => warning!("graft: could not start the event worker of database {db:?} (max_worker_processes reached?)"),
        }
    }
}

/// One database's worker.
#[pg_guard]
#[unsafe(no_mangle)]
pub extern "C-unwind" fn graft_event_worker_main(_arg: pg_sys::Datum) {
    BackgroundWorker::attach_signal_handlers(SignalWakeFlags::SIGHUP | SignalWakeFlags::SIGTERM);
    let db = BackgroundWorker::get_extra().to_string();
    BackgroundWorker::connect_worker_to_spi(Some(&db), None);
    log!("graft event worker started for database {db:?}");
    run::main_loop(&db);
    log!("graft event worker for database {db:?} stopped");
}
