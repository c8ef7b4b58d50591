#!/usr/bin/env bash
# Live-query benchmark (issue 14): N WebSocket subscribers on a permissioned query, measured
# idle and under writes, change-driven against plain polling in the same run; then streaming.
#
#   bench/live.sh [--quick] [options]
#
#   --quick            a seeded small sample (200 subscribers over 50 users, ~10 s per mode):
#                      checks correctness; writes bench/out/RESULTS-live-quick.md; what CI runs
#   --subscribers N    WebSocket subscribers, one socket and one subscription each (10000)
#   --users U          distinct user ids they are spread over (1000; the table has 1000 users)
#   --states LIST      writes/s:seconds of each measured state (0:30,10:30,100:30)
#   --warmup S         seconds at a state's write rate before its window (5)
#   --modes LIST       change,polling (default both, in that order)
#   --streams N        streaming subscriptions in the streaming part (1000; 0 skips it)
#   --stream-rate R    rows inserted per second while streaming (1000)
#   --stream-seconds S how long the inserts run (20)
#   --refetch-ms MS    HASURA_GRAPHQL_LIVE_QUERIES_MULTIPLEXED_REFETCH_INTERVAL (1000)
#   --stream-refetch-ms MS  HASURA_GRAPHQL_STREAMING_QUERIES_MULTIPLEXED_REFETCH_INTERVAL (50): a stream
#                      gets at most batch_size (100) rows per run, so keeping up with 1,000 inserts/s
#                      needs more than 10 runs a second (Hasura's default, 1000 ms, is 100 rows/s)
#   --keepalive S      HASURA_GRAPHQL_WEBSOCKET_KEEPALIVE (the sidecar's default, 5 s: a ping per
#                      socket every 5 s, which the client answers)
#   --port P           PostgreSQL port on 127.0.0.1 (28170; GRAFT_LIVE_BENCH_PORT)
#   --http-port P      sidecar port (28180; GRAFT_LIVE_BENCH_HTTP_PORT)
#   --out FILE         the report (default: bench/RESULTS.md's "Live queries" section; --quick:
#                      bench/out/RESULTS-live-quick.md)
#   --sidecar FILE     use this `graft` binary instead of building crates/server
#   --pg-root DIR      take PostgreSQL (and its graft) from a relocatable copy below DIR (DIR/usr/lib/
#                      postgresql/15, DIR/usr/share/postgresql/15, as scripts/lib.sh's private_pg_for_pgrx
#                      makes) instead of the system's
#   --keep             leave the cluster running at the end
#   -h, --help         this text
#
# Uses the graft extension installed in the system PostgreSQL (it never installs one) through a
# private copy of the installation taken at the start, so a re-install mid-run changes nothing.
# Builds the sidecar (`cargo build --release -p graft-server`) and the load client
# (bench/ws-load, its own crate) with cargo. Raw results: bench/out/live/ (git-ignored).
# Exit 1 when a subscriber saw another user's row, missed a write, or a stream lost or
# repeated a row; slow numbers never fail the run.
set -euo pipefail
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$BENCH_DIR/../scripts/lib.sh"
ORIG_ARGS=("$@")

MODE=full SUBSCRIBERS= USERS= STATES= WARMUP= MODES="change,polling" STREAMS= STREAM_RATE= STREAM_SECONDS=
SIDECAR_BIN= PG_ROOT= KEEPALIVE= STREAM_REFETCH_MS=50 REFETCH_MS=1000 PORT="${GRAFT_LIVE_BENCH_PORT:-28170}" HTTP_PORT="${GRAFT_LIVE_BENCH_HTTP_PORT:-28180}" OUT_FILE= KEEP=0
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) MODE=quick ;;
        --subscribers) SUBSCRIBERS="${2:?}"; shift ;;
        --users) USERS="${2:?}"; shift ;;
        --states) STATES="${2:?}"; shift ;;
        --warmup) WARMUP="${2:?}"; shift ;;
        --modes) MODES="${2:?}"; shift ;;
        --streams) STREAMS="${2:?}"; shift ;;
        --stream-rate) STREAM_RATE="${2:?}"; shift ;;
        --stream-seconds) STREAM_SECONDS="${2:?}"; shift ;;
        --refetch-ms) REFETCH_MS="${2:?}"; shift ;;
        --stream-refetch-ms) STREAM_REFETCH_MS="${2:?}"; shift ;;
        --keepalive) KEEPALIVE="${2:?}"; shift ;;
        --port) PORT="${2:?}"; shift ;;
        --http-port) HTTP_PORT="${2:?}"; shift ;;
        --out) OUT_FILE="${2:?}"; shift ;;
        --sidecar) SIDECAR_BIN="${2:?}"; shift ;;
        --pg-root) PG_ROOT="${2:?}"; shift ;;
        --keep) KEEP=1 ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown option $1 (try --help)" ;;
    esac
    shift
done
TOTAL_USERS=1000 ROWS_PER_USER=5
if [ "$MODE" = quick ]; then
    : "${SUBSCRIBERS:=200}" "${USERS:=50}" "${STATES:=0:2,20:6}" "${WARMUP:=1}" "${STREAMS:=20}" "${STREAM_RATE:=200}" "${STREAM_SECONDS:=3}"
    GRACE=3
    : "${OUT_FILE:=$BENCH_DIR/out/RESULTS-live-quick.md}"
else
    : "${SUBSCRIBERS:=10000}" "${USERS:=1000}" "${STATES:=0:30,10:30,100:30}" "${WARMUP:=5}" "${STREAMS:=1000}" "${STREAM_RATE:=1000}" "${STREAM_SECONDS:=20}"
    GRACE=3
    : "${OUT_FILE:=$BENCH_DIR/RESULTS.md}"
fi
for v in SUBSCRIBERS USERS WARMUP STREAMS STREAM_RATE STREAM_SECONDS REFETCH_MS PORT HTTP_PORT; do
    [[ "${!v}" =~ ^[0-9]+$ ]] || die "--${v,,} must be a number (got '${!v}')"
done
[ "$USERS" -le "$TOTAL_USERS" ] && [ "$USERS" -ge 1 ] || die "--users must be 1..$TOTAL_USERS"
[[ "$STATES" =~ ^[0-9]+:[1-9][0-9]*(,[0-9]+:[1-9][0-9]*)*$ ]] || die "--states: rate:seconds,... (got '$STATES')"
for m in ${MODES//,/ }; do case "$m" in change|polling) ;; *) die "--modes: change or polling (got '$m')" ;; esac; done
# A poll of 1 s needs a few intervals of grace for the last writes of a window to arrive.
GRACE=$(( GRACE > 3 * REFETCH_MS / 1000 ? GRACE : 3 * REFETCH_MS / 1000 + 1 ))

OUT="$BENCH_DIR/out/live"
RESULTS="$OUT/results.jsonl"
mkdir -p "$OUT"
: > "$RESULTS"
TARGET_DIR="${CARGO_TARGET_DIR:-$GRAFT_ROOT/target}"
ADMIN_SECRET="live-bench-$(date +%s)-$RANDOM"
DB=bench
RUN_START=$(date +%s)
elapsed() { echo "$(( $(date +%s) - RUN_START ))s"; }
load_now() { cut -d' ' -f1-3 /proc/loadavg; }
record() { echo "$1" >> "$RESULTS"; }

# The client and the sidecar each hold one descriptor per socket (plus a few).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
need_fds=$(( (SUBSCRIBERS > STREAMS ? SUBSCRIBERS : STREAMS) + 200 ))
[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge "$need_fds" ] ||
    die "ulimit -n is $(ulimit -n) (hard $(ulimit -Hn)): $need_fds descriptors needed per process for $SUBSCRIBERS sockets; use fewer --subscribers"

require_pg_binaries
if [ -n "$PG_ROOT" ]; then
    PG_ROOT="$(cd "$PG_ROOT" && pwd)"
    PG_CONFIG="$PG_ROOT$PG_BINDIR/pg_config"
    [ -x "$PG_CONFIG" ] || die "--pg-root: no $PG_CONFIG"
fi
graft_extension_installed || die "the graft extension is not installed in PostgreSQL $GRAFT_PG_MAJOR (the lead installs it; this script never does)"
port_in_use "$PORT" && die "port $PORT is in use (--port or GRAFT_LIVE_BENCH_PORT)"
port_in_use "$HTTP_PORT" && die "port $HTTP_PORT is in use (--http-port or GRAFT_LIVE_BENCH_HTTP_PORT)"

TMP= SIDECAR_PID= LOAD_PID=
cleanup() {
    local rc=$?
    [ -z "$LOAD_PID" ] || kill "$LOAD_PID" 2>/dev/null || true
    stop_sidecar
    if [ -n "$TMP" ] && [ -d "$TMP" ]; then
        [ -f "$TMP/server.log" ] && cp "$TMP/server.log" "$OUT/server.log" 2>/dev/null || true
        if [ "$KEEP" = 1 ] && cluster_running "$TMP/data"; then
            log "--keep: cluster left running: psql -h 127.0.0.1 -p $PORT -U postgres $DB (stop: runuser -u postgres -- $PG_BINDIR/pg_ctl -D $TMP/data stop; rm -rf $TMP)"
        else
            cluster_running "$TMP/data" && { stop_cluster "$TMP/data" || warn "could not stop the cluster in $TMP/data"; }
            rm -rf "$TMP"
        fi
    fi
    exit "$rc"
}
stop_sidecar() {
    if [ -n "$SIDECAR_PID" ]; then
        kill "$SIDECAR_PID" 2>/dev/null || true
        local i
        for i in $(seq 1 50); do kill -0 "$SIDECAR_PID" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$SIDECAR_PID" 2>/dev/null || true
        wait "$SIDECAR_PID" 2>/dev/null || true
        SIDECAR_PID=
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

section "live-query benchmark ($MODE): $SUBSCRIBERS subscribers over $USERS users, states $STATES, modes $MODES"
LOAD_START=$(load_now)
info "machine: $(nproc) cores, load $LOAD_START; ulimit -n $(ulimit -n)"

# ---- build -------------------------------------------------------------------------------
if [ -z "$SIDECAR_BIN" ]; then
    log "cargo build --release -p graft-server --bin graft (the sidecar)"
    (cd "$GRAFT_ROOT" && cargo build -q --release -p graft-server --bin graft)
    SIDECAR_BIN="$TARGET_DIR/release/graft"
fi
[ -x "$SIDECAR_BIN" ] || die "no sidecar binary at $SIDECAR_BIN"
log "cargo build --release in bench/ws-load (the load client)"
(cd "$BENCH_DIR/ws-load" && CARGO_TARGET_DIR="$TARGET_DIR/ws-load" cargo build -q --release)
TMP="$(mktemp -d /tmp/graft-live-bench.XXXXXX)"
chmod 755 "$TMP"
# Copies: a target directory shared with other builds may change during the run.
cp "$SIDECAR_BIN" "$TMP/graft"
cp "$TARGET_DIR/ws-load/release/ws-load" "$TMP/ws-load"

# A private copy of the PostgreSQL installation with the graft installed now (as run.sh does):
# binaries, sharedir and pkglibdir, at the same paths below $TMP/pg (PostgreSQL finds the latter
# two relative to its binaries).
sys_lib="$("$PG_CONFIG" --pkglibdir)"
for src in "$PG_ROOT$(dirname "$PG_BINDIR")" "$("$PG_CONFIG" --sharedir)" "$sys_lib"; do
    dst="$TMP/pg${src#"$PG_ROOT"}"
    [ -e "$dst" ] && continue
    mkdir -p "$(dirname "$dst")"
    cp -a "$src" "$dst"
done
sys_lib="${sys_lib#"$PG_ROOT"}"
GRAFT_SO_SUM=$(md5sum "$TMP/pg$sys_lib/graft.so" | cut -d' ' -f1)
PG_BINDIR="$TMP/pg$PG_BINDIR"
info "private PostgreSQL copy in $TMP/pg (graft.so md5 $GRAFT_SO_SUM)"

# ---- cluster and data ----------------------------------------------------------------------
as_root chown postgres: "$TMP"
PSQL=("$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U postgres)
sql_value() { "${PSQL[@]}" -d "$DB" -At -c "$1"; }
init_cluster "$TMP/data" --no-sync
# Plain polling: a sidecar that has the switch (GRAFT_LIVE_QUERIES_CHANGE_CHECK_INTERVAL=0:
# every cohort re-runs each refetch interval) polls against the same preloaded cluster; an older
# one, which has no change-driven refetch at all, against the cluster restarted without graft
# preloaded.
if "$TMP/graft" serve --help 2>/dev/null | grep -q -- '--live-queries-change-check-interval'; then
    POLLING_HOW=switch
else
    POLLING_HOW=nopreload
fi
# $1 = change or polling: change-driven refetch needs graft preloaded (its change counters live
# in shared memory).
configure_cluster() {
    local preload=()
    if [ "$1" = change ] || [ "$POLLING_HOW" = switch ]; then preload=("shared_preload_libraries = 'graft'"); fi
    write_cluster_conf "$TMP/data" "$PORT" \
        "shared_buffers = 128MB" "max_connections = 200" \
        "fsync = off" "synchronous_commit = off" "full_page_writes = off" \
        "autovacuum = off" "lc_messages = 'C'" "log_min_messages = warning" \
        "log_line_prefix = '%m [%p] %q%u@%d '" "${preload[@]}"
}
restart_cluster() {
    configure_cluster "$1"
    if cluster_running "$TMP/data"; then stop_cluster "$TMP/data"; fi
    start_cluster "$TMP/data" "$TMP/server.log"
}
first_mode="${MODES%%,*}"
restart_cluster "$first_mode"
PG_VERSION=$("${PSQL[@]}" -d postgres -At -c "SHOW server_version")
"${PSQL[@]}" -d postgres -c "CREATE DATABASE $DB"
log "todo: $TOTAL_USERS users x $ROWS_PER_USER rows (user u owns ids (u-1)*$ROWS_PER_USER+1 ..= u*$ROWS_PER_USER), role user sees user_id = X-Hasura-User-Id"
"${PSQL[@]}" -d "$DB" -o /dev/null <<SQL
SET client_min_messages = warning;
CREATE TABLE todo (
    id bigserial PRIMARY KEY,
    user_id integer NOT NULL,
    title text NOT NULL,
    done boolean NOT NULL DEFAULT false,
    updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO todo (id, user_id, title)
SELECT (u - 1) * $ROWS_PER_USER + r, u, 'w0' FROM generate_series(1, $TOTAL_USERS) u, generate_series(1, $ROWS_PER_USER) r
ORDER BY 1;
SELECT setval('todo_id_seq', (SELECT max(id) FROM todo));
CREATE INDEX todo_user_id ON todo (user_id);
VACUUM ANALYZE todo;
CREATE EXTENSION graft;
SELECT graphql.track_all('public');
SELECT graphql.metadata('{"type": "pg_create_select_permission",
  "args": {"source": "default", "table": {"schema": "public", "name": "todo"}, "role": "user",
           "permission": {"columns": ["id", "user_id", "title", "done", "updated_at"],
                          "filter": {"user_id": {"_eq": "X-Hasura-User-Id"}}}}}');
SQL
perm=$(sql_value "SELECT count(*) FROM json_array_elements(graphql.export_metadata()->'sources'->0->'tables') t,
    json_array_elements(coalesce(t->'select_permissions', '[]')) p WHERE t->'table'->>'name' = 'todo' AND p->>'role' = 'user'")
[ "$perm" = 1 ] || die "the select permission of role user on todo was not created"
# The permission works in the database before anything is timed: user 7 sees its rows only.
ok=$(sql_value "SELECT graphql.resolve('{ todo(order_by: {id: asc}) { id } }', NULL, '{\"x-hasura-role\": \"user\", \"x-hasura-user-id\": \"7\"}')::jsonb
    = jsonb_build_object('data', jsonb_build_object('todo', (SELECT jsonb_agg(jsonb_build_object('id', id) ORDER BY id) FROM todo WHERE user_id = 7)))")
[ "$ok" = t ] || die "graphql.resolve as user 7 does not return exactly user 7's rows"

# ---- the sidecar ---------------------------------------------------------------------------
start_sidecar() {
    local log="$OUT/graft-serve-$1.log" switch=()
    if [ "$1" = polling ] && [ "$POLLING_HOW" = switch ]; then switch=(GRAFT_LIVE_QUERIES_CHANGE_CHECK_INTERVAL=0); fi
    if [ -n "$KEEPALIVE" ]; then switch+=(HASURA_GRAPHQL_WEBSOCKET_KEEPALIVE="$KEEPALIVE"); fi
    env "${switch[@]}" \
    HASURA_GRAPHQL_DATABASE_URL="postgres://postgres@127.0.0.1:$PORT/$DB" \
    HASURA_GRAPHQL_SERVER_HOST=127.0.0.1 HASURA_GRAPHQL_SERVER_PORT="$HTTP_PORT" \
    HASURA_GRAPHQL_ADMIN_SECRET="$ADMIN_SECRET" \
    HASURA_GRAPHQL_LIVE_QUERIES_MULTIPLEXED_REFETCH_INTERVAL="$REFETCH_MS" \
    HASURA_GRAPHQL_STREAMING_QUERIES_MULTIPLEXED_REFETCH_INTERVAL="$STREAM_REFETCH_MS" \
    HASURA_GRAPHQL_ENABLE_CONSOLE=false HASURA_GRAPHQL_LOG_LEVEL=warn RUST_LOG=warn \
        "$TMP/graft" serve > "$log" 2>&1 &
    SIDECAR_PID=$!
    local i
    for i in $(seq 1 300); do
        if curl -sf -o /dev/null -H "x-hasura-admin-secret: $ADMIN_SECRET" -H 'content-type: application/json' \
            -d '{"query":"{ __typename }"}' "http://127.0.0.1:$HTTP_PORT/v1/graphql"; then
            return 0
        fi
        kill -0 "$SIDECAR_PID" 2>/dev/null || break
        sleep 0.1
    done
    tail -20 "$log" >&2
    die "graft serve did not answer on 127.0.0.1:$HTTP_PORT (log: $log)"
}
postmaster_pid() { as_postgres head -1 "$TMP/data/postmaster.pid"; }
# Does the sidecar's schema have streaming fields (todo_stream)?
has_stream_field() {
    curl -sf -H "x-hasura-admin-secret: $ADMIN_SECRET" -H 'content-type: application/json' \
        -d '{"query":"{ __type(name: \"subscription_root\") { fields { name } } }"}' "http://127.0.0.1:$HTTP_PORT/v1/graphql" |
        grep -q '"todo_stream"'
}

COMMON=(--url "ws://127.0.0.1:$HTTP_PORT/v1/graphql" --pg "host=127.0.0.1 port=$PORT user=postgres dbname=$DB"
    --admin-secret "$ADMIN_SECRET" --seed 14)
FAILED=0
run_client() {
    local what="$1"; shift
    "$TMP/ws-load" "$@" > "$OUT/$what.jsonl" &
    LOAD_PID=$!
    local rc=0
    wait "$LOAD_PID" || rc=$?
    LOAD_PID=
    cat "$OUT/$what.jsonl" >> "$RESULTS"
    if [ "$rc" != 0 ]; then
        warn "ws-load ($what) exited with $rc"
        FAILED=1
    fi
}

STREAM_AVAILABLE=0
for m in ${MODES//,/ }; do
    section "$m: $SUBSCRIBERS subscribers, states $STATES (load $(load_now), $(elapsed))"
    if [ "$m" != "$first_mode" ] && [ "$POLLING_HOW" = nopreload ]; then restart_cluster "$m"; fi
    preload=$(sql_value "SHOW shared_preload_libraries")
    how=$POLLING_HOW
    [ "$m" = polling ] || how=
    info "shared_preload_libraries = '$preload'${how:+; plain polling by $( [ "$how" = switch ] && echo 'GRAFT_LIVE_QUERIES_CHANGE_CHECK_INTERVAL=0' || echo 'no preload')}"
    start_sidecar "$m"
    record "$(python3 -c 'import json,sys; print(json.dumps({"kind": "mode", "label": sys.argv[1], "preload": sys.argv[2], "how": sys.argv[3], "load": sys.argv[4]}))' "$m" "$preload" "$how" "$(load_now)")"
    run_client "live-$m" live "${COMMON[@]}" --label "$m" --sidecar-pid "$SIDECAR_PID" --postmaster-pid "$(postmaster_pid)" \
        --subscribers "$SUBSCRIBERS" --users "$USERS" --rows "$ROWS_PER_USER" --states "$STATES" --warmup "$WARMUP" --grace "$GRACE"
    python3 - "$OUT/live-$m.jsonl" <<'PY' || FAILED=1
import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["kind"] == "state":
        print(f"    state {r['state']}: {r['rate']} w/s: PG {r['pg_cpu_pct']}% sidecar {r['sidecar_cpu_pct']}% client {r['client_cpu_pct']}% "
              f"(machine {r['machine_busy_pct']}%), RSS {r['sidecar_rss_kb']//1024} MB, {r['messages']} messages, "
              f"delivered {r['delivered']}/{r['expected_deliveries']}, p50 {r['latency_p50_ms']} ms p99 {r['latency_p99_ms']} ms")
    elif r["kind"] == "connect":
        print(f"    connected {r['subscribers'] - r['failed']}/{r['subscribers']} in {r['connect_s']:.1f} s; sidecar RSS {r['sidecar_rss_before_kb']} -> {r['sidecar_rss_after_kb']} kB ({r['sidecar_bytes_per_subscriber']:.0f} B per subscriber)")
    elif r["kind"] == "correctness":
        print(f"    correctness: {'ok' if r['ok'] else 'FAILED'}: {json.dumps(r)}")
        if not r["ok"]:
            sys.exit(1)
PY
    if [ "$m" = change ] && [ "$STREAMS" -gt 0 ]; then
        if has_stream_field; then
            STREAM_AVAILABLE=1
            section "streaming: $STREAMS streams, $STREAM_RATE inserts/s for ${STREAM_SECONDS}s (load $(load_now), $(elapsed))"
            run_client "stream" stream "${COMMON[@]}" --label stream --sidecar-pid "$SIDECAR_PID" --postmaster-pid "$(postmaster_pid)" \
                --streams "$STREAMS" --insert-rate "$STREAM_RATE" --seconds "$STREAM_SECONDS" --batch-size 100 --users "$TOTAL_USERS"
            python3 - "$OUT/stream.jsonl" <<'PY' || FAILED=1
import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    print(f"    {r['streams_complete']}/{r['streams']} streams complete, {r['inserted']} rows ({r['inserts_per_s']}/s), missing {r['missing']}, duplicates {r['duplicates']}, "
          f"out of order {r['out_of_order']}; p50 {r['latency_p50_ms']} ms p99 {r['latency_p99_ms']} ms; PG {r['pg_cpu_pct']}% sidecar {r['sidecar_cpu_pct']}%")
    if not r["ok"]:
        print(f"    streaming FAILED: {json.dumps(r)}")
        sys.exit(1)
PY
            # Back to the live queries' data: the streamed rows belong to random users.
            sql_value "DELETE FROM todo WHERE id > $((TOTAL_USERS * ROWS_PER_USER))" >/dev/null
        else
            info "streaming: not available (the sidecar's schema has no todo_stream field on this build)"
            record '{"kind": "stream_unavailable"}'
        fi
    fi
    stop_sidecar
done

# ---- report --------------------------------------------------------------------------------
section "report"
python3 "$BENCH_DIR/lib/live_report.py" "$RESULTS" "$OUT_FILE" "$MODE" \
    "bench/live.sh ${ORIG_ARGS[*]}" "$(git -C "$GRAFT_ROOT" rev-parse --short HEAD)" \
    "$(nproc) cores ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)), $(free -g | awk '/Mem:/ {print $2}') GiB RAM" \
    "$LOAD_START" "$(load_now)" "$(elapsed)" "$PG_VERSION" "$REFETCH_MS" "$GRAFT_SO_SUM" "$STREAM_AVAILABLE" "${PG_ROOT:-the system PostgreSQL}" "$STREAM_REFETCH_MS"
log "wrote ${OUT_FILE#"$GRAFT_ROOT"/} (raw: bench/out/live/results.jsonl) in $(elapsed)"
[ "$FAILED" = 0 ] || die "correctness failures (above); raw results in bench/out/live/"
