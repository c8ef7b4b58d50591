//! Live queries: N subscribers over U users, a writer updating one row at a time, and the
//! commit -> client latency of every write for every subscriber of its user.
//!
//! Rows carry the write that last touched them in `title` (`w<seq>`), so a subscriber can
//! tell which write a message shows. A later write to the same row may reach a subscriber
//! first (both fell in one refetch): the earlier write then counts as delivered with that
//! message, since the state it is part of is what the client sees.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use tokio::sync::{watch, Semaphore};

use crate::socket::{self, envelope};
use crate::{now_ns, procstat, Common, Rng};

pub const QUERY: &str = "subscription { todo(where: {done: {_eq: false}}, order_by: {id: asc}) { id title done updated_at } }";

struct Cfg {
    common: Common,
    users: usize,
    rows: usize,
}

#[derive(Default)]
struct Counters {
    ready: AtomicUsize,
    failed: AtomicUsize,
    messages: AtomicU64,
}

/// What one subscriber saw.
#[derive(Default)]
struct Seen {
    user: usize,
    /// (row index within the user's rows, seq shown, receive time ns), in arrival order.
    deliveries: Vec<(u16, u32, u64)>,
    /// Rows of another user in a message.
    foreign_rows: u64,
    /// Messages whose row count was not the user's row count.
    wrong_count: u64,
    /// A row going back to an older write.
    regressions: u64,
    ready: bool,
    first_result_ms: f64,
    error: Option<String>,
}

/// One write, as the writer saw it commit.
#[derive(Clone, Copy)]
struct Write {
    seq: u32,
    user: u32,
    row: u16,
    commit_ns: u64,
}

pub async fn run(common: Common, args: &crate::args::Args) -> Result<(), String> {
    let cfg = Arc::new(Cfg { users: args.num("users", 1000)?, rows: args.num("rows", 5)?, common });
    let subscribers: usize = args.num("subscribers", 1000)?;
    let states = args.states()?;
    let warmup: u64 = args.num("warmup", 5)?;
    let grace: u64 = args.num("grace", 3)?;
    if cfg.rows == 0 || cfg.rows > u16::MAX as usize || cfg.users == 0 {
        return Err("--rows must be 1..65535 and --users at least 1".into());
    }
    let db = crate::connect_pg(&cfg.common.pg).await?;
    // Every run starts from write 0 on every row.
    db.execute("UPDATE todo SET title = 'w0' WHERE title IS DISTINCT FROM 'w0'", &[]).await.map_err(|e| format!("reset titles: {e}"))?;
    let max_id: i64 = db.query_one("SELECT coalesce(max(id), 0) FROM todo", &[]).await.map_err(|e| e.to_string())?.get(0);
    if max_id < (cfg.users * cfg.rows) as i64 {
        return Err(format!("todo has ids up to {max_id}: fewer than --users x --rows"));
    }

    let sidecar = cfg.common.sidecar_pid;
    let rss_before = sidecar.map_or(0, procstat::rss_kb);
    crate::progress(&format!("{}: opening {subscribers} sockets ({} at a time), sidecar RSS {} kB", cfg.common.label, cfg.common.connect_concurrency, rss_before));
    let counters = Arc::new(Counters::default());
    let gate = Arc::new(Semaphore::new(cfg.common.connect_concurrency));
    let (stop_tx, stop_rx) = watch::channel(false);
    let t_connect = now_ns();
    let tasks: Vec<_> = (0..subscribers).map(|i| tokio::spawn(subscriber(cfg.clone(), i, gate.clone(), counters.clone(), stop_rx.clone()))).collect();
    loop {
        let done = counters.ready.load(Ordering::Relaxed) + counters.failed.load(Ordering::Relaxed);
        if done >= subscribers {
            break;
        }
        if now_ns() - t_connect > 600_000_000_000 {
            return Err(format!("only {done} of {subscribers} sockets subscribed after 600 s"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let connect_s = (now_ns() - t_connect) as f64 / 1e9;
    let failed = counters.failed.load(Ordering::Relaxed);
    crate::progress(&format!("{}: {} subscribed in {connect_s:.1} s, {failed} failed", cfg.common.label, subscribers - failed));
    // Let the subscribe burst's allocations settle before reading the sidecar's memory.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_after = sidecar.map_or(0, procstat::rss_kb);
    crate::emit(json!({
        "kind": "connect", "label": cfg.common.label, "subscribers": subscribers, "failed": failed, "connect_s": connect_s,
        "sidecar_rss_before_kb": rss_before, "sidecar_rss_after_kb": rss_after,
        "sidecar_bytes_per_subscriber": if subscribers > 0 { (rss_after.saturating_sub(rss_before) as f64 * 1024.0 / subscribers as f64).round() } else { 0.0 },
    }));

    let writes: Arc<Mutex<Vec<Write>>> = Arc::default();
    let mut rng = Rng::new(cfg.common.seed);
    // Users in a shuffled cycle: every subscribed user is written before any is written twice.
    let subscribed_users = cfg.users.min(subscribers.max(1));
    let mut order: Vec<u32> = (1..=subscribed_users as u32).collect();
    rng.shuffle(&mut order);
    let picker = Arc::new(Mutex::new((rng, order, 0usize)));
    let seq = Arc::new(AtomicU64::new(0));
    let (mut windows, mut lines) = (Vec::new(), Vec::new());
    for (k, &(rate, secs)) in states.iter().enumerate() {
        let writer = (rate > 0).then(|| {
            tokio::spawn(writer(cfg.common.pg.clone(), rate, Duration::from_secs(warmup + secs), cfg.rows, picker.clone(), seq.clone(), writes.clone()))
        });
        crate::progress(&format!("{}: state {} ({rate} writes/s): {warmup} s warm-up, {secs} s measured", cfg.common.label, k + 1));
        tokio::time::sleep(Duration::from_secs(warmup)).await;
        let sample = Sample::take(&cfg.common);
        let msgs0 = counters.messages.load(Ordering::Relaxed);
        tokio::time::sleep(Duration::from_secs(secs)).await;
        let end = Sample::take(&cfg.common);
        let msgs = counters.messages.load(Ordering::Relaxed) - msgs0;
        let rss = sidecar.map_or(0, procstat::rss_kb);
        if let Some(w) = writer {
            w.await.map_err(|e| e.to_string())??;
        }
        tokio::time::sleep(Duration::from_secs(grace)).await;
        windows.push((rate, sample.t, end.t));
        let mut line = sample.report(&end);
        line.insert("kind".into(), json!("state"));
        line.insert("label".into(), json!(cfg.common.label));
        line.insert("state".into(), json!(k + 1));
        line.insert("rate".into(), json!(rate));
        line.insert("seconds".into(), json!(secs));
        line.insert("messages".into(), json!(msgs));
        line.insert("sidecar_rss_kb".into(), json!(rss));
        lines.push(line);
    }
    let _ = stop_tx.send(true);
    let mut seen = Vec::with_capacity(subscribers);
    for t in tasks {
        seen.push(t.await.map_err(|e| e.to_string())?);
    }
    let writes = writes.lock().unwrap().clone();
    for (mut line, (_, from, to)) in lines.into_iter().zip(windows) {
        let l = latencies(&cfg, &seen, &writes, from, to);
        for (k, v) in l {
            line.insert(k, v);
        }
        crate::emit(serde_json::Value::Object(line));
    }
    crate::emit(correctness(&cfg, &seen, &writes));
    Ok(())
}

/// CPU counters at one moment.
pub struct Sample {
    pub t: u64,
    pg: std::collections::HashMap<u32, u64>,
    sidecar: std::collections::HashMap<u32, u64>,
    client: std::collections::HashMap<u32, u64>,
    machine: (u64, u64),
}

impl Sample {
    pub fn take(c: &Common) -> Sample {
        Sample {
            t: now_ns(),
            pg: c.postmaster_pid.map(|p| procstat::ticks(p, true)).unwrap_or_default(),
            sidecar: c.sidecar_pid.map(|p| procstat::ticks(p, false)).unwrap_or_default(),
            client: procstat::ticks(std::process::id(), false),
            machine: procstat::machine(),
        }
    }

    /// CPU use between two samples, in % of one core (the machine's in % of all of it).
    pub fn report(&self, end: &Sample) -> serde_json::Map<String, serde_json::Value> {
        let secs = (end.t - self.t) as f64 / 1e9;
        let pct = |a: &std::collections::HashMap<u32, u64>, b: &std::collections::HashMap<u32, u64>| {
            (procstat::delta(a, b) as f64 / procstat::TICKS_PER_SECOND / secs * 1000.0).round() / 10.0
        };
        let (busy, total) = (end.machine.0 - self.machine.0, end.machine.1 - self.machine.1);
        let mut m = serde_json::Map::new();
        m.insert("window_s".into(), json!((secs * 100.0).round() / 100.0));
        m.insert("pg_cpu_pct".into(), json!(pct(&self.pg, &end.pg)));
        m.insert("pg_processes".into(), json!(end.pg.len()));
        m.insert("sidecar_cpu_pct".into(), json!(pct(&self.sidecar, &end.sidecar)));
        m.insert("client_cpu_pct".into(), json!(pct(&self.client, &end.client)));
        m.insert("machine_busy_pct".into(), json!(if total > 0 { (busy as f64 / total as f64 * 1000.0).round() / 10.0 } else { 0.0 }));
        m
    }
}

async fn subscriber(cfg: Arc<Cfg>, i: usize, gate: Arc<Semaphore>, counters: Arc<Counters>, mut stop: watch::Receiver<bool>) -> Seen {
    let user = i % cfg.users + 1;
    let mut seen = Seen { user, ..Seen::default() };
    let permit = gate.acquire().await;
    let t0 = now_ns();
    let headers = json!({"x-hasura-admin-secret": cfg.common.admin_secret, "x-hasura-role": "user", "x-hasura-user-id": user.to_string()});
    let mut ws = match socket::open(&cfg.common.url, headers).await {
        Ok(ws) => ws,
        Err(e) => {
            seen.error = Some(e);
            counters.failed.fetch_add(1, Ordering::Relaxed);
            return seen;
        }
    };
    if let Err(e) = socket::subscribe(&mut ws, "1", QUERY).await {
        seen.error = Some(e);
        counters.failed.fetch_add(1, Ordering::Relaxed);
        return seen;
    }
    let mut permit = Some(permit);
    let first_row = ((user - 1) * cfg.rows + 1) as i64;
    let mut last = vec![0u32; cfg.rows];
    loop {
        let text = match socket::next_text(&mut ws, &mut stop).await {
            Ok(Some(t)) => t,
            Ok(None) => break,
            Err(e) => {
                seen.error = Some(e);
                break;
            }
        };
        let recv = now_ns();
        let Some(env) = envelope(text.as_str()) else {
            seen.error = Some(format!("not JSON: {}", socket::short(text.as_str())));
            break;
        };
        match env.ty.as_ref() {
            "next" => {}
            "ping" => {
                if !cfg.common.no_pong {
                    if let Err(e) = socket::pong(&mut ws).await {
                        seen.error = Some(e);
                        break;
                    }
                }
                continue;
            }
            "pong" => continue,
            _ => {
                seen.error = Some(format!("unexpected message: {}", socket::short(text.as_str())));
                break;
            }
        }
        counters.messages.fetch_add(1, Ordering::Relaxed);
        let rows = match socket::rows(env.payload) {
            Ok(r) => r,
            Err(e) => {
                seen.error = Some(e);
                break;
            }
        };
        if rows.len() != cfg.rows {
            seen.wrong_count += 1;
        }
        for r in &rows {
            let idx = r.id - first_row;
            if idx < 0 || idx >= cfg.rows as i64 {
                seen.foreign_rows += 1;
                continue;
            }
            let s: u32 = r.title.as_deref().and_then(|t| t.strip_prefix('w')).and_then(|n| n.parse().ok()).unwrap_or(0);
            let l = &mut last[idx as usize];
            if s > *l {
                seen.deliveries.push((idx as u16, s, recv));
                *l = s;
            } else if s < *l {
                seen.regressions += 1;
                *l = s;
            }
        }
        if permit.is_some() {
            permit = None;
            seen.ready = true;
            seen.first_result_ms = (recv - t0) as f64 / 1e6;
            counters.ready.fetch_add(1, Ordering::Relaxed);
        }
    }
    if permit.is_some() {
        counters.failed.fetch_add(1, Ordering::Relaxed);
    }
    let _ = ws.close(None).await;
    seen
}

/// Updates one row per tick at `rate` per second for `dur`, each commit timed.
async fn writer(pg: String, rate: u32, dur: Duration, rows: usize, picker: Arc<Mutex<(Rng, Vec<u32>, usize)>>, seq: Arc<AtomicU64>, out: Arc<Mutex<Vec<Write>>>) -> Result<(), String> {
    let db = crate::connect_pg(&pg).await?;
    let stmt = db.prepare("UPDATE todo SET title = $1, updated_at = clock_timestamp() WHERE id = $2").await.map_err(|e| e.to_string())?;
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let end = tokio::time::Instant::now() + dur;
    while tokio::time::Instant::now() < end {
        tick.tick().await;
        let (user, row) = {
            let mut p = picker.lock().unwrap();
            let (rng, order, next) = &mut *p;
            let user = order[*next % order.len()];
            *next += 1;
            (user, rng.below(rows as u64) as u16)
        };
        let s = seq.fetch_add(1, Ordering::Relaxed) as u32 + 1;
        let id = (user as i64 - 1) * rows as i64 + row as i64 + 1;
        db.execute(&stmt, &[&format!("w{s}"), &id]).await.map_err(|e| format!("update: {e}"))?;
        let commit_ns = now_ns();
        out.lock().unwrap().push(Write { seq: s, user, row, commit_ns });
    }
    Ok(())
}

/// Latency of every write committed in [from, to] to every subscriber of its user.
fn latencies(cfg: &Cfg, seen: &[Seen], writes: &[Write], from: u64, to: u64) -> Vec<(String, serde_json::Value)> {
    let mut by_user: Vec<Vec<usize>> = vec![Vec::new(); cfg.users + 1];
    for (i, s) in seen.iter().enumerate() {
        if s.ready {
            by_user[s.user].push(i);
        }
    }
    let (mut lat, mut missing, mut early, mut expected, mut n_writes) = (Vec::new(), 0u64, 0u64, 0u64, 0u64);
    for w in writes.iter().filter(|w| w.commit_ns >= from && w.commit_ns <= to) {
        n_writes += 1;
        for &i in &by_user[w.user as usize] {
            expected += 1;
            // The first message showing this write or a later one on the same row.
            match seen[i].deliveries.iter().find(|d| d.0 == w.row && d.1 >= w.seq) {
                Some(d) if d.2 >= w.commit_ns => lat.push(d.2 - w.commit_ns),
                Some(_) => {
                    // Seen before the writer's COMMIT returned to it: visible at once.
                    early += 1;
                    lat.push(0);
                }
                None => missing += 1,
            }
        }
    }
    lat.sort_unstable();
    let q = |p: f64| if lat.is_empty() { serde_json::Value::Null } else { json!((lat[((lat.len() as f64 - 1.0) * p).round() as usize] as f64 / 1e4).round() / 100.0) };
    vec![
        ("writes".into(), json!(n_writes)),
        ("writes_per_s".into(), json!(((n_writes as f64) / ((to - from) as f64 / 1e9) * 10.0).round() / 10.0)),
        ("expected_deliveries".into(), json!(expected)),
        ("delivered".into(), json!(lat.len())),
        ("missing".into(), json!(missing)),
        ("before_commit_returned".into(), json!(early)),
        ("latency_p50_ms".into(), q(0.5)),
        ("latency_p99_ms".into(), q(0.99)),
        ("latency_max_ms".into(), q(1.0)),
    ]
}

/// Every subscriber got its first result, only its own user's rows, and every write made to
/// its user.
fn correctness(cfg: &Cfg, seen: &[Seen], writes: &[Write]) -> serde_json::Value {
    let mut errors: Vec<String> = seen.iter().filter_map(|s| s.error.clone()).collect();
    errors.sort();
    errors.dedup();
    let not_ready = seen.iter().filter(|s| !s.ready).count();
    let foreign: u64 = seen.iter().map(|s| s.foreign_rows).sum();
    let wrong: u64 = seen.iter().map(|s| s.wrong_count).sum();
    let regressions: u64 = seen.iter().map(|s| s.regressions).sum();
    // Users written, and subscribers that never saw a write made to their user.
    let mut last_per_row: std::collections::HashMap<(u32, u16), u32> = std::collections::HashMap::new();
    for w in writes {
        let e = last_per_row.entry((w.user, w.row)).or_insert(0);
        *e = (*e).max(w.seq);
    }
    let mut unseen = 0u64;
    let mut subs_written = 0u64;
    for s in seen.iter().filter(|s| s.ready) {
        let mut any = false;
        for row in 0..cfg.rows as u16 {
            if let Some(&final_seq) = last_per_row.get(&(s.user as u32, row)) {
                any = true;
                // The final write to each of its rows must have reached it.
                if !s.deliveries.iter().any(|d| d.0 == row && d.1 == final_seq) {
                    unseen += 1;
                }
            }
        }
        if any {
            subs_written += 1;
        }
    }
    let first: Vec<f64> = seen.iter().filter(|s| s.ready).map(|s| s.first_result_ms).collect();
    let mean_first = if first.is_empty() { 0.0 } else { first.iter().sum::<f64>() / first.len() as f64 };
    let ok = not_ready == 0 && foreign == 0 && wrong == 0 && regressions == 0 && unseen == 0 && errors.is_empty();
    json!({
        "kind": "correctness", "label": cfg.common.label, "ok": ok,
        "subscribers": seen.len(), "not_subscribed": not_ready, "foreign_rows": foreign, "wrong_row_counts": wrong,
        "regressions": regressions, "final_writes_not_seen": unseen, "subscribers_with_writes": subs_written,
        "writes": writes.len(), "first_result_mean_ms": (mean_first * 10.0).round() / 10.0,
        "errors": errors.into_iter().take(5).collect::<Vec<_>>(),
    })
}
