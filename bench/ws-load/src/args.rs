//! Command-line options (`ws-load --help`).

use std::collections::HashMap;

pub const USAGE: &str = "\
ws-load: the load client of bench/live.sh

  ws-load live   [options]   live queries: --subscribers sockets, one subscription each
  ws-load stream [options]   streaming subscriptions: --streams sockets, one stream each

Common options:
  --url URL               ws://127.0.0.1:PORT/v1/graphql (required)
  --pg CONNINFO           libpq-style connection string for the writer (required)
  --admin-secret S        sent in connection_init's headers (required)
  --sidecar-pid P         sample this process's CPU and VmRSS
  --postmaster-pid P      sample the CPU of this postmaster and all its children
  --label L               copied into every output line (e.g. change / polling)
  --connect-concurrency N sockets being opened (handshake to first result) at once (200)
  --seed N                writer's random choices (1)
  --no-pong               do not answer the server's keep-alive pings
Live queries:
  --subscribers N         sockets, one subscription each (1000)
  --users U               subscriber i is user (i mod U) + 1 (1000)
  --rows R                rows per user: user u owns ids (u-1)*R+1 ..= u*R (5)
  --states LIST           rate:seconds,... writes/s and measured window per state (0:30,10:30,100:30)
  --warmup S              seconds of writes at the state's rate before its window (5)
  --grace S               seconds after a window for the last writes to arrive (3)
Streaming:
  --streams N             sockets, one stream each (1000)
  --insert-rate R         rows inserted per second (1000), in statements of --insert-batch rows
  --insert-batch B        rows per INSERT statement (10)
  --seconds S             how long the inserts run (20)
  --batch-size B          the stream's batch_size argument (100)
  --grace S               seconds after the last insert for the streams to catch up (5)

Output: one JSON object per line on stdout (progress on stderr).
";

pub struct Args {
    map: HashMap<String, String>,
    pub mode: String,
}

impl Args {
    pub fn parse() -> Result<Args, String> {
        let mut it = std::env::args().skip(1);
        let mode = it.next().ok_or("missing mode (live or stream)")?;
        if mode == "--help" || mode == "-h" {
            return Err(String::new());
        }
        if mode != "live" && mode != "stream" {
            return Err(format!("unknown mode {mode} (live or stream)"));
        }
        let mut map = HashMap::new();
        while let Some(k) = it.next() {
            let Some(name) = k.strip_prefix("--") else { return Err(format!("unexpected argument {k}")) };
            if name == "help" {
                return Err(String::new());
            }
            if name == "no-pong" {
                map.insert(name.to_string(), "1".to_string());
                continue;
            }
            let v = it.next().ok_or(format!("--{name} needs a value"))?;
            map.insert(name.to_string(), v);
        }
        Ok(Args { map, mode })
    }

    pub fn str(&self, name: &str) -> Result<String, String> {
        self.map.get(name).cloned().ok_or(format!("--{name} is required"))
    }

    pub fn opt(&self, name: &str, default: &str) -> String {
        self.map.get(name).cloned().unwrap_or_else(|| default.to_string())
    }

    pub fn num<T: std::str::FromStr>(&self, name: &str, default: T) -> Result<T, String> {
        match self.map.get(name) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| format!("--{name}: not a number: {v}")),
        }
    }

    pub fn flag(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    /// `rate:seconds,...`
    pub fn states(&self) -> Result<Vec<(u32, u64)>, String> {
        self.opt("states", "0:30,10:30,100:30")
            .split(',')
            .map(|s| {
                let (r, d) = s.split_once(':').ok_or(format!("--states: expected rate:seconds, got {s}"))?;
                Ok((r.parse().map_err(|_| format!("--states: bad rate {r}"))?, d.parse().map_err(|_| format!("--states: bad seconds {d}"))?))
            })
            .collect()
    }
}
