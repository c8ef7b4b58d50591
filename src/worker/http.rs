//! Webhook calls on a pool of plain Rust threads. They never touch Postgres: the worker's main
//! thread hands them jobs and collects the outcomes over channels. Signals are blocked in
//! them, so Postgres' signal handlers only ever run on the main thread.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use graft_compiler::events::delivery::Attempt;

/// Response bodies are recorded up to this size.
const MAX_BODY: u64 = 64 * 1024;

pub struct Job {
    /// The caller's handle for this delivery; its outcome comes back with it.
    pub token: u64,
    /// The URL, or why there is none (an unset environment variable …).
    pub url: Result<String, String>,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub timeout: Duration,
}

enum Message {
    Deliver(Job),
    /// One thread takes it and ends: how the pool shrinks.
    Stop,
}

pub struct Pool {
    jobs: Sender<Message>,
    job_rx: Arc<Mutex<Receiver<Message>>>,
    result_tx: Sender<(u64, Attempt)>,
    results: Receiver<(u64, Attempt)>,
    size: usize,
    spawned: usize,
}

impl Pool {
    pub fn new(size: usize) -> Pool {
        let (jobs, job_rx) = channel();
        let (result_tx, results) = channel();
        let mut pool = Pool { jobs, job_rx: Arc::new(Mutex::new(job_rx)), result_tx, results, size: 0, spawned: 0 };
        pool.resize(size);
        pool
    }

    /// Grow or shrink to `size` threads (at least one). Calls in flight are not interrupted:
    /// a thread told to stop finishes the jobs queued before the order first.
    pub fn resize(&mut self, size: usize) {
        let size = size.max(1);
        while self.size > size {
            let _ = self.jobs.send(Message::Stop);
            self.size -= 1;
        }
        if self.size < size {
            let spawned = with_signals_blocked(|| (self.size..size).map(|_| self.spawn()).filter(|ok| *ok).count());
            self.size += spawned;
        }
    }

    fn spawn(&mut self) -> bool {
        let job_rx = Arc::clone(&self.job_rx);
        let result_tx = self.result_tx.clone();
        self.spawned += 1;
        std::thread::Builder::new()
            .name(format!("graft-webhook-{}", self.spawned))
            .spawn(move || {
                // Redirects are not followed: a 3xx is not the webhook's 2xx, and following one
                // would re-send a POST as a GET without its body (and the headers elsewhere).
                let agent: ureq::Agent =
                    ureq::Agent::config_builder().http_status_as_error(false).max_redirects(0).build().into();
                loop {
                    // The lock is held only while waiting for the next message.
                    let message = match job_rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => return,
                    };
                    let Ok(Message::Deliver(job)) = message else { return };
                    // A panic in the HTTP stack must not lose the outcome: the worker waits for it.
                    let attempt = std::panic::catch_unwind(AssertUnwindSafe(|| deliver(&agent, &job))).unwrap_or_else(|_| {
                        Attempt { error: Some("the webhook call failed unexpectedly (panic)".into()), ..Default::default() }
                    });
                    if result_tx.send((job.token, attempt)).is_err() {
                        return;
                    }
                }
            })
            .is_ok()
    }

    pub fn submit(&self, job: Job) {
        let _ = self.jobs.send(Message::Deliver(job));
    }

    /// The next outcome, waiting at most `wait` (zero: only one that is already there).
    pub fn next_result(&self, wait: Duration) -> Option<(u64, Attempt)> {
        if wait.is_zero() {
            return self.results.try_recv().ok();
        }
        match self.results.recv_timeout(wait) {
            Ok(r) => Some(r),
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => None,
        }
    }
}

// Dropping the pool drops the only job sender: every thread ends once its current call
// returns. They are not joined, so a slow webhook cannot hold up the worker's exit.

fn deliver(agent: &ureq::Agent, job: &Job) -> Attempt {
    let started = Instant::now();
    let url = match &job.url {
        Ok(u) => u,
        Err(e) => return Attempt { error: Some(e.clone()), ..Default::default() },
    };
    let mut req = agent.post(url).config().timeout_global(Some(job.timeout)).build();
    req = req.header("Content-Type", "application/json").header("User-Agent", "graft-event-worker");
    for (name, value) in &job.headers {
        req = req.header(name.as_str(), value.as_str());
    }
    let mut attempt = match req.send(job.body.as_str()) {
        Ok(mut resp) => {
            let headers = resp
                .headers()
                .iter()
                .map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
                .collect();
            let status = resp.status().as_u16();
            let body = match resp.body_mut().with_config().limit(MAX_BODY).read_to_vec() {
                Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                Err(e) => format!("<response body not recorded: {e}>"),
            };
            Attempt { status: Some(status), body, headers, error: None, duration_ms: 0.0 }
        }
        Err(e) => Attempt { error: Some(e.to_string()), ..Default::default() },
    };
    attempt.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    attempt
}

/// Run `f` with every signal blocked in this thread, so threads it spawns start (and stay)
/// with them blocked; the mask is restored afterwards.
fn with_signals_blocked<R>(f: impl FnOnce() -> R) -> R {
    // SAFETY: plain libc calls on valid, local sigset_t values.
    unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_BLOCK, &all, &mut old);
        let r = f();
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
        r
    }
}
