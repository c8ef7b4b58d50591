#!/usr/bin/env bash
# Stop the local Graft cluster started by scripts/setup.sh (data is kept), and the sidecar
# scripts/serve.sh started, if it runs (its pid file is next to the cluster directory).
# Honours GRAFT_PGDATA like setup.sh (default /var/lib/graft/pgdata).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PGDATA_DIR="${GRAFT_PGDATA:-/var/lib/graft/pgdata}"
PIDFILE="$(dirname "$PGDATA_DIR")/graft-serve.pid"
if [ -f "$PIDFILE" ]; then
    pid="$(cat "$PIDFILE")"
    if kill -0 "$pid" 2>/dev/null; then
        log "stopping graft serve (pid $pid)"
        kill "$pid"
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -f "$PIDFILE"
fi
require_pg_binaries
[ -f "$PGDATA_DIR/PG_VERSION" ] || die "no cluster in $PGDATA_DIR (set GRAFT_PGDATA if it lives elsewhere)"
if cluster_running "$PGDATA_DIR"; then
    log "stopping PostgreSQL in $PGDATA_DIR"
    stop_cluster "$PGDATA_DIR"
    log "stopped; scripts/setup.sh starts it again"
else
    log "PostgreSQL in $PGDATA_DIR is not running"
fi
