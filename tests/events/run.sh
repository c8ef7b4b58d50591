#!/usr/bin/env bash
# Event and scheduled trigger tests: a throwaway PostgreSQL with graft preloaded (so its event
# worker runs), and a Python test that owns a real local webhook receiver it can tell to
# succeed, fail, stall or hang up. Covers the payloads, retries, timeouts, Retry-After, manual
# invocation, redelivery, the event log API, cron and one-off events, the worker surviving bad
# input, an immediate-mode PostgreSQL stop during a delivery, and delivery throughput.
# The extension must be installed (cargo pgrx install).
#   GRAFT_EVENTS_PG_PORT (default 54349), GRAFT_EVENTS_HOOK_PORT (default 18349)
#   GRAFT_EVENTS_BENCH=N  deliver N events in the throughput check (default 2000)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
cd "$GRAFT_ROOT"
require_pg_binaries

PG_PORT="${GRAFT_EVENTS_PG_PORT:-54349}"
HOOK_PORT="${GRAFT_EVENTS_HOOK_PORT:-18349}"
TMP="$(mktemp -d /tmp/graft-events.XXXXXX)"
chmod 755 "$TMP"
chown postgres "$TMP"
PGDATA_DIR="$TMP/data"

cleanup() {
    local rc=$?
    cluster_running "$PGDATA_DIR" && stop_cluster "$PGDATA_DIR" || true
    if [ "$rc" -ne 0 ] && [ -f "$TMP/pg.log" ]; then
        echo "---- PostgreSQL log (last 40 lines) ----"; tail -n 40 "$TMP/pg.log"
    fi
    rm -rf "$TMP"
    return "$rc"
}
trap cleanup EXIT

port_in_use "$PG_PORT" && die "port $PG_PORT is in use (set GRAFT_EVENTS_PG_PORT)"
port_in_use "$HOOK_PORT" && die "port $HOOK_PORT is in use (set GRAFT_EVENTS_HOOK_PORT)"

log "starting PostgreSQL on 127.0.0.1:$PG_PORT with graft preloaded"
init_cluster "$PGDATA_DIR" --no-sync
write_cluster_conf "$PGDATA_DIR" "$PG_PORT" "fsync = off" "lc_messages = 'C'" \
    "shared_preload_libraries = 'graft'" "graft.event_databases = 'events'"
# The worker reads webhook URLs and header values from its environment.
export GRAFT_TEST_HOOK_BASE="http://127.0.0.1:$HOOK_PORT" GRAFT_TEST_HOOK_SECRET="from-the-environment"
start_cluster "$PGDATA_DIR" "$TMP/pg.log"
PSQL=("$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres)
"${PSQL[@]}" -d postgres -c "CREATE DATABASE events" -c "CREATE DATABASE events2"

log "Python test client (psycopg)"
python3 -m venv "$TMP/venv"
"$TMP/venv/bin/pip" install -q --disable-pip-version-check "psycopg[binary]==3.2.3"

export GRAFT_EVENTS_DSN="host=127.0.0.1 port=$PG_PORT user=postgres dbname=events"
export GRAFT_EVENTS_DSN2="host=127.0.0.1 port=$PG_PORT user=postgres dbname=events2"
export GRAFT_EVENTS_HOOK_PORT="$HOOK_PORT"
export GRAFT_PG_CTL="$TMP/pg-ctl.sh"
cat > "$GRAFT_PG_CTL" <<SH
#!/usr/bin/env bash
source "$GRAFT_ROOT/scripts/lib.sh"
case "\$1" in
  stop-immediate) as_postgres "$PG_BINDIR/pg_ctl" -D "$PGDATA_DIR" -m immediate -w stop >/dev/null ;;
  start) start_cluster "$PGDATA_DIR" "$TMP/pg.log" ;;
  reload) as_postgres "$PG_BINDIR/pg_ctl" -D "$PGDATA_DIR" reload >/dev/null ;;
esac
SH
chmod +x "$GRAFT_PG_CTL"
"$TMP/venv/bin/python" tests/events/test_events.py
