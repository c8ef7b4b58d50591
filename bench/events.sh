#!/usr/bin/env bash
# Event delivery benchmark (issue 6): how many events/s the graft worker delivers to a local
# webhook, and the latency from commit to webhook at idle.
#
#   bench/events.sh [--events N] [--samples N] [--concurrency N] [--batch N] [--no-build]
#
#   --events N       events in the burst (default 20000)
#   --samples N      latency samples, one event at a time (default 200)
#   --concurrency N  graft.events_concurrency (default: the setting's default, 16)
#   --batch N        graft.events_batch_size (default: the setting's default, 100)
#   --no-build       use the graft extension already installed (skip cargo pgrx install --release)
#
# A throwaway cluster (127.0.0.1:${GRAFT_EVENTS_BENCH_PORT:-55442}) with graft preloaded, and a
# Node sink (bench/events/driver.mjs) on port ${GRAFT_EVENTS_SINK_PORT:-18442}. Prints a
# Markdown report and writes it to bench/RESULTS-events.md (with the command and the machine).
set -euo pipefail
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$BENCH_DIR/../scripts/lib.sh"
require_pg_binaries

ARGS="$*"
EVENTS=20000 SAMPLES=200 CONCURRENCY= BATCH= BUILD=1
while [ $# -gt 0 ]; do
    case "$1" in
        --events) EVENTS="$2"; shift 2 ;;
        --samples) SAMPLES="$2"; shift 2 ;;
        --concurrency) CONCURRENCY="$2"; shift 2 ;;
        --batch) BATCH="$2"; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
done
for v in "$EVENTS" "$SAMPLES" ${CONCURRENCY:+"$CONCURRENCY"} ${BATCH:+"$BATCH"}; do
    [[ "$v" =~ ^[0-9]+$ ]] || die "expected a number, got '$v'"
done
PORT="${GRAFT_EVENTS_BENCH_PORT:-55442}"
SINK_PORT="${GRAFT_EVENTS_SINK_PORT:-18442}"
port_in_use "$PORT" && die "port $PORT is in use (set GRAFT_EVENTS_BENCH_PORT)"
port_in_use "$SINK_PORT" && die "port $SINK_PORT is in use (set GRAFT_EVENTS_SINK_PORT)"

if [ "$BUILD" = 1 ]; then
    log "cargo pgrx install --release"
    install_extension
fi
log "Node dependencies (bench/package.json)"
(cd "$BENCH_DIR" && npm ci --no-audit --no-fund >/dev/null)

TMP="$(mktemp -d /tmp/graft-events-bench.XXXXXX)"
chmod 755 "$TMP"; chown postgres "$TMP"
PGDATA_DIR="$TMP/data"
cleanup() {
    cluster_running "$PGDATA_DIR" && stop_cluster "$PGDATA_DIR" || true
    rm -rf "$TMP"
}
trap cleanup EXIT

settings=("fsync = off" "shared_preload_libraries = 'graft'" "graft.event_databases = 'bench'")
[ -z "$CONCURRENCY" ] || settings+=("graft.events_concurrency = $CONCURRENCY")
[ -z "$BATCH" ] || settings+=("graft.events_batch_size = $BATCH")
log "cluster on 127.0.0.1:$PORT (${settings[*]})"
init_cluster "$PGDATA_DIR" --no-sync
write_cluster_conf "$PGDATA_DIR" "$PORT" "${settings[@]}"
start_cluster "$PGDATA_DIR" "$TMP/pg.log"
"$PG_BINDIR/psql" -X -q -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -c "CREATE DATABASE bench"
"$PG_BINDIR/psql" -X -q -h 127.0.0.1 -p "$PORT" -U postgres -d bench -c "CREATE EXTENSION graft"
concurrency=$("$PG_BINDIR/psql" -X -At -h 127.0.0.1 -p "$PORT" -U postgres -d bench -c "SHOW graft.events_concurrency")
batch=$("$PG_BINDIR/psql" -X -At -h 127.0.0.1 -p "$PORT" -U postgres -d bench -c "SHOW graft.events_batch_size")

log "delivering $EVENTS events, then $SAMPLES one at a time"
result=$(cd "$BENCH_DIR" && node events/driver.mjs "postgresql://postgres@127.0.0.1:$PORT/bench" "$SINK_PORT" "$EVENTS" "$SAMPLES")
echo "$result"
report="$BENCH_DIR/RESULTS-events.md"
python3 - "$result" "$EVENTS" "$concurrency" "$batch" "bench/events.sh $ARGS" "$(git -C "$GRAFT_ROOT" rev-parse --short HEAD)" \
    "$(nproc) cores ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)), $(free -g | awk '/Mem:/ {print $2}') GiB RAM" \
    "$(cut -d' ' -f1-3 /proc/loadavg)" > "$report" <<'PY'
import json, sys, datetime
r, n, conc, batch, cmd, commit, machine, load = sys.argv[1:9]
r = json.loads(r)
l = r["latency_ms"]
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
print("# Event delivery benchmark\n")
print("Written by `bench/events.sh`; do not edit by hand: re-run it.\n")
print(f"- command: `{cmd.strip()}` ({now}), commit `{commit}`")
print(f"- machine: {machine}; load average (1/5/15 min) at the end: {load}")
print("- a throwaway cluster with `shared_preload_libraries = 'graft'` (fsync off), the release build installed;")
print("  the webhook is a Node `http` server on loopback answering 200 at once (`bench/events/driver.mjs`)")
print(f"- throughput: {n} rows inserted by one statement, one event each; time from COMMIT to the last webhook request")
print("- latency: one row at a time on an otherwise idle system, COMMIT returning to the webhook receiving the request\n")
print("| events | delivered in | events/s | latency p50 | p95 | max | samples | graft.events_concurrency | graft.events_batch_size |")
print("|---|---|---|---|---|---|---|---|---|")
print(f"| {n} | {r['seconds']:.2f} s | {r['events_per_s']:.0f} | {l['p50']:.1f} ms | {l['p95']:.1f} ms | {l['max']:.1f} ms | {l['samples']} | {conc} | {batch} |")
print("\nTargets (issue 6): at least 1,000 events/s; p50 latency from commit to webhook under 50 ms at idle.")
PY
cat "$report"
[ "$(echo "$result" | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["delivered"] and r["undelivered"] == 0)')" = True ] ||
    die "not every event was delivered"
