//! Hasura's cron schedules: 5 fields (minute hour day-of-month month day-of-week), in UTC.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use croner::Cron;

#[derive(Clone, Debug)]
pub struct Schedule(Cron);

impl Schedule {
    /// Parse a 5-field cron expression; Hasura rejects seconds fields and `@` aliases too.
    pub fn parse(expr: &str) -> Result<Schedule, String> {
        let fields = expr.split_whitespace().count();
        if fields != 5 {
            return Err(format!("invalid cron expression {expr:?}: expected 5 fields (minute hour day month weekday), found {fields}"));
        }
        Cron::from_str(expr).map(Schedule).map_err(|e| format!("invalid cron expression {expr:?}: {e}"))
    }

    /// Up to `count` occurrences strictly after `after` (seconds since the epoch), in order.
    /// An impossible schedule (`0 0 31 2 *`) has none.
    pub fn occurrences_after(&self, after: i64, count: usize) -> Vec<i64> {
        let Some(start) = DateTime::<Utc>::from_timestamp(after, 0) else { return vec![] };
        let mut out = Vec::with_capacity(count);
        let mut t = start;
        while out.len() < count {
            match self.0.find_next_occurrence(&t, false) {
                Ok(next) => {
                    out.push(next.timestamp());
                    t = next;
                }
                Err(_) => break,
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_fields_only() {
        assert!(Schedule::parse("*/5 * * * *").is_ok());
        assert!(Schedule::parse("0 22 * * 1-5").is_ok());
        assert!(Schedule::parse("* * * * * *").unwrap_err().contains("5 fields"));
        assert!(Schedule::parse("@daily").is_err());
        assert!(Schedule::parse("61 * * * *").is_err());
    }

    #[test]
    fn occurrences_are_in_utc_minutes() {
        // 2026-11-25T10:07:30Z
        let t = 1_795_601_250;
        let s = Schedule::parse("*/5 * * * *").unwrap();
        let next = s.occurrences_after(t, 3);
        assert_eq!(next.len(), 3);
        assert!(next.iter().all(|n| n % 300 == 0), "{next:?}");
        assert!(next[0] > t && next[0] - t <= 300);
        assert_eq!(next[1] - next[0], 300);
        assert!(Schedule::parse("0 0 31 2 *").unwrap().occurrences_after(t, 3).is_empty());
    }
}
