//! Hasura-shaped JSON log lines on stdout: `{"timestamp", "level", "type", "detail"}`. Types:
//! `startup`, `http-log`, `webhook-log` (auth webhook failures), `jwk-refresh-log`, `shutdown`;
//! `HASURA_GRAPHQL_ENABLED_LOG_TYPES` picks which are written (`startup` always is) and
//! `HASURA_GRAPHQL_LOG_LEVEL` the lowest level.

use std::collections::HashSet;
use std::io::Write;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

/// `2026-11-25T09:40:31.021+0000`, Hasura's timestamp format (UTC).
pub fn timestamp(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}+0000",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}

struct Filter {
    types: HashSet<String>,
    min_level: u8,
}

static FILTER: OnceLock<Filter> = OnceLock::new();

fn level_rank(level: &str) -> Option<u8> {
    match level {
        "debug" => Some(0),
        "info" => Some(1),
        "warn" => Some(2),
        "error" => Some(3),
        _ => None,
    }
}

/// Set the enabled types (comma-separated) and the lowest level, once at startup.
pub fn init(types: &str, level: &str) -> Result<(), String> {
    let min_level = level_rank(&level.to_ascii_lowercase()).ok_or_else(|| format!("HASURA_GRAPHQL_LOG_LEVEL: unknown level {level:?}"))?;
    let types = types.split(',').map(|t| t.trim().to_string()).filter(|t| !t.is_empty()).collect();
    let _ = FILTER.set(Filter { types, min_level });
    Ok(())
}

fn enabled(kind: &str, level: &str) -> bool {
    match FILTER.get() {
        None => true,
        Some(f) => (kind == "startup" || f.types.contains(kind)) && level_rank(level).unwrap_or(1) >= f.min_level,
    }
}

pub fn emit(kind: &str, level: &str, detail: Value) {
    if !enabled(kind, level) {
        return;
    }
    let line = json!({"timestamp": timestamp(SystemTime::now()), "level": level, "type": kind, "detail": detail});
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn filter() {
        assert!(enabled("http-log", "info")); // before init: everything
        init("http-log, webhook-log", "warn").unwrap();
        assert!(!enabled("http-log", "info"));
        assert!(enabled("http-log", "error"));
        assert!(enabled("startup", "warn"));
        assert!(!enabled("jwk-refresh-log", "error"));
        assert!(init("http-log", "loud").is_err());
    }

    #[test]
    fn timestamps() {
        assert_eq!(timestamp(UNIX_EPOCH), "1970-01-01T00:00:00.000+0000");
        assert_eq!(timestamp(UNIX_EPOCH + Duration::from_millis(1_795_599_631_021)), "2026-11-25T09:40:31.021+0000");
        assert_eq!(timestamp(UNIX_EPOCH + Duration::from_secs(951_782_400)), "2000-02-29T00:00:00.000+0000");
    }
}
