#!/usr/bin/env bash
# Build `graft serve` (the Hasura-compatible HTTP sidecar) and start it in the background in
# front of the cluster scripts/setup.sh runs (127.0.0.1:5433, database graft_demo).
# Restarts it if it is already running. scripts/stop.sh stops it (and the cluster).
#   GRAFT_PGPORT       PostgreSQL port            (default 5433, as setup.sh)
#   GRAFT_PGDATA       cluster directory          (default /var/lib/graft/pgdata, as setup.sh);
#                      the pid and log files go next to it: graft-serve.pid, graft-serve.log
#   GRAFT_SERVE_PORT   HTTP port                  (default 8080)
#   GRAFT_SERVE_NO_BUILD=1   start the already built target/release/graft
# Every HASURA_GRAPHQL_* variable set in the environment reaches the sidecar (admin secret,
# JWT, webhook, CORS, ...; see `target/release/graft serve --help`). Without an admin secret
# every request is admin: fine on 127.0.0.1 for development, never on a shared host.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$GRAFT_ROOT"

PGPORT="${GRAFT_PGPORT:-5433}"
PGDATA_DIR="${GRAFT_PGDATA:-/var/lib/graft/pgdata}"
HTTP_PORT="${GRAFT_SERVE_PORT:-8080}"
RUN_DIR="$(dirname "$PGDATA_DIR")"
PIDFILE="$RUN_DIR/graft-serve.pid"
LOGFILE="$RUN_DIR/graft-serve.log"
BIN="$GRAFT_ROOT/target/release/graft"

if [ "${GRAFT_SERVE_NO_BUILD:-0}" != 1 ]; then
    log "building the sidecar (cargo build --release -p graft-server)"
    cargo build -q --release -p graft-server
fi
[ -x "$BIN" ] || die "$BIN is missing (build it, or unset GRAFT_SERVE_NO_BUILD)"
mkdir -p "$RUN_DIR"

if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
    log "stopping the running graft serve (pid $(cat "$PIDFILE"))"
    kill "$(cat "$PIDFILE")"
    for _ in $(seq 50); do kill -0 "$(cat "$PIDFILE")" 2>/dev/null || break; sleep 0.1; done
fi
rm -f "$PIDFILE"
port_in_use "$HTTP_PORT" && die "port $HTTP_PORT is in use (set GRAFT_SERVE_PORT)"

log "starting graft serve on http://127.0.0.1:$HTTP_PORT (log: $LOGFILE)"
HASURA_GRAPHQL_DATABASE_URL="${HASURA_GRAPHQL_DATABASE_URL:-postgres://postgres@127.0.0.1:$PGPORT/graft_demo}" \
HASURA_GRAPHQL_SERVER_PORT="$HTTP_PORT" \
HASURA_GRAPHQL_ENABLE_CONSOLE="${HASURA_GRAPHQL_ENABLE_CONSOLE:-true}" \
    nohup "$BIN" serve >> "$LOGFILE" 2>&1 < /dev/null &
echo $! > "$PIDFILE"

python3 - "$HTTP_PORT" <<'PY' || { tail -n 5 "$LOGFILE"; die "graft serve did not become healthy (is the cluster running? scripts/setup.sh)"; }
import sys, time, urllib.request
for _ in range(100):
    try:
        if urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/healthz", timeout=1).status == 200:
            sys.exit(0)
    except Exception:
        pass
    time.sleep(0.2)
sys.exit(1)
PY

cat <<MSG

graft serve is running (pid $(cat "$PIDFILE")).
  GraphQL:  http://127.0.0.1:$HTTP_PORT/v1/graphql
  console:  http://127.0.0.1:$HTTP_PORT/console
  log:      $LOGFILE

Try:
  curl -s http://127.0.0.1:$HTTP_PORT/v1/graphql -H 'content-type: application/json' \\
       -d '{"query": "{ authors(limit: 2) { name articles { title } } }"}'

Stop it with scripts/stop.sh (which also stops the cluster).
MSG
