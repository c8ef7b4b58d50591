//! Streaming subscriptions: S streams over one table while a writer inserts rows at a fixed
//! rate; every stream must receive every inserted row exactly once, in id order.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::sync::{watch, Semaphore};

use crate::live::Sample;
use crate::socket::{self, envelope};
use crate::{now_ns, procstat, Common};

/// Latency histogram: 100 µs buckets up to 30 s (and one beyond).
struct Hist(Vec<AtomicU64>);
const BUCKET_NS: u64 = 100_000;

impl Hist {
    fn new() -> Hist {
        Hist((0..=300_000).map(|_| AtomicU64::new(0)).collect())
    }
    fn add(&self, ns: u64) {
        let b = ((ns / BUCKET_NS) as usize).min(self.0.len() - 1);
        self.0[b].fetch_add(1, Ordering::Relaxed);
    }
    /// The upper edge of the bucket holding quantile `p`, in ms.
    fn quantile(&self, p: f64) -> Option<f64> {
        let counts: Vec<u64> = self.0.iter().map(|c| c.load(Ordering::Relaxed)).collect();
        let n: u64 = counts.iter().sum();
        if n == 0 {
            return None;
        }
        let want = ((n as f64) * p).ceil().max(1.0) as u64;
        let mut acc = 0;
        for (i, c) in counts.iter().enumerate() {
            acc += c;
            if acc >= want {
                return Some(((i as u64 + 1) * BUCKET_NS) as f64 / 1e6);
            }
        }
        None
    }
}

struct Shared {
    common: Common,
    query: String,
    base: i64,
    /// Commit time of each inserted row (index id - base - 1); 0 while not committed.
    commits: Vec<AtomicU64>,
    hist: Hist,
    early: AtomicU64,
    messages: AtomicU64,
    ready: AtomicUsize,
    failed: AtomicUsize,
}

#[derive(Default)]
struct Got {
    bits: Vec<u64>,
    delivered: u64,
    duplicates: u64,
    out_of_order: u64,
    unexpected: u64,
    error: Option<String>,
}

pub async fn run(common: Common, args: &crate::args::Args) -> Result<(), String> {
    let streams: usize = args.num("streams", 1000)?;
    let rate: u32 = args.num("insert-rate", 1000)?;
    let batch: u32 = args.num("insert-batch", 10)?;
    let seconds: u64 = args.num("seconds", 20)?;
    let batch_size: u32 = args.num("batch-size", 100)?;
    let grace: u64 = args.num("grace", 5)?;
    let users: i32 = args.num("users", 1000)?;
    if rate == 0 || batch == 0 || batch > rate {
        return Err("--insert-rate and --insert-batch must be positive, the batch at most the rate".into());
    }
    let db = crate::connect_pg(&common.pg).await?;
    let base: i64 = db.query_one("SELECT coalesce(max(id), 0) FROM todo", &[]).await.map_err(|e| e.to_string())?.get(0);
    let cap = (rate as u64 * seconds * 2 + batch as u64) as usize;
    let query = format!("subscription {{ todo_stream(batch_size: {batch_size}, cursor: {{initial_value: {{id: {base}}}, ordering: ASC}}) {{ id title }} }}");
    let shared = Arc::new(Shared {
        common,
        query,
        base,
        commits: (0..cap).map(|_| AtomicU64::new(0)).collect(),
        hist: Hist::new(),
        early: AtomicU64::new(0),
        messages: AtomicU64::new(0),
        ready: AtomicUsize::new(0),
        failed: AtomicUsize::new(0),
    });
    let sidecar = shared.common.sidecar_pid;
    let rss_before = sidecar.map_or(0, procstat::rss_kb);
    crate::progress(&format!("stream: opening {streams} streams from id {base}"));
    let gate = Arc::new(Semaphore::new(shared.common.connect_concurrency));
    let (stop_tx, stop_rx) = watch::channel(false);
    let t0 = now_ns();
    let tasks: Vec<_> = (0..streams).map(|_| tokio::spawn(stream(shared.clone(), gate.clone(), stop_rx.clone()))).collect();
    while shared.ready.load(Ordering::Relaxed) + shared.failed.load(Ordering::Relaxed) < streams {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let connect_s = (now_ns() - t0) as f64 / 1e9;
    // The streams' first polls (nothing new yet) before the inserts start.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_after = sidecar.map_or(0, procstat::rss_kb);
    crate::progress(&format!("stream: {} streams open in {connect_s:.1} s; inserting {rate} rows/s for {seconds} s", streams - shared.failed.load(Ordering::Relaxed)));

    let start = Sample::take(&shared.common);
    let msgs0 = shared.messages.load(Ordering::Relaxed);
    let stmt = db
        .prepare("INSERT INTO todo (user_id, title, done, updated_at) SELECT 1 + (g % $2::int), 'i' || g, false, clock_timestamp() FROM generate_series(1, $1::int) g RETURNING id")
        .await
        .map_err(|e| e.to_string())?;
    let mut tick = tokio::time::interval(Duration::from_secs_f64(batch as f64 / rate as f64));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let end_at = tokio::time::Instant::now() + Duration::from_secs(seconds);
    let (mut inserted, mut max_id) = (0u64, base);
    while tokio::time::Instant::now() < end_at {
        tick.tick().await;
        let rows = db.query(&stmt, &[&(batch as i32), &users]).await.map_err(|e| format!("insert: {e}"))?;
        let t = now_ns();
        for r in rows {
            let id: i64 = r.get(0);
            let off = (id - base - 1) as usize;
            if off < cap {
                shared.commits[off].store(t, Ordering::Relaxed);
            }
            max_id = max_id.max(id);
            inserted += 1;
        }
    }
    let end = Sample::take(&shared.common);
    let msgs = shared.messages.load(Ordering::Relaxed) - msgs0;
    tokio::time::sleep(Duration::from_secs(grace)).await;
    let rss_end = sidecar.map_or(0, procstat::rss_kb);
    let _ = stop_tx.send(true);
    let mut got = Vec::new();
    for t in tasks {
        got.push(t.await.map_err(|e| e.to_string())?);
    }
    if (max_id - base) as u64 != inserted {
        crate::progress(&format!("stream: ids are not contiguous ({inserted} rows up to id {max_id} from {base})"));
    }
    let expected: Vec<usize> = (0..cap).filter(|&o| shared.commits[o].load(Ordering::Relaxed) != 0).collect();
    let (mut complete, mut missing, mut dups, mut ooo, mut unexpected) = (0usize, 0u64, 0u64, 0u64, 0u64);
    let mut errors: Vec<String> = Vec::new();
    for g in &got {
        let have = |o: usize| g.bits.get(o / 64).is_some_and(|w| w & (1 << (o % 64)) != 0);
        let miss = expected.iter().filter(|&&o| !have(o)).count() as u64;
        missing += miss;
        dups += g.duplicates;
        ooo += g.out_of_order;
        unexpected += g.unexpected;
        if miss == 0 && g.duplicates == 0 && g.unexpected == 0 && g.error.is_none() {
            complete += 1;
        }
        if let Some(e) = &g.error {
            errors.push(e.clone());
        }
    }
    errors.sort();
    errors.dedup();
    let mut line = start.report(&end);
    let extra = json!({
        "kind": "stream", "label": shared.common.label, "streams": streams, "failed": shared.failed.load(Ordering::Relaxed),
        "connect_s": connect_s, "inserted": inserted, "inserts_per_s": (inserted as f64 / ((end.t - start.t) as f64 / 1e9)).round(),
        "insert_batch": batch, "batch_size": batch_size, "messages": msgs,
        "rows_delivered": got.iter().map(|g| g.delivered).sum::<u64>(),
        "streams_complete": complete, "missing": missing, "duplicates": dups, "out_of_order": ooo, "unexpected": unexpected,
        "before_commit_returned": shared.early.load(Ordering::Relaxed),
        "latency_p50_ms": shared.hist.quantile(0.5), "latency_p99_ms": shared.hist.quantile(0.99),
        "sidecar_rss_before_kb": rss_before, "sidecar_rss_after_kb": rss_after, "sidecar_rss_end_kb": rss_end,
        "ok": complete == streams && ooo == 0,
        "errors": errors.into_iter().take(5).collect::<Vec<_>>(),
    });
    if let serde_json::Value::Object(m) = extra {
        line.extend(m);
    }
    crate::emit(serde_json::Value::Object(line));
    Ok(())
}

async fn stream(sh: Arc<Shared>, gate: Arc<Semaphore>, mut stop: watch::Receiver<bool>) -> Got {
    let mut got = Got { bits: vec![0; sh.commits.len().div_ceil(64)], ..Got::default() };
    let permit = gate.acquire().await;
    let headers = json!({"x-hasura-admin-secret": sh.common.admin_secret});
    let opened = async {
        let mut ws = socket::open(&sh.common.url, headers).await?;
        socket::subscribe(&mut ws, "1", &sh.query).await?;
        Ok::<_, String>(ws)
    };
    let mut ws = match opened.await {
        Ok(ws) => ws,
        Err(e) => {
            got.error = Some(e);
            sh.failed.fetch_add(1, Ordering::Relaxed);
            return got;
        }
    };
    drop(permit);
    sh.ready.fetch_add(1, Ordering::Relaxed);
    let mut last = sh.base;
    loop {
        let text = match socket::next_text(&mut ws, &mut stop).await {
            Ok(Some(t)) => t,
            Ok(None) => break,
            Err(e) => {
                got.error = Some(e);
                break;
            }
        };
        let recv = now_ns();
        let Some(env) = envelope(text.as_str()) else { continue };
        match env.ty.as_ref() {
            "next" => {}
            "ping" => {
                if !sh.common.no_pong {
                    let _ = socket::pong(&mut ws).await;
                }
                continue;
            }
            "pong" => continue,
            _ => {
                got.error = Some(format!("unexpected message: {}", socket::short(text.as_str())));
                break;
            }
        }
        sh.messages.fetch_add(1, Ordering::Relaxed);
        let rows = match socket::rows(env.payload) {
            Ok(r) => r,
            Err(e) => {
                got.error = Some(e);
                break;
            }
        };
        for r in rows {
            let off = r.id - sh.base - 1;
            if off < 0 || off as usize >= sh.commits.len() {
                got.unexpected += 1;
                continue;
            }
            let o = off as usize;
            if got.bits[o / 64] & (1 << (o % 64)) != 0 {
                got.duplicates += 1;
                continue;
            }
            got.bits[o / 64] |= 1 << (o % 64);
            got.delivered += 1;
            if r.id < last {
                got.out_of_order += 1;
            }
            last = last.max(r.id);
            match sh.commits[o].load(Ordering::Relaxed) {
                0 => {
                    sh.early.fetch_add(1, Ordering::Relaxed);
                    sh.hist.add(0);
                }
                c => sh.hist.add(recv.saturating_sub(c)),
            }
        }
    }
    let _ = ws.close(None).await;
    got
}
