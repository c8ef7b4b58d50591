//! The arithmetic of the extension's per-table commit counters (`graphql.table_versions`).
//!
//! The extension keeps [`SLOTS`] counters in shared memory plus one global counter. A table
//! (database oid, relation oid) maps to one slot; a commit that wrote the table adds 1 to its
//! slot, a `COMMIT PREPARED` adds 1 to the global counter (it cannot know the tables). A
//! table's version is slot + global: both only grow, so the version changes iff either does.
//! Two tables sharing a slot only cause an extra refetch.
//!
//! Every counter starts at the time the shared memory was initialised, in microseconds: after
//! a restart every version starts above anything the previous run could have reached (that
//! would take more than one commit per microsecond to one slot, for the whole previous run),
//! so a poller comparing versions for equality never sees an old value come back.

/// Number of per-table slots (a power of two).
pub const SLOTS: usize = 8192;

/// The slot of relation `rel` of database `db`.
pub fn slot_of(db: u32, rel: u32) -> usize {
    // splitmix64's finaliser: neighbouring oids (tables created together) spread over slots.
    let mut x = (u64::from(db) << 32) | u64::from(rel);
    x ^= x >> 30;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^= x >> 31;
    (x as usize) & (SLOTS - 1)
}

/// The version a reader reports for a slot's value and the global counter's value.
pub fn version(slot: u64, global: u64, start: u64) -> i64 {
    // Both started at `start`; count it once. Masked to stay a non-negative bigint.
    (slot.wrapping_add(global).wrapping_sub(start) & (i64::MAX as u64)) as i64
}

/// The value every counter starts from, given the initialisation time in microseconds
/// (PostgreSQL's `GetCurrentTimestamp`, since 2000-01-01; clamped to be positive).
pub fn start_value(now_micros: i64) -> u64 {
    now_micros.max(1) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn slots_are_in_range_and_spread() {
        let slots: HashSet<usize> = (16_384..16_384 + 1_000).map(|rel| slot_of(5, rel)).collect();
        assert!(slots.iter().all(|&s| s < SLOTS));
        // 1,000 consecutive oids in 8,192 slots: a good hash collides for about 60 of them.
        assert!(slots.len() > 900, "{}", slots.len());
    }

    #[test]
    fn the_database_is_part_of_the_key() {
        let same = (16_384..16_484).filter(|&rel| slot_of(5, rel) == slot_of(6, rel)).count();
        assert!(same < 5, "{same}");
    }

    #[test]
    fn slot_is_stable() {
        assert_eq!(slot_of(5, 16_384), slot_of(5, 16_384));
    }

    #[test]
    fn version_grows_with_either_counter() {
        let start = start_value(850_000_000_000_000);
        let v0 = version(start, start, start);
        assert_eq!(v0, start as i64);
        assert_eq!(version(start + 1, start, start), v0 + 1);
        assert_eq!(version(start, start + 1, start), v0 + 1);
        assert_eq!(version(start + 2, start + 3, start), v0 + 5);
    }

    #[test]
    fn a_restart_starts_above_the_previous_run() {
        // A run of one hour with 100,000 commits to one slot, then a restart.
        let first = start_value(850_000_000_000_000);
        let last_of_first_run = version(first + 100_000, first, first);
        let second = start_value(850_000_000_000_000 + 3_600_000_000);
        assert!(version(second, second, second) > last_of_first_run);
    }

    #[test]
    fn start_value_is_positive() {
        assert_eq!(start_value(-5), 1);
    }
}
