#!/usr/bin/env bash
# Paired measurement of the counters' write-path cost (src/change_counters.rs), for a noisy
# machine: two throwaway clusters run side by side (ports ${GRAFT_CC_BENCH_PORT:-55443} and the
# next), one without graft preloaded and one with it (counters on). One session on each runs, in
# turn, a procedure of N write transactions (plpgsql INSERT + COMMIT: the executor hook and the
# commit callbacks run as for any client); the backend's own CPU time (/proc/PID/stat) is read
# before and after each batch. Pairs alternate which cluster goes first; the report is the median
# per-pair difference, in µs per transaction.
#
#   bench/change-counters-paired.sh [--txns N] [--pairs N]
#
# Uses the graft extension installed for PG_BINDIR's PostgreSQL (BENCH_PG_BINDIR=… for another).
set -euo pipefail
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$BENCH_DIR/../scripts/lib.sh"
if [ -n "${BENCH_PG_BINDIR:-}" ]; then PG_BINDIR="$BENCH_PG_BINDIR" PG_CONFIG="$BENCH_PG_BINDIR/pg_config"; fi
require_pg_binaries
TXNS=20000 PAIRS=10
while [ $# -gt 0 ]; do
    case "$1" in
        --txns) TXNS="$2"; shift 2 ;;
        --pairs) PAIRS="$2"; shift 2 ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
done
BASE="${GRAFT_CC_BENCH_PORT:-55443}"
TMP="$(mktemp -d /tmp/graft-cc-paired.XXXXXX)"
chmod 755 "$TMP"
as_root chown postgres: "$TMP"
names=(none on)
declare -A port=([none]=$BASE [on]=$((BASE + 1))) preload=([none]="" [on]=graft)
cleanup() {
    for n in "${names[@]}"; do cluster_running "$TMP/$n" && stop_cluster "$TMP/$n"; done
    rm -rf "$TMP"
}
trap cleanup EXIT
for n in "${names[@]}"; do
    port_in_use "${port[$n]}" && die "port ${port[$n]} is in use"
    init_cluster "$TMP/$n" --no-sync
    write_cluster_conf "$TMP/$n" "${port[$n]}" "fsync = off" "synchronous_commit = off" "full_page_writes = off" \
        "shared_preload_libraries = '${preload[$n]}'" "graft.event_databases = ''" "autovacuum = off"
    start_cluster "$TMP/$n" "$TMP/$n.log"
    "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "${port[$n]}" -U postgres -d postgres <<'SQL'
CREATE TABLE t1 (i int);
CREATE TABLE t2 (i int);
CREATE TABLE t3 (i int);
-- One table written per transaction, or three.
CREATE PROCEDURE w1(n int) LANGUAGE plpgsql AS $$
BEGIN FOR i IN 1..n LOOP INSERT INTO t1 VALUES (i); COMMIT; END LOOP; END $$;
CREATE PROCEDURE w3(n int) LANGUAGE plpgsql AS $$
BEGIN FOR i IN 1..n LOOP INSERT INTO t1 VALUES (i); INSERT INTO t2 VALUES (i); INSERT INTO t3 VALUES (i); COMMIT; END LOOP; END $$;
SQL
done

# One long-lived session per cluster: a coprocess psql, its backend's pid.
declare -A pid
for n in "${names[@]}"; do
    coproc_name="PSQL_$n"
    eval "coproc $coproc_name { \"$PG_BINDIR/psql\" -X -At -q -h 127.0.0.1 -p ${port[$n]} -U postgres -d postgres; }"
done
ask() { # ask NAME SQL: run SQL in NAME's session, print its one-line answer
    local -n cp="PSQL_$1"
    echo "$2" >&"${cp[1]}"
    local line
    read -r line <&"${cp[0]}"
    echo "$line"
}
for n in "${names[@]}"; do pid[$n]="$(ask "$n" "SELECT pg_backend_pid();")"; done
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
hz="$(getconf CLK_TCK)"
batch() { # batch NAME PROC: µs of backend CPU per transaction
    local before after
    before="$(cpu_ticks "${pid[$1]}")"
    ask "$1" "CALL $2($TXNS); SELECT 'done';" >/dev/null
    after="$(cpu_ticks "${pid[$1]}")"
    awk -v d=$((after - before)) -v hz="$hz" -v n="$TXNS" 'BEGIN { printf "%.2f", d / hz * 1e6 / n }'
}
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
for proc in w1 w3; do
    batch none "$proc" >/dev/null; batch on "$proc" >/dev/null # warm up
    base=() with=() diff=()
    for p in $(seq 1 "$PAIRS"); do
        if [ $((p % 2)) = 1 ]; then a="$(batch none "$proc")"; b="$(batch on "$proc")"; else b="$(batch on "$proc")"; a="$(batch none "$proc")"; fi
        base+=("$a") with+=("$b") diff+=("$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", b - a }')")
        info "$proc pair $p: no preload $a µs, counters on $b µs"
    done
    echo "| $proc | $(median "${base[@]}") | $(median "${with[@]}") | $(median "${diff[@]}") |" >> "$TMP/report"
done
echo
echo "Backend CPU µs per write transaction (median of $PAIRS pairs of $TXNS transactions):"
echo
echo "| workload | no preload | counters on | difference (median of pairs) |"
echo "|---|---|---|---|"
cat "$TMP/report"
echo
echo "w1: INSERT into one table + COMMIT; w3: INSERT into three tables + COMMIT. $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
