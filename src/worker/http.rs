//! Webhook calls on a pool of plain Rust threads. They never touch Postgres: the worker's main
//! thread hands them jobs and collects the outcomes over channels. Signals are blocked in
//! them, so Postgres' signal handlers only ever run on the main thread.

use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use graft_compiler::events::delivery::Attempt;

/// Response bodies are recorded up to this size.
const MAX_BODY: u64 = 64 * 1024;

pub struct Job {
    /// Index of the event in the caller's batch.
    pub index: usize,
    /// The URL, or why there is none (an unset environment variable …).
    pub url: Result<String, String>,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub timeout: Duration,
}

pub struct Pool {
    jobs: Option<Sender<Job>>,
    results: Receiver<(usize, Attempt)>,
    threads: Vec<JoinHandle<()>>,
}

impl Pool {
    pub fn new(size: usize) -> Pool {
        let (job_tx, job_rx) = channel::<Job>();
        let job_rx = Arc::new(Mutex::new(job_rx));
        let (result_tx, results) = channel();
        let threads = with_signals_blocked(|| {
            (0..size.max(1))
                .map(|i| {
                    let job_rx = Arc::clone(&job_rx);
                    let result_tx: Sender<(usize, Attempt)> = result_tx.clone();
                    std::thread::Builder::new()
                        .name(format!("graft-webhook-{i}"))
                        .spawn(move || {
                            let agent: ureq::Agent =
                                ureq::Agent::config_builder().http_status_as_error(false).build().into();
                            loop {
                                // The lock is held only while waiting for the next job.
                                let job = match job_rx.lock() {
                                    Ok(rx) => rx.recv(),
                                    Err(_) => return,
                                };
                                let Ok(job) = job else { return };
                                let attempt = deliver(&agent, &job);
                                if result_tx.send((job.index, attempt)).is_err() {
                                    return;
                                }
                            }
                        })
                        .expect("spawning a webhook thread")
                })
                .collect()
        });
        Pool { jobs: Some(job_tx), results, threads }
    }

    pub fn size(&self) -> usize {
        self.threads.len()
    }

    pub fn submit(&self, job: Job) {
        if let Some(tx) = &self.jobs {
            let _ = tx.send(job);
        }
    }

    /// The next outcome, waiting at most `wait`.
    pub fn next_result(&self, wait: Duration) -> Option<(usize, Attempt)> {
        self.results.recv_timeout(wait).ok()
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        // Closing the job channel ends every thread once its current call returns; they are
        // not joined, so a slow webhook cannot hold up the worker's exit.
        self.jobs.take();
    }
}

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
