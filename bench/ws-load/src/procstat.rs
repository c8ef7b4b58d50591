//! CPU time and resident memory of other processes, from /proc (Linux only).

use std::collections::HashMap;
use std::fs;

/// Clock ticks per second of /proc/<pid>/stat's utime and stime. Linux reports them in
/// USER_HZ, which is 100 on every architecture it runs on (sysconf(_SC_CLK_TCK)).
pub const TICKS_PER_SECOND: f64 = 100.0;

/// (ppid, utime + stime in ticks) of one process.
fn stat(pid: u32) -> Option<(u32, u64)> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: parse after it.
    let rest = &text[text.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    // After the name: state(3) ppid(4) ... utime(14) stime(15), so index = field - 3.
    let ppid = f.get(1)?.parse().ok()?;
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    Some((ppid, utime + stime))
}

/// CPU ticks of a process and (with `children`) of its direct children: a PostgreSQL
/// postmaster's backends and background workers are all its direct children.
pub fn ticks(pid: u32, children: bool) -> HashMap<u32, u64> {
    let mut out = HashMap::new();
    if let Some((_, t)) = stat(pid) {
        out.insert(pid, t);
    }
    if children {
        if let Ok(dir) = fs::read_dir("/proc") {
            for e in dir.flatten() {
                let Some(p) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
                if let Some((ppid, t)) = stat(p) {
                    if ppid == pid {
                        out.insert(p, t);
                    }
                }
            }
        }
    }
    out
}

/// Ticks used between two samples: processes that started in between count from zero; those
/// that ended in between are lost (their last ticks are gone with them).
pub fn delta(before: &HashMap<u32, u64>, after: &HashMap<u32, u64>) -> u64 {
    after.iter().map(|(p, t)| t.saturating_sub(*before.get(p).unwrap_or(&0))).sum()
}

/// VmRSS of a process in kB (0 when it is gone).
pub fn rss_kb(pid: u32) -> u64 {
    fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok()))
        .unwrap_or(0)
}

/// (busy, total) jiffies of the whole machine (/proc/stat's first line), for the load the
/// other processes on a shared machine put on it during a window.
pub fn machine() -> (u64, u64) {
    let text = fs::read_to_string("/proc/stat").unwrap_or_default();
    let v: Vec<u64> = text.lines().next().unwrap_or("").split_whitespace().skip(1).filter_map(|x| x.parse().ok()).collect();
    let total: u64 = v.iter().take(8).sum();
    let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
    (total - idle, total)
}
