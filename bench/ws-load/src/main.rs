//! The load client of bench/live.sh (`ws-load --help`): many graphql-transport-ws sockets on a
//! two-thread runtime, a writer timing each COMMIT, and CPU / memory samples of the sidecar
//! and PostgreSQL from /proc, so one process both drives the load and measures it.

mod args;
mod live;
mod procstat;
mod socket;
mod stream;

use std::sync::OnceLock;
use std::time::Instant;

/// Options every mode uses.
#[derive(Clone)]
pub struct Common {
    pub url: String,
    pub pg: String,
    pub admin_secret: String,
    pub sidecar_pid: Option<u32>,
    pub postmaster_pid: Option<u32>,
    pub label: String,
    pub connect_concurrency: usize,
    pub seed: u64,
    pub no_pong: bool,
}

static START: OnceLock<Instant> = OnceLock::new();

/// Nanoseconds since the process started: the one clock of writers and readers.
pub fn now_ns() -> u64 {
    START.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

pub fn emit(v: serde_json::Value) {
    println!("{v}");
}

pub fn progress(s: &str) {
    eprintln!("    [ws-load] {s}");
}

pub async fn connect_pg(conninfo: &str) -> Result<tokio_postgres::Client, String> {
    let (client, conn) = tokio_postgres::connect(conninfo, tokio_postgres::NoTls).await.map_err(|e| format!("connect to PostgreSQL: {e}"))?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            progress(&format!("PostgreSQL connection: {e}"));
        }
    });
    Ok(client)
}

/// xorshift64*: reproducible choices from --seed, no dependency.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            v.swap(i, j);
        }
    }
}

fn main() {
    now_ns();
    let args = match args::Args::parse() {
        Ok(a) => a,
        Err(e) if e.is_empty() => {
            print!("{}", args::USAGE);
            return;
        }
        Err(e) => {
            eprintln!("ws-load: {e}\n\n{}", args::USAGE);
            std::process::exit(2);
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio runtime");
    let r = rt.block_on(async {
        let common = Common {
            url: args.str("url")?,
            pg: args.str("pg")?,
            admin_secret: args.str("admin-secret")?,
            sidecar_pid: args.num::<u32>("sidecar-pid", 0).map(|p| (p > 0).then_some(p))?,
            postmaster_pid: args.num::<u32>("postmaster-pid", 0).map(|p| (p > 0).then_some(p))?,
            label: args.opt("label", ""),
            connect_concurrency: args.num("connect-concurrency", 200)?,
            seed: args.num("seed", 1)?,
            no_pong: args.flag("no-pong"),
        };
        if args.mode == "live" {
            live::run(common, &args).await
        } else {
            stream::run(common, &args).await
        }
    });
    if let Err(e) = r {
        eprintln!("ws-load: {e}");
        std::process::exit(1);
    }
}
