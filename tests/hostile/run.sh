#!/usr/bin/env bash
# Hostile-input test: a throwaway PostgreSQL with a small tracked fixture (tests/hostile/fixture.sql),
# one `graft serve` in front of it, and tests/hostile/fuzz.py sending a few thousand seeded hostile
# requests (mutated queries, deep nests up to 1 MiB, huge lists, odd numbers and strings, bad
# variables and session JSON, metadata requests with garbage args) both over SQL
# (graphql.resolve, graphql.metadata) and over HTTP (/v1/graphql as admin and as a role,
# /v1/metadata, /v1/query, /v2/query).
#
# Each case must get an answer in Hasura's shape (SQL: a JSON object with data or errors, never an
# exception; HTTP: a JSON body with errors[].extensions.code, or {error, code, path}), within the
# time bound, with every backend's peak memory under the bound, the connection still usable and no
# crash, panic or Rust backtrace in the server or sidecar log. Ends with
#   hostile: N passed, M failed
# and one line per failure class with a minimal reproducer; exits non-zero on any failure.
#
#   tests/hostile/run.sh [--help]
#
# Environment:
#   GRAFT_HOSTILE_PORT       PostgreSQL port (default 55631); the sidecar listens on it + 1
#   GRAFT_HOSTILE_HTTP_PORT  sidecar port (default GRAFT_HOSTILE_PORT + 1)
#   GRAFT_HOSTILE_SEED       generator seed (default 12)
#   GRAFT_HOSTILE_CASES      random cases after the 54 fixed known-problem cases (default 1000:
#                            about two and a half minutes on a loaded two-core machine)
#   GRAFT_HOSTILE_MEM_MIB    per-backend peak memory bound, MiB (default 512)
#   GRAFT_HOSTILE_TIME_S     per-call time bound, seconds, also the statement_timeout (default 10)
#   GRAFT_HOSTILE_ONLY       a regular expression: run only the cases whose name matches
#   GRAFT_HOSTILE_OUT        write every failing case (full input) as JSON lines to this file
#   GRAFT_HOSTILE_BIN        the sidecar binary (default target/release/graft, built here if missing)
#   GRAFT_HOSTILE_KEEP       keep the temporary directory (cluster, logs) at exit
# The extension must be installed in the system PostgreSQL (cargo pgrx install).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
# Backtraces on: a Rust panic in a backend or in the sidecar leaves its trace in the log we check.
export RUST_BACKTRACE=1
cd "$GRAFT_ROOT"

case "${1:-}" in
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    "") ;;
    *) echo "usage: tests/hostile/run.sh [--help]" >&2; exit 2 ;;
esac

require_pg_binaries
graft_extension_installed || die "the graft extension is not installed in $("$PG_CONFIG" --pkglibdir) (cargo pgrx install --release)"

PG_PORT="${GRAFT_HOSTILE_PORT:-55631}"
HTTP_PORT="${GRAFT_HOSTILE_HTTP_PORT:-$((PG_PORT + 1))}"
TIME_S="${GRAFT_HOSTILE_TIME_S:-10}"
TMP="$(mktemp -d /tmp/graft-hostile.XXXXXX)"
chmod 755 "$TMP"
chown postgres "$TMP"
PGDATA_DIR="$TMP/data"
PG_LOG="$TMP/pg.log"
SIDECAR_LOG="$TMP/sidecar.log"
SIDECAR_PID=

cleanup() {
    local rc=$?
    [ -z "$SIDECAR_PID" ] || kill "$SIDECAR_PID" 2>/dev/null || true
    cluster_running "$PGDATA_DIR" && stop_cluster "$PGDATA_DIR" || true
    if [ "$rc" -ne 0 ] && [ -z "${GRAFT_HOSTILE_KEEP:-}" ]; then
        echo "---- last lines of the sidecar log (other than http-log) ----"
        grep -v '"type":"http-log"' "$SIDECAR_LOG" 2>/dev/null | tail -n 5 || true
    fi
    if [ -n "${GRAFT_HOSTILE_KEEP:-}" ]; then echo "kept $TMP"; else rm -rf "$TMP"; fi
    return "$rc"
}
trap cleanup EXIT

port_in_use "$PG_PORT" && die "port $PG_PORT is in use (set GRAFT_HOSTILE_PORT)"
port_in_use "$HTTP_PORT" && die "port $HTTP_PORT is in use (set GRAFT_HOSTILE_HTTP_PORT)"

BIN="${GRAFT_HOSTILE_BIN:-$GRAFT_ROOT/target/release/graft}"
if [ -z "${GRAFT_HOSTILE_BIN:-}" ] && [ ! -x "$BIN" ]; then
    log "building the sidecar"
    cargo build -q --release -p graft-server
fi

log "Python client (psycopg)"
python3 -m venv "$TMP/venv"
"$TMP/venv/bin/pip" install -q --disable-pip-version-check "psycopg[binary]==3.3.9"

log "starting PostgreSQL on 127.0.0.1:$PG_PORT"
init_cluster "$PGDATA_DIR" --no-sync
# Small shared memory, so a backend's resident set is mostly its own; the time bound is every
# statement's timeout, the sidecar's pooled connections included.
write_cluster_conf "$PGDATA_DIR" "$PG_PORT" "fsync = off" "lc_messages = 'C'" "shared_buffers = '32MB'" \
    "statement_timeout = '${TIME_S}s'" "max_connections = 40" "log_min_messages = warning" \
    "log_line_prefix = '%m [%p] '"
# An address-space cap on every backend, so a runaway allocation fails (and is reported) long
# before it can hurt the machine.
(ulimit -v "${GRAFT_HOSTILE_VMEM_KIB:-6291456}"; start_cluster "$PGDATA_DIR" "$PG_LOG")
PSQL=("$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres)
"${PSQL[@]}" -d postgres -c "CREATE DATABASE hostile"
"${PSQL[@]}" -d hostile -f tests/hostile/fixture.sql >/dev/null

log "starting graft serve on 127.0.0.1:$HTTP_PORT"
env HASURA_GRAPHQL_DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/hostile?application_name=graft-hostile-sidecar" \
    HASURA_GRAPHQL_SERVER_PORT="$HTTP_PORT" HASURA_GRAPHQL_ADMIN_SECRET="hostile-s3cret" \
    HASURA_GRAPHQL_PG_CONNECTIONS=4 HASURA_GRAPHQL_ENABLED_LOG_TYPES="startup,webhook-log" \
    "$BIN" serve > "$SIDECAR_LOG" 2>&1 &
SIDECAR_PID=$!
python3 - "$HTTP_PORT" <<'PY' || die "graft serve did not become healthy (log: $SIDECAR_LOG)"
import sys, time, urllib.request
for _ in range(150):
    try:
        if urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/healthz", timeout=3).status == 200:
            sys.exit(0)
    except Exception:
        pass
    time.sleep(0.2)
sys.exit(1)
PY

log "hostile cases (seed ${GRAFT_HOSTILE_SEED:-12})"
"$TMP/venv/bin/python" tests/hostile/fuzz.py \
    --dsn "host=127.0.0.1 port=$PG_PORT user=postgres dbname=hostile" \
    --url "http://127.0.0.1:$HTTP_PORT" --admin-secret hostile-s3cret \
    --pg-log "$PG_LOG" --sidecar-log "$SIDECAR_LOG" --sidecar-pid "$SIDECAR_PID" \
    --postmaster-pid "$(head -1 "$PGDATA_DIR/postmaster.pid")" \
    --seed "${GRAFT_HOSTILE_SEED:-12}" --cases "${GRAFT_HOSTILE_CASES:-1000}" \
    --mem-mib "${GRAFT_HOSTILE_MEM_MIB:-512}" --time-s "$TIME_S" \
    --only "${GRAFT_HOSTILE_ONLY:-}" --out "${GRAFT_HOSTILE_OUT:-}"
