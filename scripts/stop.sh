#!/usr/bin/env bash
# Stop the local Graft cluster started by scripts/setup.sh (data is kept).
# Honours GRAFT_PGDATA like setup.sh (default /var/lib/graft/pgdata).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PGDATA_DIR="${GRAFT_PGDATA:-/var/lib/graft/pgdata}"
require_pg_binaries
[ -f "$PGDATA_DIR/PG_VERSION" ] || die "no cluster in $PGDATA_DIR (set GRAFT_PGDATA if it lives elsewhere)"
if cluster_running "$PGDATA_DIR"; then
    log "stopping PostgreSQL in $PGDATA_DIR"
    stop_cluster "$PGDATA_DIR"
    log "stopped; scripts/setup.sh starts it again"
else
    log "PostgreSQL in $PGDATA_DIR is not running"
fi
