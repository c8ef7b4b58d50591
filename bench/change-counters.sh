#!/usr/bin/env bash
# Write-path overhead of the per-table commit counters (src/change_counters.rs, issue 14).
#
#   bench/change-counters.sh [--scale N] [--rounds N]
#
# pgbench (one client, prepared statements) on a throwaway cluster (127.0.0.1:
# ${GRAFT_CC_BENCH_PORT:-55443}, fsync and synchronous_commit off: the cheapest commits, where
# an overhead shows most), started in turn without graft preloaded, with graft preloaded
# (counters on) and with graft.change_tracking = off; rounds alternate the three. Workloads:
# one autocommitted INSERT (10N of them); a transaction of 10 INSERTs into 10 tables (N); a
# SELECT 1, a statement that writes nothing (20N); N = --scale, 5000. Besides TPS (noisy on a
# shared machine) it reports the backend's CPU time per transaction (the postmaster's children
# CPU time before and after: the benchmark's backend once it exited), which other load barely
# moves. Uses the graft extension installed for PG_BINDIR's PostgreSQL (it does
# not build; BENCH_PG_BINDIR=… picks another PostgreSQL). Prints a Markdown table of the median TPS.
set -euo pipefail
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$BENCH_DIR/../scripts/lib.sh"
# BENCH_PG_BINDIR: another PostgreSQL 15 (a private copy with the extension to measure).
if [ -n "${BENCH_PG_BINDIR:-}" ]; then PG_BINDIR="$BENCH_PG_BINDIR" PG_CONFIG="$BENCH_PG_BINDIR/pg_config"; fi
require_pg_binaries
TXNS_SCALE=5000 ROUNDS=3
while [ $# -gt 0 ]; do
    case "$1" in
        --scale) TXNS_SCALE="$2"; shift 2 ;;
        --rounds) ROUNDS="$2"; shift 2 ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
done
PORT="${GRAFT_CC_BENCH_PORT:-55443}"
port_in_use "$PORT" && die "port $PORT is in use (set GRAFT_CC_BENCH_PORT)"

TMP="$(mktemp -d /tmp/graft-cc-bench.XXXXXX)"
chmod 755 "$TMP"
as_root chown postgres: "$TMP"
PGDATA_DIR="$TMP/data"
cleanup() {
    cluster_running "$PGDATA_DIR" && stop_cluster "$PGDATA_DIR"
    rm -rf "$TMP"
}
trap cleanup EXIT

printf 'INSERT INTO t0 VALUES (1);\n' > "$TMP/insert.sql"
{
    echo "BEGIN;"
    for i in $(seq 0 9); do echo "INSERT INTO t$i VALUES (1);"; done
    echo "COMMIT;"
} > "$TMP/tx10.sql"
printf 'SELECT 1;\n' > "$TMP/select.sql"
chmod a+r "$TMP"/*.sql

init_cluster "$PGDATA_DIR" --no-sync
PSQL=("$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U postgres -d postgres)

configs=(none on off)
declare -A tps cpu
declare -A TXNS=([insert]=$((TXNS_SCALE * 10)) [tx10]=$TXNS_SCALE [select]=$((TXNS_SCALE * 20)))
# CPU time (clock ticks) of the postmaster's exited children: the benchmark's backend, once gone.
children_cpu_ticks() { awk '{ print $16 + $17 }' "/proc/$1/stat"; }
run_config() {
    local config="$1" round="$2" preload="graft" tracking="on"
    case "$config" in
        none) preload="" ;;
        off) tracking="off" ;;
    esac
    local conf=("fsync = off" "synchronous_commit = off" "full_page_writes = off"
        "shared_preload_libraries = '$preload'" "graft.event_databases = ''" "autovacuum = off")
    [ -n "$preload" ] && conf+=("graft.change_tracking = $tracking")
    write_cluster_conf "$PGDATA_DIR" "$PORT" "${conf[@]}"
    start_cluster "$PGDATA_DIR" "$TMP/server.log"
    "${PSQL[@]}" -c "SET client_min_messages = warning" -c "DO \$\$ BEGIN FOR i IN 0..9 LOOP EXECUTE format('DROP TABLE IF EXISTS t%s; CREATE TABLE t%s (i int)', i, i); END LOOP; END \$\$"
    local w pm
    pm="$(head -1 "$PGDATA_DIR/postmaster.pid")"
    for w in insert tx10 select; do
        local before after out
        before="$(children_cpu_ticks "$pm")"
        out="$("$PG_BINDIR/pgbench" -n -M prepared -c 1 -t "${TXNS[$w]}" -h 127.0.0.1 -p "$PORT" -U postgres -f "$TMP/$w.sql" postgres 2>&1)"
        # The backend has exited; wait until the postmaster has reaped it (its CPU time then
        # counts in the postmaster's cutime/cstime).
        sleep 0.5
        after="$(children_cpu_ticks "$pm")"
        tps["$config,$w,$round"]="$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<< "$out" | head -1)"
        cpu["$config,$w,$round"]="$(awk -v d=$((after - before)) -v hz="$(getconf CLK_TCK)" -v n="${TXNS[$w]}" 'BEGIN { printf "%.1f", d / hz * 1e6 / n }')"
        info "round $round, $config, $w: ${tps["$config,$w,$round"]} tps, ${cpu["$config,$w,$round"]} µs backend CPU per transaction"
    done
    stop_cluster "$PGDATA_DIR"
}
for round in $(seq 1 "$ROUNDS"); do
    for config in "${configs[@]}"; do run_config "$config" "$round"; done
done

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
table() {
    local -n values="$1"
    for w in insert tx10 select; do
        row=()
        for config in "${configs[@]}"; do
            vals=()
            for round in $(seq 1 "$ROUNDS"); do vals+=("${values["$config,$w,$round"]}"); done
            row+=("$(median "${vals[@]}")")
        done
        delta="$(awk -v a="${row[0]}" -v b="${row[1]}" 'BEGIN { printf "%+.1f%%", (b - a) / a * 100 }')"
        echo "| $w | ${row[0]} | ${row[1]} | ${row[2]} | $delta |"
    done
}
echo
echo "Backend CPU time per transaction, µs (median of $ROUNDS rounds):"
echo
echo "| workload | no preload | preloaded, counters on | preloaded, graft.change_tracking = off | on vs no preload |"
echo "|---|---|---|---|---|"
table cpu
echo
echo "TPS (median of $ROUNDS rounds):"
echo
echo "| workload | no preload | preloaded, counters on | preloaded, graft.change_tracking = off | on vs no preload |"
echo "|---|---|---|---|---|"
table tps
echo
echo "one client, prepared statements; $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
